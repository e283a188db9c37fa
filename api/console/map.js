// The map (Leaflet, served by the engine from its vendor folder): the imported road network for the
// view's box, the service zones and the demand cells as offline base layers, raster tiles only if
// DISPATCH_CONSOLE_TILE_URL names a tile server; assistants and open requests on top, and the
// selected job's track.

import { api } from "./auth.js";
import { $, OPEN, state } from "./store.js";

const OSM = "© OpenStreetMap contributors";
const COLOURS = { idle: "#16a34a", offered: "#f59e0b", busy: "#dc2626", offline: "#9ca3af" };
const ROADS = { motorway: 4, trunk: 4, primary: 3.5, secondary: 3, tertiary: 2.5 };
const m = { fitted: false, map: null, roads: null, zones: null, demand: null, track: null, markers: new Map(), roadsAt: null, osmShown: false, handlers: null };

export function hasMap() { return m.map !== null; }

export function initMap(handlers) {
  m.handlers = handlers;
  const L = window.L;
  if (!L) {
    const box = $("map");
    box.classList.add("nomap");
    box.textContent = "The map library (Leaflet) is not installed on this server: run `make setup` " +
      "(it installs Leaflet from the npm registry into .dispatch/vendor/). The queue, the candidates " +
      "and every action work without the map.";
    return;
  }
  m.map = L.map("map", { preferCanvas: true, zoomSnap: 0.5 }).setView([43.7384, 7.4246], 14);
  m.map.attributionControl.setPrefix("Leaflet");
  const tileUrl = document.querySelector('meta[name="tile-url"]').content;
  if (tileUrl) L.tileLayer(tileUrl, { attribution: OSM, maxZoom: 19 }).addTo(m.map);
  m.roads = L.geoJSON(null, {
    interactive: false,
    style: (f) => ({ color: ROADS[f.properties.highway] ? "#f2b84b" : "#9aa5b1", weight: ROADS[f.properties.highway] || 1.5, opacity: 0.9 }),
  }).addTo(m.map);
  m.zones = L.geoJSON(null, {
    style: (f) => ({ color: f.properties.serviceable ? "#2563eb" : "#b91c1c", weight: 1.5, fillOpacity: 0.04, dashArray: "4 3" }),
    onEachFeature: (f, layer) => layer.bindTooltip(f.properties.name + (f.properties.serviceable ? "" : " (not served)")),
  }).addTo(m.map);
  m.demand = L.geoJSON(null, {
    style: (f) => {
      const p = f.properties, need = (p.requests || 0) - (p.peak_idle_assistants || 0);
      return { color: "#7c3aed", weight: 0.5, fillColor: need > 0 ? "#dc2626" : "#16a34a", fillOpacity: Math.min(0.45, 0.08 + 0.05 * Math.abs(need)) };
    },
    onEachFeature: (f, layer) => layer.bindTooltip("requests " + f.properties.requests + " · idle peak " + f.properties.peak_idle_assistants),
  });
  m.track = L.layerGroup().addTo(m.map);
  L.control.layers(null, { "Roads (OSM)": m.roads, "Service zones": m.zones, "Demand / idle supply (H3, 24 h)": m.demand, "Track": m.track }, { collapsed: true }).addTo(m.map);
  m.map.on("moveend", () => { clearTimeout(m.roadsAt); m.roadsAt = setTimeout(loadRoads, 200); });
  m.map.on("overlayadd", (e) => { if (e.layer === m.demand) loadDemand(); });
  loadZones();
}

async function loadRoads() {
  const b = m.map.getBounds(), zoom = Math.round(m.map.getZoom());
  if ((b.getEast() - b.getWest()) * (b.getNorth() - b.getSouth()) > 1 || zoom < 10) {
    m.roads.clearLayers(); // a region, not a street map: roads would be noise
    return;
  }
  const box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
  try {
    const data = await api("GET", "/api/dispatch/roads/?bbox=" + box + "&zoom=" + zoom);
    m.roads.clearLayers();
    m.roads.addData(data);
    const drawn = data.features.length > 0;
    if (drawn !== m.osmShown) {
      m.map.attributionControl[drawn ? "addAttribution" : "removeAttribution"]("Roads " + OSM);
      m.osmShown = drawn;
    }
    $("map").dataset.roads = data.features.length;
  } catch (err) {
    $("map").dataset.roads = "error";
  }
}

async function loadZones() {
  try {
    const data = await api("GET", "/api/dispatch/zones/");
    m.zones.clearLayers();
    for (const z of data.results) m.zones.addData({ type: "Feature", geometry: z.geometry, properties: z });
  } catch (err) { /* zones are a nicety: the queue does not wait for them */ }
}

async function loadDemand() {
  try {
    const data = await api("GET", "/api/dispatch/demand/?resolution=8&days=1");
    m.demand.clearLayers();
    m.demand.addData(data);
  } catch (err) { /* the layer stays empty */ }
}

/** Fit the view to what is on the map (first load). */
export function fit() {
  if (!m.map) return;
  const pts = [...state.requests.values(), ...state.assistants.values()].filter((p) => p.lat != null).map((p) => [p.lat, p.lng]);
  if (pts.length) m.map.fitBounds(pts, { padding: [40, 40], maxZoom: 16 });
  else loadRoads();
  m.fitted = pts.length > 0;
}

export function focus(lat, lng) {
  if (m.map && lat != null && !m.map.getBounds().pad(-0.1).contains([lat, lng])) m.map.panTo([lat, lng]);
}

function marker(key, lat, lng, style, onClick, title) {
  let mk = m.markers.get(key);
  if (!mk) {
    mk = window.L.circleMarker([lat, lng], style).addTo(m.map).on("click", onClick);
    mk.bindTooltip(title);
    m.markers.set(key, mk);
  } else {
    mk.setLatLng([lat, lng]).setStyle(style);
    mk.setTooltipContent(title);
  }
  mk.seen = true;
}

/** Sync the markers with the store: assistants as dots by state, open requests as rings. */
export function drawMarkers() {
  if (!m.map) return;
  for (const mk of m.markers.values()) mk.seen = false;
  for (const a of state.assistants.values()) {
    if (a.lat == null) continue;
    marker("a" + a.id, a.lat, a.lng, { radius: 7, color: "#fff", weight: 2, fillColor: COLOURS[a.state] || COLOURS.offline, fillOpacity: 1 },
      () => m.handlers.onAssistant(a.id), (a.name || "#" + a.id) + " · " + a.state);
  }
  for (const r of state.requests.values()) {
    if (!OPEN.has(r.status) || r.lat == null) continue;
    const waiting = r.status === "requested", sel = r.id === state.selected;
    const fill = !waiting ? "#ffffff" : r.searching ? "#2563eb" : "#7c3aed";
    marker("r" + r.id, r.lat, r.lng, { radius: sel ? 11 : 8, color: sel ? "#f59e0b" : waiting ? "#1e3a8a" : "#dc2626", weight: sel ? 4 : 2, fillColor: fill, fillOpacity: 1 },
      () => m.handlers.onRequest(r.id), "#" + r.id + " " + r.status);
  }
  for (const [key, mk] of m.markers) {
    if (!mk.seen) { mk.remove(); m.markers.delete(key); }
  }
  $("map").dataset.markers = [...m.markers.keys()].join(" ");
  if (!m.fitted && m.markers.size) fit(); // the first things to show, on an empty board
}

/** The job's path (GeoJSON LineString) and its pickup, or nothing. */
export function showTrack(line, pickup) {
  if (!m.map) return;
  m.track.clearLayers();
  if (line && line.coordinates && line.coordinates.length > 1) {
    window.L.geoJSON(line, { style: { color: "#dc2626", weight: 4, opacity: 0.8 } }).addTo(m.track);
  }
  if (pickup) window.L.circleMarker([pickup.lat, pickup.lng], { radius: 4, color: "#111827", weight: 1, fillOpacity: 1 }).addTo(m.track);
}

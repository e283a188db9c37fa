// What the console knows: open requests and the fleet, kept current by the feed; the selection;
// small helpers every module uses (element lookup, the status line, times and ETAs as text).

export const OPEN = new Set(["requested", "accepted", "ongoing"]);
export const $ = (id) => document.getElementById(id);

export const state = {
  requests: new Map(),   // id -> request {id, status, searching, exhausted_at, lat, lng, offers…}
  assistants: new Map(), // id -> {id, name, state, lat, lng, service_type, …}
  selected: null,        // id of the request in the side panel
  lastSeq: 0,            // the last feed event applied: reconnects ask for ?since=lastSeq
  seqs: [],              // every event seq applied, in order (the browser tests read it)
  refreshes: 0,          // access tokens renewed silently this page
  loads: 0,              // snapshots loaded (the first connection, or a truncated replay)
  connects: [],          // the since= of every feed connection (0: none)
};
window.dispatchConsole = state; // for the browser tests and curious operators

const renderers = [];
let pending = false;
/** Ask every view to redraw, once per animation frame however many frames arrived. */
export function changed() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    for (const fn of renderers) fn();
  });
}
export function onChange(fn) { renderers.push(fn); }

export function say(text) { $("message").textContent = text; }

/** Merge a request (assistance object or feed frame) into the store. */
export function putRequest(r) {
  const id = r.id || r.assistance_id;
  const pickup = r.pickup || r.pickupLocation || (r.pickup_lat != null ? { lat: r.pickup_lat, lng: r.pickup_lng } : null);
  const prev = state.requests.get(id);
  // A REST answer read before a feed frame arrived must not undo it: the newer updated_at wins.
  if (prev && r.updated_at && prev.updated_at && Date.parse(r.updated_at) < Date.parse(prev.updated_at)) return prev;
  const merged = Object.assign(prev || { id, sent: new Set(), declined: new Set() }, r, { id });
  if (pickup && pickup.lat != null) Object.assign(merged, { lat: pickup.lat, lng: pickup.lng });
  state.requests.set(id, merged);
  return merged;
}

/** Offer bookkeeping from a detail's offers: who was asked in the current round, who declined. */
export function putOffers(r, offers) {
  const round = Math.max(0, ...offers.map((o) => o.round));
  r.sent = new Set(offers.filter((o) => o.round === round).map((o) => o.assistant_id));
  r.declined = new Set(offers.filter((o) => o.round === round && o.state === "declined").map((o) => o.assistant_id));
  r.everDeclined = offers.filter((o) => o.state === "declined").length;
}

export function waited(iso) {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + String(s % 60).padStart(2, "0") + "s";
  return Math.floor(s / 3600) + "h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + "m";
}

export function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
}

/** "4 min (road)": a road ETA over OpenStreetMap data, or a straight-line estimate. */
export function etaText(x) {
  if (x.eta_s == null) return "";
  const min = Math.max(1, Math.round(x.eta_s / 60));
  return min + " min (" + (x.eta_source === "road" ? "road" : "straight line") + ")";
}

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "dataset") Object.assign(node.dataset, v);
    else if (k === "onclick") node.onclick = v;
    else if (v != null) node.setAttribute(k, v);
  }
  node.append(...children.filter((c) => c != null));
  return node;
}

export function assistantName(id) {
  const a = state.assistants.get(id);
  return a && a.name ? a.name : "#" + id;
}

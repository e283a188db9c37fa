// The dispatcher console: log in, a Web Mercator map drawn on a canvas, live from /ws/dispatch/,
// the queues of searching and exhausted requests, and assign with two clicks (request, assistant).
"use strict";

(function () {
  const COLOURS = { idle: "#16a34a", offered: "#f59e0b", busy: "#dc2626", offline: "#9ca3af" };
  const OPEN = new Set(["requested", "accepted", "ongoing"]);
  const TILE = 256;
  const $ = (id) => document.getElementById(id);

  const state = {
    token: sessionStorage.getItem("dispatch.token"),
    refresh: sessionStorage.getItem("dispatch.refresh"), // the session's credential, for logout
    requests: new Map(),   // id -> request {id, status, searching, exhausted_at, lat, lng, ...}
    assistants: new Map(), // id -> {id, name, state, lat, lng, service_type, ...}
    selected: null,        // id of the request picked by the first click
    view: null,            // {lat, lng, zoom}
    drawn: [],             // what the last frame drew: [{kind, id, x, y}] (CSS pixels)
    socket: null,
    retry: 500,
  };
  window.dispatchConsole = state; // for the browser test and curious operators

  // ---- Web Mercator ---------------------------------------------------------------------------
  function project(lat, lng, zoom) {
    const scale = TILE * Math.pow(2, zoom);
    const s = Math.sin((Math.max(-85.05, Math.min(85.05, lat)) * Math.PI) / 180);
    return {
      x: ((lng + 180) / 360) * scale,
      y: (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * scale,
    };
  }
  function unproject(x, y, zoom) {
    const scale = TILE * Math.pow(2, zoom);
    const lng = (x / scale) * 360 - 180;
    const n = Math.PI - (2 * Math.PI * y) / scale;
    return { lat: (180 / Math.PI) * Math.atan(Math.sinh(n)), lng };
  }

  // ---- API ------------------------------------------------------------------------------------
  async function api(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    const resp = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const data = await resp.json().catch(() => ({}));
    if (resp.status === 401 && path !== "/api/auth/login/email/") logout();
    if (!resp.ok) throw new Error(data.error || "HTTP " + resp.status);
    return data;
  }

  function putRequest(r) {
    const pickup = r.pickup || r.pickupLocation || { lat: r.pickup_lat, lng: r.pickup_lng };
    const id = r.id || r.assistance_id;
    const merged = Object.assign(state.requests.get(id) || {}, r, { id });
    if (pickup.lat != null) Object.assign(merged, { lat: pickup.lat, lng: pickup.lng });
    state.requests.set(id, merged);
  }

  async function load() {
    const [reqs, fleet] = await Promise.all([
      api("GET", "/api/dispatch/requests/?status=requested,accepted,ongoing&limit=200"),
      api("GET", "/api/dispatch/assistants/?limit=1000"),
    ]);
    state.requests.clear();
    reqs.results.forEach(putRequest);
    state.assistants.clear();
    fleet.results.forEach((a) => state.assistants.set(a.id, a));
    if (!state.view) fit();
    render();
  }

  // ---- live feed ------------------------------------------------------------------------------
  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(scheme + "//" + location.host + "/ws/dispatch/?token=" + encodeURIComponent(state.token));
    state.socket = ws;
    ws.onopen = () => {
      state.retry = 500;
      $("feed-state").textContent = "live";
      $("feed-state").classList.add("live");
      load().catch((e) => say(e.message)); // catch up on what happened while disconnected
    };
    ws.onmessage = (event) => onFrame(JSON.parse(event.data));
    ws.onclose = () => {
      $("feed-state").textContent = "reconnecting…";
      $("feed-state").classList.remove("live");
      if (state.token && state.socket === ws) {
        setTimeout(connect, state.retry);
        state.retry = Math.min(state.retry * 2, 10000);
      }
    };
  }

  function onFrame(f) {
    if (f.type === "request_created" || f.type === "status") {
      putRequest(f);
    } else if (f.type === "search_exhausted") {
      putRequest({ assistance_id: f.assistance_id, searching: false, exhausted_at: new Date().toISOString() });
    } else if (f.type === "offer" && f.assistant_ids) {
      // A round was sent: {assistance_id, round, assistant_ids, expires_at}.
      const r = state.requests.get(f.assistance_id);
      if (r) Object.assign(r, { offer_round: f.round, searching: true });
      for (const id of f.assistant_ids) {
        const a = state.assistants.get(id);
        if (a && a.state === "idle") a.state = "offered";
      }
    } else if (f.type === "offer") {
      // One offer ended: {assistant_id, state: declined|expired|withdrawn|accepted, ...}.
      const a = state.assistants.get(f.assistant_id);
      if (a && a.state === "offered") a.state = f.state === "accepted" ? "busy" : "idle";
    } else if (f.type === "eta") {
      putRequest({ assistance_id: f.assistance_id, eta_s: f.eta_s, eta_source: f.eta_source });
    } else if (f.type === "positions") {
      for (const p of f.assistants) {
        const a = state.assistants.get(p.assistant_id) || { id: p.assistant_id, name: "#" + p.assistant_id };
        Object.assign(a, { lat: p.lat, lng: p.lng, state: p.state, last_seen: p.at });
        state.assistants.set(a.id, a);
      }
    } else {
      return;
    }
    if (f.type === "status" && f.assistant) {
      const a = state.assistants.get(f.assistant.id);
      if (a) a.state = OPEN.has(f.status) && f.status !== "requested" ? "busy" : "idle";
    }
    render();
  }

  // ---- drawing --------------------------------------------------------------------------------
  const canvas = $("map");
  const ctx = canvas.getContext("2d");
  const tileUrl = document.querySelector('meta[name="tile-url"]').content;
  const tiles = new Map();

  function fit() {
    const pts = [...state.requests.values(), ...state.assistants.values()].filter((p) => p.lat != null);
    if (!pts.length) {
      state.view = { lat: 36.7525, lng: 3.042, zoom: 12 };
      return;
    }
    const lats = pts.map((p) => p.lat), lngs = pts.map((p) => p.lng);
    const lat = (Math.min(...lats) + Math.max(...lats)) / 2, lng = (Math.min(...lngs) + Math.max(...lngs)) / 2;
    let zoom = 15;
    const w = canvas.clientWidth || 800, h = canvas.clientHeight || 600;
    while (zoom > 2) {
      const a = project(Math.max(...lats), Math.min(...lngs), zoom), b = project(Math.min(...lats), Math.max(...lngs), zoom);
      if (b.x - a.x < w * 0.8 && b.y - a.y < h * 0.8) break;
      zoom -= 1;
    }
    state.view = { lat, lng, zoom };
  }

  function toScreen(lat, lng) {
    const c = project(state.view.lat, state.view.lng, state.view.zoom);
    const p = project(lat, lng, state.view.zoom);
    return { x: p.x - c.x + canvas.clientWidth / 2, y: p.y - c.y + canvas.clientHeight / 2 };
  }

  function drawBackground(w, h) {
    const z = Math.round(state.view.zoom);
    const c = project(state.view.lat, state.view.lng, z);
    const x0 = c.x - w / 2, y0 = c.y - h / 2;
    ctx.strokeStyle = "#d5dbe1";
    ctx.lineWidth = 1;
    for (let tx = Math.floor(x0 / TILE); tx * TILE < x0 + w; tx++) {
      for (let ty = Math.floor(y0 / TILE); ty * TILE < y0 + h; ty++) {
        const sx = tx * TILE - x0, sy = ty * TILE - y0;
        const n = Math.pow(2, z);
        if (tileUrl && ty >= 0 && ty < n) {
          const key = z + "/" + (((tx % n) + n) % n) + "/" + ty;
          let img = tiles.get(key);
          if (!img) {
            img = new Image();
            img.onload = render;
            img.src = tileUrl.replace("{z}", z).replace("{x}", ((tx % n) + n) % n).replace("{y}", ty);
            tiles.set(key, img);
          }
          if (img.complete && img.naturalWidth) ctx.drawImage(img, sx, sy, TILE, TILE);
        }
        ctx.strokeRect(sx, sy, TILE, TILE);
      }
    }
  }

  function render() {
    if (!state.view) return;
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== w * dpr || canvas.height !== h * dpr) {
      canvas.width = w * dpr;
      canvas.height = h * dpr;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    drawBackground(w, h);
    const drawn = [];
    for (const a of state.assistants.values()) {
      if (a.lat == null) continue;
      const p = toScreen(a.lat, a.lng);
      ctx.beginPath();
      ctx.arc(p.x, p.y, 7, 0, 2 * Math.PI);
      ctx.fillStyle = COLOURS[a.state] || COLOURS.offline;
      ctx.fill();
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 2;
      ctx.stroke();
      drawn.push({ kind: "assistant", id: a.id, x: p.x, y: p.y });
    }
    for (const r of state.requests.values()) {
      if (!OPEN.has(r.status) || r.lat == null) continue;
      const p = toScreen(r.lat, r.lng);
      const waiting = r.status === "requested";
      ctx.fillStyle = !waiting ? "#ffffff" : r.searching || !r.exhausted_at ? "#2563eb" : "#7c3aed";
      ctx.strokeStyle = r.id === state.selected ? "#f59e0b" : waiting ? "#1e3a8a" : "#dc2626";
      ctx.lineWidth = r.id === state.selected ? 4 : 2;
      ctx.fillRect(p.x - 7, p.y - 7, 14, 14);
      ctx.strokeRect(p.x - 7, p.y - 7, 14, 14);
      drawn.push({ kind: "request", id: r.id, x: p.x, y: p.y });
    }
    state.drawn = drawn;
    renderLists();
  }

  // ---- lists ----------------------------------------------------------------------------------
  function item(id, text, note, onClick, extra) {
    const li = document.createElement("li");
    li.id = id;
    const label = document.createElement("span");
    label.textContent = text;
    const small = document.createElement("span");
    small.className = "state";
    small.textContent = note;
    li.append(label, small);
    li.onclick = onClick;
    Object.assign(li.dataset, extra || {});
    return li;
  }

  function renderLists() {
    const reqs = [...state.requests.values()].sort((a, b) => b.id - a.id);
    const searching = reqs.filter((r) => r.status === "requested" && (r.searching || !r.exhausted_at));
    const waiting = reqs.filter((r) => r.status === "requested" && !r.searching && r.exhausted_at);
    const jobs = reqs.filter((r) => r.status === "accepted" || r.status === "ongoing");
    const reqItem = (r) => {
      const eta = r.status === "accepted" && r.eta_s != null ? " · ETA " + etaText(r) : "";
      const li = item("req-" + r.id, "#" + r.id + " " + (r.service_type || ""), r.status +
        (r.offer_round ? " · round " + r.offer_round : "") + eta, () => pickRequest(r.id), { status: r.status });
      if (r.id === state.selected) li.classList.add("selected");
      return li;
    };
    $("searching-list").replaceChildren(...searching.map(reqItem));
    $("waiting-list").replaceChildren(...waiting.map(reqItem));
    $("jobs-list").replaceChildren(...jobs.map(reqItem));
    $("searching-count").textContent = "(" + searching.length + ")";
    $("waiting-count").textContent = "(" + waiting.length + ")";
    const fleet = [...state.assistants.values()].sort((a, b) => a.id - b.id);
    $("fleet-count").textContent = "(" + fleet.length + ")";
    $("fleet-list").replaceChildren(...fleet.map((a) => item("asst-" + a.id, a.name || "#" + a.id,
      (a.service_type || "") + " · " + a.state, () => pickAssistant(a.id), { state: a.state })));
  }

  // ---- two-click assign -----------------------------------------------------------------------
  function say(text) { $("message").textContent = text; }

  // "4 min (road)": a road ETA over OpenStreetMap data, or a straight-line estimate.
  function etaText(x) {
    const min = Math.max(1, Math.round(x.eta_s / 60));
    return min + " min (" + (x.eta_source === "road" ? "road" : "straight line") + ")";
  }

  function pickRequest(id) {
    const r = state.requests.get(id);
    if (!r || r.status !== "requested") {
      say("Request #" + id + " is " + (r ? r.status : "gone") + ".");
      return;
    }
    state.selected = id;
    say("Request #" + id + " selected: now click an assistant (candidates soonest first).");
    showCandidates(id).catch((e) => say(e.message));
    render();
  }

  // The request's candidates, soonest first (road ETAs where a graph covers the pickup).
  async function showCandidates(id) {
    const detail = await api("GET", "/api/dispatch/requests/" + id + "/");
    if (state.selected !== id) return;
    const list = detail.candidates || [];
    $("candidates-for").textContent = "for #" + id;
    $("candidates-list").replaceChildren(...list.map((c) => item("cand-" + c.assistant_id,
      c.assistant_name || "#" + c.assistant_id, etaText(c) + " · " + c.distance + " km",
      () => pickAssistant(c.assistant_id), { eta: c.eta_s, source: c.eta_source })));
    $("osm").hidden = !list.some((c) => c.eta_source === "road");
  }

  async function pickAssistant(id) {
    if (state.selected == null) {
      say("Click a waiting request first.");
      return;
    }
    const rid = state.selected;
    state.selected = null;
    $("candidates-list").replaceChildren();
    $("candidates-for").textContent = "";
    try {
      const r = await api("POST", "/api/dispatch/requests/" + rid + "/assign/", { assistant_id: id, reason: "assigned from the console" });
      putRequest(r);
      say("Request #" + rid + " assigned to assistant #" + id + ".");
    } catch (e) {
      say("Could not assign #" + rid + ": " + e.message);
    }
    render();
  }

  function hit(x, y) {
    let best = null, bestD = 12 * 12;
    for (const d of state.drawn) {
      const dd = (d.x - x) ** 2 + (d.y - y) ** 2;
      if (dd <= bestD) { best = d; bestD = dd; }
    }
    return best;
  }

  // ---- map interaction ------------------------------------------------------------------------
  let drag = null;
  canvas.addEventListener("mousedown", (e) => { drag = { x: e.offsetX, y: e.offsetY, moved: false }; });
  canvas.addEventListener("mousemove", (e) => {
    if (!drag) return;
    const dx = e.offsetX - drag.x, dy = e.offsetY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) < 3 && !drag.moved) return;
    drag.moved = true;
    const c = project(state.view.lat, state.view.lng, state.view.zoom);
    Object.assign(state.view, unproject(c.x - dx, c.y - dy, state.view.zoom));
    drag.x = e.offsetX;
    drag.y = e.offsetY;
    render();
  });
  canvas.addEventListener("mouseup", (e) => {
    const wasDrag = drag && drag.moved;
    drag = null;
    if (wasDrag) return;
    const d = hit(e.offsetX, e.offsetY);
    if (d && d.kind === "request") pickRequest(d.id);
    else if (d && d.kind === "assistant") pickAssistant(d.id);
  });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    state.view.zoom = Math.max(2, Math.min(19, state.view.zoom + (e.deltaY < 0 ? 0.5 : -0.5)));
    render();
  }, { passive: false });
  window.addEventListener("resize", render);

  // ---- session --------------------------------------------------------------------------------
  function start() {
    $("login").hidden = true;
    $("app").hidden = false;
    connect();
  }

  // Ends the session on the server first (its access tokens and sockets are revoked at once, in
  // every process), then here. Plain fetch, not api(): a 401 must not call logout() again.
  async function logout() {
    const socket = state.socket, refresh = state.refresh;
    state.socket = null; // no reconnect once the server closes it (4401)
    if (socket) socket.close();
    if (refresh) {
      try {
        await fetch("/api/auth/logout/", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ refresh }),
        });
      } catch (err) {
        $("login-error").textContent = "Logged out here; the server could not be told (" + err.message + ").";
      }
    }
    state.token = null;
    state.refresh = null;
    sessionStorage.removeItem("dispatch.token");
    sessionStorage.removeItem("dispatch.refresh");
    $("app").hidden = true;
    $("login").hidden = false;
  }

  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("login-error").textContent = "";
    try {
      const data = await api("POST", "/api/auth/login/email/", { email: $("email").value, password: $("password").value });
      if (data.user.role !== "dispatcher") throw new Error("This console is for dispatchers.");
      state.token = data.tokens.access;
      state.refresh = data.tokens.refresh;
      sessionStorage.setItem("dispatch.token", state.token);
      sessionStorage.setItem("dispatch.refresh", state.refresh);
      start();
    } catch (err) {
      $("login-error").textContent = err.message;
    }
  });
  $("logout").addEventListener("click", logout);
  if (state.token) start();
})();

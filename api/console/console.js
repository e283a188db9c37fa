// The dispatcher console's entry: log in, start the feed and the map, apply feed frames to the
// store, and the actions — select (click, j/k), assign (Enter, 1–9, a candidate's click),
// reassign (r, then an assistant), cancel with a reason (c), chat (m).
// Modules by concern: auth.js (session), feed.js (live feed), map.js, queue.js, story.js, store.js.

import { api, loggedIn, login, logout, onEnded, userId } from "./auth.js";
import { startFeed, stopFeed } from "./feed.js";
import { drawMarkers, fit, focus, initMap } from "./map.js";
import { queue, renderQueue, walkOrder } from "./queue.js";
import { initStory, openStory, storyDetail, touched } from "./story.js";
import { $, OPEN, assistantName, changed, onChange, putOffers, putRequest, say, state } from "./store.js";

let mode = null; // null | {kind: "cancel"} | {kind: "reassign", assistantId?}
let first = true;

// ---- the snapshot and the feed --------------------------------------------------------------
async function load() {
  const [reqs, fleet] = await Promise.all([
    api("GET", "/api/dispatch/requests/?status=requested,accepted,ongoing&limit=200"),
    api("GET", "/api/dispatch/assistants/?limit=1000"),
  ]);
  state.loads += 1;
  state.requests.clear();
  reqs.results.forEach(putRequest);
  state.assistants.clear();
  fleet.results.forEach((a) => state.assistants.set(a.id, a));
  // Who was asked and who declined, for the queue's urgency (the list carries no offers).
  await Promise.all(queue().slice(0, 40).map((r) => api("GET", "/api/dispatch/requests/" + r.id + "/")
    .then((d) => putOffers(putRequest(d), d.offers)).catch(() => {})));
  if (first) fit();
  first = false;
  changed();
}

function onFrame(f) {
  const id = f.assistance_id;
  if (f.type === "request_created" || f.type === "status") {
    const r = putRequest(f);
    if (f.assistant) {
      const a = state.assistants.get(f.assistant.id);
      if (a) a.state = f.status === "accepted" || f.status === "ongoing" ? "busy" : "idle";
    }
    if (!OPEN.has(r.status) && r.id !== state.selected) state.requests.delete(r.id); // done: off the board
  } else if (f.type === "search_exhausted") {
    putRequest({ assistance_id: id, searching: false, exhausted_at: f.exhausted_at || new Date().toISOString() });
  } else if (f.type === "offer" && f.assistant_ids) {
    // A round was sent: {assistance_id, round, assistant_ids, expires_at}.
    const r = putRequest({ assistance_id: id, offer_round: f.round, searching: true });
    r.sent = new Set(f.assistant_ids);
    r.declined = new Set();
    for (const aid of f.assistant_ids) {
      const a = state.assistants.get(aid);
      if (a && a.state === "idle") a.state = "offered";
    }
  } else if (f.type === "offer") {
    // One offer ended: {assistant_id, state: declined|expired|withdrawn|accepted, ...}.
    const r = state.requests.get(id);
    if (r && r.declined && f.state === "declined" && f.round === r.offer_round) r.declined.add(f.assistant_id);
    const a = state.assistants.get(f.assistant_id);
    if (a && a.state === "offered") a.state = f.state === "accepted" ? "busy" : "idle";
  } else if (f.type === "eta") {
    putRequest({ assistance_id: id, eta_s: f.eta_s, eta_source: f.eta_source });
  } else if (f.type === "positions") {
    for (const p of f.assistants) {
      const a = state.assistants.get(p.assistant_id) || { id: p.assistant_id, name: "#" + p.assistant_id };
      Object.assign(a, { lat: p.lat, lng: p.lng, state: p.state, last_seen: p.at });
      state.assistants.set(a.id, a);
    }
  } else {
    return;
  }
  if (id) touched(id);
  changed();
}

// ---- selection and actions ------------------------------------------------------------------
function select(id) {
  if (state.selected === id) return;
  state.selected = id;
  closeReason();
  openStory(id);
  const r = state.requests.get(id);
  if (r) focus(r.lat, r.lng);
  const li = document.getElementById("req-" + id);
  if (li) li.scrollIntoView({ block: "nearest" });
  changed();
}

function move(step) {
  const order = walkOrder();
  if (!order.length) return;
  const at = order.indexOf(state.selected);
  select(order[at < 0 ? (step > 0 ? 0 : order.length - 1) : (at + step + order.length) % order.length]);
}

async function assign(assistantId) {
  const rid = state.selected, r = state.requests.get(rid);
  if (!r) return say("Select a request first (j/k or a click).");
  if (r.status === "accepted") return askReason({ kind: "reassign", assistantId });
  if (r.status !== "requested") return say("Request #" + rid + " is " + r.status + ".");
  try {
    putRequest(await api("POST", "/api/dispatch/requests/" + rid + "/assign/", { assistant_id: assistantId, reason: "assigned from the console" }));
    say("Request #" + rid + " assigned to " + assistantName(assistantId) + " (assistant #" + assistantId + ").");
  } catch (e) {
    say("Could not assign #" + rid + ": " + e.message);
  }
  touched(rid);
  changed();
}

function assignCandidate(n) {
  const d = storyDetail();
  const c = d && d.candidates && d.candidates[n];
  if (c && n === 0 && c.gone) say("No free candidate for #" + d.id + ": pick one with 1–9 or a click if you must.");
  else if (c) assign(c.assistant_id);
  else say(d && d.status === "requested" ? "No candidate " + (n + 1) + " for #" + d.id + "." : "Select a waiting request first.");
}

function askReason(next) {
  const r = state.requests.get(state.selected);
  if (!r) return say("Select a request first (j/k or a click).");
  if (next.kind === "reassign" && r.status !== "accepted") return say("Only an accepted job can be reassigned.");
  if (next.kind === "reassign" && !next.assistantId) {
    mode = next;
    return say("Reassign #" + r.id + ": click an idle assistant on the map or in the fleet.");
  }
  mode = next;
  $("reason-label").textContent = next.kind === "cancel" ? "Cancel #" + r.id + " — reason" : "Reassign #" + r.id + " to #" + next.assistantId + " — reason";
  $("reason-form").hidden = false;
  $("reason").value = "";
  $("reason").focus();
}

function closeReason() {
  mode = null;
  $("reason-form").hidden = true;
}

async function submitReason() {
  const rid = state.selected, reason = $("reason").value.trim(), m = mode;
  if (!reason || !m) return;
  closeReason();
  try {
    const body = m.kind === "cancel" ? { reason } : { assistant_id: m.assistantId, reason };
    putRequest(await api("POST", "/api/dispatch/requests/" + rid + "/" + m.kind + "/", body));
    say("Request #" + rid + (m.kind === "cancel" ? " canceled." : " reassigned to #" + m.assistantId + "."));
  } catch (e) {
    say("Could not " + m.kind + " #" + rid + ": " + e.message);
  }
  touched(rid);
  changed();
}

function pickAssistant(id) {
  const r = state.requests.get(state.selected);
  if (mode && mode.kind === "reassign") return askReason({ kind: "reassign", assistantId: id });
  if (r && (r.status === "requested" || r.status === "accepted")) return assign(id);
  say("Select a waiting request first, then an assistant.");
}

// ---- keys -----------------------------------------------------------------------------------
document.addEventListener("keydown", (e) => {
  if ($("app").hidden || e.ctrlKey || e.metaKey || e.altKey) return;
  const typing = ["INPUT", "TEXTAREA"].includes(document.activeElement && document.activeElement.tagName);
  if (e.key === "Escape") {
    if (typing) document.activeElement.blur();
    closeReason();
    return;
  }
  if (typing) return;
  const keys = { j: () => move(1), k: () => move(-1), Enter: () => assignCandidate(0), c: () => askReason({ kind: "cancel" }),
    r: () => askReason({ kind: "reassign" }), m: () => $("chat-input").focus() };
  if (keys[e.key]) {
    e.preventDefault();
    keys[e.key]();
  } else if (/^[1-9]$/.test(e.key)) {
    e.preventDefault();
    assignCandidate(Number(e.key) - 1);
  }
});

// ---- session --------------------------------------------------------------------------------
const handlers = { onRequest: select, onAssistant: pickAssistant };

function start() {
  $("login").hidden = true;
  $("app").hidden = false;
  $("who").textContent = sessionStorage.getItem("dispatch.name") || "dispatcher #" + userId();
  if (!window.dispatchConsoleMap) {
    initMap(handlers);
    window.dispatchConsoleMap = true;
  }
  startFeed({ onFrame, onResync: () => load().catch((e) => say(e.message)), onEnded: end });
}

function end(message) {
  stopFeed();
  state.selected = null;
  openStory(null);
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
}

onEnded(end);
onChange(() => { renderQueue(handlers); drawMarkers(); });
initStory({ onAssign: assign });
$("act-assign").addEventListener("click", () => assignCandidate(0));
$("act-cancel").addEventListener("click", () => askReason({ kind: "cancel" }));
$("act-reassign").addEventListener("click", () => askReason({ kind: "reassign" }));
$("reason-close").addEventListener("click", closeReason);
$("reason-form").addEventListener("submit", (e) => { e.preventDefault(); submitReason(); });
$("logout").addEventListener("click", async () => {
  stopFeed();
  await logout();
  end("Logged out.");
});
$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("login-error").textContent = "";
  try {
    await login($("email").value, $("password").value);
    start();
  } catch (err) {
    $("login-error").textContent = err.message;
  }
});
if (loggedIn()) start();

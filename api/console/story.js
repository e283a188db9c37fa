// The job's story in the side panel: its facts, the candidates, a timeline of transitions and
// offers (who and when), the chat (read, and write as dispatcher), the track on the map, the
// price lines or the invoice. Refreshed when the feed says the job moved, the chat every 3 s.

import { api } from "./auth.js";
import { showTrack } from "./map.js";
import { renderCandidates } from "./queue.js";
import { $, assistantName, clock, el, etaText, putOffers, putRequest, state, waited } from "./store.js";

const story = { id: null, detail: null, chatTimer: null, reloadTimer: null, lastChat: null, onAssign: null };

export function storyDetail() { return story.id === state.selected ? story.detail : null; }

export function initStory({ onAssign }) {
  story.onAssign = onAssign;
  $("chat-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sendChat();
  });
}

export function openStory(id) {
  clearInterval(story.chatTimer);
  story.id = id;
  story.detail = null;
  story.lastChat = null;
  $("story-empty").hidden = id != null;
  $("story-body").hidden = id == null;
  $("reason-form").hidden = true;
  if (id == null) {
    showTrack(null);
    return;
  }
  $("story-title").textContent = "#" + id;
  for (const part of ["candidates-list", "timeline", "chat", "price"]) $(part).replaceChildren();
  reload();
  loadChat();
  story.chatTimer = setInterval(loadChat, 3000);
}

/** The feed said something about this job: read its story again (coalesced). */
export function touched(id) {
  if (id !== story.id) return;
  clearTimeout(story.reloadTimer);
  story.reloadTimer = setTimeout(reload, 150);
}

async function reload() {
  const id = story.id;
  let d;
  try {
    d = await api("GET", "/api/dispatch/requests/" + id + "/");
  } catch (err) {
    $("story-facts").textContent = "Could not load #" + id + ": " + err.message;
    return;
  }
  if (id !== story.id) return;
  story.detail = d;
  const r = putRequest(d);
  putOffers(r, d.offers);
  renderFacts(d);
  // The fleet may know better than the answer: anyone the feed shows busy or offline since goes
  // last, flagged, and is never the suggestion.
  const gone = (c) => ["busy", "offline"].includes((state.assistants.get(c.assistant_id) || {}).state);
  d.candidates = (d.candidates || []).map((c) => Object.assign(c, { gone: gone(c) }))
    .sort((a, b) => a.gone - b.gone);
  renderCandidates(d, d.candidates, story.onAssign);
  renderTimeline(d);
  renderPrice(d);
  loadTrack(d);
}

function renderFacts(d) {
  $("story-title").textContent = "#" + d.id + " · " + d.status + (d.status === "requested" ? (d.searching ? " (searching)" : " (search exhausted)") : "");
  $("story-title").dataset.status = d.status;
  const who = d.assistant ? " · assistant " + (d.assistant.name || "#" + d.assistant.id) + (d.eta_s != null && d.status === "accepted" ? ", ETA " + etaText(d) : "") : "";
  const client = d.client ? d.client.name + " " + (d.client.phone || "") : "";
  $("story-facts").textContent = d.service_type + " / " + d.vehicle_type + " · client " + client + who +
    " · waiting " + waited(d.created_at) + (d.description ? " · “" + d.description + "”" : "");
  $("act-reassign").disabled = d.status !== "accepted";
  $("act-cancel").disabled = !["requested", "accepted", "ongoing"].includes(d.status);
}

/** Transitions and offers on one time line, oldest first. */
function renderTimeline(d) {
  const rows = [];
  for (const e of d.events) {
    const actor = e.actor_role ? e.actor_role + (e.actor_id ? " " + (e.actor_role === "assistant" ? assistantName(e.actor_id) : "#" + e.actor_id) : "") : "system";
    rows.push({ at: e.at, kind: "t-status", text: (e.from_status ? e.from_status + " → " : "created: ") + e.to_status + " by " + actor + (e.reason ? " — " + e.reason : "") });
  }
  const rounds = new Map();
  for (const o of d.offers) {
    const key = o.round;
    if (!rounds.has(key)) rounds.set(key, { at: o.sent_at, names: [] });
    rounds.get(key).names.push((o.assistant_name || "#" + o.assistant_id) + (o.eta_s != null ? " (" + etaText(o) + ")" : ""));
    if (o.closed_at && o.state !== "open") {
      const verb = { declined: " declined", expired: ": offer expired", withdrawn: ": offer withdrawn", accepted: " accepted" }[o.state] || ": " + o.state;
      rows.push({ at: o.closed_at, kind: "t-offer-" + o.state, text: (o.assistant_name || "#" + o.assistant_id) + verb + " (round " + o.round + ")" });
    }
  }
  for (const [round, x] of rounds) rows.push({ at: x.at, kind: "t-offer-sent", text: "round " + round + " offered to " + x.names.join(", ") });
  if (d.exhausted_at) rows.push({ at: d.exhausted_at, kind: "t-exhausted", text: "search exhausted: waiting for a dispatcher" });
  rows.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  $("timeline").replaceChildren(...rows.map((x) => el("li", { class: x.kind }, el("time", {}, clock(x.at)), " " + x.text)));
}

function renderPrice(d) {
  const table = $("price");
  $("invoice-number").textContent = "";
  const lines = (d.price_breakdown || []).map((p) => el("tr", {}, el("td", {}, p.label), el("td", { class: "num" }, String(p.amount))));
  lines.push(el("tr", { class: "total" }, el("td", {}, "total"), el("td", { class: "num" }, (d.total_price ?? "") + " " + (d.currency || ""))));
  table.replaceChildren(...lines);
  if (d.status !== "completed") return;
  api("GET", "/api/assistance/" + d.id + "/invoice/").then((inv) => {
    if (story.id !== d.id) return;
    $("invoice-number").textContent = "invoice " + inv.number;
    table.replaceChildren(...inv.lines.map((l) => el("tr", {}, el("td", {}, l.label + (l.quantity !== 1 ? " × " + l.quantity : "")), el("td", { class: "num" }, String(l.amount)))),
      el("tr", { class: "total" }, el("td", {}, "total"), el("td", { class: "num" }, inv.total + " " + inv.currency)));
  }).catch(() => {});
}

function loadTrack(d) {
  const pickup = d.pickupLocation || { lat: d.pickup_lat, lng: d.pickup_lng };
  if (!d.assistant) {
    showTrack(null, pickup);
    return;
  }
  api("GET", "/api/assistance/" + d.id + "/track/").then((t) => {
    if (story.id === d.id) showTrack(t.geometry || t, pickup);
  }).catch(() => showTrack(null, pickup));
}

async function loadChat() {
  const id = story.id;
  if (id == null) return;
  let page;
  try {
    page = await api("GET", "/api/assistance/" + id + "/messages/?limit=100");
  } catch (err) {
    return;
  }
  if (id !== story.id) return;
  const items = page.results.slice().reverse();
  const last = items.length ? items[items.length - 1].id : 0;
  if (last === story.lastChat) return;
  story.lastChat = last;
  $("chat").replaceChildren(...items.map((c) => el("li", { class: c.sender_role, dataset: { id: c.id } },
    el("time", {}, clock(c.sent_at)), " ", el("b", {}, (c.sender_name || "#" + c.sender) + " (" + c.sender_role + ")"), " " + c.message)));
  $("chat").scrollTop = $("chat").scrollHeight;
}

async function sendChat() {
  const input = $("chat-input"), text = input.value.trim();
  if (!text || story.id == null) return;
  input.disabled = true;
  try {
    await api("POST", "/api/dispatch/requests/" + story.id + "/messages/", { message: text });
    input.value = "";
    await loadChat();
  } catch (err) {
    $("message").textContent = "Message not sent: " + err.message;
  } finally {
    input.disabled = false;
    input.focus();
  }
}

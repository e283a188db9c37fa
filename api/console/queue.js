// What needs the dispatcher, first: requested jobs by urgency (search exhausted, then declined by
// everyone asked, then the longest waiting), each with its waiting time and round state; the jobs
// in progress; the fleet. j/k walk this order.

import { $, el, etaText, state, waited } from "./store.js";

/** 0 search exhausted · 1 declined by everyone in its round · 2 searching; then oldest first. */
export function urgency(r) {
  if (!r.searching && r.exhausted_at) return 0;
  if (r.sent && r.sent.size && r.declined && r.declined.size >= r.sent.size) return 1;
  return 2;
}

export function queue() {
  return [...state.requests.values()]
    .filter((r) => r.status === "requested")
    .sort((a, b) => urgency(a) - urgency(b) || Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id);
}

export function jobs() {
  return [...state.requests.values()]
    .filter((r) => r.status === "accepted" || r.status === "ongoing")
    .sort((a, b) => a.id - b.id);
}

/** The order j/k walk: the queue, then the jobs in progress. */
export function walkOrder() { return [...queue(), ...jobs()].map((r) => r.id); }

function roundState(r) {
  const u = urgency(r);
  if (u === 0) return "search exhausted";
  const asked = r.sent ? r.sent.size : 0, no = r.declined ? r.declined.size : 0;
  const round = r.offer_round ? "round " + r.offer_round : "searching";
  if (u === 1) return round + " · declined by all " + asked;
  return round + (asked ? " · " + asked + " asked" + (no ? ", " + no + " declined" : "") : "");
}

function requestItem(r, onPick) {
  const tag = ["needs you", "declined", ""][urgency(r)];
  const li = el("li", { id: "req-" + r.id, class: "u" + urgency(r), dataset: { status: r.status, urgency: String(urgency(r)) }, onclick: () => onPick(r.id) },
    el("span", { class: "main" }, el("b", {}, "#" + r.id), " " + (r.service_type || "") + (tag ? " " : ""), tag ? el("em", {}, tag) : null),
    el("span", { class: "state" }, el("span", { class: "wait" }, waited(r.created_at || r.createdAt)), " · " + roundState(r)));
  if (r.id === state.selected) li.classList.add("selected");
  return li;
}

function jobItem(r, onPick) {
  const who = r.assistant ? r.assistant.name || "#" + r.assistant.id : "";
  const eta = r.status === "accepted" && r.eta_s != null ? " · ETA " + etaText(r) : "";
  const li = el("li", { id: "req-" + r.id, dataset: { status: r.status }, onclick: () => onPick(r.id) },
    el("span", { class: "main" }, el("b", {}, "#" + r.id), " " + who),
    el("span", { class: "state" }, r.status + eta));
  if (r.id === state.selected) li.classList.add("selected");
  return li;
}

export function renderQueue({ onRequest, onAssistant }) {
  const q = queue(), j = jobs();
  $("queue-list").replaceChildren(...q.map((r) => requestItem(r, onRequest)));
  $("jobs-list").replaceChildren(...j.map((r) => jobItem(r, onRequest)));
  $("queue-count").textContent = "(" + q.length + ")";
  $("jobs-count").textContent = "(" + j.length + ")";
  const order = { idle: 0, offered: 1, busy: 2, offline: 3 };
  const fleet = [...state.assistants.values()].sort((a, b) => (order[a.state] ?? 4) - (order[b.state] ?? 4) || a.id - b.id);
  const counts = {};
  for (const a of fleet) counts[a.state] = (counts[a.state] || 0) + 1;
  $("fleet-count").textContent = "(" + (Object.entries(counts).map(([k, v]) => v + " " + k).join(", ") || "0") + ")";
  $("fleet-list").replaceChildren(...fleet.slice(0, 200).map((a) => el("li", { id: "asst-" + a.id, dataset: { state: a.state }, onclick: () => onAssistant(a.id) },
    el("span", { class: "main" }, el("span", { class: "dot " + a.state }), a.name || "#" + a.id),
    el("span", { class: "state" }, (a.service_type || "") + " · " + a.state))));
}

/** The selected request's candidates, soonest first; the first is the suggestion (Enter). */
export function renderCandidates(r, list, onAssign) {
  $("candidates-for").textContent = r.status === "requested" ? "for #" + r.id + (list.length ? "" : ": nobody available") : "(only while requested)";
  const suggested = (c, i) => i === 0 && !c.gone;
  $("candidates-list").replaceChildren(...list.map((c, i) => el("li", {
    id: "cand-" + c.assistant_id, class: suggested(c, i) ? "suggested" : c.gone ? "gone" : "", dataset: { eta: c.eta_s, source: c.eta_source },
    onclick: () => onAssign(c.assistant_id),
  }, el("span", { class: "main" }, el("kbd", {}, i < 9 ? String(i + 1) : ""), " " + (c.assistant_name || "#" + c.assistant_id),
    suggested(c, i) ? el("em", {}, " suggested") : c.gone ? " (now " + state.assistants.get(c.assistant_id).state + ")" : null),
  el("span", { class: "state" }, etaText(c) + " · " + Number(c.distance).toFixed(1) + " km"))));
  $("osm").hidden = !list.some((c) => c.eta_source === "road");
  const ok = list.length && !list[0].gone && r.status === "requested";
  $("act-assign").disabled = !ok;
  $("act-assign").textContent = ok
    ? "Assign " + (list[0].assistant_name || "#" + list[0].assistant_id) + " (Enter)" : "Assign suggestion";
}

// Waiting times tick even when nothing arrives.
setInterval(() => {
  for (const r of queue()) {
    const li = document.getElementById("req-" + r.id);
    const w = li && li.querySelector(".wait");
    if (w) w.textContent = waited(r.created_at || r.createdAt);
  }
}, 1000);

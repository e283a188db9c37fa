// The live feed (/ws/dispatch/): every event applied once, in seq order; after a network blip or
// a server restart it reconnects with ?since=<last seq> so nothing is missed; /api/health/ says
// why the page may be behind (listener down, database failing over, server away).

import { token } from "./auth.js";
import { $, state } from "./store.js";

const feed = { socket: null, retry: 500, timer: null, health: null, up: false, onFrame: null, onResync: null, ended: null };

function show(kind, text) {
  const pill = $("feed-state");
  pill.textContent = text;
  pill.className = "feed " + kind;
  pill.dataset.state = kind;
}

/** What /api/health/ says, turned into the header's pill while the socket is down or the server is behind. */
async function checkHealth() {
  let body = null;
  try {
    const resp = await fetch("/api/health/", { cache: "no-store" });
    body = await resp.json().catch(() => null);
  } catch (err) {
    body = null;
  }
  if (!body) {
    if (!feed.up) show("down", "server unreachable: reconnecting…");
    return;
  }
  if (body.database === "failing_over") show("failover", "database failover: actions paused, events will follow");
  else if (body.database !== "ok") show("failover", "database unavailable: actions paused");
  else if (body.listener && body.listener.state === "down") show("behind", "behind: event listener down " + (body.listener.down_s || 0) + "s");
  else if (!feed.up) show("reconnecting", "reconnecting…");
  else show("live", "live");
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const since = state.lastSeq ? "&since=" + state.lastSeq : "";
  const ws = new WebSocket(scheme + "//" + location.host + "/ws/dispatch/?token=" + encodeURIComponent(token()) + since);
  feed.socket = ws;
  state.connects.push(state.lastSeq);
  ws.onmessage = (event) => {
    const f = JSON.parse(event.data);
    if (f.type === "connection_established") {
      feed.up = true;
      feed.retry = 500;
      show("live", "live");
      checkHealth();
      if (!since) feed.onResync(); // a first connection: load the snapshot, the feed follows it
      return;
    }
    if (f.type === "replay_truncated") {
      feed.onResync(); // too far behind to replay: start again from a snapshot
      return;
    }
    if (f.seq != null) {
      if (f.seq <= state.lastSeq) return; // replayed and live can overlap: each event once
      state.lastSeq = f.seq;
      state.seqs.push(f.seq);
    }
    feed.onFrame(f);
  };
  ws.onclose = (event) => {
    if (feed.socket !== ws) return;
    feed.up = false;
    if (event.code === 4401) {
      feed.socket = null;
      feed.ended("This session was ended on the server: please log in again.");
      return;
    }
    show("reconnecting", "reconnecting…");
    checkHealth();
    feed.timer = setTimeout(connect, feed.retry);
    feed.retry = Math.min(feed.retry * 2, 5000);
  };
}

export function startFeed({ onFrame, onResync, onEnded }) {
  Object.assign(feed, { onFrame, onResync, ended: onEnded });
  state.lastSeq = 0;
  connect();
  feed.health = setInterval(checkHealth, 5000);
}

export function stopFeed() {
  const ws = feed.socket;
  feed.socket = null;
  clearTimeout(feed.timer);
  clearInterval(feed.health);
  if (ws) ws.close();
}

/** A hidden page's timers are throttled: on return, reconnect at once if the socket dropped. */
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && feed.socket && feed.socket.readyState > 1) {
    clearTimeout(feed.timer);
    connect();
  }
});

// The session: log in, every API call with a fresh access token (renewed silently before it
// expires, rotating the refresh token as the API does), and a logout that ends it on the server.

import { $, state } from "./store.js";

const session = {
  access: sessionStorage.getItem("dispatch.token"),
  refresh: sessionStorage.getItem("dispatch.refresh"),
  timer: null,
  renewing: null, // the one refresh in flight: concurrent callers wait for it
  ended: () => {},
};

function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "===".slice((part.length + 3) % 4)));
  } catch (err) {
    return {};
  }
}

function store(access, refresh) {
  session.access = access;
  session.refresh = refresh;
  sessionStorage.setItem("dispatch.token", access);
  sessionStorage.setItem("dispatch.refresh", refresh);
  schedule();
}

function forget() {
  clearTimeout(session.timer);
  session.access = session.refresh = null;
  sessionStorage.removeItem("dispatch.token");
  sessionStorage.removeItem("dispatch.refresh");
  sessionStorage.removeItem("dispatch.name");
}

/** Renew when a fifth of the token's life (at most a minute) is left. */
function schedule() {
  clearTimeout(session.timer);
  const c = claims(session.access);
  if (!c.exp) return;
  const life = c.iat ? c.exp - c.iat : 3600;
  const due = (c.exp - Math.min(60, life / 5)) * 1000 - Date.now();
  session.timer = setTimeout(() => renew().catch(() => {}), Math.max(500, due));
}

export function token() { return session.access; }
export function loggedIn() { return Boolean(session.access && session.refresh); }
export function onEnded(fn) { session.ended = fn; }
export function userId() { return Number(claims(session.access).sub) || null; }

/** Rotate the refresh token for a new pair; a refused one ends the session (reuse revokes it). */
export function renew() {
  if (session.renewing) return session.renewing;
  session.renewing = (async () => {
    let resp;
    try {
      resp = await fetch("/api/auth/token/refresh/", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh: session.refresh }),
      });
    } catch (err) {
      session.timer = setTimeout(() => renew().catch(() => {}), 3000); // server away: try again
      throw err;
    }
    const data = await resp.json().catch(() => ({}));
    if (resp.status === 401 || resp.status === 400) {
      forget();
      session.ended("Your session has ended (" + (data.code || resp.status) + "): please log in again.");
      throw new Error("session ended");
    }
    if (!resp.ok) {
      session.timer = setTimeout(() => renew().catch(() => {}), 3000); // 503 failover: later
      throw new Error(data.error || "HTTP " + resp.status);
    }
    store(data.access, data.refresh);
    state.refreshes += 1;
  })().finally(() => { session.renewing = null; });
  return session.renewing;
}

/** One API call; a 401 renews the token once and tries again, so an expiry never shows. */
export async function api(method, path, body) {
  const send = () => fetch(path, {
    method,
    headers: Object.assign({ "Content-Type": "application/json" },
      session.access ? { Authorization: "Bearer " + session.access } : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  const c = claims(session.access);
  if (c.exp && c.exp * 1000 - Date.now() < 2000 && session.refresh) await renew();
  let resp = await send();
  if (resp.status === 401 && session.refresh) {
    await renew();
    resp = await send();
  }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const err = new Error(data.error || "HTTP " + resp.status);
    err.status = resp.status;
    err.code = data.code;
    throw err;
  }
  return data;
}

export async function login(email, password) {
  const resp = await fetch("/api/auth/login/email/", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(data.error || "HTTP " + resp.status);
  if (data.user.role !== "dispatcher") throw new Error("This console is for dispatchers.");
  store(data.tokens.access, data.tokens.refresh);
  sessionStorage.setItem("dispatch.name", data.user.name || data.user.email || "");
  return data.user;
}

/** End the session on the server first (its access tokens and sockets are revoked in every
 * process), then here; plain fetch, so a 401 cannot loop back into a refresh. */
export async function logout() {
  const refresh = session.refresh;
  forget();
  if (!refresh) return;
  try {
    const resp = await fetch("/api/auth/logout/", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh }),
    });
    if (!resp.ok && resp.status !== 401) throw new Error("HTTP " + resp.status);
  } catch (err) {
    $("login-error").textContent = "Logged out here; the server could not be told (" + err.message + ").";
  }
}

if (session.access) schedule();

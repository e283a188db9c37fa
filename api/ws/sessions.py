"""Open sockets by login session, so a revoked session (logout, password reset, a disabled or
deleted user) closes its sockets at once instead of letting them chat on."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from aiohttp import web

log = logging.getLogger(__name__)

CLOSE_SESSION_REVOKED = 4401  # the WebSocket twin of 401 TOKEN_REVOKED (see docs/websockets.md)


def _family(value: Any) -> str:
    return str(value or "").replace("-", "").lower()


class SessionSockets:
    """User → {socket: session family}; fed by the `sys:revocations` events every process hears."""

    def __init__(self) -> None:
        self._users: dict[int, dict[web.WebSocketResponse, str]] = {}
        self._closing: set[asyncio.Task[Any]] = set()

    def add(self, user_id: int, family: Any, ws: web.WebSocketResponse) -> None:
        self._users.setdefault(user_id, {})[ws] = _family(family)

    def discard(self, user_id: int, ws: web.WebSocketResponse) -> None:
        sockets = self._users.get(user_id)
        if sockets is not None:
            sockets.pop(ws, None)
            if not sockets:
                del self._users[user_id]

    def on_revocation(self, message: str) -> None:
        """Close every socket of the users and sessions the announcement names."""
        try:
            data = orjson.loads(message)
            users = {int(u) for u in data.get("users") or []}
            sessions = {
                (int(s["user_id"]), _family(s["family"])) for s in data.get("sessions") or []
            }
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
            log.warning("unreadable revocation event; no socket closed")
            return
        doomed = [
            (user_id, ws)
            for user_id in users | {user for user, _ in sessions}
            for ws, family in self._users.get(user_id, {}).items()
            if user_id in users or (user_id, family) in sessions
        ]
        for user_id, ws in doomed:
            # Forgotten at once: one revocation often announces twice (a disabled user's
            # sessions are revoked too), and a socket must be closed only once.
            self.discard(user_id, ws)
            task = asyncio.ensure_future(
                ws.close(code=CLOSE_SESSION_REVOKED, message=b"session revoked")
            )
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        if doomed:
            log.info("closed %d sockets of revoked sessions", len(doomed))


SESSIONS = web.AppKey("session_sockets", SessionSockets)

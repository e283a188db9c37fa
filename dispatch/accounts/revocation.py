"""A per-process cache of access-token sessions known to be valid, evicted by revocation events.

Every authenticated request must refuse a revoked token. Asking the database each time costs a
round trip per request; instead a (user, session) found valid is remembered for a short while,
and forgotten at once when the database announces a revocation (triggers on refresh_tokens and
users emit `sys:revocations` in the revoking transaction). While the event listener is down,
nothing is trusted from the cache (events could be missed), and it is emptied on reconnect.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from dispatch.accounts.tokens import access_revoked
from dispatch.core.ids import parse_id

TOPIC = "sys:revocations"
_MAX_ENTRIES = 100_000

Key = tuple[int, str | None]


class RevocationCache:
    def __init__(
        self, *, ttl: float, listening: Callable[[], bool], epoch: Callable[[], int]
    ) -> None:
        self._ttl = ttl
        self._listening = listening
        self._epoch = epoch  # the listener's connection count: a reconnect empties the cache
        self._seen_epoch = epoch()
        self._valid: dict[Key, float] = {}
        self._generation = 0  # bumped by every eviction, so a racing lookup is not cached
        self.lookups = 0  # database lookups made (for tests and metrics)

    async def revoked(self, conn_factory: Any, claims: dict[str, Any]) -> bool:
        """Whether the token's session is revoked, from the cache when it can be trusted."""
        user_id = parse_id(claims.get("sub"))
        if user_id is None:
            return True
        key: Key = (user_id, claims.get("fam"))
        if self._epoch() != self._seen_epoch:
            self._seen_epoch = self._epoch()
            self.clear()  # events may have been missed while the listener was away
        trusted = self._ttl > 0 and self._listening()
        now = time.monotonic()
        if trusted and self._valid.get(key, 0.0) > now:
            return False
        generation = self._generation
        self.lookups += 1
        async with conn_factory() as conn:
            revoked = await access_revoked(conn, claims)
        if not revoked and trusted and generation == self._generation:
            if len(self._valid) >= _MAX_ENTRIES:
                self._valid.clear()
            self._valid[key] = now + self._ttl
        return revoked

    def on_event(self, message: str) -> None:
        """Forget every session the announcement names (all of a user's for a user)."""
        self._generation += 1
        try:
            data = orjson.loads(message)
        except orjson.JSONDecodeError:
            self.clear()
            return
        users = {int(u) for u in data.get("users") or []}
        sessions = {
            (int(s["user_id"]), str(s["family"]).replace("-", ""))
            for s in data.get("sessions") or []
        }
        for key in list(self._valid):
            user_id, family = key
            if user_id in users or (user_id, (family or "").replace("-", "")) in sessions:
                del self._valid[key]

    def clear(self) -> None:
        self._generation += 1
        self._valid.clear()

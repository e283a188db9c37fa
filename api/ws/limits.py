"""Per-user limits on WebSocket writes (a chat token bucket) and the measure of a socket's unsent bytes."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import struct
import termios
import time

from aiohttp import web

CHAT_LIMITED = "too many chat messages; slow down"
_MAX_USERS = 50_000  # buckets kept before idle (full) ones are forgotten


class ChatLimiter:
    """A token bucket per user (per process): up to `per_minute` messages in a burst, refilled
    at `per_minute` a minute. A user's sockets share one bucket, so more sockets buy nothing."""

    def __init__(self, per_minute: int) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._buckets: dict[int, tuple[float, float]] = {}  # user -> (tokens, as of)

    def allow(self, user_id: int) -> bool:
        if self._capacity <= 0:
            return True  # no limit configured
        now = time.monotonic()
        tokens, then = self._buckets.get(user_id, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - then) * self._rate)
        if tokens < 1.0:
            self._buckets[user_id] = (tokens, now)
            return False
        if len(self._buckets) >= _MAX_USERS and user_id not in self._buckets:
            self._forget_idle(now)
        self._buckets[user_id] = (tokens - 1.0, now)
        return True

    def _forget_idle(self, now: float) -> None:
        """Drop the buckets that have refilled: forgetting them changes nothing."""
        for user_id, (tokens, then) in list(self._buckets.items()):
            if tokens + (now - then) * self._rate >= self._capacity:
                del self._buckets[user_id]


CHAT_LIMITER = web.AppKey("chat_limiter", ChatLimiter)


def setup_ws_limits(app: web.Application, *, chat_per_minute: int) -> None:
    app[CHAT_LIMITER] = ChatLimiter(chat_per_minute)


def allow_chat(app: web.Application, user_id: int) -> bool:
    return app[CHAT_LIMITER].allow(user_id)


def unsent_bytes(transport: asyncio.Transport | None) -> int:
    """Bytes written to a socket that the client has not taken yet: the transport's buffer plus
    the kernel's send queue (SIOCOUTQ), which grows to megabytes before a send ever blocks."""
    if transport is None or transport.is_closing():
        return 0
    total = transport.get_write_buffer_size()
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, ValueError):
            packed = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
            total += struct.unpack("i", packed)[0]
    return total

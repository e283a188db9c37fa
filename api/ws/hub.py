"""The hub: which local sockets listen to which topic, each with a bounded, timed send queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections import defaultdict
from typing import Any

import orjson
from aiohttp import web

from api.ws.limits import unsent_bytes

log = logging.getLogger(__name__)

# Close codes (4000-4999 are the application's own; documented in docs/websockets.md).
CLOSE_SLOW_CONSUMER = 4008
CLOSE_GOING_AWAY = 1001


class Close:
    """A queue sentinel: close the socket with this code once what is ahead of it is written."""

    def __init__(self, code: int, reason: bytes) -> None:
        self.code, self.reason = code, reason


_SLOW = Close(CLOSE_SLOW_CONSUMER, b"slow consumer")
_BYE = Close(CLOSE_GOING_AWAY, b"server shutdown")


def text_frame(data: bytes) -> bytes:
    """One unmasked, unfragmented WebSocket text frame (RFC 6455, 5.2), as a server sends it."""
    n = len(data)
    if n < 126:
        return bytes((0x81, n)) + data
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + data
    return struct.pack("!BBQ", 0x81, 127, n) + data


class Peer:
    """One connected socket. A frame goes straight to the socket when nothing is waiting for it
    (no queued frame, no send in progress, nothing left in the transport's buffer); otherwise it
    joins a bounded queue drained by one writer task, so a slow or stuck client only ever delays
    itself: a full queue, a send over the timeout or too many unsent bytes closes it.

    The direct write is aiohttp's own framing done in place: the writer task's path (queue, task
    switch, send timer, aiohttp's frame writer, a syscall for the kernel's queue) cost 30-60 us of
    CPU a frame, the direct one ~15 us, and a dense cycle sends ~22 frames. Sockets that
    negotiated permessage-deflate always take aiohttp's writer, which compresses."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        user_id: int,
        *,
        queue: int,
        timeout: float,
        max_bytes: int = 0,
        transport: asyncio.Transport | None = None,
    ):
        self.ws = ws
        self.user_id = user_id
        self._queue: asyncio.Queue[str | object] = asyncio.Queue(maxsize=queue)
        # Bytes as well as messages and time: a client that stops reading lets the kernel buffer
        # megabytes while every send still returns at once (unsent_bytes measures that backlog).
        self._max_bytes = max_bytes
        self._queued_bytes = 0
        self._room = 0  # bytes that may still be sent before the kernel's queue is looked at again
        self._closing = False
        self._timeout = timeout
        self.last_seq = 0  # the highest event seq queued to this socket
        self._held: list[tuple[str, int]] | None = None
        # None: every frame goes through the writer task, and no byte bound.
        self._transport = transport
        self._sending = False  # the writer task is inside a send
        self._writer = asyncio.create_task(self._write(), name=f"ws-writer-{user_id}")

    def send(self, message: str, seq: int | None = None) -> None:
        """Queue a message without waiting; a peer that cannot keep up is closed.

        Events (with `seq`) go out at most once and in order: one at or below the last sent is
        dropped, and while a `since` replay runs (`hold`) live events wait for `release`."""
        if seq is not None:
            if self._held is not None:
                self._held.append((message, seq))
                return
            if seq <= self.last_seq:
                return
            self.last_seq = seq
        self._enqueue(message)

    async def replay(self, message: str, seq: int) -> None:
        """Queue a stored event, waiting for room (a replay may be longer than the queue)."""
        if seq <= self.last_seq or self.ws.closed or self._closing:
            return
        self.last_seq = seq
        try:
            await asyncio.wait_for(self._queue.put(message), self._timeout)
            self._queued_bytes += len(message)  # the writer takes it off when sent
        except TimeoutError:
            self._enqueue(_SLOW)  # not reading: closed as a slow consumer

    def hold(self) -> None:
        """Keep live events back until `release` (the replay of stored ones comes first)."""
        self._held = []

    def release(self) -> None:
        held, self._held = self._held or [], None
        for message, seq in held:
            self.send(message, seq)

    def _enqueue(self, message: str | object) -> None:
        if self.ws.closed or self._closing:
            return
        try:
            if self._max_bytes and not self._room_for(message):
                raise asyncio.QueueFull
            if isinstance(message, str) and self._write_now(message):
                return
            self._queue.put_nowait(message)
            self._queued_bytes += len(message) if isinstance(message, str) else 0
        except asyncio.QueueFull:
            log.warning("closing slow WebSocket consumer (user %s)", self.user_id)
            self._closing = True
            # Drop what it has not taken; the writer finishes its current frame, then closes.
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(_SLOW)

    def _room_for(self, message: str | object) -> bool:
        """Whether the bytes not yet taken by the client (queued here, in the transport, in the
        kernel) stay within the bound with this message. Every message is charged against the
        room left at the last look; the kernel's queue is asked again (a syscall) only when that
        room is used up, so the bound is never passed unseen, and the room a client frees by
        reading is found at the next look."""
        size = len(message) if isinstance(message, str) else 0
        self._room -= size
        if self._room < 0:
            unsent = unsent_bytes(self._transport)
            self._room = self._max_bytes - self._queued_bytes - unsent - size
        return self._room >= 0

    def _write_now(self, message: str) -> bool:
        """Write the frame at once if nothing is ahead of it; False: it must be queued. Order holds:
        a queued frame stays in the queue until the writer takes it, and the writer marks its send."""
        transport = self._transport
        if (
            transport is None
            or self._sending
            or not self._queue.empty()
            or self.ws.compress
            or transport.is_closing()
            or transport.get_write_buffer_size()
        ):
            return False
        transport.write(text_frame(message.encode()))
        return True

    async def _write(self) -> None:
        while True:
            message = await self._queue.get()
            if isinstance(message, Close):
                await self.ws.close(code=message.code, message=message.reason)
                return
            assert isinstance(message, str)
            self._queued_bytes -= len(message)
            self._sending = True
            try:
                # asyncio.timeout, not wait_for: wait_for wrapped every frame in a new Task
                # (an await that completes at once: ~10 us with wait_for, ~7 us with this).
                async with asyncio.timeout(self._timeout):
                    await self.ws.send_str(message)
            except TimeoutError:
                log.warning("closing WebSocket after a send timeout (user %s)", self.user_id)
                await self.ws.close(code=CLOSE_SLOW_CONSUMER, message=b"send timeout")
                return
            except (ConnectionError, RuntimeError):
                return  # the peer went away; the reader notices and unregisters
            finally:
                self._sending = False

    @property
    def closing(self) -> bool:
        """Nothing more goes out: the socket is closed or its closing frame is queued."""
        return self._closing or self.ws.closed

    def end(self, close: Close) -> None:
        """Close once what is already queued has been written; nothing queued after goes out."""
        if self.closing:
            return
        self._closing = True
        try:
            self._queue.put_nowait(close)
        except asyncio.QueueFull:  # the closing frame goes before frames the client is not taking
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(close)

    async def finish(self, within: float) -> None:
        """Write what is queued, then close with 1001 (at most `within` seconds)."""
        self.end(_BYE)
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._writer), within)
        if not self.ws.closed:
            with contextlib.suppress(Exception):
                await self.ws.close(code=CLOSE_GOING_AWAY, message=b"server shutdown")

    async def close(self) -> None:
        if self._closing and not self._writer.done():
            # The writer is closing the socket for the server (4403, 4008, 1001): let it finish the
            # handshake, or the client sees the connection dropped (1006) instead of the code.
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._writer), self._timeout)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer


class AreaPeer(Peer):
    """A dispatcher's socket: with an `area` (minLng, minLat, maxLng, maxLat) set by a subscribe
    frame it is given only what lies inside it: frames placed by a `pickup` {lat, lng} or a
    top-level lat/lng, and of a `positions` frame the assistants inside (none: no frame). Frames
    without a place pass."""

    area: tuple[float, float, float, float] | None = None

    def send(self, message: str, seq: int | None = None) -> None:
        if self.area is not None:
            narrowed = self._narrow(message)
            if narrowed is None:
                return
            message = narrowed
        super().send(message, seq)

    def _inside(self, place: Any) -> bool:
        if not isinstance(place, dict):
            return True
        lat, lng = place.get("lat"), place.get("lng")
        if not isinstance(lat, int | float) or not isinstance(lng, int | float):
            return True
        assert self.area is not None
        min_lng, min_lat, max_lng, max_lat = self.area
        return min_lng <= lng <= max_lng and min_lat <= lat <= max_lat

    def _narrow(self, message: str) -> str | None:
        """The message as this socket should get it, or None to drop it."""
        try:
            data = orjson.loads(message)
        except orjson.JSONDecodeError:
            return message
        if not isinstance(data, dict):
            return message
        if data.get("type") == "positions" and isinstance(data.get("assistants"), list):
            kept = [a for a in data["assistants"] if self._inside(a)]
            if not kept:
                return None
            if len(kept) == len(data["assistants"]):
                return message
            return orjson.dumps({**data, "assistants": kept}).decode()
        pickup = data.get("pickup")
        return message if self._inside(pickup if isinstance(pickup, dict) else data) else None


class Hub:
    """Topic → local peers. Fed by the event bus; every delivery is a non-blocking enqueue."""

    def __init__(self) -> None:
        self._topics: dict[str, set[Peer]] = defaultdict(set)

    def subscribe(self, topic: str, peer: Peer) -> None:
        self._topics[topic].add(peer)

    def unsubscribe(self, topic: str, peer: Peer) -> None:
        peers = self._topics.get(topic)
        if peers is not None:
            peers.discard(peer)
            if not peers:
                del self._topics[topic]

    def deliver(
        self, topic: str, message: str, skip_user: int | None = None, seq: int | None = None
    ) -> None:
        for peer in tuple(self._topics.get(topic, ())):
            if peer.user_id != skip_user:
                peer.send(message, seq)

    def deliver_to(self, topic: str, message: str, user_id: int) -> None:
        """A frame without seq for one user's sockets on `topic` (a location relay)."""
        for peer in tuple(self._topics.get(topic, ())):
            if peer.user_id == user_id:
                peer.send(message)

    async def close_all(self, within: float = 5.0) -> None:
        """Close every socket with 1001 once what is queued to it has been written."""
        peers = {peer for group in self._topics.values() for peer in group}
        await asyncio.gather(*(p.finish(within) for p in peers), return_exceptions=True)

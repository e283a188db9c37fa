"""The listener: one per server process, reading published events by seq and delivering them locally.

The event flow is commit → log → publisher → listener → socket: `dispatch.emit()` writes a row of
`dispatch.event_log` in the changing transaction (one row per emit call: a batch of frames); a
publisher (dispatch/events/publisher.py) numbers committed batches (a batch of k frames takes k consecutive
seqs) and sends a wake-up NOTIFY that carries the batches when they fit; this listener takes
every batch after its cursor, in seq order, from the payload or else from the table, and hands
each frame, with its seq added, to `deliver`. Nothing is lost while it is away: the cursor waits,
and the rows are read at reconnect (the table is the source of truth; payloads save the read).
Location relays are the one exception: ephemeral and superseded every few seconds, they travel as
NOTIFY payloads on their own channel, without seq (see positions.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
import orjson

from dispatch.core.db import PrimaryConnector

log = logging.getLogger(__name__)

CHANNEL = "dispatch_events"  # wake-ups: the highest seq published, with the batches when they fit
POSITIONS_CHANNEL = "dispatch_positions"  # location relays: {"relays": [{topic, to, message}]}
LISTENER_NAME = "dispatch-listener"

# Called with (topic, frame JSON text, user id to skip or None, seq or None) for every event.
Deliver = Callable[[str, str, int | None, int | None], None]
# Called with (topic, frame JSON text, the one user it is for) for every location relay.
Relay = Callable[[str, str, int], None]

_FETCH = """
SELECT seq, topics, messages, skip_user FROM dispatch.event_log
 WHERE seq > $1 ORDER BY seq LIMIT $2
"""
_PROBE_TIMEOUT = 5.0


def frame(message: str, seq: int) -> str:
    """The WebSocket frame of a stored message (JSON text, as PostgreSQL writes jsonb): an object
    gets `"seq"` as its last member; anything else goes as it is (dispatch.event_frame in SQL)."""
    if not message.endswith("}"):
        return message
    body = message[:-1].rstrip()
    return f'{body}{", " if body != "{" else ""}"seq": {seq}}}'


class EventBus:
    """Delivers every published event once, in seq order, to this process's `deliver`.

    It reads on a wake-up NOTIFY, every `poll` seconds as a safety net, right after every (re)
    connect, and when the local publisher hands it rows it has just numbered (`offer`).
    """

    def __init__(
        self,
        url: str,
        deliver: Deliver,
        *,
        relay: Relay | None = None,
        poll: float = 1.0,
        batch: int = 500,
        connect_timeout: float = 5.0,
    ) -> None:
        self._url = url
        self._connector = PrimaryConnector(url, per_host=connect_timeout)
        self._deliver = deliver
        self._relay = relay
        self._poll = poll
        self._batch = batch
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()  # set whenever the cursor moves
        self._tried = asyncio.Event()  # the first connection attempt is over
        self.connected = asyncio.Event()
        self.connects = 0  # how many times the listener has (re)connected
        self.reads = 0  # reads of the table (catch-up reads), for tests
        self.cursor: int | None = None  # the last seq delivered; None until first connected
        self.down_since: float | None = time.monotonic()  # None while connected

    async def start(self, within: float = 10.0) -> None:
        """Start listening; returns after the first connection attempt (so that, the database being
        up, the cursor is set before this process accepts its first socket)."""
        self._task = asyncio.create_task(self._run(), name="event-bus")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._tried.wait(), within)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()

    def wake(self) -> None:
        """Read what has been published since the cursor, now."""
        self._wake.set()

    def down_for(self) -> float:
        """Seconds the listener has been disconnected (0 while connected)."""
        return 0.0 if self.down_since is None else time.monotonic() - self.down_since

    def offer(self, rows: Sequence[Any]) -> None:
        """Batches (seq, topics, messages, skip_user) the local publisher has just committed:
        delivered at once when they follow the cursor, which saves the NOTIFY round trip for local
        sockets."""
        for row in rows:
            if self.cursor is None or row["seq"] > self.cursor + 1:
                self.wake()  # others' events come first: read them from the table in order
                return
            self._take(row)

    async def caught_up(self, seq: int, within: float) -> bool:
        """Wait until every event up to `seq` has been delivered (False on timeout)."""
        deadline = time.monotonic() + within
        while self.cursor is None or self.cursor < seq:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._progress.clear()
            self.wake()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), min(remaining, 0.1))
        return True

    def _take(self, row: Any) -> None:
        """Deliver one batch's frames after the cursor (the publisher's hand-over and a read of
        the table may overlap: what is at or below the cursor was delivered already)."""
        first, skip = row["seq"], row["skip_user"]
        for seq, topic, message in zip(
            range(first, first + len(row["topics"])), row["topics"], row["messages"], strict=True
        ):
            if self.cursor is not None and seq <= self.cursor:
                continue
            self.cursor = seq
            try:
                self._deliver(topic, frame(message, seq), skip, seq)
            except Exception:  # one bad delivery must not stop the feed
                log.exception("event %s could not be delivered", seq)
        self._progress.set()

    async def _catch_up(self, conn: asyncpg.Connection) -> None:
        while True:
            async with asyncio.timeout(_PROBE_TIMEOUT):  # no Task per read, as wait_for made
                rows = await conn.fetch(_FETCH, self.cursor, self._batch)
            self.reads += 1
            for row in rows:
                self._take(row)
            if len(rows) < self._batch:
                return

    async def _connect(self) -> asyncpg.Connection:
        conn = await self._connector(
            # The catch-up read's generic plan is the seq index scan; left to choose, PostgreSQL
            # planned it afresh on every read (~130 us, 0.4 ms of each dense cycle's database CPU).
            server_settings={
                "application_name": LISTENER_NAME,
                "plan_cache_mode": "force_generic_plan",
            },
        )
        self._lost.clear()
        conn.add_termination_listener(lambda _c: self._on_lost())
        await conn.add_listener(CHANNEL, self._on_wake)
        await conn.add_listener(POSITIONS_CHANNEL, self._on_positions)
        if self.cursor is None:
            # A new process starts at the present: what was published before it is history.
            self.cursor = await conn.fetchval("SELECT last_seq FROM dispatch.event_cursor")
        return conn

    def _on_wake(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        """A publisher committed batches up to seq `top`, carried in the payload when they fit
        ("<top> [[seq, skip_user, topics, messages], ...]", dispatch.publish_events) and then
        delivered from it; read from the table when they did not ("<top>"), when they do not
        follow the cursor, or when the payload is malformed. Nothing to do when this process has
        delivered that far already (its own publisher's batches are handed over at once)."""
        head, _, body = payload.partition(" ")
        try:
            top = int(head)
            if self.cursor is not None and top <= self.cursor:
                return
            if body:
                self.offer(
                    [
                        {"seq": seq, "skip_user": skip, "topics": topics, "messages": messages}
                        for seq, skip, topics, messages in orjson.loads(body)
                    ]
                )
                if self.cursor is not None and self.cursor >= top:
                    return
        except (ValueError, TypeError):  # orjson.JSONDecodeError is a ValueError
            log.warning("reading the table after a malformed wake-up payload")
        self._wake.set()

    def _on_lost(self) -> None:
        self._lost.set()
        self._wake.set()

    async def _run(self) -> None:
        delay = 0.05
        while True:
            try:
                self._conn = conn = await self._connect()
                self.connects += 1
                self.connected.set()
                self.down_since = None
                delay = 0.05
                log.info("event listener connected at seq %s", self.cursor)
                self._tried.set()
                while not self._lost.is_set():
                    self._wake.clear()
                    # The read doubles as a probe of the connection (half-open ones included).
                    await self._catch_up(conn)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._poll):
                            await self._wake.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event listener unavailable (%s); retrying", type(exc).__name__)
            self._tried.set()
            if self.connected.is_set():
                self.down_since = time.monotonic()
            self.connected.clear()
            if self._conn is not None and not self._conn.is_closed():
                self._conn.terminate()
            # A short, capped back-off: events wait in the table, but sockets wait for them.
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _on_positions(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            relays = orjson.loads(payload)["relays"]
            if self._relay is None:
                return
            for item in relays:
                message = orjson.dumps(item["message"]).decode()
                self._relay(item["topic"], message, int(item["to"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("ignoring a malformed location relay")

"""The cross-process event bus: one LISTEN connection per server process, delivering to local sockets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
import orjson

log = logging.getLogger(__name__)

CHANNEL = "dispatch_events"
LISTENER_NAME = "dispatch-listener"

# Called with (topic, message JSON text, user id to skip or None) for every event received.
Deliver = Callable[[str, str, int | None], None]


class EventBus:
    """Listens on the `dispatch_events` channel and hands each event to `deliver`.

    Events are published by `dispatch.emit()` inside the transaction that causes them, so only
    committed changes arrive here. The listener reconnects with back-off when its connection drops;
    events published while it is down are not replayed (clients re-read state on reconnect).
    """

    def __init__(self, url: str, pool: asyncpg.Pool, deliver: Deliver) -> None:
        self._url = url
        self._pool = pool
        self._deliver = deliver
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None
        self._lost: asyncio.Event = asyncio.Event()
        self.connected = asyncio.Event()
        self.connects = 0  # how many times the listener has (re)connected

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-bus")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()

    async def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                self._conn = await asyncpg.connect(
                    self._url, server_settings={"application_name": LISTENER_NAME}
                )
                self._lost.clear()
                self._conn.add_termination_listener(lambda _c: self._lost.set())
                await self._conn.add_listener(CHANNEL, self._on_notify)
                self.connects += 1
                self.connected.set()
                delay = 0.1
                log.info("event listener connected")
                while not self._lost.is_set():
                    # A cheap probe also notices half-open connections the kernel has not reported.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._lost.wait(), timeout=10)
                    if not self._lost.is_set():
                        try:
                            await asyncio.wait_for(self._conn.execute("SELECT 1"), timeout=5)
                        except (
                            OSError,
                            TimeoutError,
                            asyncpg.PostgresError,
                            asyncpg.InterfaceError,
                        ):
                            self._lost.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event listener unavailable (%s); retrying", type(exc).__name__)
            self.connected.clear()
            if self._conn is not None and not self._conn.is_closed():
                self._conn.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            envelope = orjson.loads(payload)
            if "batch" in envelope:
                for item in envelope["batch"]:
                    self._deliver(item["topic"], orjson.dumps(item["message"]).decode(), None)
                return
            topic = envelope["topic"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("ignoring malformed event")
            return
        skip = envelope.get("skip")
        if "ref" in envelope:
            asyncio.get_running_loop().create_task(
                self._deliver_parked(topic, envelope["ref"], skip)
            )
            return
        self._deliver(topic, orjson.dumps(envelope["message"]).decode(), skip)

    async def _deliver_parked(self, topic: str, ref: int, skip: int | None) -> None:
        message = await self._pool.fetchval(
            "SELECT message FROM dispatch.event_overflow WHERE id = $1", ref
        )
        if message is not None:
            self._deliver(topic, orjson.dumps(message).decode(), skip)

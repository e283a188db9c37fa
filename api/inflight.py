"""Counting in-flight HTTP requests, so that shutdown can wait for them before closing sockets."""

from __future__ import annotations

import asyncio


class InFlight:
    """How many plain HTTP requests (not WebSockets) this process is handling."""

    def __init__(self) -> None:
        self.count = 0
        self.started = 0  # requests ever started: tells a quiet moment from a lull
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.count += 1
        self.started += 1
        self._idle.clear()

    def leave(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def idle(self, within: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True

    async def quiet(self, within: float, settle: float = 0.1) -> bool:
        """Idle, and no request started for `settle` seconds (one parsed on a keep-alive
        connection just before the shutdown may not have reached the middleware yet)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            started = self.started
            if not await self.idle(max(deadline - loop.time(), 0.0)):
                return False
            await asyncio.sleep(settle)
            if self.count == 0 and self.started == started:
                return True
            if loop.time() >= deadline:
                return False

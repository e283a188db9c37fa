"""Counting in-flight HTTP requests, so that shutdown can wait for them before closing sockets."""

from __future__ import annotations

import asyncio


class InFlight:
    """How many plain HTTP requests (not WebSockets) this process is handling."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.count += 1
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

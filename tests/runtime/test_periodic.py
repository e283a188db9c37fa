"""The one background loop (dispatch/core/periodic.py): its timing, kicks, backlog and failures."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time

import asyncpg
import pytest

from dispatch.core.periodic import Periodic


async def wait_for(predicate, within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def test_runs_every_interval_and_stops():
    runs: list[float] = []

    async def step() -> None:
        runs.append(time.monotonic())

    loop = Periodic("ticks", step, interval=0.05)
    await loop.start()
    await wait_for(lambda: len(runs) >= 4)
    await loop.stop()
    done = len(runs)
    await asyncio.sleep(0.15)
    assert len(runs) == done  # stopped means stopped
    gaps = [b - a for a, b in itertools.pairwise(runs)]
    assert min(gaps) >= 0.04


async def test_a_kick_runs_it_early_and_kicks_coalesce():
    runs = 0

    async def step() -> None:
        nonlocal runs
        runs += 1

    loop = Periodic("kicked", step, interval=3600, kicked_only=True)
    await loop.start()
    await wait_for(lambda: runs == 1)  # the first run comes at start
    for _ in range(5):
        loop.kick()
    await wait_for(lambda: runs == 2)
    await asyncio.sleep(0.05)
    assert runs == 2
    await loop.stop()


async def test_delay_first_and_zero_interval():
    runs = 0

    async def step() -> None:
        nonlocal runs
        runs += 1

    off = Periodic("off", step, interval=0)
    await off.start()
    assert not off.enabled
    late = Periodic("late", step, interval=0.2, delay_first=True)
    await late.start()
    await asyncio.sleep(0.1)
    assert runs == 0
    await wait_for(lambda: runs == 1)
    await late.stop()
    await off.stop()


async def test_true_means_run_again_at_once():
    left = [5]

    async def step() -> bool:
        left[0] -= 1
        return left[0] > 0

    loop = Periodic("backlog", step, interval=3600)
    started = time.monotonic()
    await loop.start()
    await wait_for(lambda: left[0] == 0)
    assert time.monotonic() - started < 1.0
    await loop.stop()


@pytest.mark.parametrize(
    "error", [asyncpg.InterfaceError("gone"), ConnectionResetError(), ValueError("bug")]
)
async def test_failures_are_logged_backed_off_and_survived(error, caplog):
    calls: list[float] = []

    async def step() -> None:
        calls.append(time.monotonic())
        if len(calls) <= 3:
            raise error

    loop = Periodic("flaky", step, interval=0.02, max_backoff=0.5)
    with caplog.at_level(logging.WARNING, logger="dispatch.core.periodic"):
        await loop.start()
        await wait_for(lambda: len(calls) >= 5)
    await loop.stop()
    assert loop.failures == 0  # recovered
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert gaps[1] >= 0.035 and gaps[2] >= 0.075  # doubling after each failure
    assert sum("flaky" in r.getMessage() for r in caplog.records) == 3
    traced = [r for r in caplog.records if r.exc_info]
    assert bool(traced) is isinstance(error, ValueError)  # only the unexpected get a traceback

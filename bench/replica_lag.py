"""How far a standby of the HA formation trails its primary: the time from a commit on the primary
until a read on a standby sees it, idle and under concurrent writers (docs/operations.md).

Each probe commits a transactional WAL message on the primary (`pg_logical_emit_message`: no table
needed), takes the primary's WAL position, then polls `pg_last_wal_replay_lsn()` on each standby
every 0.2 ms until it has replayed that far. With `number_sync_standbys = 1` the commit returns once
one standby has the WAL on disk; replaying it (making it visible to reads) comes after.

    .venv/bin/dispatch ha up
    .venv/bin/python -m bench.replica_lag [--probes 200] [--writers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import asyncpg

from dispatch.core.config import Settings
from dispatch.runtime import ha

_EMIT = "SELECT pg_logical_emit_message(true, 'dispatch-lag', $1)"
_LSN = "SELECT pg_current_wal_lsn()"
_REPLAYED = "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn"


async def _writer(url: str, stop: asyncio.Event) -> int:
    """Commits as fast as it can, each one waiting for a standby (the write load)."""
    conn = await asyncpg.connect(url)
    done = 0
    try:
        while not stop.is_set():
            async with conn.transaction():
                await conn.execute(_EMIT, "w" * 200)
            done += 1
    finally:
        await conn.close()
    return done


async def _probe(primary: asyncpg.Connection, standbys: list[asyncpg.Connection]) -> list[float]:
    async with primary.transaction():
        await primary.execute(_EMIT, "probe")
    committed = time.perf_counter()
    lsn = await primary.fetchval(_LSN)
    lags = []
    for standby in standbys:
        while not await standby.fetchval(_REPLAYED, lsn):
            await asyncio.sleep(0.0002)
        lags.append((time.perf_counter() - committed) * 1000)
    return lags


async def measure(probes: int, writers: int) -> dict[str, float]:
    formation = ha.formation(Settings.from_env().db)
    primary_name = formation.primary()
    primary = await asyncpg.connect(formation.node_url(str(primary_name)))
    standbys = [
        await asyncpg.connect(formation.node_url(name))
        for name in formation.nodes()
        if name != primary_name
    ]
    stop = asyncio.Event()
    load = [asyncio.create_task(_writer(formation.url(), stop)) for _ in range(writers)]
    began = time.perf_counter()
    try:
        await asyncio.sleep(0.5 if writers else 0)
        lags = []
        for _ in range(probes):
            lags.append(max(await _probe(primary, standbys)))
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        commits = sum(await asyncio.gather(*load))
        for conn in (primary, *standbys):
            await conn.close()
    lags.sort()
    return {
        "writers": writers,
        "commits_per_s": round(commits / (time.perf_counter() - began)),
        "p50_ms": round(statistics.median(lags), 2),
        "p99_ms": round(lags[int(len(lags) * 0.99) - 1], 2),
        "max_ms": round(lags[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--writers", type=int, nargs="*", default=[0, 4])
    args = parser.parse_args()
    for writers in args.writers:
        print(asyncio.run(measure(args.probes, writers)))


if __name__ == "__main__":
    main()

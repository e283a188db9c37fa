"""Sample pg_stat_activity under a short request/cancel load: how often backends wait on 'Lock: object'.

The lock PostgreSQL takes at commit for transactions that issued NOTIFY shows up as wait event
'object' of type 'Lock'. Run against a server on an already migrated database (see
docs/decisions/0002-event-log-outbox.md): python scripts/lock_waits.py --url URL --base http://127.0.0.1:PORT --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import time

import aiohttp
import asyncpg

from dispatch.core.config import Settings
from dispatch.core.db import init_connection
from tests.support.assist import PICKUP
from tests.support.factories import auth_header, create_user


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--assistants", type=int, default=30)
    args = ap.parse_args()
    settings = Settings.from_env()
    conn = await asyncpg.connect(args.url)
    await init_connection(conn)
    for i in range(args.assistants):
        await create_user(
            conn, role="assistant", is_active=True, lat=PICKUP["lat"] + 0.0005 * i, lng=PICKUP["lng"]
        )
    clients = [await create_user(conn, role="client") for _ in range(args.concurrency)]
    dbname = await conn.fetchval("SELECT current_database()")
    samples: collections.Counter[str] = collections.Counter()
    cycles = 0
    stop = time.monotonic() + args.seconds

    async def loop(session: aiohttp.ClientSession, client) -> None:
        nonlocal cycles
        hdr = auth_header(settings, client)
        while time.monotonic() < stop:
            async with session.post(
                f"{args.base}/api/assistance/request/", json={"pickup": PICKUP}, headers=hdr
            ) as resp:
                body = await resp.json()
            if resp.status != 201:
                continue
            job = body["assistance"]["id"]
            async with session.patch(
                f"{args.base}/api/assistance/update/{job}/", json={"status": "canceled"}, headers=hdr
            ) as resp:
                await resp.read()
            cycles += 1

    async def sample() -> None:
        while time.monotonic() < stop:
            for row in await conn.fetch(
                "SELECT coalesce(wait_event_type || ': ' || wait_event, 'CPU') AS w "
                "FROM pg_stat_activity WHERE datname = $1 AND state = 'active' "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
                dbname,
            ):
                samples[row["w"]] += 1
            await asyncio.sleep(0.05)

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(sample(), *(loop(session, c) for c in clients))
    total = sum(samples.values())
    lock = samples["Lock: object"]
    print(f"cycles/s {cycles / args.seconds:.1f}; active backend samples {total}; "
          f"'Lock: object' {lock} ({100 * lock / max(total, 1):.1f} %); top: {samples.most_common(4)}")
    await conn.close()


if __name__ == "__main__":
    asyncio.run(main())

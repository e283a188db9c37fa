"""Bench 3 — location ingest: sustained position updates per second over WebSocket frames and
over REST, and the staleness from frame sent to position visible in SQL (p50/p99)."""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any

import aiohttp
import asyncpg

from bench.common import (
    Server,
    bench_database,
    populate,
    random_point,
    say,
    summary_ms,
    tokens_for,
    write_result,
)
from dispatch.config import Settings


async def ws_ingest(
    server: Server, url: str, settings: Settings, *, sockets: int, rate: int, seconds: float
) -> dict[str, Any]:
    """`sockets` load senders offer `rate` frames/s in 20 ms ticks; 20 separate probe sockets send
    one marked frame at a time and time how long until SQL shows it (the staleness)."""
    probes = 20
    ids = list(range(1, sockets + probes + 1))
    tokens = tokens_for(settings, ids)
    load_ids, probe_ids = ids[:sockets], ids[sockets:]
    rng = random.Random(3)
    staleness: list[float] = []
    sent = 0
    tick = 0.02
    conn = await asyncpg.connect(url)
    before = await conn.fetchval("SELECT count(*) FROM dispatch.position_history")
    stop = float("inf")
    connected = 0
    all_connected = asyncio.Event()

    async def ready() -> None:
        """Wait until every socket is connected, so the measured window is all sending."""
        nonlocal connected, stop
        connected += 1
        if connected == len(ids):
            stop = time.monotonic() + seconds
            all_connected.set()
        await all_connected.wait()

    async def load(session: aiohttp.ClientSession, uid: int) -> None:
        nonlocal sent
        per_tick = rate * tick / sockets
        owed = rng.random()
        async with session.ws_connect(
            f"{server.base}/ws/assistant/{uid}/?token={tokens[uid]}"
        ) as ws:
            await ws.receive()
            await ready()
            await asyncio.sleep(rng.random() * tick)
            next_at = time.monotonic()
            while next_at < stop:
                owed += per_tick
                while owed >= 1:
                    lat, lng = random_point(rng)
                    await ws.send_str(f'{{"type":"location","lat":{lat!r},"lng":{lng!r}}}')
                    sent += 1
                    owed -= 1
                next_at += tick
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def probe(session: aiohttp.ClientSession, uid: int) -> None:
        async with session.ws_connect(
            f"{server.base}/ws/assistant/{uid}/?token={tokens[uid]}"
        ) as ws:
            await ws.receive()
            await ready()
            await asyncio.sleep(rng.random() * 0.1)
            while time.monotonic() < stop:
                lat, lng = random_point(rng)
                t0 = time.monotonic()
                await ws.send_str(f'{{"type":"location","lat":{lat!r},"lng":{lng!r}}}')
                while time.monotonic() - t0 < 5:
                    seen = await conn_pool.fetchval(
                        "SELECT ST_Y(geog::geometry) FROM dispatch.positions WHERE user_id = $1",
                        uid,
                    )
                    if seen is not None and abs(seen - lat) < 1e-9:
                        staleness.append(time.monotonic() - t0)
                        break
                    await asyncio.sleep(0.005)
                await asyncio.sleep(0.05)

    conn_pool = await asyncpg.create_pool(url, min_size=2, max_size=4)
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(
            *(load(session, uid) for uid in load_ids), *(probe(session, uid) for uid in probe_ids)
        )
    elapsed = seconds + max(0.0, time.monotonic() - stop)
    await asyncio.sleep(0.5)
    await conn_pool.close()
    stored = await conn.fetchval("SELECT count(*) FROM dispatch.position_history") - before
    await conn.close()
    return {
        "sockets": sockets,
        "offered_per_s": rate,
        "sent": sent,
        "sent_per_s": round(sent / elapsed, 1),
        "stored": stored,
        "stored_per_s": round(stored / elapsed, 1),
        "staleness": summary_ms(staleness),
    }


async def rest_ingest(
    server: Server, settings: Settings, *, concurrency: int, seconds: float
) -> dict[str, Any]:
    ids = list(range(1, concurrency + 1))
    tokens = tokens_for(settings, ids)
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    rng = random.Random(5)

    async def worker(session: aiohttp.ClientSession, uid: int) -> None:
        nonlocal errors
        headers = {"Authorization": f"Bearer {tokens[uid]}"}
        while time.monotonic() < stop:
            lat, lng = random_point(rng)
            t0 = time.perf_counter()
            async with session.post(
                f"{server.base}/api/profile/update-location/",
                json={"lat": lat, "lng": lng},
                headers=headers,
            ) as resp:
                await resp.read()
                if resp.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - t0)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(worker(session, uid) for uid in ids))
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "per_s": round(len(latencies) / seconds, 1),
        "errors": errors,
        "latency": summary_ms(latencies),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings.from_env()
    url = await bench_database(settings)
    await populate(url, args.assistants)
    async with Server(url, workers=args.workers) as server:
        say(f"WebSocket ingest: {args.sockets} sockets offering {args.rate}/s for {args.seconds}s")
        ws = await ws_ingest(
            server, url, settings, sockets=args.sockets, rate=args.rate, seconds=args.seconds
        )
        say(
            f"  stored {ws['stored_per_s']}/s, staleness p50 {ws['staleness']['p50_ms']} ms "
            f"p99 {ws['staleness']['p99_ms']} ms"
        )
        say(f"REST ingest: {args.rest_concurrency} concurrent clients for {args.seconds}s")
        rest = await rest_ingest(
            server, settings, concurrency=args.rest_concurrency, seconds=args.seconds
        )
        say(f"  {rest['per_s']}/s, p50 {rest['latency']['p50_ms']} ms, errors {rest['errors']}")
    return {"websocket": ws, "rest": rest}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assistants", type=int, default=100_000, help="positioned assistants")
    parser.add_argument("--sockets", type=int, default=500, help="WebSocket senders")
    parser.add_argument("--rate", type=int, default=10_000, help="offered frames per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rest-concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="server processes (WORKERS)")
    args = parser.parse_args(argv)
    figures = asyncio.run(main_async(args))
    path = write_result("ingest", vars(args), figures)
    say(f"wrote {path}")
    return figures


if __name__ == "__main__":
    main()

"""Bench 3 — location ingest: sustained position updates per second over WebSocket frames and
over REST, and the staleness from frame sent to position visible in SQL (p50/p99).

Every frame sent is accounted for: stored (a position-history row: the server runs with
DISPATCH_LOCATION_HISTORY_S=0, so every written frame has one), coalesced (replaced by a newer
frame of the same user before its batch was written: the documented rule, counted by the servers
and read from /metrics) or dropped (backlog full, database failure); whatever is left is reported
as unexplained, and should be zero."""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing as mp
import random
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import asyncpg
from prometheus_client.parser import text_string_to_metric_families

from bench import dispatch_load
from bench.common import (
    Server,
    add_extras,
    bench_database,
    populate,
    random_point,
    run,
    say,
    summary_ms,
    tokens_for,
    write_result,
)
from dispatch.core.config import Settings


def sender_process(
    base: str,
    sockets: list[tuple[int, str, list[str]]],
    rate: float,
    seconds: float,
    start_at: Any,
    go: Any,
    ready: Any,
    results: Any,
) -> None:
    results.put(run(_senders(base, sockets, rate, seconds, start_at, go, ready)))


def location_frame(lat: float, lng: float) -> str:
    return f'{{"type":"location","lat":{lat!r},"lng":{lng!r}}}'


def jumping_frames(rng: random.Random, n: int = 8) -> list[str]:
    """`n` location frames anywhere in the city: a socket sending them jumps across it."""
    return [location_frame(*random_point(rng)) for _ in range(n)]


async def _senders(
    base: str,
    sockets: list[tuple[int, str, list[str]]],
    rate: float,
    seconds: float,
    start_at: Any,
    go: Any,
    ready: Any,
) -> dict[str, Any]:
    """One load-generator process (bench 3 and bench 10): its sockets offer `rate` frames/s
    together, sent in 20 ms ticks round robin (a socket sends several frames per tick when the
    rate asks for it), each socket cycling through its own frames."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        conns = []
        for uid, token, frames in sockets:
            ws = await session.ws_connect(f"{base}/ws/assistant/{uid}/?token={token}")
            await ws.receive()
            conns.append((ws, frames))
        ready.put(len(conns))
        await asyncio.get_running_loop().run_in_executor(None, go.wait)
        t0 = start_at.value
        await asyncio.sleep(max(0.0, t0 - time.monotonic()))
        tick, owed, i, sent, errors = 0.02, 0.0, 0, 0, 0
        next_at = t0
        while next_at < t0 + seconds:
            owed += rate * tick
            while owed >= 1:
                ws, frames = conns[i % len(conns)]
                try:
                    await ws.send_str(frames[(i // len(conns)) % len(frames)])
                    sent += 1
                except (ConnectionError, RuntimeError):
                    errors += 1
                i += 1
                owed -= 1
            next_at += tick
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        finished = time.monotonic()
        for ws, _ in conns:
            await ws.close()
    return {"sent": sent, "errors": errors, "late_s": max(0.0, finished - (t0 + seconds))}


# The servers copy their batchers' counts into /metrics at every probe: one a second here.
METRICS_ENV = {"DISPATCH_METRICS": "1", "DISPATCH_METRICS_PROBE_S": "1"}


async def frame_outcomes(base: str) -> dict[str, int]:
    """Location frames written, coalesced and dropped by every server process so far (any worker
    answers /metrics with the counts all of them last copied)."""
    async with aiohttp.ClientSession() as session, session.get(f"{base}/metrics") as resp:
        text = await resp.text()
    counts = {"written": 0, "coalesced": 0, "dropped": 0}
    for family in text_string_to_metric_families(text):
        if family.name == "dispatch_location_frames":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    counts[sample.labels["outcome"]] += int(sample.value)
    return counts


async def ws_ingest(
    server: Server,
    url: str,
    settings: Settings,
    ids: list[int],
    *,
    procs: int,
    rate: int,
    seconds: float,
    clients: Sequence[int] = (),
    requests_per_s: float = 0,
) -> dict[str, Any]:
    """`procs` load-generator processes share the load sockets and offer `rate` frames/s; in this
    process, probe sockets each send one frame at a time and a poller reads their positions
    back from SQL every 10 ms: the staleness is frame sent -> position visible to a new query.
    With `requests_per_s`, bench 2's HTTP process asks for assistance meanwhile (open loop, each
    request cancelled once answered) as `clients`: its HTTP latency is reported beside."""
    probes = 20
    tokens = tokens_for(settings, ids)
    load_ids, probe_ids = ids[:-probes], ids[-probes:]
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    start_at = ctx.Value("d", 0.0)
    per = math.ceil(len(load_ids) / procs)
    workers = []
    for k in range(procs):
        rng = random.Random(k)
        chunk = [(u, tokens[u], jumping_frames(rng)) for u in load_ids[k * per : (k + 1) * per]]
        share = rate * len(chunk) / len(load_ids)
        workers.append(
            ctx.Process(
                target=sender_process,
                args=(server.base, chunk, share, seconds, start_at, go, ready, results),
            )
        )
    asking = []
    if requests_per_s and clients:
        spots = [random_point(random.Random(9)) for _ in range(25)]
        client_tokens = tokens_for(settings, clients, "client")
        asking.append(
            ctx.Process(
                target=dispatch_load.http_process,
                args=(
                    server.base,
                    [(c, client_tokens[c]) for c in clients],
                    spots,
                    requests_per_s,
                    start_at,
                    go,
                    seconds,
                    ready,
                    results,
                    98,
                    dispatch_load.PICKUP_RADIUS_M,
                ),
            )
        )
    for w in workers + asking:
        w.start()
    for _ in workers + asking:
        await asyncio.to_thread(ready.get, True, 120)
    conn = await asyncpg.connect(url)
    before = await conn.fetchval(
        "SELECT count(*) FROM dispatch.position_history WHERE user_id = ANY($1)", ids
    )
    await asyncio.sleep(1.5)  # every process's counts copied since the sockets connected
    outcomes_before = await frame_outcomes(server.base)
    rng = random.Random(3)
    staleness: list[float] = []
    probe_sent = 0
    waiting: dict[int, tuple[float, float]] = {}  # probe uid -> (lat sent, time sent)
    done = asyncio.Event()

    async def poller() -> None:
        while not done.is_set():
            if waiting:
                rows = await conn.fetch(
                    "SELECT user_id, ST_Y(geog::geometry) AS lat FROM dispatch.positions "
                    "WHERE user_id = ANY($1)",
                    list(waiting),
                )
                now = time.monotonic()
                for r in rows:
                    want = waiting.get(r["user_id"])
                    if want and abs(r["lat"] - want[0]) < 1e-9:
                        staleness.append(now - want[1])
                        del waiting[r["user_id"]]
            await asyncio.sleep(0.01)

    async def probe(session: aiohttp.ClientSession, uid: int, stop: float) -> None:
        nonlocal probe_sent
        async with session.ws_connect(
            f"{server.base}/ws/assistant/{uid}/?token={tokens[uid]}"
        ) as ws:
            await ws.receive()
            await asyncio.sleep(rng.random() * 0.2)
            while time.monotonic() < stop:
                lat, lng = random_point(rng)
                waiting[uid] = (lat, time.monotonic())
                await ws.send_str(f'{{"type":"location","lat":{lat!r},"lng":{lng!r}}}')
                probe_sent += 1
                t0 = time.monotonic()
                while uid in waiting and time.monotonic() - t0 < 5:
                    await asyncio.sleep(0.01)
                waiting.pop(uid, None)
                await asyncio.sleep(0.1)

    start_at.value = time.monotonic() + 0.5
    go.set()
    stop = start_at.value + seconds
    polling = asyncio.create_task(poller())
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(probe(session, uid, stop) for uid in probe_ids))
    got = [await asyncio.to_thread(results.get, True, 60) for _ in workers + asking]
    outs = [o for o in got if not isinstance(o, tuple)]
    http = next((o[1] for o in got if isinstance(o, tuple)), None)
    for w in workers + asking:
        w.join(timeout=10)
    await asyncio.sleep(0.5)  # the last batch
    done.set()
    await polling
    await asyncio.sleep(1.5)  # every process has copied its counts since its last batch
    outcomes_after = await frame_outcomes(server.base)
    outcomes = {k: outcomes_after[k] - outcomes_before[k] for k in outcomes_after}
    stored = (
        await conn.fetchval(
            "SELECT count(*) FROM dispatch.position_history WHERE user_id = ANY($1)", ids
        )
        - before
    )
    await conn.close()
    sent = sum(o["sent"] for o in outs)
    offered = sent + probe_sent
    return {
        "sockets": len(load_ids),
        "generator_processes": procs,
        "offered_per_s": rate,
        "sent": sent,
        "sent_per_s": round(sent / seconds, 1),
        "generator_late_s": round(max(o["late_s"] for o in outs), 3),
        "send_errors": sum(o["errors"] for o in outs),
        "stored": stored,
        "stored_per_s": round(stored / seconds, 1),
        "probe_frames": probe_sent,
        # sent = stored + coalesced + dropped + unexplained
        "coalesced": outcomes["coalesced"],
        "dropped": outcomes["dropped"],
        "unexplained": offered - stored - outcomes["coalesced"] - outcomes["dropped"],
        "server_written": outcomes["written"],  # cross-check: the servers' count of stored
        "staleness": summary_ms(staleness),
        **({"requests": requests_beside(http, requests_per_s)} if http is not None else {}),
    }


def requests_beside(http: dict[str, Any], rate: float) -> dict[str, Any]:
    """The assistance requests asked during the ingest: HTTP latency and errors."""
    return {
        "offered_per_s": rate,
        "sent": len(http["sent"]),
        "latency": summary_ms([s for _, s in http["http_latency"]]),
        "errors": sum(http["errors"].values()),
        "cancel_failures": http["cancel_failures"],
        "skipped": http["skipped"],
    }


async def rest_ingest(
    server: Server, settings: Settings, ids: list[int], *, seconds: float
) -> dict[str, Any]:
    """One closed-loop client per id posting its position as fast as answers come back."""
    concurrency = len(ids)
    tokens = tokens_for(settings, ids)
    latencies: list[float] = []
    errors = 0
    first_error: list[str] = []
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
                body = await resp.read()
                if resp.status != 200:
                    errors += 1
                    if not first_error:
                        first_error.append(f"{resp.status} {body[:200]!r}")
            latencies.append(time.perf_counter() - t0)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(worker(session, uid) for uid in ids))
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "per_s": round(len(latencies) / seconds, 1),
        "errors": errors,
        "first_error": first_error[0] if first_error else None,
        "latency": summary_ms(latencies),
    }


async def telematics_ingest(
    server: Server, settings: Settings, ids: list[int], *, seconds: float, batch: int = 1000
) -> dict[str, Any]:
    """One closed-loop client per id posting telematics batches of `batch` points (the newest
    becomes the position, all go to the history): history rows per second through that path."""
    tokens = tokens_for(settings, ids)
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    rng = random.Random(7)

    async def worker(session: aiohttp.ClientSession, uid: int) -> None:
        nonlocal errors
        headers = {"Authorization": f"Bearer {tokens[uid]}"}
        while time.monotonic() < stop:
            now = time.time()
            points = []
            for i in range(batch):
                lat, lng = random_point(rng)
                at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - i * 0.01))
                points.append({"lat": lat, "lng": lng, "recorded_at": f"{at}Z", "speed": 50.0})
            t0 = time.perf_counter()
            async with session.post(
                f"{server.base}/api/telematics/", json={"points": points}, headers=headers
            ) as resp:
                await resp.read()
                if resp.status != 202:
                    errors += 1
                    continue
            latencies.append(time.perf_counter() - t0)

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session, uid) for uid in ids))
    return {
        "clients": len(ids),
        "batch_points": batch,
        "batches": len(latencies),
        "history_rows_per_s": round(len(latencies) * batch / seconds, 1),
        "errors": errors,
        "latency": summary_ms(latencies),
    }


_HISTORY_SIZE = """
SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0)::bigint AS bytes, count(*) AS partitions
FROM pg_inherits i WHERE i.inhparent = 'dispatch.position_history'::regclass
"""


async def history_retention(url: str, *, days: int = 3) -> dict[str, Any]:
    """With the retention set to one day, run the partition maintenance as it would run on each of
    the next `days` days: the history's size is that of the days kept, whatever came before."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "UPDATE dispatch.settings SET value = '1' WHERE key = 'position_history_retention_days'"
        )
        rows = await conn.fetchval("SELECT count(*) FROM dispatch.position_history")
        first = await conn.fetchrow(_HISTORY_SIZE)
        steps = [{"day": 0, "bytes": first["bytes"], "partitions": first["partitions"]}]
        for day in range(1, days + 1):
            await conn.fetchval(
                "SELECT dispatch.maintain_position_history(today => current_date + $1::int)", day
            )
            size = await conn.fetchrow(_HISTORY_SIZE)
            steps.append({"day": day, "bytes": size["bytes"], "partitions": size["partitions"]})
        left = await conn.fetchval("SELECT count(*) FROM dispatch.position_history")
    finally:
        await conn.close()
    return {"retention_days": 1, "rows_before": rows, "rows_after": left, "by_day": steps}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings.from_env()
    url = await bench_database(settings)
    await populate(url, args.assistants)
    rng = random.Random(2)
    # The senders are bench users beside the population, so the matching population stays as is.
    ids, clients = await add_extras(
        url,
        args.assistants,
        assistants=[random_point(rng) for _ in range(args.sockets + 20)],
        clients=args.clients if args.requests_per_s else 0,
    )
    async with Server(url, workers=args.workers, env=METRICS_ENV) as server:
        say(
            f"WebSocket ingest: {args.sockets} sockets in {args.procs} generator processes "
            f"offering {args.rate}/s for {args.seconds:g} s (+20 probe sockets)"
        )
        ws = await ws_ingest(
            server,
            url,
            settings,
            ids,
            procs=args.procs,
            rate=args.rate,
            seconds=args.seconds,
            clients=clients,
            requests_per_s=args.requests_per_s,
        )
        say(
            f"  sent {ws['sent'] + ws['probe_frames']} ({ws['sent_per_s']}/s) = stored "
            f"{ws['stored']} ({ws['stored_per_s']}/s) + coalesced {ws['coalesced']} + dropped "
            f"{ws['dropped']} + unexplained {ws['unexplained']}; staleness p50 "
            f"{ws['staleness']['p50_ms']} ms p99 {ws['staleness']['p99_ms']} ms"
        )
        if "requests" in ws:
            q = ws["requests"]
            say(
                f"  meanwhile {q['offered_per_s']:g} requests/s: HTTP p50 {q['latency']['p50_ms']}"
                f" ms p99 {q['latency']['p99_ms']} ms, errors {q['errors']}"
            )
        say(f"REST ingest: {args.rest_concurrency} concurrent clients for {args.rest_seconds:g} s")
        rest = await rest_ingest(
            server, settings, ids[: args.rest_concurrency], seconds=args.rest_seconds
        )
        say(
            f"  {rest['per_s']}/s, p50 {rest['latency']['p50_ms']} ms, "
            f"p99 {rest['latency']['p99_ms']} ms, errors {rest['errors']}"
            + (f" (first: {rest['first_error']})" if rest["first_error"] else "")
        )
        say(f"Telematics ingest: {args.rest_concurrency // 4 or 1} clients, 1,000-point batches")
        tele = await telematics_ingest(
            server, settings, ids[: args.rest_concurrency // 4 or 1], seconds=args.rest_seconds
        )
        say(
            f"  {tele['history_rows_per_s']} history rows/s, batch p50 "
            f"{tele['latency']['p50_ms']} ms, errors {tele['errors']}"
        )
    history = await history_retention(url)
    say(
        "History with retention 1 day, day by day: "
        + ", ".join(f"{d['bytes'] / 2**20:.1f} MiB" for d in history["by_day"])
        + f" ({history['rows_before']} -> {history['rows_after']} rows, whole partitions dropped)"
    )
    return {"websocket": ws, "rest": rest, "telematics": tele, "history": history}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--assistants", type=int, default=100_000, help="positioned assistants")
    parser.add_argument("--sockets", type=int, default=500, help="WebSocket senders")
    parser.add_argument("--rate", type=int, default=10_000, help="offered frames per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--procs", type=int, default=3, help="load-generator processes")
    parser.add_argument(
        "--requests-per-s",
        dest="requests_per_s",
        type=float,
        default=50,
        help="assistance requests asked during the WebSocket ingest (0: none)",
    )
    parser.add_argument("--clients", type=int, default=300, help="clients taking turns to ask")
    parser.add_argument("--rest-concurrency", type=int, default=32, help="REST clients")
    parser.add_argument("--rest-seconds", type=float, default=5.0, help="REST run length")
    parser.add_argument("--workers", type=int, default=2, help="server processes (WORKERS)")
    args = parser.parse_args(argv)
    figures = asyncio.run(main_async(args))
    path = write_result("ingest", vars(args), figures)
    say(f"wrote {path}")
    return figures


if __name__ == "__main__":
    main()

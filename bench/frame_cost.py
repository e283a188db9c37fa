"""Bench 10 — what one location update costs: server and PostgreSQL CPU per WebSocket `location`
frame and per `POST /api/profile/update-location/`, net of the idle cost, A/B between checkouts.

Each round starts the server of every checkout in turn (alternating, so that the machine's noise
falls on all of them alike) against a bench database of its own migrated from that checkout's SQL.
Per checkout and round: `--sockets` assistants connect (the load generator in separate processes,
as bench 3's), then three windows of `--seconds` each are timed from /proc: idle (sockets open,
nothing sent), frames (`--rate` frames/s), REST (`--rest-rate` updates/s, open loop). A window's
CPU less the idle window's, divided by what it served, is the cost of one: server processes (every
worker) and every process of the database cluster (backends, WAL writer, checkpointer...).
Reported per checkout: the median of the rounds and their range.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import re
import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.common import (
    Server,
    add_extras,
    cpu_seconds,
    populate,
    random_point,
    run,
    say,
    tokens_for,
    write_result,
)
from bench.dispatch_load import near
from bench.ingest import location_frame, sender_process
from dispatch.core.config import Settings
from dispatch.runtime.devdb import database_url
from dispatch.runtime.migrate import migrate_url
from dispatch.runtime.testdb import database_name, with_database

HERE = Path(__file__).resolve().parent.parent


def _cpu(pids: list[int]) -> float:
    return sum(cpu_seconds(p) for p in pids)


def _reaped_cpu(pid: int) -> float:
    """CPU of a process's children that have exited (cutime + cstime), seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


async def _cluster(conn: asyncpg.Connection) -> dict[int, str]:
    """The cluster's processes (this monitoring connection excluded) and their kind."""
    rows = await conn.fetch(
        "SELECT pid, backend_type FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
    )
    return {r["pid"]: r["backend_type"] for r in rows}


async def _window(
    server: Server, conn: asyncpg.Connection, seconds: float, load: Any = None
) -> dict[str, Any]:
    """Server and cluster CPU seconds spent while `load` (a coroutine, or nothing) runs `seconds`.
    The cluster's: its live processes' and, through the postmaster's children counts, those that
    exited meanwhile (autovacuum workers come and go), by kind of process."""
    postmaster = _parent(await conn.fetchval("SELECT pg_backend_pid()"))
    spids, kinds = server.pids(), await _cluster(conn)
    s0, r0, t0 = _cpu(spids), _reaped_cpu(postmaster), time.monotonic()
    d0 = {p: cpu_seconds(p) for p in kinds}
    served = await load if load is not None else 0
    if load is None:
        await asyncio.sleep(seconds)
    elapsed = time.monotonic() - t0
    by_kind: dict[str, float] = {}
    now = await _cluster(conn)
    for pid, kind in now.items():  # a process started meanwhile counts from its start
        by_kind[kind] = by_kind.get(kind, 0.0) + cpu_seconds(pid) - d0.get(pid, 0.0)
    gone = sum(d0[p] for p in d0 if p not in now)
    by_kind["exited"] = _reaped_cpu(postmaster) - r0 - gone
    return {
        "elapsed": elapsed,
        "server": _cpu(spids) - s0,
        "database": sum(by_kind.values()),
        "database_by_kind": by_kind,
        "served": float(served),
    }


async def _rest(
    server: Server,
    tokens: dict[int, str],
    homes: list[tuple[float, float]],
    rate: float,
    seconds: float,
) -> int:
    """Open-loop update-location requests at `rate`/s, round robin over the tokens; the answered."""
    rng = random.Random(11)
    ids = list(tokens)
    done = 0
    async with aiohttp.ClientSession() as session:

        async def one(k: int) -> None:
            nonlocal done
            uid = ids[k]
            lat, lng = near(rng, *homes[k], 100.0)
            async with session.post(
                f"{server.base}/api/profile/update-location/",
                json={"lat": lat, "lng": lng},
                headers={"Authorization": f"Bearer {tokens[uid]}"},
            ) as resp:
                await resp.read()
                if resp.status == 200:
                    done += 1

        t0, n, tasks = time.monotonic(), 0, []
        while (at := t0 + n / rate) < t0 + seconds:
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            tasks.append(asyncio.create_task(one(n % len(ids))))
            n += 1
        await asyncio.gather(*tasks)
    return done


async def _frames(
    server: Server,
    tokens: dict[int, str],
    homes: list[tuple[float, float]],
    *,
    rate: float,
    seconds: float,
    procs: int,
) -> tuple[Any, Any, list[Any], Any]:
    """Start the sender processes (connected, waiting for `go`)."""
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    start_at = ctx.Value("d", 0.0)
    ids = list(tokens)
    per = -(-len(ids) // procs)
    workers = []
    for k in range(procs):
        rng = random.Random(k)
        # Each socket within 100 m of its home (bench 2's movement: an r7 cell rarely changes, as
        # in a real city, where bench 3's frames jump across the city).
        chunk = [
            (u, tokens[u], [location_frame(*near(rng, *homes[j], 100.0)) for _ in range(4)])
            for j, u in enumerate(ids)
            if j // per == k
        ]
        share = rate * len(chunk) / len(ids)
        args = (server.base, chunk, share, seconds, start_at, go, ready, results)
        workers.append(ctx.Process(target=sender_process, args=args))
    for w in workers:
        w.start()
    for _ in workers:
        await asyncio.to_thread(ready.get, True, 180)
    return go, start_at, workers, results


async def _database(settings: Settings, suffix: str, sql_dir: Path) -> str:
    """`<db><suffix>` beside the database in use, created if needed and migrated from `sql_dir`
    (the checkout's own SQL: bench_database would migrate it from this one's)."""
    main = database_url(settings.db)
    name = database_name(main) + suffix
    admin = await asyncpg.connect(with_database(main, "postgres"))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(main, name)
    await migrate_url(url, sql_dir)
    return url


async def measure(
    name: str, checkout: Path, args: argparse.Namespace, extra_env: dict[str, str]
) -> dict[str, Any]:
    """One round of one checkout: the three windows, and the cost of a frame and of a request."""
    settings = Settings.from_env()
    # One database per checkout (variants of one checkout share it), migrated from its SQL.
    url = await _database(
        settings, "_frames_" + re.sub(r"\W", "_", checkout.name), checkout / "sql"
    )
    await populate(url, args.assistants)
    rng = random.Random(4)
    homes = [random_point(rng) for _ in range(args.sockets)]
    ids, _ = await add_extras(url, args.assistants, assistants=homes)
    tokens = tokens_for(settings, ids)
    conn = await asyncpg.connect(url)
    try:  # what autovacuum would otherwise do to a fresh population during the windows
        await conn.execute(
            "VACUUM (ANALYZE) dispatch.users, dispatch.assistants, dispatch.positions"
        )
    finally:
        await conn.close()
    env = {
        "PYTHONPATH": str(checkout),
        "DISPATCH_SQL_DIR": str(checkout / "sql"),
        # the tokens above: another checkout would make its own local secret
        "DISPATCH_JWT_SECRET": settings.auth.secret(),
        **extra_env,
    }
    conn = await asyncpg.connect(url)
    try:
        async with Server(url, workers=args.workers, env=env, cwd=str(checkout)) as server:
            go, start_at, workers, results = await _frames(
                server, tokens, homes, rate=args.rate, seconds=args.seconds + 1, procs=args.procs
            )
            await asyncio.sleep(1.0)
            idle = await _window(server, conn, args.seconds)
            start_at.value = time.monotonic() + 0.2
            go.set()
            await asyncio.sleep(1.2)  # the first second unmeasured: pools fill, caches warm

            async def frames_load() -> int:
                outs = [await asyncio.to_thread(results.get, True, 120) for _ in workers]
                return sum(o["sent"] for o in outs)

            busy = await _window(server, conn, args.seconds, frames_load())
            busy["served"] *= args.seconds / (args.seconds + 1)  # the unmeasured first second
            for w in workers:
                w.join(timeout=10)
            await asyncio.sleep(1.0)
            rest = await _window(
                server,
                conn,
                args.seconds,
                _rest(server, tokens, homes, args.rest_rate, args.seconds),
            )
    finally:
        await conn.close()

    def per_item(window: dict[str, Any]) -> dict[str, float]:
        scale = window["elapsed"] / idle["elapsed"]
        return {
            f"{part}_us": round(
                (window[part] - idle[part] * scale) / max(window["served"], 1) * 1e6, 1
            )
            for part in ("server", "database")
        } | {"served_per_s": round(window["served"] / window["elapsed"], 1)}

    def by_kind(window: dict[str, Any]) -> dict[str, float]:
        scale = window["elapsed"] / idle["elapsed"]
        kinds = window["database_by_kind"]
        return {
            k: round(
                (v - idle["database_by_kind"].get(k, 0.0) * scale) / max(window["served"], 1) * 1e6,
                1,
            )
            for k, v in kinds.items()
        }

    return {
        "idle_cpu_per_s": {
            part: round(idle[part] / idle["elapsed"], 3) for part in ("server", "database")
        },
        "frame": per_item(busy) | {"database_by_kind_us": by_kind(busy)},
        "rest": per_item(rest) | {"database_by_kind_us": by_kind(rest)},
    }


def rows(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The summary's rows (for the manual): per checkout, a frame's and a request's CPU."""
    out = []
    for name, s in figures["summary"].items():
        for kind, what, target in (
            ("frame", "a WebSocket location frame", "≤ 50 µs each"),
            ("rest", "a POST /api/profile/update-location/", ""),
        ):
            server, database = s[kind]["server_us"], s[kind]["database_us"]
            ok = server["median"] <= 50 and database["median"] <= 50
            out.append(
                (
                    f"{name}: server / PostgreSQL CPU of {what}, µs (median, range)",
                    f"{server['median']} ({server['min']}-{server['max']}) / "
                    f"{database['median']} ({database['min']}-{database['max']})",
                    f"{target}: {'met' if ok else 'MISSED'}" if target else "",
                )
            )
    return out


def _median_range(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    variants = [v.split("=", 1) for v in args.variant] or [["this", str(HERE)]]
    # NAME=CHECKOUT,KEY=VALUE,...: the server's environment for that variant
    envs = {name: dict(kv.split("=", 1) for kv in spec.split(",")[1:]) for name, spec in variants}
    variants = [[name, spec.split(",")[0]] for name, spec in variants]
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in variants}
    for r in range(args.rounds):
        order = variants if r % 2 == 0 else variants[::-1]
        for name, path in order:
            say(f"round {r + 1}: {name} ({path})")
            got = await measure(name, Path(path).resolve(), args, envs[name])
            say(
                f"  frame: server {got['frame']['server_us']} µs, PostgreSQL "
                f"{got['frame']['database_us']} µs ({got['frame']['served_per_s']}/s: "
                f"{got['frame']['database_by_kind_us']}); "
                f"REST: server {got['rest']['server_us']} µs, PostgreSQL "
                f"{got['rest']['database_us']} µs ({got['rest']['served_per_s']}/s)"
            )
            rounds[name].append(got)
    summary: dict[str, Any] = {}
    for name, runs in rounds.items():
        summary[name] = {
            kind: {
                part: _median_range([run_[kind][part] for run_ in runs])
                for part in ("server_us", "database_us", "served_per_s")
            }
            for kind in ("frame", "rest")
        }
        for kind in ("frame", "rest"):
            s = summary[name][kind]
            say(
                f"{name} {kind}: server {s['server_us']['median']} µs "
                f"({s['server_us']['min']}-{s['server_us']['max']}), PostgreSQL "
                f"{s['database_us']['median']} µs "
                f"({s['database_us']['min']}-{s['database_us']['max']}), median of {len(runs)}"
            )
    return {"summary": summary, "rounds": rounds}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--assistants", type=int, default=100_000, help="positioned assistants")
    parser.add_argument("--sockets", type=int, default=1000, help="connected assistants")
    parser.add_argument("--rate", type=int, default=2000, help="location frames per second")
    parser.add_argument("--rest-rate", type=int, default=200, help="update-location requests/s")
    parser.add_argument("--seconds", type=float, default=8.0, help="each window's length")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--procs", type=int, default=2, help="load-generator processes")
    parser.add_argument("--workers", type=int, default=2, help="server processes (WORKERS)")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=CHECKOUT[,KEY=VALUE...]",
        help="a checkout to measure, with settings for its server (repeat for A/B; default: "
        "this one)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("DISPATCH_LOG_LEVEL", "WARNING")
    figures = run(main_async(args))
    path = write_result("frame_cost", vars(args), figures)
    say(f"wrote {path}")
    return figures


if __name__ == "__main__":
    main()

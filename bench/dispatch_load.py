"""Bench 2 (and 4) — end-to-end dispatch under load, and the server's memory meanwhile.

Clients fire POST /api/assistance/request/ at a fixed offered rate (open loop: sends are scheduled by
the clock, never by replies) and cancel each request once answered; the connected assistants send
location frames at their own fixed rate. Measured: HTTP latency of the request and the time from
sending it to the first `new_assistance_request` for it on any matched assistant's socket (HDR
histograms), errors, achieved rates; and the resident memory of each server process and of the
PostgreSQL backends serving the bench database (peak, per connected socket, drift over 2x the run).

The load generator runs in separate processes (one HTTP sender, several socket holders) on the same
machine; all use CLOCK_MONOTONIC, which is shared by every process of a Linux host.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing as mp
import queue
import random
import time
from collections import deque
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from hdrh.histogram import HdrHistogram

from bench.common import (
    CENTER,
    REQUEST_TABLES,
    RESULTS,
    SPAN_KM,
    Server,
    add_extras,
    bench_database,
    cluster_processes,
    cpu_seconds,
    populate,
    postgres_processes,
    pss_mb,
    random_point,
    rss_mb,
    run,
    say,
    tokens_for,
    write_result,
)
from dispatch.core.config import Settings

HOTSPOT_RADIUS_M = 500.0  # connected assistants stand within this of a hotspot
PICKUP_RADIUS_M = 300.0  # pickups fall within this of a hotspot
LINGER_S = 2.0  # sockets keep listening this long after the last request


def near(rng: random.Random, lat: float, lng: float, radius_m: float) -> tuple[float, float]:
    """A uniform point within `radius_m` of (lat, lng)."""
    r = radius_m * math.sqrt(rng.random())
    a = rng.uniform(0, 2 * math.pi)
    dlat = r * math.cos(a) / 111_320
    dlng = r * math.sin(a) / (111_320 * math.cos(math.radians(lat)))
    return lat + dlat, lng + dlng


def square(rng: random.Random, lat: float, lng: float, side_m: float) -> tuple[float, float]:
    """A uniform point in the square of `side_m` centred on (lat, lng)."""
    dlat = (rng.random() - 0.5) * side_m / 111_320
    dlng = (rng.random() - 0.5) * side_m / (111_320 * math.cos(math.radians(lat)))
    return lat + dlat, lng + dlng


def hotspots(count: int, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    # Keep hotspots off the square's edge so their neighbourhoods are fully populated.
    spots = []
    while len(spots) < count:
        lat, lng = random_point(rng)
        if abs(lat - CENTER[0]) * 111.32 < SPAN_KM / 2 - 5:
            spots.append((lat, lng))
    return spots


def histogram(values_s: list[float]) -> dict[str, Any]:
    """p50/p90/p99/max (ms) of seconds, through an HDR histogram (1 µs to 60 s, 3 digits)."""
    h = HdrHistogram(1, 60_000_000, 3)
    for v in values_s:
        h.record_value(max(1, min(60_000_000, round(v * 1e6))))
    if not values_s:
        return {"n": 0}
    ms = {p: h.get_value_at_percentile(p) / 1000 for p in (50, 90, 99, 99.9)}
    return {
        "n": h.get_total_count(),
        "p50_ms": round(ms[50], 3),
        "p90_ms": round(ms[90], 3),
        "p99_ms": round(ms[99], 3),
        "p99_9_ms": round(ms[99.9], 3),
        "max_ms": round(h.get_max_value() / 1000, 3),
        "mean_ms": round(h.get_mean_value() / 1000, 3),
        # The CDF for the plot: (percentile, ms) on a log-spaced grid of tail percentiles.
        "cdf": [
            [q, round(h.get_value_at_percentile(q) / 1000, 3)]
            for q in sorted({*range(1, 100), 99.5, 99.9, 99.95, 99.99, 100.0})
        ],
    }


# --- the socket holders (one process each) -----------------------------------------------------


def socket_process(
    base: str,
    sockets: list[tuple[int, str, float, float]],
    frames_per_s: float,
    start_at: Any,
    go: Any,
    end_after: float,
    ready: Any,
    results: Any,
    seed: int,
) -> None:
    out = run(_sockets(base, sockets, frames_per_s, start_at, go, end_after, ready, seed))
    results.put(("sockets", out))


async def _sockets(
    base: str,
    sockets: list[tuple[int, str, float, float]],
    frames_per_s: float,
    start_at: Any,
    go: Any,
    end_after: float,
    ready: Any,
    seed: int,
) -> dict[str, Any]:
    rng = random.Random(seed)
    arrivals: dict[int, float] = {}
    stats = {"notifications": 0, "frames_sent": 0, "send_errors": 0, "closed_early": 0}
    stop_reading = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def reader(ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            t = time.monotonic()
            if "new_assistance_request" in msg.data:
                aid = orjson.loads(msg.data)["assistance_id"]
                stats["notifications"] += 1
                if t < arrivals.get(aid, math.inf):
                    arrivals[aid] = t
        if not stop_reading.is_set():
            stats["closed_early"] += 1

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    conns: list[tuple[aiohttp.ClientWebSocketResponse, float, float]] = []
    readers = []
    sem = asyncio.Semaphore(50)

    async def connect(uid: int, token: str, lat: float, lng: float) -> None:
        async with sem:
            ws = await session.ws_connect(
                f"{base}/ws/assistant/{uid}/?token={token}", heartbeat=None
            )
        first = await ws.receive()
        assert "connection_established" in first.data, first
        conns.append((ws, lat, lng))
        readers.append(asyncio.create_task(reader(ws)))

    await asyncio.gather(*(connect(*s) for s in sockets))
    ready.put(len(conns))
    await loop.run_in_executor(None, go.wait)
    t0 = start_at.value
    await asyncio.sleep(max(0.0, t0 - time.monotonic()))

    # One ticker sends every socket's frames: each tick, the frames owed so far, round robin.
    tick = 0.02
    owed = 0.0
    i = rng.randrange(len(conns))
    next_at = t0
    frames: list[str] = []
    for _, lat, lng in conns:  # pre-built positions: the generator's CPU goes to sending
        for _ in range(4):
            la, ln = near(rng, lat, lng, 100.0)
            frames.append(f'{{"type":"location","lat":{la!r},"lng":{ln!r}}}')
    while next_at < t0 + end_after:
        owed += frames_per_s * tick
        while owed >= 1:
            ws = conns[i % len(conns)][0]
            try:
                await ws.send_str(frames[(i * 4 + (i // len(conns)) % 4) % len(frames)])
                stats["frames_sent"] += 1
            except (ConnectionError, RuntimeError):
                stats["send_errors"] += 1
            i += 1
            owed -= 1
        next_at += tick
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await asyncio.sleep(LINGER_S)
    stop_reading.set()
    await asyncio.gather(*(ws.close() for ws, _, _ in conns), return_exceptions=True)
    await asyncio.gather(*readers, return_exceptions=True)
    await session.close()
    return {"arrivals": arrivals, **stats}


# --- the HTTP client (one process) ---------------------------------------------------------------


def http_process(
    base: str,
    clients: list[tuple[int, str]],
    spots: list[tuple[float, float]],
    rate: float,
    start_at: Any,
    go: Any,
    end_after: float,
    ready: Any,
    results: Any,
    seed: int,
    pickup_m: float,
) -> None:
    out = run(_http(base, clients, spots, rate, start_at, go, end_after, ready, seed, pickup_m))
    results.put(("http", out))


async def _http(
    base: str,
    clients: list[tuple[int, str]],
    spots: list[tuple[float, float]],
    rate: float,
    start_at: Any,
    go: Any,
    end_after: float,
    ready: Any,
    seed: int,
    pickup_m: float,
) -> dict[str, Any]:
    rng = random.Random(seed)
    free = deque(clients)
    sent: list[tuple[float, float, int, int | None, list[int]]] = []  # due, t0, status, id, matched
    http_latency: list[tuple[float, float]] = []  # (due, seconds)
    lag: list[float] = []
    errors: dict[str, int] = {}
    cancel_failures = 0
    skipped = 0
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    def error(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    async def one(due: float, cid: int, token: str) -> None:
        nonlocal cancel_failures
        headers = {"Authorization": f"Bearer {token}"}
        lat, lng = near(rng, *rng.choice(spots), pickup_m)
        body = orjson.dumps({"pickup": {"lat": lat, "lng": lng}, "service_type": "towing"})
        headers["Content-Type"] = "application/json"
        t0 = time.monotonic()
        try:
            async with session.post(
                f"{base}/api/assistance/request/", data=body, headers=headers
            ) as resp:
                payload = await resp.read()
                t1 = time.monotonic()
                status = resp.status
        except (aiohttp.ClientError, OSError) as exc:
            error(type(exc).__name__)
            free.append((cid, token))
            return
        http_latency.append((due, t1 - t0))
        if status != 201:
            error(f"HTTP {status}")
            sent.append((due, t0, status, None, []))
            free.append((cid, token))
            return
        doc = orjson.loads(payload)
        aid = doc["assistance"]["id"]
        sent.append((due, t0, status, aid, [m["assistant_id"] for m in doc["nearby_assistants"]]))
        try:
            async with session.patch(
                f"{base}/api/assistance/update/{aid}/",
                data=b'{"status": "canceled"}',
                headers=headers,
            ) as resp:
                await resp.read()
                if resp.status != 200:
                    cancel_failures += 1
                    return  # this client keeps an open request: do not reuse it
        except (aiohttp.ClientError, OSError):
            cancel_failures += 1
            return
        free.append((cid, token))

    # Warm the connection pool so the first scheduled sends do not pay for TCP handshakes.
    await asyncio.gather(*(session.get(f"{base}/api/health/") for _ in range(20)))
    ready.put(0)
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    t_start = start_at.value
    tasks: set[asyncio.Task[None]] = set()
    total = int(rate * end_after)
    for i in range(total):
        due = t_start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        lag.append(time.monotonic() - due)
        if not free:
            skipped += 1  # every client still has an open request: the server is far behind
            continue
        cid, token = free.popleft()
        task = asyncio.create_task(one(due, cid, token))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    wall = time.monotonic() - t_start
    await session.close()
    return {
        "sent": sent,
        "http_latency": http_latency,
        "lag": lag,
        "errors": errors,
        "cancel_failures": cancel_failures,
        "skipped": skipped,
        "wall": wall,
    }


# --- memory sampling (main process) --------------------------------------------------------------


async def memory_sample(server: Server, conn: asyncpg.Connection) -> dict[str, Any]:
    pg = await postgres_processes(conn)
    return {
        "t": time.monotonic(),
        "server_cpu": {p: cpu_seconds(p) for p in server.pids()},
        "pg_cpu": {p: cpu_seconds(p) for p in await cluster_processes(conn)},
        "server_rss": {str(p): round(rss_mb(p), 1) for p in server.pids()},
        "pg_rss": round(sum(rss_mb(p) for p in pg), 1),
        "pg_pss": round(sum(pss_mb(p) for p in pg), 1),
        "pg_backends": len(pg),
    }


def slope_mb_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) samples, in MiB per minute."""
    if len(points) < 3:
        return float("nan")
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    den = sum((t - mx) ** 2 for t, _ in points)
    return round(60 * sum((t - mx) * (v - my) for t, v in points) / den, 3) if den else 0.0


# --- the run -------------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings.from_env()
    url = await bench_database(settings)
    await populate(url, args.assistants)
    rng = random.Random(args.seed)
    if args.area_km:  # the dense scenario: one square area, pickups in its middle
        centre = (args.centre[0], args.centre[1])
        spots = [centre]
        positions = [square(rng, *centre, args.area_km * 1000) for _ in range(args.sockets)]
    else:
        spots = hotspots(args.hotspots, args.seed)
        positions = [
            near(rng, *spots[i % len(spots)], HOTSPOT_RADIUS_M) for i in range(args.sockets)
        ]
    a_ids, c_ids = await add_extras(
        url, args.assistants, assistants=positions, clients=args.clients
    )
    a_tok = tokens_for(settings, a_ids, "assistant")
    c_tok = tokens_for(settings, c_ids, "client")
    say(
        f"{args.assistants:,} positioned assistants + {len(a_ids)} connected ones around "
        f"{len(spots)} hotspots, {len(c_ids)} clients; server with {args.workers} worker(s)"
    )
    ctx = mp.get_context("spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    go = ctx.Event()
    start_at = ctx.Value("d", 0.0)
    load_s = args.warmup + args.seconds * args.soak
    samples: list[dict[str, Any]] = []
    mon = await asyncpg.connect(url)
    async with Server(url, workers=args.workers) as server:
        await asyncio.sleep(1.0)
        idle0 = await memory_sample(server, mon)
        say(f"idle, 0 sockets: server RSS {idle0['server_rss']} MiB")
        procs = []
        per = math.ceil(len(a_ids) / args.socket_procs)
        for k in range(args.socket_procs):
            chunk = [
                (u, a_tok[u], *positions[u - a_ids[0]]) for u in a_ids[k * per : (k + 1) * per]
            ]
            share = args.frames * len(chunk) / len(a_ids)
            procs.append(
                ctx.Process(
                    target=socket_process,
                    args=(server.base, chunk, share, start_at, go, load_s, ready, results, k),
                )
            )
        procs.append(
            ctx.Process(
                target=http_process,
                args=(
                    server.base,
                    [(c, c_tok[c]) for c in c_ids],
                    spots,
                    args.rate,
                    start_at,
                    go,
                    load_s,
                    ready,
                    results,
                    99,
                    args.pickup_m,
                ),
            )
        )
        for p in procs:
            p.start()
        connected = 0
        for _ in procs:
            connected += await asyncio.to_thread(ready.get, True, 120)
        say(f"{connected} sockets connected")
        await asyncio.sleep(2.0)
        idle1 = await memory_sample(server, mon)
        say(f"idle, {connected} sockets: server RSS {idle1['server_rss']} MiB")
        say(
            f"load: {args.rate}/s requests and {args.frames} location frames/s for "
            f"{args.warmup:g} s warm-up + {args.seconds:g} s measured"
            + (f" + {args.seconds * (args.soak - 1):g} s soak" if args.soak > 1 else "")
        )
        start_at.value = time.monotonic() + 0.5
        go.set()
        t_start = start_at.value
        pending: list[tuple[str, Any]] = []
        next_report = t_start + 5
        analysed = False
        while len(pending) < len(procs):
            if not analysed and time.monotonic() >= t_start + args.warmup * 0.75:
                # The request tables started empty (reset_extras): plans the servers made then
                # scan them whole until autoanalyze (autovacuum_naptime, 60 s) re-plans. That is
                # a fresh database's first minute; the measured window is the steady state.
                await mon.execute(f"ANALYZE {', '.join(REQUEST_TABLES)}")
                analysed = True
            samples.append(await memory_sample(server, mon))
            if time.monotonic() >= next_report and time.monotonic() < t_start + load_s:
                s = samples[-1]
                say(
                    f"  t={time.monotonic() - t_start:5.1f}s server RSS {s['server_rss']} MiB, "
                    f"postgres (bench backends) RSS {s['pg_rss']} MiB"
                )
                next_report += 5
            try:
                pending.append(await asyncio.to_thread(results.get, True, 0.5))
            except queue.Empty:
                pass
        for p in procs:
            p.join(timeout=10)
    await mon.close()
    return analyse(args, t_start, pending, samples, idle0, idle1, connected, set(a_ids))


def analyse(
    args: argparse.Namespace,
    t_start: float,
    outputs: list[tuple[str, Any]],
    samples: list[dict[str, Any]],
    idle0: dict[str, Any],
    idle1: dict[str, Any],
    connected: int,
    connected_ids: set[int],
) -> dict[str, Any]:
    http = next(o for kind, o in outputs if kind == "http")
    socks = [o for kind, o in outputs if kind == "sockets"]
    arrivals: dict[int, float] = {}
    for s in socks:
        for aid, t in s["arrivals"].items():
            if t < arrivals.get(aid, math.inf):
                arrivals[aid] = t
    m0 = t_start + args.warmup
    m1 = m0 + args.seconds
    m2 = m0 + args.seconds * args.soak

    def window(lo: float, hi: float) -> dict[str, Any]:
        sent = [s for s in http["sent"] if lo <= s[0] < hi]
        ok = [s for s in sent if s[2] == 201]
        notify = []
        lost = 0
        unmatched = 0
        for _due, t0, _status, aid, matched in ok:
            if not connected_ids.intersection(matched):
                unmatched += 1  # matched only unconnected assistants: nobody to notify here
            elif aid in arrivals:
                notify.append(arrivals[aid] - t0)
            else:
                lost += 1
        offered = int(args.rate * (hi - lo))
        return {
            "offered": offered,
            "sent": len(sent),
            "created_201": len(ok),
            "achieved_per_s": round(len(ok) / (hi - lo), 1),
            "http": histogram([lat for due, lat in http["http_latency"] if lo <= due < hi]),
            "notify": histogram(notify),
            "errors": sum(1 for s in sent if s[2] != 201),
            "notifications_lost": lost,
            "matched_no_connected_assistant": unmatched,
            "mean_matched": round(sum(len(s[4]) for s in ok) / len(ok), 2) if ok else 0,
        }

    run = window(m0, m1)
    soak = window(m0, m2) if args.soak > 1 else None
    lag = sorted(http["lag"])
    frames_sent = sum(s["frames_sent"] for s in socks)
    figures: dict[str, Any] = {
        "offered_rate": args.rate,
        "run": run,
        "run_and_soak": soak,
        "transport_errors": http["errors"],
        "cancel_failures": http["cancel_failures"],
        "skipped_no_free_client": http["skipped"],
        "generator_lag_ms": {
            "p50": round(lag[len(lag) // 2] * 1000, 3) if lag else None,
            "p99": round(lag[int(len(lag) * 0.99)] * 1000, 3) if lag else None,
            "max": round(lag[-1] * 1000, 3) if lag else None,
        },
        "sockets_connected": connected,
        "sockets_closed_early": sum(s["closed_early"] for s in socks),
        "frames_sent": frames_sent,
        "frames_per_s": round(frames_sent / (args.warmup + args.seconds * args.soak), 1),
        "frame_send_errors": sum(s["send_errors"] for s in socks),
        "notifications_received": sum(s["notifications"] for s in socks),
    }
    figures["memory"] = memory_figures(args, samples, idle0, idle1, connected, m0, m1, m2)
    figures["cpu"] = cpu_figures(samples, m0, m1, run["created_201"])
    return figures


def cpu_figures(samples: list[dict[str, Any]], m0: float, m1: float, cycles: int) -> dict[str, Any]:
    """CPU of the server processes and of the whole PostgreSQL cluster over the measured run:
    cores busy, and milliseconds per created request (a cycle: request, notification, cancel)."""
    if not samples:
        return {}
    first = min(samples, key=lambda s: abs(s["t"] - m0))
    last = min(samples, key=lambda s: abs(s["t"] - m1))
    span = last["t"] - first["t"]

    def used(kind: str) -> float:
        # Processes born during the run count from zero; those gone by its end are missed.
        return sum(v - first[kind].get(p, 0.0) for p, v in last[kind].items())

    out: dict[str, Any] = {"seconds": round(span, 2)}
    for kind, name in (("pg_cpu", "postgres"), ("server_cpu", "server")):
        busy = used(kind)
        out[f"{name}_cores"] = round(busy / span, 3) if span > 0 else None
        out[f"{name}_ms_per_cycle"] = round(busy * 1000 / cycles, 3) if cycles else None
    return out


def memory_figures(
    args: argparse.Namespace,
    samples: list[dict[str, Any]],
    idle0: dict[str, Any],
    idle1: dict[str, Any],
    connected: int,
    m0: float,
    m1: float,
    m2: float,
) -> dict[str, Any]:
    pids = list(idle1["server_rss"])
    during = [s for s in samples if m0 - args.warmup <= s["t"] <= m2]

    def at(t: float, pid: str) -> float:
        best = min(during, key=lambda s: abs(s["t"] - t)) if during else idle1
        return float(best["server_rss"].get(pid, 0.0))

    per_process = {}
    for pid in pids:
        per_process[pid] = {
            "idle_0_sockets_mb": idle0["server_rss"].get(pid),
            "idle_with_sockets_mb": idle1["server_rss"].get(pid),
            "peak_mb": max((s["server_rss"].get(pid, 0.0) for s in during), default=None),
            "at_end_of_T_mb": at(m1, pid),
            "at_end_of_2T_mb": at(m2, pid) if args.soak > 1 else None,
            # Drift once warm: the slope over the measured run and its soak.
            "slope_mb_per_min": slope_mb_per_min(
                [(s["t"] - m0, s["server_rss"].get(pid, 0.0)) for s in during if s["t"] >= m0]
            ),
        }
    total0 = sum(v or 0 for v in idle0["server_rss"].values())
    total1 = sum(v or 0 for v in idle1["server_rss"].values())
    return {
        "server_processes": per_process,
        "server_peak_mb_max": max((p["peak_mb"] or 0) for p in per_process.values()),
        "per_socket_kib": round((total1 - total0) * 1024 / connected, 1) if connected else None,
        "postgres_peak_rss_mb": max((s["pg_rss"] for s in during), default=None),
        "postgres_peak_pss_mb": max((s["pg_pss"] for s in during), default=None),
        "postgres_backends_max": max((s["pg_backends"] for s in during), default=None),
        "samples": [
            [round(s["t"] - m0, 2), s["server_rss"], s["pg_rss"], s["pg_pss"]] for s in samples
        ],
    }


def plot(figures: dict[str, Any], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    for key, label in (
        ("http", "HTTP POST /api/assistance/request/"),
        ("notify", "request → notification"),
    ):
        cdf = figures["run"][key].get("cdf") or []
        if cdf:
            ax.plot([v for _, v in cdf], [q for q, _ in cdf], label=label)
    ax.set_xscale("log")
    ax.set_xlabel("latency, ms")
    ax.set_ylabel("percentile")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax = axes[1]
    samples = figures["memory"]["samples"]
    if samples:
        ts = [s[0] for s in samples]
        for pid in samples[0][1]:
            ax.plot(ts, [s[1].get(pid, float("nan")) for s in samples], label=f"server pid {pid}")
        ax.plot(ts, [s[3] for s in samples], label="postgres bench backends (PSS)")
    ax.axvline(0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("seconds since the measured run began")
    ax.set_ylabel("MiB")
    ax.set_title("Resident memory during the run", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--assistants", type=int, default=100_000, help="positioned assistants")
    p.add_argument("--sockets", type=int, default=1000, help="connected assistants (WebSocket)")
    p.add_argument("--hotspots", type=int, default=25, help="areas the connected ones stand in")
    p.add_argument("--clients", type=int, default=1000, help="clients taking turns to ask")
    p.add_argument("--rate", type=float, default=200, help="offered requests per second")
    p.add_argument("--frames", type=float, default=2000, help="location frames per second")
    p.add_argument("--seconds", type=float, default=30, help="measured run (T)")
    p.add_argument("--warmup", type=float, default=3, help="unmeasured load before the run")
    p.add_argument(
        "--soak",
        type=float,
        default=2,
        help="keep the load on until soak x T to check memory stays flat (1: no soak)",
    )
    p.add_argument(
        "--area-km",
        type=float,
        default=0,
        help="dense scenario: the connected assistants stand in one square of this side around the "
        "city centre, pickups in its middle (0: around --hotspots instead)",
    )
    p.add_argument(
        "--centre",
        type=float,
        nargs=2,
        default=list(CENTER),
        metavar=("LAT", "LNG"),
        help="dense scenario: the square's centre (default the city's; bench 6 --roads: Monaco)",
    )
    p.add_argument("--pickup-m", type=float, default=PICKUP_RADIUS_M, help="pickup spread")
    p.add_argument("--workers", type=int, default=2, help="server processes (WORKERS)")
    p.add_argument("--socket-procs", type=int, default=2, help="load-generator socket processes")
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--name", default="dispatch", help="result file name under bench/results/")
    return p


def summary_lines(figures: dict[str, Any]) -> list[str]:
    run = figures["run"]
    mem = figures["memory"]
    return [
        f"  HTTP     p50 {run['http'].get('p50_ms')} ms  p90 {run['http'].get('p90_ms')} ms  "
        f"p99 {run['http'].get('p99_ms')} ms  max {run['http'].get('max_ms')} ms",
        f"  notify   p50 {run['notify'].get('p50_ms')} ms  p90 {run['notify'].get('p90_ms')} ms  "
        f"p99 {run['notify'].get('p99_ms')} ms  max {run['notify'].get('max_ms')} ms",
        f"  achieved {run['achieved_per_s']}/s of {run['offered']} offered; errors {run['errors']}, "
        f"lost notifications {run['notifications_lost']}, transport {figures['transport_errors']}, "
        f"frames {figures['frames_per_s']}/s",
        f"  cpu      postgres {figures['cpu'].get('postgres_ms_per_cycle')} ms/cycle "
        f"({figures['cpu'].get('postgres_cores')} cores), server "
        f"{figures['cpu'].get('server_ms_per_cycle')} ms/cycle",
        f"  memory   server peak {mem['server_peak_mb_max']} MiB/process, "
        f"{mem['per_socket_kib']} KiB/socket, postgres peak PSS {mem['postgres_peak_pss_mb']} MiB",
    ]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parser().parse_args(argv)
    figures = asyncio.run(main_async(args))
    for line in summary_lines(figures):
        say(line)
    RESULTS.mkdir(parents=True, exist_ok=True)
    png = RESULTS / f"{args.name}_latency_cdf.png"
    plot(
        figures,
        png,
        f"{args.rate:g} req/s + {args.frames:g} frames/s, {figures['sockets_connected']} sockets, "
        f"{args.workers} worker(s)",
    )
    path = write_result(args.name, vars(args), figures)
    say(f"wrote {path} and {png.name}")
    return figures


if __name__ == "__main__":
    main()

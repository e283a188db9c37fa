"""Bench 7: the platform's floor. What the parts every dispatch cycle is made of cost on this machine
with no dispatch logic at all: an HTTP request on aiohttp + uvloop, the same with a JWT check, with
one PostgreSQL round trip, with one durable one-row INSERT (a commit), and one WebSocket frame
(bare `send_str`, and through the engine's hub and per-socket peers as every event goes).

A minimal aiohttp app (the engine's stack: uvloop, orjson, asyncpg, PyJWT) runs in its own process;
a closed-loop client in this one drives each operation; CPU is read from /proc for the server
process and for its PostgreSQL backends. Compare with bench 6 (`bench.dense`), whose cycle is two
authenticated requests that write, and the frames of ~10 offers, ~10 withdrawals and the statuses.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from typing import Any

import aiohttp
import asyncpg
import jwt
import orjson
from aiohttp import web

from api.ws.hub import Hub, Peer
from bench.common import bench_database, cpu_seconds, say, write_result
from dispatch.core.config import Settings

APP_NAME = "dispatch-floor"
SECRET = "floor-bench-secret-of-32-bytes!!"
FRAME = orjson.dumps({"type": "offer_withdrawn", "assistance_id": 1, "seq": 1}).decode()


def build_app(url: str) -> web.Application:
    app = web.Application()
    sockets: list[web.WebSocketResponse] = []
    hub = Hub()

    async def startup(app: web.Application) -> None:
        app["pool"] = await asyncpg.create_pool(
            url, min_size=4, max_size=8, server_settings={"application_name": APP_NAME}
        )
        async with app["pool"].acquire() as conn:
            await conn.execute("CREATE TABLE IF NOT EXISTS bench_floor (id bigserial, body text)")
            await conn.execute("TRUNCATE bench_floor")

    async def cleanup(app: web.Application) -> None:
        await app["pool"].close()

    def reply(body: dict[str, Any]) -> web.Response:
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def http(request: web.Request) -> web.Response:
        return reply({"ok": True, "echo": orjson.loads(await request.read())})

    async def auth(request: web.Request) -> web.Response:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        return reply({"ok": True, "sub": claims["sub"], "echo": orjson.loads(await request.read())})

    async def read(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        async with request.app["pool"].acquire() as conn:
            value = await conn.fetchval("SELECT $1::text", orjson.dumps(body).decode())
        return reply({"ok": True, "value": value})

    async def write(request: web.Request) -> web.Response:
        body = await request.read()
        async with request.app["pool"].acquire() as conn:
            value = await conn.fetchval(
                "INSERT INTO bench_floor (body) VALUES ($1) RETURNING id", body.decode()
            )
        return reply({"ok": True, "id": value})

    async def fan(request: web.Request) -> web.Response:
        n = int(request.query["n"])
        for i in range(n):
            await sockets[i % len(sockets)].send_str(FRAME)
        return reply({"sent": n})

    async def fan_hub(request: web.Request) -> web.Response:
        """The same frames through the engine's hub (api.ws.hub): what a delivered event costs."""
        n = int(request.query["n"])
        for i in range(n):
            hub.deliver(f"socket:{i % len(sockets)}", FRAME)
        return reply({"sent": n})

    async def ws(request: web.Request) -> web.WebSocketResponse:
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        peer = Peer(
            sock,
            len(sockets),
            queue=256,
            timeout=5.0,
            max_bytes=1 << 20,
            transport=request.transport,
        )
        topic = f"socket:{len(sockets)}"
        hub.subscribe(topic, peer)
        sockets.append(sock)
        async for _ in sock:
            pass
        hub.unsubscribe(topic, peer)
        await peer.close()
        sockets.remove(sock)
        return sock

    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    app.router.add_post("/http", http)
    app.router.add_post("/auth", auth)
    app.router.add_post("/read", read)
    app.router.add_post("/write", write)
    app.router.add_post("/fan", fan)
    app.router.add_post("/fan_hub", fan_hub)
    app.router.add_get("/ws", ws)
    return app


def serve(url: str, port: int) -> None:
    import uvloop

    uvloop.install()
    web.run_app(build_app(url), host="127.0.0.1", port=port, print=None, access_log=None)


async def backend_pids(url: str) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1", APP_NAME
        )
        return [r["pid"] for r in rows]
    finally:
        await conn.close()


async def drive(
    base: str, path: str, n: int, concurrency: int, headers: dict[str, str]
) -> tuple[int, float]:
    body = orjson.dumps({"pickup": {"lat": 36.75, "lng": 3.04}, "service_type": "towing"})
    done = 0
    started = time.perf_counter()
    async with aiohttp.ClientSession(headers=headers) as session:

        async def one_worker() -> None:
            nonlocal done
            while done < n:
                done += 1
                async with session.post(base + path, data=body) as resp:
                    await resp.read()

        await asyncio.gather(*(one_worker() for _ in range(concurrency)))
    return done, time.perf_counter() - started


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings.from_env()
    url = await bench_database(settings)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.floor", "--serve", url, "--port", str(args.port)],
        env={**os.environ},
    )
    base = f"http://127.0.0.1:{args.port}"
    token = jwt.encode(
        {"sub": "7", "fam": "x", "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256"
    )
    rows: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession() as probe:
            for _ in range(100):
                try:
                    async with probe.post(base + "/http", data=b"{}") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
        sockets = aiohttp.ClientSession()
        readers = [
            await sockets.ws_connect(base + "/ws", compress=args.compress)
            for _ in range(args.sockets)
        ]
        drain = [asyncio.create_task(_drain(r)) for r in readers]
        await asyncio.sleep(0.3)
        pg = await backend_pids(url)
        ops = [
            ("http", "/http", 1, {}),
            ("http_jwt", "/auth", 1, {"Authorization": f"Bearer {token}"}),
            ("http_db_read", "/read", 1, {}),
            ("http_db_commit", "/write", 1, {}),
            ("ws_frame", f"/fan?n={args.fan}", args.fan, {}),
            ("ws_frame_hub", f"/fan_hub?n={args.fan}", args.fan, {}),
        ]
        for name, path, per_call, headers in ops:
            runs = []
            for _ in range(args.runs):
                s0, p0 = cpu_seconds(proc.pid), sum(cpu_seconds(p) for p in pg)
                calls, wall = await drive(base, path, args.requests, args.concurrency, headers)
                s1, p1 = cpu_seconds(proc.pid), sum(cpu_seconds(p) for p in pg)
                units = calls * per_call
                runs.append(
                    {
                        "server_us": round((s1 - s0) * 1e6 / units, 1),
                        "postgres_us": round((p1 - p0) * 1e6 / units, 1),
                        "per_s": round(units / wall),
                    }
                )
            runs.sort(key=lambda r: r["server_us"])
            mid = runs[len(runs) // 2]
            rows[name] = {
                **mid,
                "server_us_range": [runs[0]["server_us"], runs[-1]["server_us"]],
                "per": "frame" if per_call > 1 else "request",
            }
            say(
                f"  {name:15} server {mid['server_us']:7.1f} us  postgres {mid['postgres_us']:6.1f} "
                f"us per {rows[name]['per']} ({mid['per_s']}/s closed loop)"
            )
        for task in drain:
            task.cancel()
        await sockets.close()
    finally:
        proc.terminate()
        proc.wait(10)
    commit = rows["http_db_commit"]
    cycle = {
        "server_us": round(2 * commit["server_us"] + args.frames * rows["ws_frame"]["server_us"]),
        "postgres_us": round(2 * commit["postgres_us"]),
        "frames": args.frames,
    }
    say(
        f"  a cycle's floor (2 requests that commit + {args.frames} frames, nothing else): server "
        f"{cycle['server_us']} us, postgres {cycle['postgres_us']} us"
    )
    figures = {"ops": rows, "cycle_floor": cycle}
    write_result("floor", {k: v for k, v in vars(args).items() if k != "serve"}, figures)
    return figures


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    p.add_argument("--requests", type=int, default=3000, help="calls per run of each operation")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--sockets", type=int, default=50)
    p.add_argument("--fan", type=int, default=20, help="frames per /fan call")
    p.add_argument("--frames", type=int, default=22, help="frames in a dense cycle")
    p.add_argument(
        "--compress", type=int, default=0, help="sockets ask for permessage-deflate (window bits)"
    )
    p.add_argument("--port", type=int, default=int(os.environ.get("FLOOR_PORT", "8399")))
    p.add_argument("--serve", metavar="URL", help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parser().parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return {}
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    main()

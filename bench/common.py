"""Shared bench plumbing: the bench database, synthetic assistants, statistics and result files."""

from __future__ import annotations

import asyncio
import json
import math
import os
import platform
import random
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from dispatch.core.config import Settings
from dispatch.positions.store import cells
from dispatch.runtime.devdb import database_url
from dispatch.runtime.migrate import migrate_url
from dispatch.runtime.testdb import database_name, with_database

RESULTS = Path(__file__).resolve().parent / "results"
# The synthetic city: a ~100 km square around Algiers.
CENTER = (36.75, 3.06)
SPAN_KM = 100.0
BENCH_PASSWORD_HASH = "!"  # bench users cannot log in with a password


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


async def bench_database(settings: Settings, suffix: str = "_bench") -> str:
    """`<db><suffix>` beside the database in use, created and migrated if needed; its URL."""
    main = database_url(settings.db)
    name = database_name(main) + suffix
    admin = await asyncpg.connect(with_database(main, "postgres"))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(main, name)
    await migrate_url(url, Path(settings.db.sql_dir))
    return url


def random_point(rng: random.Random) -> tuple[float, float]:
    """A uniform point in the city square."""
    half_lat = SPAN_KM / 2 / 111.32
    half_lng = SPAN_KM / 2 / (111.32 * math.cos(math.radians(CENTER[0])))
    return (
        CENTER[0] + rng.uniform(-half_lat, half_lat),
        CENTER[1] + rng.uniform(-half_lng, half_lng),
    )


async def populate(url: str, n: int, *, active_ratio: float = 0.3, seed: int = 7) -> None:
    """Exactly `n` positioned bench assistants (30% active by default), reused when already there."""
    conn = await asyncpg.connect(url)
    try:
        # v2: populations written before the is_active fix (every assistant inactive) are redone.
        await conn.execute("DROP TABLE IF EXISTS public.bench_population")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS public.bench_population_v2 "
            "(n int, active_ratio float8, seed int)"
        )
        await reset_extras(conn, n)
        have = await conn.fetchrow("SELECT n, active_ratio, seed FROM public.bench_population_v2")
        if have and tuple(have) == (n, active_ratio, seed):
            say(f"reusing {n:,} bench assistants")
            return
        say(f"generating {n:,} assistants ({active_ratio:.0%} active)")
        started = time.monotonic()
        await conn.execute(
            "TRUNCATE dispatch.users RESTART IDENTITY CASCADE; DELETE FROM public.bench_population_v2"
        )
        await conn.execute(
            """
            INSERT INTO dispatch.users (role, name, phone_number, password_hash)
            SELECT 'assistant', 'Bench ' || i, '+9' || lpad(i::text, 10, '0'), $2
            FROM generate_series(1, $1) AS i
            """,
            n,
            BENCH_PASSWORD_HASH,
        )
        await conn.execute(
            """
            INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type, driving_license_cat,
                driving_license_num, driving_license_expiry, vehicle_registration_num, is_active)
            SELECT id, CASE WHEN hashint4(id::int + $2) % 4 = 0 THEN 'repair' ELSE 'towing' END,
                   'light', 'c', 'B-' || id, current_date + 365, id,
                   (abs(hashint4(id::int * 7 + $2)) % 1000) < $1::float8 * 1000
            FROM dispatch.users
            """,
            active_ratio,
            seed,
        )
        rng = random.Random(seed)
        records = []
        for user_id in range(1, n + 1):
            lat, lng = random_point(rng)
            c = cells(lat, lng)
            records.append((user_id, lat, lng, c.r7, c.r8, c.r9))
        await conn.execute(
            "CREATE TEMP TABLE bench_points (user_id bigint, lat float8, lng float8, "
            "r7 bigint, r8 bigint, r9 bigint)"
        )
        await conn.copy_records_to_table("bench_points", records=records)
        await conn.execute(
            """
            INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
            SELECT user_id, ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography, r7, r8, r9
            FROM bench_points
            """
        )
        await conn.execute(
            "INSERT INTO public.bench_population_v2 VALUES ($1, $2, $3)", n, active_ratio, seed
        )
        await conn.execute("VACUUM ANALYZE dispatch.users")
        await conn.execute("VACUUM ANALYZE dispatch.assistants")
        await conn.execute("VACUUM ANALYZE dispatch.positions")
        await conn.execute(
            "SELECT dispatch.refresh_cell_supply()"
        )  # TRUNCATE bypassed its triggers
        say(f"generated {n:,} assistants in {time.monotonic() - started:.1f} s")
    finally:
        await conn.close()


# What a request-and-cancel cycle writes; empty after reset_extras, so a bench that measures the
# steady state ANALYZEs them once they hold some history (plans made on empty tables scan them).
REQUEST_TABLES = (
    "dispatch.assistance_requests",
    "dispatch.assistance_events",
    "dispatch.offers",
    "dispatch.offer_rounds",
    "dispatch.event_log",
)


async def reset_extras(conn: asyncpg.Connection, n: int) -> None:
    """Drop what earlier benches added beside the population: requests and users above id `n`."""
    await conn.execute(
        "TRUNCATE dispatch.assistance_requests, dispatch.event_log, dispatch.outbox CASCADE"
    )
    await conn.execute("DELETE FROM dispatch.users WHERE id > $1", n)
    await conn.execute("SELECT dispatch.refresh_cell_supply()")  # TRUNCATE bypassed its triggers


async def add_extras(
    url: str,
    n: int,
    *,
    assistants: Sequence[tuple[float, float]] = (),
    clients: int = 0,
    services: Sequence[str] = (),
) -> tuple[list[int], list[int]]:
    """Bench users beside a population of `n`: active assistants at the given points (ids from
    n+1; towing unless `services` gives each one's service type), then `clients` clients; their
    ids. Earlier extras are removed first."""
    conn = await asyncpg.connect(url)
    try:
        await reset_extras(conn, n)
        a_ids = list(range(n + 1, n + 1 + len(assistants)))
        c_ids = list(range(n + 1 + len(assistants), n + 1 + len(assistants) + clients))
        rows = [(i, "assistant", f"Bench {i}", f"+9{i:010d}", BENCH_PASSWORD_HASH) for i in a_ids]
        rows += [(i, "client", f"Client {i}", f"+8{i:010d}", BENCH_PASSWORD_HASH) for i in c_ids]
        await conn.copy_records_to_table(
            "users",
            schema_name="dispatch",
            columns=["id", "role", "name", "phone_number", "password_hash"],
            records=rows,
        )
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('dispatch.users', 'id'), $1)",
            n + len(rows) + 1,
        )
        await conn.execute(
            """
            INSERT INTO dispatch.assistants (user_id, service_type, vehicle_type,
                driving_license_cat, driving_license_num, driving_license_expiry,
                vehicle_registration_num, is_active)
            SELECT id, service, 'light', 'c', 'B-' || id, current_date + 365, id, true
            FROM unnest($1::bigint[], $2::text[]) AS t(id, service)
            """,
            a_ids,
            list(services) or ["towing"] * len(a_ids),
        )
        records = []
        for uid, (lat, lng) in zip(a_ids, assistants, strict=True):
            c = cells(lat, lng)
            records.append((uid, f"SRID=4326;POINT({lng!r} {lat!r})", c.r7, c.r8, c.r9))
        await conn.execute(
            """
            INSERT INTO dispatch.positions (user_id, geog, h3_r7, h3_r8, h3_r9)
            SELECT user_id, geog::geography, r7, r8, r9
            FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])
                 AS t(user_id, geog, r7, r8, r9)
            """,
            *(list(col) for col in zip(*records, strict=True)) if records else ([],) * 5,
        )
        await conn.execute("ANALYZE dispatch.users")
        return a_ids, c_ids
    finally:
        await conn.close()


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p90_ms": round(percentile(ms, 90), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "max_ms": round(max(ms), 3) if ms else float("nan"),
        "mean_ms": round(sum(ms) / len(ms), 3) if ms else float("nan"),
    }


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def write_result(name: str, parameters: dict[str, Any], figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "commit": commit(),
        "parameters": parameters,
        "figures": figures,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(doc, indent=2))
    return path


def run(coro: Any) -> Any:
    """Run a coroutine on uvloop, as the server does: the load generator shares the machine's two
    cores with the server and PostgreSQL, so every cycle it saves goes to what is measured."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


class Server:
    """`dispatch serve` in a subprocess, as `make run` starts it, with RSS sampling of its processes."""

    def __init__(
        self,
        url: str,
        *,
        workers: int,
        port: int | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ):
        import socket

        if port is None:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = int(s.getsockname()[1])
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.workers = workers
        self._env = {
            **os.environ,
            "DATABASE_URL": url,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "DISPATCH_ACCESS_LOG": "0",
            "DISPATCH_LOG_LEVEL": "WARNING",
            # The ingest scenario counts stored history rows: keep every batched frame's row
            # (the production default keeps one a second per user).
            "DISPATCH_LOCATION_HISTORY_S": "0",
            **(env or {}),
        }
        # `python -m api` puts its working directory first on sys.path: another checkout's server
        # (bench 10) runs from that checkout, or this one's code would be imported.
        self._cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    async def __aenter__(self) -> Server:
        import sys

        import aiohttp

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--workers", str(self.workers)],
            env=self._env,
            cwd=self._cwd,
        )
        # A loaded shared machine can take a while to import and fork the workers.
        deadline = time.monotonic() + 180
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(self.base + "/api/health/") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    await self.__aexit__()  # never leave a half-started server behind
                    raise RuntimeError("the server did not start")
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # let every worker finish starting
        return self

    async def __aexit__(self, *exc: object) -> None:
        import signal

        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def pids(self) -> list[int]:
        """The serving processes (the workers, or the single process)."""
        assert self.proc is not None
        if self.workers <= 1:
            return [self.proc.pid]
        out = subprocess.run(
            ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True, check=False
        )
        return [int(p) for p in out.stdout.split()]


def rss_mb(pid: int) -> float:
    """Resident set size of a process, MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def pss_mb(pid: int) -> float:
    """Proportional set size, MiB: shared pages (PostgreSQL's shared buffers) split among sharers."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used, seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def cluster_processes(conn: asyncpg.Connection) -> list[int]:
    """Every process of the connection's cluster (backends of all databases, the WAL writer,
    checkpointer, autovacuum...) but this monitoring connection: the database's CPU."""
    rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()")
    return [r["pid"] for r in rows]


async def postgres_processes(conn: asyncpg.Connection) -> list[int]:
    """The backends serving the connection's database (other databases of a shared cluster and
    this monitoring connection excluded)."""
    rows = await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()"
    )
    return [r["pid"] for r in rows]


def postgres_rss_mb() -> float:
    """Summed RSS of all postgres processes (shared buffers counted once per process touched)."""
    out = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True, check=False)
    return round(sum(rss_mb(int(p)) for p in out.stdout.split()), 1)


def tokens_for(settings: Settings, ids: Sequence[int], role: str = "assistant") -> dict[int, str]:
    from dispatch.accounts.tokens import issue_access_token

    return {i: issue_access_token(settings.auth, user_id=i, role=role) for i in ids}

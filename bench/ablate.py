"""Bench 8: where a dense cycle's database time goes.

One connection runs the dense centre's cycle (a request at a pickup with 300 active towing
assistants within 5 km, its cancel, one publish pass: the calls the server makes, through
dispatch.assistance) with parts of the engine switched off, one part per variant, and all of them
at once. The variants run in alternating rounds (every variant once, each round starting one
variant later than the one before), so that what the shared machine does at any moment falls on
all of them alike; each run truncates the request tables, settles, ANALYZEs and measures the
backend's CPU per cycle from /proc/<pid>/stat (so the database must run on this machine, as the
embedded cluster does). The figures per variant: the median of its rounds, and the median of its
ratio to the engine's run of the same round (ranges beside them).

The parts are switched off in the bench database only, by replacing internal functions (or with a
trigger that drops the audit rows); after each variant every function file is applied again (as
`dispatch migrate` does), and the bench checks that every function and trigger of the schema is as
it found it before it goes on (it stops otherwise).

This is a diagnostic, not a target: it says which part of the contract's work costs what, so that
a target per cycle can be set against the work it leaves room for.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import (
    REQUEST_TABLES,
    add_extras,
    bench_database,
    cpu_seconds,
    populate,
    run,
    say,
    write_result,
)
from bench.density import SITES, around
from dispatch.assistance.lifecycle import Point, request_assistance, update_status
from dispatch.core.config import Settings
from dispatch.core.db import init_connection
from dispatch.runtime.migrate import migrate

RADIUS_M = 5000.0
CLIENTS = 20

OFFERS_OFF = """
CREATE OR REPLACE FUNCTION dispatch.insert_offers(request dispatch.assistance_requests, candidates jsonb)
RETURNS integer LANGUAGE plpgsql VOLATILE AS $$ BEGIN RETURN jsonb_array_length(candidates); END $$;
CREATE OR REPLACE FUNCTION dispatch.offer_batch(request dispatch.assistance_requests, candidates jsonb,
                                                OUT topics text[], OUT frames jsonb[])
LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN; END $$;
"""
WITHDRAWALS_OFF = """
CREATE OR REPLACE FUNCTION dispatch.close_offers(assistance_id bigint, winner_id bigint,
                                                 closed_state text, reason text)
RETURNS integer LANGUAGE plpgsql VOLATILE AS $$ BEGIN RETURN 0; END $$;
"""
MATCHING_OFF = """
CREATE OR REPLACE FUNCTION dispatch.candidates_json(assistance_id bigint, pickup geography,
    service_type text, radius_m double precision, sooner_than_s double precision DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN '[]'::jsonb; END $$;
"""
EVENTS_OFF = """
CREATE OR REPLACE FUNCTION dispatch.emit_except(topic text, message jsonb, skip_user bigint)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$ BEGIN END $$;
CREATE OR REPLACE FUNCTION dispatch.emit(topic text, message jsonb)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$ BEGIN END $$;
CREATE OR REPLACE FUNCTION dispatch.emit_many(topics text[], messages jsonb[])
RETURNS void LANGUAGE plpgsql VOLATILE AS $$ BEGIN END $$;
"""
AUDIT_OFF = """
CREATE FUNCTION dispatch.bench_drop_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER bench_drop_audit BEFORE INSERT ON dispatch.assistance_events
    FOR EACH ROW EXECUTE FUNCTION dispatch.bench_drop_row();
"""
AUDIT_BACK = """
DROP TRIGGER IF EXISTS bench_drop_audit ON dispatch.assistance_events;
DROP FUNCTION IF EXISTS dispatch.bench_drop_row();
"""

# What each variant switches off (the frames of what is off are not built either).
VARIANTS: dict[str, str] = {
    "engine": "",
    "no withdrawals": WITHDRAWALS_OFF,  # offers stay open: no closing update, no withdrawal frames
    "no offers": OFFERS_OFF,  # matched, but no offer rows, offer frames or withdrawals
    "no matching": MATCHING_OFF,  # nobody matched: no offers either
    "no event log": EVENTS_OFF,  # frames built, nothing written, nothing to publish
    "no audit rows": AUDIT_OFF,
    "none of these": MATCHING_OFF + EVENTS_OFF + AUDIT_OFF,
}

SCHEMA_FINGERPRINT = """
SELECT md5(string_agg(d, E'\\n' ORDER BY d)) FROM (
    SELECT pg_get_functiondef(p.oid) AS d FROM pg_proc p
     WHERE p.pronamespace = 'dispatch'::regnamespace AND p.prokind IN ('f', 'p')
    UNION ALL
    SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t
     WHERE NOT t.tgisinternal AND t.tgrelid::regclass::text LIKE 'dispatch.%'
) x
"""


class Cycle:
    """The dense cycle on one connection: request, cancel, publish pass."""

    def __init__(self, conn: asyncpg.Connection, clients: list[int], site: tuple[float, float]):
        self.conn, self.clients, self.pickup = conn, clients, Point(*site)
        self.turn = 0

    async def once(self) -> None:
        client = self.clients[self.turn % len(self.clients)]
        self.turn += 1
        made = await request_assistance(
            self.conn,
            client_id=client,
            pickup=self.pickup,
            dropoff=None,
            service_type="towing",
            vehicle_type="light",
            description="",
        )
        await update_status(
            self.conn,
            assistance_id=made.body["assistance"]["id"],
            actor_id=client,
            status="canceled",
        )
        await self.conn.fetch("SELECT seq FROM dispatch.publish_events(1000)")

    async def many(self, n: int) -> None:
        for _ in range(n):
            await self.once()


async def restore(conn: asyncpg.Connection, sql_dir: Path, fingerprint: str) -> None:
    """Every function file applied again; stop unless the schema's code is as it was found."""
    await conn.execute(AUDIT_BACK)
    await migrate(conn, sql_dir)
    if await conn.fetchval(SCHEMA_FINGERPRINT) != fingerprint:
        raise SystemExit("the bench database's functions were not restored: run dispatch migrate")


WRITTEN = """
SELECT (SELECT count(*) FROM dispatch.offers) AS offers,
       (SELECT coalesce(sum(cardinality(topics)), 0) FROM dispatch.event_log) AS frames,
       (SELECT count(*) FROM dispatch.assistance_events) AS audit_rows
"""


async def measure(
    url: str, clients: list[int], site: tuple[float, float], args: argparse.Namespace
) -> tuple[float, dict[str, float]]:
    """CPU ms per cycle of one run, on fresh request tables and a fresh connection (a backend's
    caches carry nothing from the variant before), and what a cycle wrote (offer rows, frames
    logged, audit rows): the proof that the variant switched off what it says."""
    conn = await asyncpg.connect(url)
    try:
        await init_connection(conn)  # the server's codecs (jsonb as Python objects)
        await conn.execute("SET track_functions = 'none'")  # statistics are not the engine's cost
        await conn.execute("TRUNCATE " + ", ".join(REQUEST_TABLES) + " CASCADE")
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        cycle = Cycle(conn, clients, site)
        await cycle.many(args.settle)
        await conn.execute("ANALYZE " + ", ".join(REQUEST_TABLES))
        await cycle.many(args.settle // 2)
        before = cpu_seconds(pid)
        await cycle.many(args.cycles)
        cpu = (cpu_seconds(pid) - before) * 1000 / args.cycles
        total = args.settle + args.settle // 2 + args.cycles
        written = await conn.fetchrow(WRITTEN)
    finally:
        await conn.close()
    return cpu, {k: round(v / total, 1) for k, v in written.items()}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings.from_env()
    figures = await ablate(await bench_database(settings), Path(settings.db.sql_dir), args)
    write_result("ablate", vars(args), figures)
    return figures


async def ablate(url: str, sql_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Every variant in alternating rounds on the database at `url` (migrated from `sql_dir`)."""
    await populate(url, args.population)
    rng = random.Random(args.seed)
    site = SITES[1]
    points = [around(rng, *site, RADIUS_M) for _ in range(args.assistants)]
    _, clients = await add_extras(url, args.population, assistants=points, clients=CLIENTS)
    runs: dict[str, list[float]] = {v: [] for v in VARIANTS}
    written: dict[str, dict[str, float]] = {}
    admin = await asyncpg.connect(url)  # switches the parts off and on again
    try:
        fingerprint = await admin.fetchval(SCHEMA_FINGERPRINT)
        names = list(VARIANTS)
        for r in range(args.rounds):
            # Each round starts one variant later: none is always first or always after another.
            for name in names[r % len(names) :] + names[: r % len(names)]:
                try:
                    if VARIANTS[name]:
                        await admin.execute(VARIANTS[name])
                    cpu, written[name] = await measure(url, clients, site, args)
                    runs[name].append(cpu)
                finally:
                    await restore(admin, sql_dir, fingerprint)
            say(f"round {r + 1}: " + ", ".join(f"{v} {runs[v][-1]:.2f}" for v in VARIANTS))
    finally:
        await admin.close()
    rows: list[dict[str, Any]] = []
    for name, xs in runs.items():
        # Against the engine's run of the same round: the machine's drift cancels in the ratio.
        # A run shorter than the CPU clock's tick (10 ms) can read 0: no ratio for it.
        ratios = [x / e for x, e in zip(xs, runs["engine"], strict=True) if e > 0] or [math.nan]
        rows.append(
            {
                "variant": name,
                "ms_per_cycle": round(statistics.median(xs), 2),
                "range": [round(min(xs), 2), round(max(xs), 2)],
                "of_engine": round(statistics.median(ratios), 2),
                "of_engine_range": [round(min(ratios), 2), round(max(ratios), 2)],
                "runs": [round(x, 2) for x in xs],
                "written_per_cycle": written[name],
            }
        )
    figures = {"rows": rows}
    say("| variant | CPU ms per cycle | of the engine's, same round | written per cycle |")
    for row in rows:
        say(
            f"| {row['variant']} | {row['ms_per_cycle']} ({row['range'][0]}-{row['range'][1]}) "
            f"| {row['of_engine']:.0%} ({row['of_engine_range'][0]:.0%}-"
            f"{row['of_engine_range'][1]:.0%}) | {row['written_per_cycle']} |"
        )
    return figures


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.ablate", description=__doc__)
    p.add_argument("--population", type=int, default=10_000, help="assistants city-wide")
    p.add_argument("--assistants", type=int, default=300, help="active within 5 km of the pickup")
    p.add_argument("--cycles", type=int, default=300, help="measured cycles per run")
    p.add_argument("--settle", type=int, default=60, help="unmeasured cycles before ANALYZE")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--seed", type=int, default=1)
    return p


def main(argv: list[str] | None = None) -> dict[str, Any]:
    figures: dict[str, Any] = run(main_async(parser().parse_args(argv)))
    return figures


if __name__ == "__main__":
    main()

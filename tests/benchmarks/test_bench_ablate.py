"""Bench 8 (bench/ablate.py) on a throwaway database: each variant switches off what it says (what a
cycle wrote), and the schema's functions and triggers are as before once it is over."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from bench import ablate


async def fingerprint(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval(ablate.SCHEMA_FINGERPRINT))
    finally:
        await conn.close()


async def test_variants_switch_off_their_part_and_leave_the_schema_as_found(settings, throwaway_db):
    before = await fingerprint(throwaway_db)
    args = ablate.parser().parse_args(
        ["--population", "50", "--assistants", "12", "--cycles", "3", "--settle", "2",
         "--rounds", "1"]
    )  # fmt: skip
    figures = await ablate.ablate(throwaway_db, Path(settings.db.sql_dir), args)

    written = {row["variant"]: row["written_per_cycle"] for row in figures["rows"]}
    assert set(written) == set(ablate.VARIANTS)
    # The engine: ten offers (matching_max_results), their frames and the withdrawals, two audit rows.
    engine = written["engine"]
    assert engine["offers"] == 10 and engine["audit_rows"] == 2
    assert written["no withdrawals"]["offers"] == 10
    assert written["no withdrawals"]["frames"] == engine["frames"] - 20  # 10 withdrawn, 10 feed
    assert written["no offers"]["offers"] == 0 and written["no matching"]["offers"] == 0
    assert written["no offers"]["frames"] == written["no matching"]["frames"] == 4  # the statuses
    assert written["no event log"] == {"offers": 10, "frames": 0, "audit_rows": 2}
    assert written["no audit rows"]["audit_rows"] == 0
    assert written["none of these"] == {"offers": 0, "frames": 0, "audit_rows": 0}

    assert await fingerprint(throwaway_db) == before

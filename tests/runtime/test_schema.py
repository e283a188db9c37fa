"""The migrated schema is sql/schema.sql: a fresh migrate whose pg_dump differs from it fails here."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from dispatch.runtime.cli import migrated_schema
from dispatch.runtime.migrate import normalise_dump


async def test_fresh_migrate_matches_the_schema_snapshot(settings):
    snapshot = Path(settings.db.sql_dir) / "schema.sql"
    dumped = await migrated_schema(settings, suffix="_schema_test")
    expected = snapshot.read_text()
    if dumped != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                dumped.splitlines(keepends=True),
                "sql/schema.sql",
                "a fresh migrate",
                n=2,
            )
        )
        pytest.fail(
            "the migrated schema differs from sql/schema.sql. If the change is meant, refresh the "
            "snapshot with `make schema` (dispatch schema-dump > sql/schema.sql) and commit it:\n"
            + diff[:8000]
        )


def test_normalised_dump_drops_what_changes_from_run_to_run():
    raw = "\n".join(
        [
            "--",
            "-- PostgreSQL database dump",
            "--",
            "",
            "\\restrict AbC123",
            "",
            "-- Dumped from database version 15.18",
            "-- Dumped by pg_dump version 15.18",
            "",
            "--",
            "-- Name: position_history_default; Type: TABLE; Schema: dispatch; Owner: -",
            "--",
            "",
            "CREATE TABLE dispatch.position_history_default (id bigint);",
            "",
            "",
            "--",
            "-- Name: position_history_p20261206; Type: TABLE; Schema: dispatch; Owner: -",
            "--",
            "",
            "CREATE TABLE dispatch.position_history_p20261206 (id bigint);",
            "",
            "",
            "--",
            "-- Name: position_history_p20261206_pkey; Type: INDEX ATTACH; Schema: dispatch; Owner: -",
            "--",
            "",
            "ALTER INDEX dispatch.position_history_pkey ATTACH PARTITION x;",
            "",
            "\\unrestrict AbC123",
            "",
        ]
    )
    out = normalise_dump(raw)
    assert "restrict" not in out and "Dumped" not in out
    assert "position_history_default (id bigint)" in out
    assert "p20261206" not in out

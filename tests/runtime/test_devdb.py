"""The embedded cluster: created once, reused in seconds, not blocked by a stale postmaster.pid."""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from pathlib import Path

import asyncpg
import pytest

from dispatch.runtime.devdb import Cluster
from tests.support.servers import free_port


@pytest.fixture
def cluster(settings, tmp_path: Path):
    c = Cluster(
        home=tmp_path / ".dispatch",
        settings=dataclasses.replace(settings.db, pg_port=free_port()),
    )
    yield c
    c.down()
    if c.link.is_symlink():
        shutil.rmtree(c.pg_dir, ignore_errors=True)


async def _can_query(c: Cluster) -> bool:
    conn = await asyncpg.connect(c.url())
    try:
        return bool(await conn.fetchval("SELECT 1"))
    finally:
        await conn.close()


async def test_up_is_idempotent_and_fast_the_second_time(cluster: Cluster):
    cluster.up()
    assert await _can_query(cluster)
    version_file = cluster.data_dir / "PG_VERSION"
    created = version_file.stat().st_mtime
    started = time.monotonic()
    cluster.up()
    assert time.monotonic() - started < 5
    assert version_file.stat().st_mtime == created  # reused, not re-initialised
    assert await _can_query(cluster)


async def test_restart_after_stop_keeps_data(cluster: Cluster):
    cluster.up()
    conn = await asyncpg.connect(cluster.url())
    await conn.execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)")
    await conn.close()
    cluster.down()
    cluster.up()
    conn = await asyncpg.connect(cluster.url())
    assert await conn.fetchval("SELECT x FROM kept") == 7
    await conn.close()


async def test_stale_postmaster_pid_does_not_block(cluster: Cluster):
    cluster.up()
    cluster.down()
    # A killed run leaves postmaster.pid behind; its PID now belongs to some other process.
    pidfile = cluster.data_dir / "postmaster.pid"
    pidfile.write_text(f"{os.getpid()}\n{cluster.data_dir}\n0\n{cluster.settings.pg_port}\n")
    cluster.up()
    assert await _can_query(cluster)


async def test_url_uses_a_generated_password(cluster: Cluster):
    cluster.up()
    assert cluster.password() in cluster.url()
    assert oct(cluster.password_file.stat().st_mode & 0o777) == "0o600"
    wrong = cluster.url().replace(cluster.password(), "wrong")
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(wrong)


@pytest.fixture
def two_checkouts(settings, tmp_path: Path):
    """Two checkouts' clusters with no DISPATCH_PG_PORT: each chooses and keeps its own port."""
    auto = dataclasses.replace(settings.db, pg_port=0)
    pair = [Cluster(home=tmp_path / name / ".dispatch", settings=auto) for name in ("one", "two")]
    yield pair
    for c in pair:
        c.down()
        if c.link.is_symlink():
            shutil.rmtree(c.pg_dir, ignore_errors=True)


async def test_two_checkouts_run_side_by_side(two_checkouts):
    one, two = two_checkouts
    # Chosen while neither runs, both fresh checkouts pick the same first free port...
    assert one.port() == two.port() == int(one.port_file.read_text())
    one.up()
    two.up()  # ...and the second moves on when it finds its kept port taken
    assert two.port() != one.port() and two.port() == int(two.port_file.read_text())
    assert await _can_query(one) and await _can_query(two)
    assert f":{two.port()}/" in two.url()

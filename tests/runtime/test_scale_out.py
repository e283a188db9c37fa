"""Two server nodes on different ports against one database, behind HAProxy (Debian's): a request
that the balancer hands to one node reaches an assistant whose socket the other node holds."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from dispatch.core.db import init_connection
from tests.support.assist import PICKUP
from tests.support.factories import auth_header, create_user
from tests.support.servers import free_port, node, wait_healthy

CONFIG = """\
global
    maxconn 256
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout tunnel 1h
frontend dispatch
    bind 127.0.0.1:{port}
    default_backend nodes
backend nodes
    balance roundrobin
    http-response set-header X-Served-By %[srv_name]
    server a 127.0.0.1:{a}
    server b 127.0.0.1:{b}
"""


async def next_offer(ws: aiohttp.ClientWebSocketResponse, job: int) -> None:
    """Wait for the offer of `job` (other frames, such as a withdrawal, may come first)."""
    async with asyncio.timeout(10):
        while True:
            frame = await ws.receive_json()
            if frame["type"] == "new_assistance_request" and frame["assistance_id"] == job:
                return


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if found is None:
        pytest.fail("haproxy is missing: `make test` installs it (scripts/ensure-system.sh)")
    return found


async def test_a_request_through_the_balancer_reaches_a_socket_on_the_other_node(
    settings, throwaway_db, tmp_path
):
    conn = await asyncpg.connect(throwaway_db)
    await init_connection(conn)
    client = await create_user(conn, role="client")
    assistant = await create_user(
        conn, role="assistant", is_active=True, lat=PICKUP["lat"] + 0.002, lng=PICKUP["lng"]
    )
    await conn.close()
    with node(throwaway_db) as node_a, node(throwaway_db) as node_b:
        port = free_port()
        config = tmp_path / "haproxy.cfg"
        config.write_text(
            CONFIG.format(port=port, a=node_a.rsplit(":", 1)[1], b=node_b.rsplit(":", 1)[1])
        )
        check = subprocess.run([haproxy_binary(), "-c", "-f", str(config)], capture_output=True)
        assert check.returncode == 0, check.stderr
        balancer = subprocess.Popen(
            [haproxy_binary(), "-db", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base, proc=balancer)  # type: ignore[arg-type]
            async with aiohttp.ClientSession() as session:
                token = auth_header(settings, assistant)["Authorization"].split()[1]
                ws = await session.ws_connect(f"{base}/ws/assistant/{assistant.id}/?token={token}")
                socket_node = ws._response.headers["X-Served-By"]
                assert socket_node in {"a", "b"}
                assert (await ws.receive_json(timeout=5))["type"] == "connection_established"
                served_by = set()
                for _ in range(4):  # round robin: at most a couple of tries land on the other node
                    async with (
                        aiohttp.ClientSession() as fresh,
                        fresh.post(
                            f"{base}/api/assistance/request/",
                            json={"pickup": PICKUP},
                            headers=auth_header(settings, client),
                        ) as resp,
                    ):
                        assert resp.status == 201, await resp.text()
                        job = (await resp.json())["assistance"]["id"]
                        node_name = resp.headers["X-Served-By"]
                    served_by.add(node_name)
                    await next_offer(ws, job)
                    if node_name != socket_node:
                        break
                    async with session.patch(  # same node: cancel and try again
                        f"{base}/api/assistance/update/{job}/",
                        json={"status": "canceled"},
                        headers=auth_header(settings, client),
                    ) as resp:
                        assert resp.status == 200
                assert served_by - {socket_node}, "the balancer never used the other node"
                await ws.close()
        finally:
            balancer.terminate()
            try:
                balancer.wait(timeout=10)
            except subprocess.TimeoutExpired:
                balancer.kill()
                balancer.wait()
            if balancer.stderr:
                balancer.stderr.close()

"""Schema fuzzing: schemathesis walks every operation of /api/schema/ against a real server node,
logged in as a role each operation allows, and finds no server error and no answer outside the
document (status codes and response schemas)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import rsa

from dispatch.core.db import init_connection
from tests.support.assist import PICKUP
from tests.support.factories import auth_header, create_user
from tests.support.servers import node

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"
# Bounded so the suite stays within minutes on 2 cores; FUZZ_EXAMPLES raises it for a deep run.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
SEED = os.environ.get("FUZZ_SEED", "20261121")
EDGES = (2**15, 2**31 - 1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63 - 1, 2**63, 10**18, -1, 0)


def _jwks(path: Path) -> Path:
    """Google sign-in configured against a local key, so a fuzzed token is a 401, not a 503."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    path.write_text(json.dumps({"keys": [jwk | {"kid": "fuzz", "use": "sig", "alg": "RS256"}]}))
    return path


# Whose id goes in `{id}`, by path prefix (else the job's): real rows, so the fuzzer gets past 404.
_KINDS = (
    ("/ws/assistant/", "assistant"),
    ("/ws/client/", "client"),
    ("/api/vehicles/", "vehicle"),
    ("/api/dispatch/zones/", "zone"),
    ("/api/bookings/", "booking"),
)


async def _rows(session, tokens: dict[str, str]) -> dict[str, int]:
    """A job, a vehicle, a zone away from the pickup and a booking, made over the API."""
    made = {}
    for kind, role, path, body in (
        ("assistance", "client", "/api/assistance/request/", {"pickup": PICKUP}),
        ("vehicle", "client", "/api/vehicles/", VEHICLE),
        ("zone", "dispatcher", "/api/dispatch/zones/", ZONE),
        ("booking", "client", "/api/bookings/", _booking()),
    ):
        auth = {"Authorization": f"Bearer {tokens[role]}"}
        async with session.post(path, json=body, headers=auth) as resp:
            answer = await resp.json()
            assert resp.status == 201, answer
        made[kind] = answer["assistance"]["id"] if kind == "assistance" else answer["id"]
    return made


VEHICLE = {"make": "Renault", "model": "Clio", "year": 2019, "license_plate": "FUZZ-1"}
ZONE = {
    "name": "Fuzz zone",
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[5.0, 35.0], [5.1, 35.0], [5.1, 35.1], [5.0, 35.1], [5.0, 35.0]]],
    },
}


def _booking() -> dict[str, object]:
    when = datetime.now(UTC) + timedelta(hours=3)
    return {"pickup": PICKUP, "service_type": "towing", "scheduled_for": when.isoformat()}


def _config(doc: dict, tokens: dict[str, str], ids: dict[str, int]) -> str:
    """schemathesis.toml: per operation, the token of a role it allows and real ids in its path."""
    lines = [
        # The database's edges, offered often: int4/int8 overflows and NULs are classic 500s.
        "[dictionaries.edges]",
        f"values = [{', '.join(str(v) for v in EDGES)}]",
        "[dictionaries.texts]",
        'values = ["\\u0000", "a\\u0000b", "\u00b2", "\u0661", " ", "9999999999999999999999"]',
        "[generation.dictionaries]",
        'integer = { dictionary = "edges", probability = 0.2 }',
        'number = { dictionary = "edges", probability = 0.1 }',
        'string = { dictionary = "texts", probability = 0.1 }',
        "",
    ]
    for path, methods in doc["paths"].items():
        for op in methods.values():
            roles = op["x-roles"]
            role = "client" if roles == "any" else None if roles == "public" else roles[0]
            settings = []
            if role is not None:
                settings.append(f'headers = {{ Authorization = "Bearer {tokens[role]}" }}')
            if "{id}" in path:
                kind = next((k for prefix, k in _KINDS if path.startswith(prefix)), "assistance")
                settings.append(f'parameters = {{ "path.id" = {ids[kind]} }}')
            if settings:
                lines += [f'[[operations]]\ninclude-operation-id = "{op["operationId"]}"']
                lines += [*settings, ""]
    return "\n".join(lines)


async def test_schemathesis_finds_no_server_error(settings, throwaway_db, tmp_path):
    conn = await asyncpg.connect(throwaway_db)
    await init_connection(conn)
    try:
        client = await create_user(conn, role="client", lat=PICKUP["lat"], lng=PICKUP["lng"])
        assistant = await create_user(
            conn, role="assistant", is_active=True, lat=PICKUP["lat"] + 0.01, lng=PICKUP["lng"]
        )
        dispatcher = await create_user(conn, role="dispatcher")
    finally:
        await conn.close()
    users = {"client": client, "assistant": assistant, "dispatcher": dispatcher}
    tokens = {
        role: auth_header(settings, u)["Authorization"].split(" ", 1)[1]
        for role, u in users.items()
    }
    env = {
        "DISPATCH_RATE_LIMIT_PER_IP": "0",
        "DISPATCH_RATE_LIMIT_PER_IDENTIFIER": "0",
        "DISPATCH_GOOGLE_CLIENT_ID": "fuzz.apps.googleusercontent.com",
        "DISPATCH_GOOGLE_JWKS_FILE": str(_jwks(tmp_path / "jwks.json")),
        # Metrics on: /metrics is fuzzed too (401 without its token), and its middleware sees
        # every fuzzed request.
        "DISPATCH_METRICS": "1",
        "DISPATCH_METRICS_TOKEN": "fuzz-metrics-token",
    }
    log = tmp_path / "server.log"
    with node(throwaway_db, env=env, log=log) as base:
        import aiohttp

        async with aiohttp.ClientSession(base) as session:
            async with session.get("/api/schema/") as resp:
                doc = orjson.loads(await resp.read())
            ids = await _rows(session, tokens)
        config = tmp_path / "schemathesis.toml"
        assert "/metrics/" in doc["paths"]
        ids |= {"assistant": assistant.id, "client": client.id}
        config.write_text(_config(doc, tokens, ids))
        st = Path(sys.executable).with_name("st")
        proc = await asyncio.create_subprocess_exec(
            str(st),
            "--config-file",
            str(config),
            "run",
            f"{base}/api/schema/",
            "--checks",
            CHECKS,
            "--max-examples",
            str(EXAMPLES),
            "--phases",
            "examples,coverage,fuzzing",
            # One worker: hypothesis' lambda descriptions (ast.parse) are not thread-safe on 3.11.
            "--workers",
            "1",
            "--seed",
            SEED,
            "--no-shrink",
            "--no-color",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path,
        )
        output, _ = await asyncio.wait_for(proc.communicate(), 600)
    report = output.decode(errors="replace")
    # The engine's own errors (aiohttp.server's complaints about malformed probes are not ours).
    errors = [
        line
        for line in log.read_text().splitlines()
        if '"level":"error"' in line and '"logger":"dispatch' in line
    ]
    assert proc.returncode == 0, report[-6000:] + "\n".join(errors[:5])
    assert "Tested: " in report
    assert errors == [], errors[:5]

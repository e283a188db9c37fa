"""The served OpenAPI document as real clients read it: it validates with openapi-spec-validator,
and openapi-python-client generates, offline and without a warning, a client with every operation."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

# What each generated endpoint module sends: `"method": "patch", "url": "/api/.../{id}/"`.
ENDPOINT = re.compile(r'"method": "(?P<method>[a-z]+)",\s*"url": "(?P<url>[^"]+)"')


async def _document(client: Any) -> dict[str, Any]:
    resp = await client.get("/api/schema/")
    assert resp.status == 200
    doc: dict[str, Any] = await resp.json()
    return doc


def _operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, ops in doc["paths"].items() for method in ops}


async def test_the_document_validates(client):
    doc = await _document(client)
    validate(doc)  # raises on the first error: a `"default": null` an enum refuses, say
    titles = [s.get("title", name) for name, s in doc["components"]["schemas"].items()]
    assert len(titles) == len(set(titles)), "generators name classes after titles"


def _generate(doc: dict[str, Any], tmp: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    source, config, out = tmp / "openapi.json", tmp / "config.json", tmp / "client"
    source.write_text(json.dumps(doc))
    config.write_text(json.dumps({"post_hooks": []}))  # no ruff pass over the output: quicker
    tool = Path(sys.executable).with_name("openapi-python-client")
    args = ["--path", source, "--meta", "none", "--output-path", out, "--config", config]
    run = subprocess.run(
        [tool, "generate", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return run, out


async def test_a_generated_client_has_every_operation(client, tmp_path):
    doc = await _document(client)
    run, out = await asyncio.to_thread(_generate, doc, tmp_path)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "warning" not in output.lower() and "unable to parse" not in output.lower(), output
    generated = {
        (m["method"], m["url"])
        for module in (out / "api").rglob("*.py")
        for m in ENDPOINT.finditer(module.read_text())
    }
    assert generated == _operations(doc)

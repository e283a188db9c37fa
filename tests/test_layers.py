"""Layering: the domain package never imports the web layer; the `dispatch` command keeps every
sub-command, with `serve` composed at the top (api.main)."""

from __future__ import annotations

import ast
import subprocess
import sys

from dispatch.config import PROJECT_ROOT

COMMANDS = {
    "db-up",
    "db-down",
    "db-url",
    "psql",
    "migrate",
    "db-reset",
    "schema-dump",
    "seed",
    "pgtap",
    "create-dispatcher",
    "export",
}


def _imports(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_dispatch_never_imports_api():
    found = [
        f"{path.relative_to(PROJECT_ROOT)}: {name}"
        for path in sorted((PROJECT_ROOT / "dispatch").rglob("*.py"))
        for name in _imports(path)
        if name == "api" or name.startswith("api.")
    ]
    assert found == []


def test_domain_commands_load_without_the_web_layer():
    code = (
        "import sys, dispatch.cli, dispatch.seed, dispatch.testdb;"
        "print(sorted(m for m in sys.modules if m == 'api' or m.startswith('api.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    )
    assert out.stdout.strip() == "[]"


def test_console_script_has_every_command():
    script = PROJECT_ROOT / ".venv" / "bin" / "dispatch"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "api"]
    out = subprocess.run([*cmd, "--help"], capture_output=True, text=True, check=True)
    listed = out.stdout.split("{", 1)[1].split("}", 1)[0].split(",")
    assert set(listed) == COMMANDS | {"serve"}
    serve = subprocess.run([*cmd, "serve", "--help"], capture_output=True, text=True, check=True)
    assert "--workers" in serve.stdout


def test_domain_cli_alone_has_no_serve():
    out = subprocess.run(
        [sys.executable, "-m", "dispatch.cli", "--help"], capture_output=True, text=True, check=True
    )
    listed = set(out.stdout.split("{", 1)[1].split("}", 1)[0].split(","))
    assert listed == COMMANDS

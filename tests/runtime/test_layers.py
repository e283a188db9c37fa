"""Layering: the domain package never imports the web layer; the `dispatch` command keeps every
sub-command, with `serve` composed at the top (api.main)."""

from __future__ import annotations

import ast
import subprocess
import sys

from dispatch.core.config import PROJECT_ROOT

COMMANDS = {
    "ha",
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
    "roads",
}


def _imports(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


# dispatch/'s packages in layers: a package imports only packages of lower layers (and itself).
# The engine's plumbing at the bottom; event delivery under everything that emits; the command
# and demo data on top.
LAYERS = [
    {"core"},
    {"events", "roads"},
    {"positions"},
    {"accounts", "assistance"},
    {"fleet", "money", "scheduling", "operations"},
    {"demo"},
    {"runtime"},
]


def test_dispatch_packages_import_only_lower_layers():
    layer = {name: i for i, names in enumerate(LAYERS) for name in names}
    root = PROJECT_ROOT / "dispatch"
    packages = {p.name for p in root.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(layer), "every package of dispatch/ has its layer"
    found = []
    for path in sorted(root.rglob("*.py")):
        own = path.relative_to(root).parts[0]
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "dispatch" and len(parts) > 1 and parts[1] != own:
                if own not in layer or layer[parts[1]] >= layer[own]:
                    found.append(f"{path.relative_to(PROJECT_ROOT)}: {name}")
    assert found == []


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
        "import sys, dispatch.runtime.cli, dispatch.demo.seed, dispatch.runtime.testdb;"
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
        [sys.executable, "-m", "dispatch.runtime.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    listed = set(out.stdout.split("{", 1)[1].split("}", 1)[0].split(","))
    assert listed == COMMANDS

"""The manual against the code: the module map names every module, the generated parts render from
the code and bench/results/, and the README stays a short front page that links into docs/."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest

from dispatch.core.config import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"
MODULE_MAP = DOCS / "architecture" / "modules.md"


@pytest.fixture(scope="module")
def hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _python_tree() -> tuple[list[str], list[str]]:
    """(modules, packages) under dispatch/ and api/, as `dispatch/auth/codes.py` and `dispatch/auth/`."""
    modules, packages = [], []
    for top in ("dispatch", "api"):
        for path in sorted((PROJECT_ROOT / top).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            rel = path.relative_to(PROJECT_ROOT).as_posix()
            modules.append(rel)
            if path.name == "__init__.py":
                packages.append(rel.removesuffix("__init__.py"))
    return modules, packages


def test_module_map_names_every_module_and_package():
    page = MODULE_MAP.read_text()
    modules, packages = _python_tree()
    assert len(modules) > 50  # the walk found the tree
    missing = [name for name in modules + packages if f"`{name}`" not in page]
    assert missing == [], f"add these to {MODULE_MAP.relative_to(PROJECT_ROOT)}: {missing}"


def test_module_map_names_nothing_that_is_gone():
    modules, packages = _python_tree()
    named = set(re.findall(r"`((?:dispatch|api)/[\w/]*(?:\.py|/))`", MODULE_MAP.read_text()))
    assert named - set(modules) - set(packages) == set()


def _pages() -> dict[str, str]:
    return {p.relative_to(DOCS).as_posix(): p.read_text() for p in sorted(DOCS.rglob("*.md"))}


def test_every_marker_names_a_generated_part(hooks):
    used = {m.group(1) for text in _pages().values() for m in hooks.MARKER.finditer(text)}
    assert used == set(hooks.PARTS)


def test_generated_parts_render(hooks):
    for name, text in _pages().items():
        rendered = hooks.render(text)
        assert "<!-- generated:" not in rendered, name
        assert "not in the shape this page reads" not in rendered, name


def _results() -> list[dict]:
    return [
        json.loads(p.read_text()) for p in sorted((PROJECT_ROOT / "bench/results").glob("*.json"))
    ]


def test_bench_results_are_labelled_with_their_commit_and_date(hooks):
    rendered = hooks.render((DOCS / "performance.md").read_text()) + hooks.render(
        (DOCS / "simulation.md").read_text()
    )
    runs = [doc for doc in _results() if "benchmark" in doc]
    assert runs
    for doc in runs:
        assert f"Measured at commit `{doc['commit']}`" in rendered, doc["benchmark"]
        assert doc["when"].replace("T", " ").replace("Z", " UTC") in rendered, doc["benchmark"]


def test_a_missed_target_says_missed_beside_the_figure(hooks):
    table = hooks._rows_table([("latency", "9 ms", "≤ 5 ms: MISSED"), ("rate", "10/s", "≥ 5: met")])
    assert "| latency | 9 ms **MISSED** | ≤ 5 ms: **MISSED** |" in table
    assert "| rate | 10/s | ≥ 5: met |" in table


def test_an_unrecorded_label_says_so(hooks):
    assert (
        hooks.label({}) == "Measured at commit `not recorded`, not recorded; machine: not recorded."
    )


def test_the_simulation_prose_cites_the_recorded_runs():
    """The prose under the generated tables quotes their figures: it must name the runs on record."""
    text = (DOCS / "simulation.md").read_text()
    section = text.split("### What the runs of", 1)[1]
    cited = set(re.findall(r"`([0-9a-f]{7,})`", section.split("\n\n", 2)[1]))
    recorded = {
        doc["commit"]
        for doc in _results()
        if doc.get("benchmark", "").startswith("simulate")
        and not doc["benchmark"].startswith(("simulate_monaco", "simulate_assignment"))
    }
    assert cited == recorded, "re-read the runs and update the prose of docs/simulation.md"
    # The assignment policy's section quotes its own run.
    batched = text.split("## Batched assignment", 1)[1].split("\n## ", 1)[0]
    for doc in _results():
        if doc.get("benchmark", "").startswith("simulate_assignment"):
            assert f"`{doc['commit']}`" in batched, "update the assignment section's prose"
    # The road city's prose quotes its own run.
    road = text.split("## Road city (Monaco)", 1)[1]
    for doc in _results():
        if doc.get("benchmark", "").startswith("simulate_monaco"):
            assert f"`{doc['commit']}`" in road, "update the road city's prose"


def test_readme_is_a_front_page_linking_into_the_manual():
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert "make run" in readme and "make test" in readme
    for target in re.findall(r"\]\(((?:docs/|CHANGES)[^)#]*)", readme):
        assert (PROJECT_ROOT / target).is_file(), target


def test_every_page_is_in_the_navigation():
    nav = (PROJECT_ROOT / "mkdocs.yml").read_text()
    missing = [name for name in _pages() if f" {name}" not in nav]
    assert missing == []


def test_osm_data_is_attributed():
    """Road graphs come from OpenStreetMap (ODbL): the manual's roads page and every command that
    fetches or imports an extract say so."""
    from dispatch.roads.extracts import ATTRIBUTION

    assert "© OpenStreetMap contributors, ODbL" in (DOCS / "roads.md").read_text()
    assert "© OpenStreetMap contributors, ODbL" in ATTRIBUTION


def test_history_is_kept():
    text = (PROJECT_ROOT / "CHANGES.md").read_text()
    for build in ("8903fe1", "df73f8a", "7f2e613", "8826e57", "8753228", "deb73fd", "ae4b7d6"):
        assert f"`{build}`" in text


def test_every_path_the_manual_names_exists():
    """A moved or renamed file fails here until the pages that name it follow."""
    texts = [*_pages().values(), (PROJECT_ROOT / "README.md").read_text()]
    named = {
        m.group(1)
        for text in texts
        for m in re.finditer(r"`((?:api|dispatch|tests|bench|scripts|sql)/[\w./-]*\w/?)`", text)
    }
    assert len(named) > 50  # the pattern found the paths
    missing = sorted(p for p in named if "NNNN" not in p and not (PROJECT_ROOT / p).exists())
    assert missing == []

"""MkDocs hook: fills the manual's generated parts from the code and the bench results.

A page asks for a generated part with a marker line, `<!-- generated: NAME -->`:

- `settings`: the settings table, from `dispatch.config.documented_settings()`;
- `bench`: the latest results of each benchmark, from `bench/results/*.json`, each labelled with the
  commit, date and machine its JSON records, a missed target marked MISSED beside its figure;
- `simulate`: the simulated day's runs, from `bench/results/simulate*.json`, labelled the same way;
- `simulate_assignment`: the assignment policy beside the others over three seeds, and one batch's time;
- `changes`: CHANGES.md, the history, as a page.

`python docs/hooks.py NAME` prints a part. tests/docs/test_docs.py checks the pages against the code.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MARKER = re.compile(r"^<!-- generated: (\w+) -->$", re.MULTILINE)


def _importable() -> None:
    """dispatch/ and bench/ importable (mkdocs restores sys.path after loading a hook)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# Defaults that are not a value: chosen or generated at start-up when the variable is unset.
UNSET_MEANS = {"DISPATCH_PG_PORT": "(chosen)", "DISPATCH_JWT_SECRET": "(generated)"}


def _default(env: str, default: Any) -> str:
    if env in UNSET_MEANS:
        return UNSET_MEANS[env]
    if default in ("", None):
        return "(unset)"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    text = str(default)
    if text.startswith(str(ROOT)):  # a path inside the checkout, whichever checkout builds the docs
        text = "<checkout>" + text[len(str(ROOT)) :]
    return f"`{text}`"


def settings() -> str:
    """The settings table: every field of `dispatch/core/config.py`, its variable, default and meaning."""
    from dispatch.core.config import documented_settings

    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for env, default, doc in documented_settings():
        lines.append(f"| `{env}` | {_default(env, default)} | {_cell(doc)} |")
    return "\n".join(lines)


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _git(*args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(  # noqa: S603 (fixed git arguments, no shell)
            ["git", *args],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
    except OSError:
        return None


def _since(commit: str) -> str:
    """How this build stands to the measured commit: the code changed since, or not."""
    head = _git("rev-parse", "--short", "HEAD")
    known = _git("cat-file", "-e", f"{commit}^{{commit}}")
    if head is None or known is None or known.returncode != 0 or not head.stdout.strip():
        return " (That commit is not in this checkout's history.)"
    count = _git("rev-list", "--count", f"{commit}..HEAD")
    # bench/results is what a run writes, not code: committing a run's figures changes no build.
    changed = _git(
        "diff", "--quiet", commit, "HEAD", "--", "dispatch", "api", "sql", "bench",
        ":(exclude)bench/results",
    )  # fmt: skip
    n = count.stdout.strip() if count else "?"
    if changed is not None and changed.returncode == 0:
        return (
            " The code (dispatch/, api/, sql/, bench/ but its results) is unchanged from it to "
            "this build."
        )
    return (
        f" **An older build**: {n} commits before this one (`{head.stdout.strip()}`), with code "
        "changed since; these figures are that build's, not this one's."
    )


def label(doc: dict[str, Any]) -> str:
    """Where and when a result was measured, as its JSON records it ("not recorded" otherwise)."""
    commit = doc.get("commit") or "not recorded"
    when = (doc.get("when") or "not recorded").replace("T", " ").replace("Z", " UTC")
    m = doc.get("machine") or {}
    machine = (
        f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, {m.get('memory_gib', '?')} GiB, "
        f"Python {m.get('python', '?')}, kernel {m.get('kernel', '?')}"
        if m
        else "not recorded"
    )
    since = _since(commit) if commit != "not recorded" else ""
    return f"Measured at commit `{commit}`, {when}; machine: {machine}.{since}"


def _rows_table(rows: list[tuple[str, str, str]]) -> str:
    """Measure, figure and target; a missed target says MISSED beside the figure."""
    out = ["| Measure | Figure | Target |", "|---|---|---|"]
    for measure, figure, target in rows:
        if "MISSED" in target:
            figure = f"{figure} **MISSED**"
            target = target.replace("MISSED", "**MISSED**")
        out.append(f"| {_cell(measure)} | {_cell(str(figure))} | {_cell(target)} |")
    return "\n".join(out)


def _section(title: str, doc: dict[str, Any] | None, rows: Callable[[], list[Any]]) -> str:
    if doc is None:
        return f"### {title}\n\nNo result recorded (`bench/results/` holds none).\n"
    try:
        table = _rows_table(rows())
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        table = (
            f"The recorded JSON is not in the shape this page reads ({type(exc).__name__}: {exc}); "
            "re-run the benchmark."
        )
    return f"### {title}\n\n{label(doc)}\n\n{table}\n"


def _figures(doc: dict[str, Any] | None) -> dict[str, Any]:
    return doc["figures"] if doc else {}


def bench() -> str:
    """The latest result of every benchmark, one section each (they may come from different runs)."""
    from bench import __main__ as suite
    from bench import frame_cost

    m, d, i = (_load(n) for n in ("matching", "dispatch", "ingest"))
    dn, dd, fl, ab = (_load(n) for n in ("density", "dense", "floor", "ablate"))
    rd, dr, fc = (_load(n) for n in ("roads", "dense_roads", "frame_cost"))
    empty: dict[str, Any] = {"results": []}

    def matching_rows() -> list[Any]:
        rows = _table_tolerant(suite, _figures(m), _figures(d), _figures(i))
        return [r for r in rows if r[0].startswith("Matching")]

    def dispatch_rows() -> list[Any]:
        rows = _table_tolerant(suite, _figures(m) or empty, _figures(d), _figures(i))
        return [r for r in rows if r[0].startswith(("Dispatch", "Memory"))]

    def ingest_rows() -> list[Any]:
        rows = _table_tolerant(suite, _figures(m) or empty, _figures(d), _figures(i))
        return [r for r in rows if r[0].startswith(("Ingest", "Telematics", "Position history"))]

    def density_rows() -> list[Any]:
        keys = ("notify_p50_ms", "notify_p99_ms", "postgres_ms_per_cycle", "server_ms_per_cycle")
        nothing = {"offered_per_s": 0, "errors": 0, "lost": 0} | dict.fromkeys(keys)
        return suite.density_rows(_figures(dn), {"rows": [nothing], "saturation_per_s": None})[:1]

    def dense_rows() -> list[Any]:
        rows = suite.density_rows(
            {"max_over_min": {"round_trip_ms_p50": None, "shared_buffers_p50": None}, "rows": []},
            _figures(dd),
        )
        return rows[1:]

    def floor_rows() -> list[Any]:
        return suite.floor_rows(_figures(fl))

    def ablate_rows() -> list[Any]:
        out = []
        for r in _figures(ab)["rows"]:
            w = r["written_per_cycle"]
            lo, hi = r["of_engine_range"]
            out.append(
                (
                    f"{r['variant']}: backend CPU ms per cycle (range); share of the engine's",
                    f"{r['ms_per_cycle']} ({r['range'][0]}-{r['range'][1]}); "
                    f"{round(100 * r['of_engine'])} % ({round(100 * lo)}-{round(100 * hi)})",
                    f"wrote {w['offers']:g} offers, {w['frames']:g} frames, "
                    f"{w['audit_rows']:g} audit rows a cycle",
                )
            )
        return out

    from bench import city

    ct = _load("city")
    parts = [
        _section(
            "The realistic city, against the platform's floor (the headline, `bench.city`)",
            ct,
            lambda: city.rows(_figures(ct)),
        ),
        _section("1. Matching", m, matching_rows),
        _section("2. Dispatch under load, 4. memory", d, dispatch_rows),
        _section("3. Ingest", i, ingest_rows),
        _section("5. Request cost against density", dn, density_rows),
        _section("6. The dense centre", dd, dense_rows),
        _section("7. The platform's floor", fl, floor_rows),
        _section("8. Where a dense cycle's database time goes", ab, ablate_rows),
        _section("9. What road ranking costs", rd, lambda: suite.roads_rows(_figures(rd))),
        _section(
            "9b. The dense centre on a road graph (`bench.dense --roads`)",
            dr,
            lambda: suite.dense_roads_rows(_figures(dr)),
        ),
        _section("10. What a location update costs", fc, lambda: frame_cost.rows(_figures(fc))),
    ]
    return "\n".join(parts)


def _table_tolerant(
    suite: Any, m: dict[str, Any], d: dict[str, Any], i: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """`bench.__main__.table`, with the parts an older ingest JSON lacks left out."""
    i = dict(i)
    missing = [k for k in ("telematics", "history") if k not in i]
    i.setdefault(
        "telematics",
        {"clients": 0, "batch_points": 0, "history_rows_per_s": 0, "latency": {}, "errors": 0},
    )
    i.setdefault("history", {"by_day": [], "rows_before": 0, "rows_after": 0})
    i["telematics"]["latency"].setdefault("p50_ms", None)
    i["telematics"]["latency"].setdefault("p99_ms", None)
    ws = i["websocket"] = dict(i["websocket"])
    for key in ("coalesced", "dropped", "unexplained"):  # before the frames were accounted for
        ws.setdefault(key, "?")
    rows: list[tuple[str, str, str]] = suite.table(m, d, i)
    if "telematics" in missing:
        rows = [r for r in rows if not r[0].startswith("Telematics")]
    if "history" in missing:
        rows = [r for r in rows if not r[0].startswith("Position history")]
    return rows


SIMULATIONS = {
    "simulate": "`make simulate` (the quick profile: the evening peak)",
    "simulate_full": "`make simulate PROFILE=full` (the whole day)",
    "simulate_quick_50x": "The evening peak at 50x with a third policy",
}


def simulate() -> str:
    """Each recorded simulated day: its policies side by side, labelled with its commit and machine."""
    from bench.simulate.__main__ import markdown

    parts = []
    for name, title in SIMULATIONS.items():
        doc = _load(name)
        if doc is None:
            continue
        p, figs = doc["parameters"], doc["figures"]["policies"]
        table = markdown(p, figs).split("\n\n", 1)[1]
        goal = " / ".join(
            f"{n} {f['median_vs_optimum']}"
            + ("" if (f["median_vs_optimum"] or 99) <= 1.10 else " **MISSED**")
            for n, f in figs.items()
        )
        parts.append(
            f"### {title}\n\n"
            f"Profile `{p['profile']}`: {p['hours']:g} simulated h from {p['start_h']:g} h at "
            f"{p['compression']:g}x, {p['assistants']} assistants, {p['per_day']:g} requests/day, "
            f"seed {p['seed']}. {label(doc)}\n\n{table}\n"
            f"Median pickup distance against the offline optimum's (goal ≤ 1.10): {goal}. "
            f"Plot: `bench/results/{name}.png`.\n"
        )
    return "\n".join(parts) or "No simulated day recorded (`bench/results/` holds none).\n"


ROAD_SIMULATIONS = {
    "simulate_monaco": "`make simulate CITY=monaco` (the quick profile, three seeds)",
    "simulate_monaco_60": "The same with 60 tow trucks (`--assistants 60`)",
}


def simulate_roads() -> str:
    """The road city's recorded runs (`--city monaco`): road and straight ranking over the seeds."""
    parts = []
    for name, title in ROAD_SIMULATIONS.items():
        doc = _load(name)
        if doc is None or "seeds_table" not in doc["figures"]:
            continue
        p = doc["parameters"]
        parts.append(
            f"### {title}\n\n"
            f"Profile `{p['profile']}`: {p['hours']:g} simulated h from {p['start_h']:g} h at "
            f"{p['compression']:g}x, {p['assistants']} assistants, {p['per_day']:g} requests/day, "
            f"seeds {', '.join(map(str, p['seeds']))}. {label(doc)}\n\n"
            f"{doc['figures']['seeds_table']}\n"
            "Map data © OpenStreetMap contributors, ODbL.\n"
        )
    return (
        "\n".join(parts) or "No road-city day recorded (`bench/results/simulate_monaco*.json`).\n"
    )


def simulate_assignment() -> str:
    """offer_policy assignment beside the other policies over three seeds, and its batch's solve
    time (bench/results/simulate_assignment.json, assignment.json)."""
    parts = []
    for name, title in (
        ("simulate_assignment", "The four policies over three days (100x)"),
        ("simulate_assignment_50x", "Rounds and batches at 50x"),
        (
            "simulate_monaco_assignment",
            "The road city (Monaco): rounds and batches, road and straight",
        ),
        (
            "simulate_assignment_cooperative",
            "Assistants who accept more (50x, accept_scale_km 20, silence 0.03)",
        ),
    ):
        doc = _load(name)
        if doc is None or "seeds_table" not in doc["figures"]:
            continue
        p = doc["parameters"]
        parts.append(
            f"### {title}\n\n"
            f"Profile `{p['profile']}`: {p['hours']:g} simulated h from {p['start_h']:g} h at "
            f"{p['compression']:g}x, {p['assistants']} assistants, {p['per_day']:g} requests/day, "
            f"seeds {', '.join(map(str, p['seeds']))}, the policies run side by side. "
            f"{label(doc)}\n\n{doc['figures']['seeds_table']}\n"
        )
    bench = _load("assignment")
    if bench is not None:
        rows = [
            (
                f"{city}: {f['requests']} requests x {f['assistants']} assistants",
                f"{f['pass_ms']['p50_ms']} / {f['pass_ms']['p90_ms']} ms",
                f"{f['solve_ms']['p50_ms']} ms",
                "≤ 100 ms: " + ("met" if f["pass_ms"]["p90_ms"] <= 100 else "**MISSED**"),
            )
            for city, f in bench["figures"].items()
            if city != "first_offer"
        ]
        first = bench["figures"].get("first_offer")
        if first:
            q = first["first_offer_ms"]
            rows.append(
                (
                    f"first offer after the request ({first['offered']} requests, "
                    f"{first['rate_per_s']:g}/s, two drivers)",
                    f"{q['p50_ms']:.0f} / {q['p90_ms']:.0f} ms (p99 {q['p99_ms']:.0f} ms)",
                    "",
                    f"within the {first['window_s']:g} s window: "
                    + ("met" if q["p99_ms"] <= first["window_s"] * 1000 else "**MISSED**"),
                )
            )
        parts.append(
            "### One batch's time (`python -m bench.assignment`)\n\n"
            f"{label(bench)}\n\n"
            "| batch | pass p50 / p90 (cost, solve, issue) | solve p50 | goal |\n"
            "|---|---|---|---|\n" + "".join(f"| {a} | {b} | {c} | {d} |\n" for a, b, c, d in rows)
        )
    return (
        "\n".join(parts)
        or "No assignment run recorded (`bench/results/simulate_assignment.json`).\n"
    )


def changes() -> str:
    """CHANGES.md as a page of the manual (it links the manual as docs/… from the repository root)."""
    return (ROOT / "CHANGES.md").read_text().replace("](docs/", "](")


PARTS: dict[str, Callable[[], str]] = {
    "settings": settings,
    "bench": bench,
    "simulate": simulate,
    "simulate_roads": simulate_roads,
    "simulate_assignment": simulate_assignment,
    "changes": changes,
}


def render(markdown_text: str) -> str:
    """The page with every marker replaced by its generated part."""
    _importable()
    return MARKER.sub(lambda match: PARTS[match.group(1)]().rstrip("\n"), markdown_text)


def on_files(files: Any, config: Any, **_: Any) -> Any:
    """The bench plots join the site at `bench/results/`, where the pages (and CHANGES.md) link them."""
    from mkdocs.structure.files import File

    for png in sorted(RESULTS.glob("*.png")):
        files.append(File.generated(config, f"bench/results/{png.name}", abs_src_path=str(png)))
    return files


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    return render(markdown)


if __name__ == "__main__":
    _importable()
    print(PARTS[sys.argv[1]]())

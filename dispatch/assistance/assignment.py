"""Batched optimal assignment (offer_policy assignment): the batch driver every process runs and its
minimum-cost matching (SQL in assignment.sql)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
import numpy as np
from scipy.optimize import linear_sum_assignment

from dispatch.core.periodic import Periodic

# One key for the whole batch: one process at a time costs, solves and issues a batch; the others
# skip their pass (pg_try_advisory_xact_lock), and the lock goes with the transaction.
BATCH_LOCK_KEY = 0x64697370_61746368  # "dispatch"

# A pair that is not a candidate. Larger than any sum of real costs (caps are hours at most), so
# the solver first matches as many requests as it can, then at the least total cost.
_EXCLUDED = 1e12


def solve(requests: Sequence[int], pairs: Sequence[Sequence[Any]]) -> list[tuple[int, int]]:
    """The minimum-cost assignment of requests to assistants over the candidate pairs
    ([assistance_id, assistant_id, cost_s, ...]): the most requests matched, then the least total
    cost; each request and each assistant at most once. Pairs not listed are never chosen."""
    if not pairs:
        return []
    rows = {r: i for i, r in enumerate(dict.fromkeys(int(p[0]) for p in pairs))}
    cols = {a: j for j, a in enumerate(dict.fromkeys(int(p[1]) for p in pairs))}
    cost = np.full((len(rows), len(cols)), _EXCLUDED)
    for p in pairs:
        i, j = rows[int(p[0])], cols[int(p[1])]
        cost[i, j] = min(cost[i, j], float(p[2]))
    ri, ci = linear_sum_assignment(cost)
    by_row = list(rows)
    by_col = list(cols)
    wanted = set(int(r) for r in requests)
    return [
        (by_row[i], by_col[j])
        for i, j in zip(ri.tolist(), ci.tolist(), strict=True)
        if cost[i, j] < _EXCLUDED and by_row[i] in wanted
    ]


async def batch_pass(
    conn: asyncpg.Connection, *, max_requests: int, lead_s: float = 0.0
) -> dict[str, int]:
    """One pass of the batch driver, in one transaction under the batch lock: expire due exclusive
    offers, then (under offer_policy assignment) cost each area's batch that is due (its oldest
    request has waited assignment_window_s less `lead_s`) in SQL, solve it here and issue its
    offers with its record (dispatch.issue_assignment_batch). A crash anywhere in it rolls
    everything back: no offer is sent without its batch, none twice. Returns counts."""
    out = {"changed": 0, "batches": 0, "offered": 0, "fell_back": 0}
    async with conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", BATCH_LOCK_KEY):
            return out  # another process is running the batch right now
        out["changed"] = await conn.fetchval("SELECT dispatch.assignment_housekeeping()")
        if await conn.fetchval("SELECT dispatch.offer_policy()") != "assignment":
            return out
        for row in await conn.fetch(
            "SELECT area, problem FROM dispatch.assignment_problems(max_requests => $1, "
            "lead_s => $2)",
            max_requests,
            lead_s,
        ):
            problem = row["problem"]
            started = time.perf_counter()
            solution = solve(problem["requests"], problem["pairs"])
            solve_ms = (time.perf_counter() - started) * 1000
            issued = await conn.fetchval(
                "SELECT dispatch.issue_assignment_batch(area => $1, problem => $2, "
                "solution => $3, solve_ms => $4)",
                row["area"],
                problem,
                [list(pair) for pair in solution],
                solve_ms,
            )
            out["batches"] += 1
            out["offered"] += issued["offered"]
            out["fell_back"] += issued["fell_back"]
    return out


class AssignmentDriver(Periodic):
    """Runs `batch_pass` every `interval` seconds in every server process. The advisory lock makes
    one process at a time run a batch, and the requests it takes are locked until its offers are
    committed, so each offer is sent once whatever the number of processes; it reads offer_policy
    on every pass (switching policy from psql takes effect at the next pass). A batch starts up
    to two intervals before its window ends (one to the next pass, one for the pass itself), so
    that a request's first offer leaves within one window of its creation."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        interval: float,
        max_requests: int,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        super().__init__("assignment-driver", self.run_pass, interval=interval)
        self._pool = pool
        self._max_requests = max_requests
        self._lead_s = 2 * interval
        self._on_change = on_change

    async def run_pass(self) -> bool:
        async with self._pool.acquire() as conn:
            out = await batch_pass(conn, max_requests=self._max_requests, lead_s=self._lead_s)
        if (out["changed"] or out["offered"] or out["fell_back"]) and self._on_change is not None:
            self._on_change()
        return False

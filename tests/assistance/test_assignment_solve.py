"""The batch solver (dispatch.assistance.assignment.solve) against hand-made cases and brute force."""

from __future__ import annotations

import itertools
import random

import pytest

from dispatch.assistance.assignment import solve


def test_the_crossing_goes_to_the_batch_not_the_greedy_nearest():
    # A (1) is nearest to both R1 (10) and R2 (20); B (2) reaches only R1 within the cap.
    pairs = [[10, 1, 360.0], [10, 2, 900.0], [20, 1, 720.0]]
    assert sorted(solve([10, 20], pairs)) == [(10, 2), (20, 1)]


def test_nothing_to_match():
    assert solve([1, 2], []) == []


def test_rectangular_both_ways():
    assert solve([1], [[1, 7, 5.0], [1, 8, 3.0]]) == [(1, 8)]
    assert sorted(solve([1, 2], [[1, 7, 5.0], [2, 7, 3.0]])) == [(2, 7)]


def _brute(requests: list[int], pairs: dict[tuple[int, int], float]) -> tuple[int, float]:
    """(most requests matched, least total cost) over every assignment."""
    assistants = sorted({a for _, a in pairs})
    best = (0, 0.0)
    for k in range(len(requests), 0, -1):
        for reqs in itertools.combinations(requests, k):
            for asg in itertools.permutations(assistants, k):
                if all((r, a) in pairs for r, a in zip(reqs, asg, strict=True)):
                    cost = sum(pairs[r, a] for r, a in zip(reqs, asg, strict=True))
                    if best[0] < k or cost < best[1]:
                        best = (k, cost)
        if best[0]:
            return best
    return best


@pytest.mark.parametrize("seed", range(40))
def test_matches_brute_force(seed):
    rng = random.Random(seed)
    requests = list(range(1, rng.randint(1, 5) + 1))
    assistants = list(range(100, 100 + rng.randint(1, 5)))
    pairs = {
        (r, a): float(rng.randint(1, 100))
        for r in requests
        for a in assistants
        if rng.random() < 0.6  # the rest over the cap, or declined
    }
    solution = solve(requests, [[r, a, c] for (r, a), c in pairs.items()])
    assert len({r for r, _ in solution}) == len(solution) == len({a for _, a in solution})
    assert all((r, a) in pairs for r, a in solution)
    assert (len(solution), sum(pairs[p] for p in solution)) == _brute(requests, pairs)

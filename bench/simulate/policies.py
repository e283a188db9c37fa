"""Dispatch policies of the simulation, each a set of dispatch.settings rows (add new ones here)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import asyncpg

# Far beyond the synthetic city (~35 km across): "everyone" for radius and batch size.
EVERYWHERE_M = 1_000_000
EVERYONE = 100_000


@dataclasses.dataclass(frozen=True)
class Policy:
    name: str
    description: str
    # (compression factor, the longest client patience in simulated s) -> settings rows
    settings: Callable[[float, float], dict[str, float | str]]

    def rows(self, compression: float, patience_s: float) -> dict[str, float | str]:
        """Every dispatch.settings row the run writes: the server-wide ones, then the policy's."""
        # The sweep for assistants arriving during a round runs every 2 s (its default), compressed.
        return {
            "offer_policy": "rounds",
            "offer_arrival_check_s": 2.0 / compression,
            **self.settings(compression, patience_s),
        }


def _rounds(compression: float, patience_s: float) -> dict[str, float | str]:
    # The contract's defaults, with the round's 20 s compressed like every other duration.
    return {
        "matching_max_results": 10,
        "matching_radius_m": 10_000,
        "offer_timeout_s": 20.0 / compression,
        "offer_radius_growth": 1.5,
        "offer_max_radius_m": 50_000,
        "offer_max_rounds": 5,
    }


def _rounds_patient(compression: float, patience_s: float) -> dict[str, float | str]:
    # Rounds that keep searching for as long as a client waits (supply arriving is offered the
    # request until the client gives up), instead of five rounds then the dispatcher queue.
    return {**_rounds(compression, patience_s), "offer_max_rounds": int(patience_s // 20) + 1}


def _broadcast(compression: float, patience_s: float) -> dict[str, float | str]:
    # The original service: every active assistant of the type is told at once, one shot, and the
    # offer stays open until someone accepts or the client gives up: one round, no radius, no
    # batch limit, lasting twice as long as the most patient client waits (clients give up first).
    return {
        "matching_max_results": EVERYONE,
        "matching_radius_m": EVERYWHERE_M,
        "offer_timeout_s": 2 * patience_s / compression,
        "offer_radius_growth": 1.0,
        "offer_max_radius_m": EVERYWHERE_M,
        "offer_max_rounds": 1,
        # and nobody who comes on shift later hears of it (the original had no such sweep).
        "offer_arrival_check_s": 1e9,
    }


def _assignment(compression: float, patience_s: float) -> dict[str, float | str]:
    # Batched minimum-cost assignment with the contract's defaults (2 s windows, 15 s exclusive
    # offers, 5 batches, a 1800 s cap), compressed; after its batches a request falls back to
    # the rounds that go on while the client waits. The cap is a travel time, not a wait: it is
    # not compressed.
    return {
        **_rounds_patient(compression, patience_s),
        "offer_policy": "assignment",
        "assignment_window_s": 2.0 / compression,
        "assignment_offer_timeout_s": 15.0 / compression,
        "assignment_max_batches": 5,
        "assignment_cost_cap_s": 1800,
    }


POLICIES: dict[str, Policy] = {
    p.name: p
    for p in (
        Policy(
            "broadcast", "original service: all active assistants at once, one shot", _broadcast
        ),
        Policy(
            "rounds",
            "offer rounds with the contract's defaults (10 nearest, 20 s, 5 rounds)",
            _rounds,
        ),
        Policy("rounds-patient", "rounds that go on while the client waits", _rounds_patient),
        Policy(
            "assignment",
            "batched minimum-cost assignment, one exclusive offer each, then patient rounds",
            _assignment,
        ),
    )
}


async def apply(conn: asyncpg.Connection, rows: dict[str, float | str]) -> None:
    """Write the policy's rows into dispatch.settings (read by the server within a second)."""
    await conn.executemany(
        """
        INSERT INTO dispatch.settings (key, value, description)
        VALUES ($1, CASE WHEN $3 THEN to_jsonb($2::text) ELSE to_jsonb($2::numeric) END,
                'set by bench.simulate')
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
        """,
        [(k, str(v), isinstance(v, str)) for k, v in rows.items()],
    )

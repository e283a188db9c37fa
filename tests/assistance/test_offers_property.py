"""Property: over random layouts and decline patterns, rounds offer exactly the next-nearest."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.factories import create_user

# A remote spot (South Pacific) no other test puts anyone near.
CENTER = (-30.0, -120.0)
MAX_ROUNDS = 4
# Round radii 10, 15, 22.5 and 33.75 km: offsets up to ~40 km reach past every one of them; a few
# fixed offsets make exact ties (same spot) likely, to check the tie-break (assistant id).
OFFSET = st.one_of(
    st.floats(min_value=-0.35, max_value=0.35, allow_nan=False), st.sampled_from([0.0, 0.05])
)


@dataclass(frozen=True)
class Spec:
    dlat: float
    dlng: float
    active: bool
    service_type: str


specs = st.builds(
    Spec,
    dlat=OFFSET,
    dlng=OFFSET,
    active=st.sampled_from([True, True, True, False]),
    service_type=st.sampled_from(["towing", "towing", "repair"]),
)
worlds = st.tuples(
    st.lists(specs, min_size=1, max_size=24),
    st.integers(min_value=1, max_value=4),  # N, matching_max_results
    # One answer per offer, in the order offers are made: decline (True) or stay silent.
    st.lists(st.booleans(), max_size=40),
)


class _Rollback(Exception):
    pass


def radius_m(k: int) -> float:
    return min(10_000 * 1.5 ** (k - 1), 50_000)


async def _check(conn, world) -> None:
    layout, n, answers = world
    async with conn.transaction():  # a savepoint, rolled back by the exception below
        for key, value in (
            ("matching_max_results", n),
            ("matching_radius_m", 10_000),
            ("offer_radius_growth", 1.5),
            ("offer_max_radius_m", 50_000),
            ("offer_max_rounds", MAX_ROUNDS),
        ):
            await conn.execute(
                "UPDATE dispatch.settings SET value = to_jsonb($2::numeric) WHERE key = $1",
                key,
                value,
            )
        eligible = []
        for spec in layout:
            user = await create_user(
                conn,
                role="assistant",
                lat=CENTER[0] + spec.dlat,
                lng=CENTER[1] + spec.dlng,
                is_active=spec.active,
                service_type=spec.service_type,
            )
            if spec.active and spec.service_type == "towing":
                eligible.append(user.id)
        owner = await create_user(conn, role="client")
        made = await conn.fetchval(
            "SELECT dispatch.request_assistance(client_id => $1, pickup_lat => $2, "
            "pickup_lng => $3, pickup_cell_r7 => 0)",
            owner.id,
            *CENTER,
        )
        job = made["assistance"]["id"]
        # The oracle's distances: PostGIS geodesic metres, as matching measures them.
        rows = await conn.fetch(
            "SELECT p.user_id, ST_Distance(p.geog, ST_SetSRID(ST_MakePoint($2, $1), 4326)"
            "::geography) AS d FROM dispatch.positions p WHERE p.user_id = ANY($3::bigint[])",
            *CENTER,
            eligible,
        )
        distance = {r["user_id"]: r["d"] for r in rows}
        offered: set[int] = set()
        declined: set[int] = set()
        stream = iter(answers)
        for k in range(1, MAX_ROUNDS + 1):
            expected = sorted(
                (d, a) for a, d in distance.items() if a not in offered and d <= radius_m(k)
            )[:n]
            got = await conn.fetch(
                "SELECT distance_m, assistant_id FROM dispatch.offers "
                "WHERE assistance_id = $1 AND round = $2 ORDER BY distance_m, assistant_id",
                job,
                k,
            )
            assert [r["assistant_id"] for r in got] == [a for _, a in expected], (k, got)
            if k == 1:
                assert [m["assistant_id"] for m in made["nearby_assistants"]] == [
                    a for _, a in expected
                ]
            round_ids = [a for _, a in expected]
            assert not offered & set(round_ids), "nobody is offered the same request twice"
            assert not declined & set(round_ids), "a decliner is never offered it again"
            offered |= set(round_ids)
            deciders = [a for a in round_ids if next(stream, False)]
            for a in deciders:
                answer = await conn.fetchval("SELECT dispatch.decline_offer($1, $2)", job, a)
                assert answer == {"assistance_id": job, "declined": True}
            declined |= set(deciders)
            state = await conn.fetchrow(
                "SELECT offer_round, searching FROM dispatch.assistance_requests WHERE id = $1",
                job,
            )
            if round_ids and len(deciders) == len(round_ids):
                # Everyone declined: the next round (or the end) came at once.
                assert (state["offer_round"], state["searching"]) == (
                    (k + 1, True) if k < MAX_ROUNDS else (k, False)
                )
            else:
                assert (state["offer_round"], state["searching"]) == (k, True)
                await conn.execute(
                    "UPDATE dispatch.assistance_requests "
                    "SET round_ends_at = now() - interval '1 second' WHERE id = $1",
                    job,
                )
                assert await conn.fetchval("SELECT dispatch.advance_offer_rounds()") == 1
        end = await conn.fetchrow(
            "SELECT searching, exhausted_at IS NOT NULL AS exhausted, status "
            "FROM dispatch.assistance_requests WHERE id = $1",
            job,
        )
        assert tuple(end) == (False, True, "requested")
        states = await conn.fetch(
            "SELECT assistant_id, state FROM dispatch.offers WHERE assistance_id = $1", job
        )
        assert {r["assistant_id"] for r in states} == offered
        assert {r["assistant_id"]: r["state"] for r in states} == {
            a: "declined" if a in declined else "expired" for a in offered
        }
        raise _Rollback


async def test_rounds_offer_the_next_nearest_never_twice(conn):
    loop = asyncio.get_running_loop()

    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(worlds)
    def property_holds(world) -> None:
        # Hypothesis drives examples from a worker thread; each runs on the test's loop and conn.
        future = asyncio.run_coroutine_threadsafe(_run(conn, world), loop)
        future.result()

    await asyncio.to_thread(property_holds)


async def _run(conn, world) -> None:
    try:
        await _check(conn, world)
    except _Rollback:
        pass

"""Property: nearby_assistants is exactly the brute-force geodesic top-N of the eligible set."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.factories import create_user

# A remote spot (South Pacific) no other test puts anyone near.
CENTER = (-41.0, -140.0)
# Up to ~11 km around it, so some assistants fall outside the smaller radii; a few fixed offsets
# make exact ties (same spot) likely, to check the tie-break (assistant id).
OFFSET = st.one_of(
    st.floats(min_value=-0.1, max_value=0.1, allow_nan=False), st.sampled_from([0.0, 0.01])
)


@dataclass(frozen=True)
class Spec:
    dlat: float
    dlng: float
    active: bool
    service_type: str
    license_days: int
    busy: bool


specs = st.builds(
    Spec,
    dlat=OFFSET,
    dlng=OFFSET,
    active=st.sampled_from([True, True, True, False]),
    service_type=st.sampled_from(["towing", "repair"]),
    license_days=st.sampled_from([30, 0, -3]),
    busy=st.sampled_from([False, False, False, True]),
)
worlds = st.tuples(
    st.lists(specs, min_size=2, max_size=20),
    OFFSET,
    OFFSET,
    st.sampled_from([None, "towing", "repair"]),
    # None: the settings' defaults (10 km, 10 results).
    st.sampled_from([None, 5_000.0, 30_000.0]),
    st.one_of(st.none(), st.integers(min_value=1, max_value=6)),
)


async def _check(conn, world) -> None:
    assistants, plat, plng, service, radius, limit = world
    lat, lng = CENTER[0] + plat, CENTER[1] + plng
    async with conn.transaction():  # a savepoint, rolled back by the exception below
        eligible = []
        for spec in assistants:
            user = await create_user(
                conn,
                role="assistant",
                lat=CENTER[0] + spec.dlat,
                lng=CENTER[1] + spec.dlng,
                is_active=spec.active,
                service_type=spec.service_type,
                license_days=spec.license_days,
            )
            if spec.busy:
                await _give_open_job(conn, user.id)
            if (
                spec.active
                and spec.license_days >= 0
                and not spec.busy
                and service in (None, spec.service_type)
            ):
                eligible.append(user.id)
        # The oracle: every eligible assistant's geodesic distance, filtered and sorted in Python.
        distances = await conn.fetch(
            "SELECT p.user_id, ST_Distance(p.geog, ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography)"
            " AS d FROM dispatch.positions p WHERE p.user_id = ANY($3::bigint[])",
            lat,
            lng,
            eligible,
        )
        within = 10_000.0 if radius is None else radius
        top = 10 if limit is None else limit
        expected = sorted((r["d"], r["user_id"]) for r in distances if r["d"] <= within)[:top]
        got = await conn.fetch(
            "SELECT assistant_id, distance_m FROM dispatch.nearby_assistants("
            "lat => $1, lng => $2, service_type => $3, radius_m => $4, max_results => $5)",
            lat,
            lng,
            service,
            radius,
            limit,
        )
        assert [(r["distance_m"], r["assistant_id"]) for r in got] == expected
        raise _Rollback


class _Rollback(Exception):
    pass


async def _give_open_job(conn, assistant_id: int) -> None:
    owner = await create_user(conn, role="client")
    await conn.execute(
        """
        INSERT INTO dispatch.assistance_requests (client_id, assistant_id, status, service_type,
            vehicle_type, pickup, pickup_h3_r7, price, total_price, currency)
        VALUES ($1, $2, 'ongoing', 'towing', 'light', ST_MakePoint(0, 0)::geography, 0,
                '{}', 0, 'DZD')
        """,
        owner.id,
        assistant_id,
    )


async def test_nearby_assistants_is_the_brute_force_top_n(conn):
    loop = asyncio.get_running_loop()

    @settings(
        max_examples=60,
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

"""Property: at any point, the catalogue and the quote agree (tariff, zone, surge, refusal)."""

from __future__ import annotations

import asyncio
from decimal import ROUND_HALF_UP, Decimal

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.assistance.lifecycle import neighbourhood_r7
from dispatch.fleet import zones
from dispatch.positions.store import cells
from tests.support.factories import create_user

# A remote spot (South Atlantic) no other test uses; zones overlap there on purpose.
LNG, LAT = 20.0, -30.0


def square(lng: float, lat: float, size: float) -> dict:
    ring = [[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


WORLD = [
    ("Prop big", square(LNG, LAT, 0.2), True, [("towing", "light", 1700, 45.5)]),
    (
        "Prop small",
        square(LNG + 0.05, LAT + 0.05, 0.05),
        True,
        [("towing", "light", 2600.25, 71), ("repair", "heavy", 2100, 0)],
    ),
    ("Prop closed", square(LNG + 0.15, LAT + 0.15, 0.1), False, []),
]
points = st.tuples(
    st.floats(min_value=LAT - 0.05, max_value=LAT + 0.3, allow_nan=False),
    st.floats(min_value=LNG - 0.05, max_value=LNG + 0.3, allow_nan=False),
    st.floats(min_value=0, max_value=80, allow_nan=False),
)


async def _world(conn: asyncpg.Connection) -> None:
    for name, geometry, serviceable, tariffs in WORLD:
        await conn.fetchval(
            "SELECT dispatch.create_zone($1, $2::jsonb, $3, $4::jsonb)",
            name,
            geometry,
            serviceable,
            [
                {"service_type": s, "vehicle_type": v, "base_fare": b, "per_km": k}
                for s, v, b, k in tariffs
            ],
        )
    # Demand without supply in the small zone's cells: the surge differs from place to place.
    owner = await create_user(conn, role="client")
    lat, lng = LAT + 0.07, LNG + 0.07
    await conn.execute(
        """
        INSERT INTO dispatch.assistance_requests (client_id, service_type, vehicle_type, pickup,
            pickup_h3_r7, price, total_price, currency)
        VALUES ($1, 'towing', 'light', ST_SetSRID(ST_MakePoint($3, $2), 4326)::geography, $4,
                '{}', 0, 'DZD')
        """,
        owner.id,
        lat,
        lng,
        cells(lat, lng).r7,
    )


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def _check(
    conn: asyncpg.Connection, point: tuple[float, float, float], seen: set[str | None]
) -> None:
    lat, lng, km = point
    cell, neighbours = neighbourhood_r7(lat, lng)
    try:
        async with conn.transaction():
            catalogue = await zones.catalogue(conn, lat=lat, lng=lng)
    except asyncpg.PostgresError as exc:
        assert exc.sqlstate == "DP020"
        catalogue = None
        seen.add("closed")
    else:
        seen.add(catalogue[0]["zone"] and catalogue[0]["zone"]["name"])
    for pair in [(s, v) for s in ("towing", "repair") for v in ("light", "heavy")]:
        try:
            async with conn.transaction():
                quote = await conn.fetchval(
                    """
                    SELECT dispatch.quote_price($1, $2, $3, $4, $5,
                                                ST_SetSRID(ST_MakePoint($7, $6), 4326)::geography)
                    """,
                    *pair,
                    km,
                    cell,
                    neighbours,
                    lat,
                    lng,
                )
        except asyncpg.PostgresError as exc:
            assert exc.sqlstate == "DP020" and catalogue is None, (point, pair)
            continue
        assert catalogue is not None, (point, pair, "the quote priced what the catalogue refused")
        item = next(i for i in catalogue if (i["service_type"], i["vehicle_type"]) == pair)
        assert quote["zone"] == item["zone"]
        assert quote["currency"] == item["currency"]
        assert quote["surge_multiplier"] == item["surge_multiplier"]
        assert quote["lines"][0]["amount"] == item["base_fare"]
        # The quote is the catalogue's price for this distance, rounded per line.
        distance = _money(Decimal(str(item["per_km"])) * Decimal(str(round(km, 3))))
        subtotal = Decimal(str(item["base_fare"])) + distance
        expected = _money(subtotal * Decimal(str(item["surge_multiplier"])))
        assert Decimal(str(quote["total"])) == expected, (point, pair, quote, item)


async def test_catalogue_and_quote_never_disagree(conn):
    await _world(conn)
    loop = asyncio.get_running_loop()
    seen: set[str | None] = set()

    @settings(
        max_examples=80,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(points)
    def property_holds(point) -> None:
        # Hypothesis drives examples from a worker thread; each runs on the test's loop and conn.
        asyncio.run_coroutine_threadsafe(_check(conn, point, seen), loop).result()

    await asyncio.to_thread(property_holds)
    # The examples reached every case: no zone, each zone, and the closed one.
    assert seen == {None, "Prop big", "Prop small", "closed"}

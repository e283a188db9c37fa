"""The road city (Monaco, © OpenStreetMap contributors): places on its roads, drives along routes,
pickups costed by road time (roads.times_to), and the engine forced to straight-line ranking.

Every place (breakdowns, drop-offs, bases, idle spots) is a point of a main edge of roads.edges,
drawn by length from the seed. A drive follows the fastest route over the same edges and costs as
roads.route (a snap leg at roads_snap_speed_kmh, the part of the start edge driven out, the graph,
the part of the end edge driven in), found here with scipy's Dijkstra over the graph loaded once:
the simulator moves its trucks without asking the database it measures.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import math
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from typing import Any

import asyncpg
import numpy as np
import orjson
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from dispatch.core.db import init_connection
from dispatch.roads.extracts import fetch
from dispatch.roads.importer import import_file

REGION = "monaco"
ATTRIBUTION = "Monaco road graph © OpenStreetMap contributors, ODbL"
SNAP_SPEED_MS = 10 / 3.6  # roads_snap_speed_kmh's default, as roads.times_to walks onto the graph
M_LAT = 110_574.0
Point = tuple[float, float]  # (lat, lng)
Route = list[tuple[float, float, float]]  # (seconds from the start, lat, lng)


async def ensure_graph(url: str) -> bool:
    """Import the Monaco graph into the database at `url` unless it holds it; True if imported."""
    conn = await asyncpg.connect(url)
    try:
        await init_connection(conn)
        if await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM roads.regions WHERE name = $1)", REGION
        ):
            return False
        await import_file(conn, fetch(REGION), name=REGION)
        return True
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def straight_line_ranking(url: str, on: bool) -> AsyncIterator[None]:
    """With `on`, every routing call is over budget (roads_max_edges 0): the engine ranks by the
    straight line (eta_source straight_line) until the block ends, when the budget is restored."""
    if not on:
        yield
        return
    conn = await asyncpg.connect(url)
    try:
        before = await conn.fetchval(
            "SELECT value FROM dispatch.settings WHERE key = 'roads_max_edges'"
        )
        await conn.execute("UPDATE dispatch.settings SET value = '0' WHERE key = 'roads_max_edges'")
        try:
            yield
        finally:
            await conn.execute(
                "UPDATE dispatch.settings SET value = $1 WHERE key = 'roads_max_edges'", before
            )
    finally:
        await conn.close()


class RoadCity:
    """The main edges of the region, for drawing places and routing drives."""

    def __init__(self, rows: list[asyncpg.Record]):
        self.lat0 = float(np.mean([orjson.loads(r["geom"])["coordinates"][0][1] for r in rows]))
        self.m_lng = 111_320.0 * math.cos(math.radians(self.lat0))
        self.coords: list[np.ndarray] = []  # per edge, (lat, lng) from source to target
        self.fracs: list[np.ndarray] = []  # per edge, the fraction of its length at each vertex
        vid: dict[int, int] = {}
        self.ends: list[tuple[int, int]] = []
        self.cost = np.array([r["cost"] for r in rows], dtype=float)
        self.rcost = np.array([r["reverse_cost"] for r in rows], dtype=float)
        seg_a, seg_b, seg_e, seg_f0, seg_f1 = [], [], [], [], []
        for k, r in enumerate(rows):
            xy = np.array([(c[1], c[0]) for c in orjson.loads(r["geom"])["coordinates"]])
            m = self._metres(xy)
            step = np.hypot(*(m[1:] - m[:-1]).T)
            cum = np.concatenate([[0.0], np.cumsum(step)])
            frac = cum / cum[-1] if cum[-1] > 0 else np.linspace(0, 1, len(cum))
            self.coords.append(xy)
            self.fracs.append(frac)
            self.ends.append(
                (vid.setdefault(r["source"], len(vid)), vid.setdefault(r["target"], len(vid)))
            )
            seg_a.append(m[:-1])
            seg_b.append(m[1:])
            seg_e += [k] * (len(xy) - 1)
            seg_f0.append(frac[:-1])
            seg_f1.append(frac[1:])
        self.seg_a, self.seg_b = np.concatenate(seg_a), np.concatenate(seg_b)
        self.seg_e = np.array(seg_e)
        self.seg_f0, self.seg_f1 = np.concatenate(seg_f0), np.concatenate(seg_f1)
        self.cum_len = list(np.cumsum([r["length_m"] for r in rows]))
        # The directed graph, the cheapest edge kept between two vertices.
        best: dict[tuple[int, int], tuple[float, int, bool]] = {}
        for k, (s, t) in enumerate(self.ends):
            for u, v, c, fwd in ((s, t, self.cost[k], True), (t, s, self.rcost[k], False)):
                if c >= 0 and c < best.get((u, v), (math.inf, 0, True))[0]:
                    best[(u, v)] = (float(c), k, fwd)
        self.best = best
        n = len(vid)
        keys = list(best)
        self.graph = csr_matrix(
            (
                [max(best[k][0], 1e-6) for k in keys],  # csgraph drops explicit zeros
                ([k[0] for k in keys], [k[1] for k in keys]),
            ),
            shape=(n, n),
        )

    @classmethod
    async def load(cls, url: str) -> RoadCity:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch(
                """
                SELECT e.id, e.source, e.target, e.cost, e.reverse_cost, e.length_m,
                       ST_AsGeoJSON(e.geom) AS geom
                FROM roads.edges e JOIN roads.regions g ON g.id = e.region_id
                WHERE e.main AND g.name = $1 ORDER BY e.id
                """,
                REGION,
            )
        finally:
            await conn.close()
        return cls(list(rows))

    def _metres(self, latlng: np.ndarray) -> np.ndarray:
        return np.column_stack([latlng[:, 1] * self.m_lng, latlng[:, 0] * M_LAT])

    def point_at(self, k: int, f: float) -> Point:
        xy, fr = self.coords[k], self.fracs[k]
        j = min(max(int(np.searchsorted(fr, f, side="right")) - 1, 0), len(fr) - 2)
        span = fr[j + 1] - fr[j]
        t = (f - fr[j]) / span if span > 0 else 0.0
        lat, lng = xy[j] + (xy[j + 1] - xy[j]) * t
        return float(lat), float(lng)

    # --- places --------------------------------------------------------------------------------

    def place(self, rng: random.Random) -> Point:
        """A point of a main edge, the edge drawn by length (uniform over the network's km)."""
        k = min(
            bisect.bisect_right(self.cum_len, rng.random() * self.cum_len[-1]), len(self.ends) - 1
        )
        return self.point_at(k, rng.random())

    def dropoff(self, rng: random.Random, pickup: Point, tow_km: tuple[float, float]) -> Point:
        """A garage: a place of the network at least the shortest tow away, if one is drawn."""
        p = self.place(rng)
        for _ in range(20):
            if _km(pickup, p) >= tow_km[0]:
                break
            p = self.place(rng)
        return p

    def spot_near(self, rng: random.Random, base: Point, km: float = 1.5) -> Point:
        """Where an idle truck waits: a place of the network within `km` of its base (else the base)."""
        for _ in range(30):
            p = self.place(rng)
            if _km(base, p) <= km:
                return p
        return base

    # --- routes --------------------------------------------------------------------------------

    def snap(self, p: Point) -> tuple[int, float, float]:
        """(edge, fraction along it, metres away) of the nearest main edge."""
        q = self._metres(np.array([p]))[0]
        d = self.seg_b - self.seg_a
        ll = np.einsum("ij,ij->i", d, d)
        t = np.clip(np.einsum("ij,ij->i", q - self.seg_a, d) / np.where(ll > 0, ll, 1), 0, 1)
        near = self.seg_a + d * t[:, None]
        dist = np.hypot(*(near - q).T)
        i = int(np.argmin(dist))
        f = self.seg_f0[i] + (self.seg_f1[i] - self.seg_f0[i]) * t[i]
        return int(self.seg_e[i]), float(f), float(dist[i])

    def _piece(self, k: int, f0: float, f1: float) -> list[Point]:
        """The geometry of edge k from fraction f0 to f1 (either way)."""
        fr = self.fracs[k]
        lo, hi = min(f0, f1), max(f0, f1)
        inner = [tuple(map(float, self.coords[k][j])) for j in range(len(fr)) if lo < fr[j] < hi]
        pts = [self.point_at(k, f0), *inner] if f0 <= f1 else [self.point_at(k, f0), *inner[::-1]]
        return [*pts, self.point_at(k, f1)]  # type: ignore[list-item]

    def route(self, a: Point, b: Point) -> Route:
        """The fastest drive from a to b, timed along its geometry at the edges' speeds."""
        ka, fa, da = self.snap(a)
        kb, fb, db = self.snap(b)
        pieces: list[tuple[list[Point], float]] = []
        options: list[tuple[float, list[tuple[list[Point], float]]]] = []
        exits = (
            [(self.ends[ka][1], (1 - fa) * self.cost[ka], self._piece(ka, fa, 1.0))]
            if self.cost[ka] >= 0
            else []
        )
        if self.rcost[ka] >= 0:
            exits.append((self.ends[ka][0], fa * self.rcost[ka], self._piece(ka, fa, 0.0)))
        entries = (
            [(self.ends[kb][0], fb * self.cost[kb], self._piece(kb, 0.0, fb))]
            if self.cost[kb] >= 0
            else []
        )
        if self.rcost[kb] >= 0:
            entries.append((self.ends[kb][1], (1 - fb) * self.rcost[kb], self._piece(kb, 1.0, fb)))
        if ka == kb:
            if fa <= fb and self.cost[ka] >= 0:
                options.append(
                    (
                        (fb - fa) * self.cost[ka],
                        [(self._piece(ka, fa, fb), (fb - fa) * self.cost[ka])],
                    )
                )
            elif fa >= fb and self.rcost[ka] >= 0:
                c = (fa - fb) * self.rcost[ka]
                options.append((c, [(self._piece(ka, fa, fb), c)]))
        if exits and entries:
            dist, pred = dijkstra(
                self.graph, indices=[x[0] for x in exits], return_predecessors=True
            )
            for i, (u, cu, gu) in enumerate(exits):
                for v, cv, gv in entries:
                    if math.isfinite(dist[i, v]):
                        options.append(
                            (cu + dist[i, v] + cv, [(gu, cu), *self._legs(pred[i], u, v), (gv, cv)])
                        )
        if not options:  # no route: straight on at 30 km/h
            return [(0.0, *a), (_km(a, b) / 30 * 3600, *b)]
        _, pieces = min(options, key=lambda o: o[0])
        snapped_a, snapped_b = pieces[0][0][0], pieces[-1][0][-1]
        pieces = [
            ([a, snapped_a], da / SNAP_SPEED_MS),
            *pieces,
            ([snapped_b, b], db / SNAP_SPEED_MS),
        ]
        return _timed(pieces, self._metres)

    def _legs(self, pred: np.ndarray, u: int, v: int) -> Iterable[tuple[list[Point], float]]:
        chain = [v]
        while chain[-1] != u:
            chain.append(int(pred[chain[-1]]))
        chain.reverse()
        for s, t in itertools.pairwise(chain):
            c, k, fwd = self.best[(s, t)]
            yield self._piece(k, 0.0, 1.0) if fwd else self._piece(k, 1.0, 0.0), c


def _timed(pieces: list[tuple[list[Point], float]], metres: Any) -> Route:
    """Each piece's seconds spread over its geometry by length: (t, lat, lng) along the route."""
    out: Route = []
    t = 0.0
    for pts, secs in pieces:
        m = metres(np.array(pts))
        step = np.hypot(*(m[1:] - m[:-1]).T)
        total = float(step.sum())
        if not out:
            out.append((0.0, *pts[0]))
        for p, s in zip(pts[1:], step, strict=True):
            t += secs * (float(s) / total if total > 0 else 1.0 / len(step))
            out.append((t, *p))
    return out


def position_at(route: Route, t: float) -> Point:
    """Where a truck on `route` is `t` seconds after setting off."""
    times = [r[0] for r in route]
    j = bisect.bisect_right(times, t)
    if j >= len(route):
        return route[-1][1], route[-1][2]
    if j == 0:
        return route[0][1], route[0][2]
    (t0, la0, ln0), (t1, la1, ln1) = route[j - 1], route[j]
    f = (t - t0) / (t1 - t0) if t1 > t0 else 1.0
    return la0 + (la1 - la0) * f, ln0 + (ln1 - ln0) * f


def _km(a: Point, b: Point) -> float:
    from bench.simulate.city import haversine_km

    return haversine_km(a, b)


async def pickup_times(
    url: str, wanted: dict[Point, set[Point]]
) -> dict[tuple[Point, Point], float | None]:
    """Road seconds (roads.times_to, the engine's own) from every position to its pickup, one
    routing call per pickup; None where a position cannot be routed."""
    out: dict[tuple[Point, Point], float | None] = {}
    conn = await asyncpg.connect(url)
    try:
        for pickup, places in wanted.items():
            pts = sorted(places)
            rows = await conn.fetch(
                """
                SELECT ord, seconds FROM roads.times_to(
                    ST_SetSRID(ST_MakePoint($2, $1), 4326),
                    ARRAY(SELECT ST_SetSRID(ST_MakePoint(lng, lat), 4326)
                          FROM unnest($3::float8[], $4::float8[]) WITH ORDINALITY u(lat, lng, i)
                          ORDER BY i))
                """,
                pickup[0], pickup[1], [p[0] for p in pts], [p[1] for p in pts],
            )  # fmt: skip
            got = {r["ord"]: r["seconds"] for r in rows}
            for i, p in enumerate(pts, 1):
                out[(pickup, p)] = got.get(i)
    finally:
        await conn.close()
    return out


async def road_costs(
    url: str, records: list[dict[str, Any]], spells: list[dict[str, Any]]
) -> dict[tuple[Point, Point], float | None]:
    """Road seconds for the report: from where each winner was at its accept, and from every
    position an idle spell held while the request waited (the offline optimum's cost matrix)."""
    from bench.simulate.report import overlapping_positions

    wanted: dict[Point, set[Point]] = defaultdict(set)
    for r in records:
        if r["assigned"] is None or r["accept_pos"] is None or r["created"] is None:
            continue
        pickup = tuple(r["pickup"])
        wanted[pickup].add(tuple(r["accept_pos"]))
        for _, pts in overlapping_positions(r["created"], r["assigned"], spells):
            wanted[pickup].update(pts)
    return await pickup_times(url, wanted)

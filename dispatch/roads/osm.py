"""Reading an .osm.pbf into a car graph: the ways the car profile keeps, split into edges where they
meet, each edge's length and travel time both ways."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import osmium

from dispatch.roads.profile import car_way

# OSRM's haversine radius (util/coordinate_calculation.hpp), so lengths agree with its.
EARTH_RADIUS_M = 6_372_797.560856
FORBIDDEN = -1.0


@dataclass(frozen=True)
class Edge:
    """A piece of one way between two graph nodes, drawn from `source` to `target` (OSM ids)."""

    source: int
    target: int
    osm_way: int
    highway: str
    length_m: float
    cost: float  # seconds source → target, -1 forbidden
    reverse_cost: float
    coords: list[tuple[float, float]]  # (lon, lat)


@dataclass
class Graph:
    """Edges and the location of every OSM node they start or end at."""

    edges: list[Edge] = field(default_factory=list)
    nodes: dict[int, tuple[float, float]] = field(default_factory=dict)


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (lon, lat) points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def seconds(length_m: float, kmh: float | None) -> float:
    """Travel time at `kmh`, or -1 where the direction is closed (None)."""
    if kmh is None:
        return FORBIDDEN
    return length_m / (kmh / 3.6)


@dataclass(frozen=True)
class _Way:
    id: int
    highway: str
    forward_kmh: float | None
    backward_kmh: float | None
    refs: list[int]
    coords: list[tuple[float, float]]


def _car_ways(path: Path) -> list[_Way]:
    ways = []
    processor = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
    for obj in processor:
        if not isinstance(obj, osmium.osm.Way) or "highway" not in obj.tags:
            continue
        profile = car_way({tag.k: tag.v for tag in obj.tags})
        if profile is None:
            continue
        refs: list[int] = []
        coords: list[tuple[float, float]] = []
        for node in obj.nodes:
            if not node.location.valid():
                continue  # a node cut off by the extract's boundary
            if refs and refs[-1] == node.ref:
                continue  # a node repeated in a row adds nothing
            refs.append(node.ref)
            coords.append((node.lon, node.lat))
        if len(refs) >= 2:
            ways.append(
                _Way(
                    obj.id, profile.highway, profile.forward_kmh, profile.backward_kmh, refs, coords
                )
            )
    return ways


def read_graph(path: Path) -> Graph:
    """The car graph of an .osm.pbf: its car ways split at every node two or more of them share
    (or one shares with itself) and at their ends; loops back to their own start are dropped."""
    ways = _car_ways(path)
    uses = Counter(ref for way in ways for ref in way.refs)
    graph = Graph()
    for way in ways:
        start = 0
        last = len(way.refs) - 1
        for i in range(1, last + 1):
            if i != last and uses[way.refs[i]] < 2:
                continue
            source, target = way.refs[start], way.refs[i]
            coords = way.coords[start : i + 1]
            start = i
            if source == target:
                continue  # a closed loop with one junction never shortens a route
            length = sum(haversine_m(a, b) for a, b in itertools.pairwise(coords))
            graph.edges.append(
                Edge(
                    source=source,
                    target=target,
                    osm_way=way.id,
                    highway=way.highway,
                    length_m=length,
                    cost=seconds(length, way.forward_kmh),
                    reverse_cost=seconds(length, way.backward_kmh),
                    coords=coords,
                )
            )
            graph.nodes[source] = coords[0]
            graph.nodes[target] = coords[-1]
    return graph

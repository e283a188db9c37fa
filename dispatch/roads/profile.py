"""The car profile: which OSM ways a car may drive, in which direction, at what speed (OSRM's car.lua).

Each rule names the part of OSRM's profile it mirrors (osrm-backend 26.10, `profiles/car.lua` and
`profiles/lib/way_handlers.lua`), so that our travel times agree with an OSRM server run on the same
extract. What OSRM does and we do not (turn penalties, traffic signals, the routability weight's
penalties) is listed in docs/roads.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# car.lua `speeds.highway`, km/h.
HIGHWAY_SPEEDS: dict[str, float] = {
    "motorway": 90,
    "motorway_link": 45,
    "trunk": 85,
    "trunk_link": 40,
    "primary": 65,
    "primary_link": 30,
    "secondary": 55,
    "secondary_link": 25,
    "tertiary": 40,
    "tertiary_link": 20,
    "unclassified": 25,
    "residential": 25,
    "living_street": 10,
    "service": 15,
    "winter_road": 20,
    "ice_road": 15,
}
DEFAULT_SPEED = 10.0  # car.lua `default_speed`: another highway class the access tags open
SPEED_REDUCTION = 0.8  # car.lua `speed_reduction`: drivers average 80 % of a posted limit
MOVABLE_BRIDGE_SPEED = 5.0  # car.lua `bridge_speeds.movable`

ACCESS_HIERARCHY = ("motorcar", "motor_vehicle", "vehicle", "access")
ACCESS_WHITELIST = frozenset(
    {"yes", "motorcar", "motor_vehicle", "vehicle", "permissive", "designated", "hov"}
)
ACCESS_BLACKLIST = frozenset(
    {
        "no",
        "agricultural",
        "forestry",
        "emergency",
        "psv",
        "taxi",
        "share_taxi",
        "minibus",
        "bus",
        "foot",
        "emergency_vehicle",
        "restricted",
        "military",
        "official",
        "customers",
        "private",
        "delivery",
        "destination",
        "permit",
        "residents",
    }
)
RESTRICTED_ACCESS = frozenset(
    {"private", "delivery", "destination", "customers", "permit", "residents", "unknown"}
)
# car.lua `avoid`, as far as it names highway classes (way_handlers.lua `avoid_ways`).
AVOIDED_HIGHWAYS = frozenset(
    {"area", "reversible", "impassable", "hov_lanes", "steps", "construction", "proposed"}
)
CONSTRUCTION_WHITELIST = frozenset({"no", "widening", "minor"})
SERVICE_FORBIDDEN = frozenset({"emergency_access"})
ONEWAY_PREFIXED = ("motorcar", "motor_vehicle", "vehicle")  # car.lua `restrictions`
FERRY_ROUTES = frozenset({"ferry", "shuttle_train"})  # car.lua `route_speeds`: not imported

SURFACE_SPEEDS: dict[str, float] = {
    "cement": 80,
    "compacted": 80,
    "fine_gravel": 80,
    "paving_stones": 60,
    "metal": 60,
    "bricks": 60,
    "grass": 40,
    "wood": 40,
    "sett": 40,
    "grass_paver": 40,
    "gravel": 40,
    "unpaved": 40,
    "ground": 40,
    "dirt": 40,
    "pebblestone": 40,
    "tartan": 40,
    "cobblestone": 30,
    "clay": 30,
    "earth": 20,
    "stone": 20,
    "rocky": 20,
    "sand": 20,
    "laterite": 15,
    "mud": 10,
    "ice": 20,
    "snow": 30,
}
TRACKTYPE_SPEEDS: dict[str, float] = {
    "grade1": 60,
    "grade2": 40,
    "grade3": 30,
    "grade4": 25,
    "grade5": 20,
}
SMOOTHNESS_SPEEDS: dict[str, float] = {
    "intermediate": 80,
    "bad": 40,
    "very_bad": 20,
    "horrible": 10,
    "very_horrible": 5,
    "impassable": 0,
}

MAXSPEED_DEFAULT: dict[str, float] = {"urban": 50, "rural": 90, "trunk": 110, "motorway": 130}
MAXSPEED_TABLE: dict[str, float] = {
    "at:rural": 100,
    "at:trunk": 100,
    "ar:urban": 40,
    "ar:rural": 110,
    "be:motorway": 120,
    "be-bru:rural": 70,
    "be-bru:urban": 30,
    "be-vlg:rural": 70,
    "bg:motorway": 140,
    "by:urban": 60,
    "by:motorway": 110,
    "ca-on:rural": 80,
    "ch:rural": 80,
    "ch:trunk": 100,
    "ch:motorway": 120,
    "de:living_street": 7,
    "de:rural": 100,
    "de:motorway": 0,
    "dk:rural": 80,
    "es:trunk": 90,
    "fr:rural": 80,
    "gb:nsl_single": (60 * 1609) / 1000,
    "gb:nsl_dual": (70 * 1609) / 1000,
    "gb:motorway": (70 * 1609) / 1000,
    "lv:living_street": 20,
    "nl:rural": 80,
    "nl:trunk": 100,
    "no:rural": 80,
    "no:motorway": 110,
    "ph:urban": 40,
    "ph:rural": 80,
    "ph:motorway": 100,
    "pl:rural": 100,
    "pl:expressway": 120,
    "pl:motorway": 140,
    "ro:trunk": 100,
    "ru:living_street": 20,
    "ru:urban": 60,
    "ru:motorway": 110,
    "uk:nsl_single": (60 * 1609) / 1000,
    "uk:nsl_dual": (70 * 1609) / 1000,
    "uk:motorway": (70 * 1609) / 1000,
    "za:urban": 60,
    "za:rural": 100,
    "none": 140,
}
MAXSPEED_KEYS = ("maxspeed:advisory", "maxspeed", "source:maxspeed", "maxspeed:type")

VEHICLE_HEIGHT = 2.0  # car.lua `vehicle_height`, m
VEHICLE_WIDTH = 1.9  # car.lua `vehicle_width`, m
VEHICLE_LENGTH = 4.8  # car.lua `vehicle_length`, m
_DEFAULT_MAXHEIGHT = 4.5  # measure.lua: "default", "none", "no-sign", "unsigned"
_MAXHEIGHT_WORDS = frozenset({"default", "none", "no-sign", "unsigned"})

_LEADING_DIGITS = re.compile(r"\d*")
_ZONE = re.compile(r"[A-Za-z]{2}:([A-Za-z]+)")
_METRES = re.compile(r"\d+\.?\d*")

Tags = Mapping[str, str]


@dataclass(frozen=True)
class Way:
    """A routable way: its speed each way in km/h, None where a car may not go that way."""

    highway: str
    forward_kmh: float | None
    backward_kmh: float | None


def forward_backward(tags: Tags, keys: Sequence[str]) -> tuple[str | None, str | None]:
    """tags.lua `get_forward_backward_by_set`: the first of `keys` (with :forward / :backward
    suffixes first) that gives a value for each direction."""
    forward: str | None = None
    backward: str | None = None
    for key in keys:
        if forward is None:
            forward = tags.get(f"{key}:forward")
        if backward is None:
            backward = tags.get(f"{key}:backward")
        common = tags.get(key)
        if forward is None:
            forward = common
        if backward is None:
            backward = common
        if forward is not None and backward is not None:
            break
    return forward, backward


def resolve_access(value: str | None) -> str | None:
    """access.lua `resolve_access`: of `a;b` values the most permissive part wins."""
    if value is None or ";" not in value:
        return value

    def rank(part: str) -> int:
        if part in ACCESS_WHITELIST:
            return 3
        if part in RESTRICTED_ACCESS:
            return 2
        if part in ACCESS_BLACKLIST:
            return 1
        return 0

    parts = [p.strip() for p in value.split(";")]
    return max(parts, key=rank) if parts else value


def parse_maxspeed(raw: str | None) -> float:
    """way_handlers.lua `parse_maxspeed` and measure.lua `parse_value_speed`: leading digits (mph
    converted at 1.609), else the country table (`FR:urban`), else the zone default; 0 unknown."""
    if not raw:
        return 0.0
    digits = _LEADING_DIGITS.match(raw)
    if digits and digits.group():
        n = float(digits.group())
        return n * 1.609 if ("mph" in raw or "mp/h" in raw) else n
    lowered = raw.lower()
    if lowered in MAXSPEED_TABLE:
        return MAXSPEED_TABLE[lowered]
    zone = _ZONE.search(lowered)
    return MAXSPEED_DEFAULT.get(zone.group(1), 0.0) if zone else 0.0


def parse_metres(raw: str | None, *, height: bool = False) -> float | None:
    """measure.lua `parse_value_meters` (feet'inches too) and `get_max_height`'s words."""
    if raw is None:
        return None
    if height and raw in _MAXHEIGHT_WORDS:
        return _DEFAULT_MAXHEIGHT
    found = _METRES.search(raw.replace(",", "."))
    if not found:
        return None
    n = float(found.group())
    if "'" in raw:
        inches = re.search(r"\d+", raw.split("'", 1)[1])
        n = (n * 12 + (int(inches.group()) if inches else 0)) * 0.0254
    return n


def oneway(tags: Tags, highway: str) -> int:
    """way_handlers.lua `oneway`: 1 forward only, -1 backward only, 0 both ways. `oneway:motorcar`,
    `oneway:motor_vehicle`, `oneway:vehicle`, then `oneway`; motorways and roundabouts are one-way
    unless `oneway=no`."""
    value = next(
        (tags[f"oneway:{k}"] for k in ONEWAY_PREFIXED if f"oneway:{k}" in tags), tags.get("oneway")
    )
    if value == "-1":
        return -1
    if value in {"yes", "1", "true"}:
        return 1
    if (highway == "motorway" or tags.get("junction") in {"roundabout", "circular"}) and (
        value != "no"
    ):
        return 1
    return 0


def _blocked(tags: Tags, highway: str) -> bool:
    """way_handlers.lua `blocked_ways`, `avoid_ways` and `service`: areas, construction, proposed
    roads, reversible one-ways, impassable ways, emergency access; ferries (not imported here)."""
    return (
        highway in AVOIDED_HIGHWAYS
        or tags.get("area") == "yes"
        or tags.get("railway") == "construction"
        or tags.get("construction", "no") not in CONSTRUCTION_WHITELIST
        or tags.get("oneway") == "reversible"
        or tags.get("impassable") == "yes"
        or tags.get("status") == "impassable"
        or tags.get("service") in SERVICE_FORBIDDEN
        or tags.get("route") in FERRY_ROUTES
    )


def _physically_closed(tags: Tags) -> tuple[bool, bool]:
    """way_handlers.lua `handle_height`, `handle_width`, `handle_length`: (forward, backward)
    closed to a 2.0 m high, 1.9 m wide, 4.8 m long car."""
    closed = [False, False]
    checks = (
        (("maxheight:physical", "maxheight"), True, lambda v: v < VEHICLE_HEIGHT),
        (
            ("maxwidth:physical", "maxwidth", "width", "est_width"),
            False,
            lambda v: v <= VEHICLE_WIDTH,
        ),
        (("maxlength",), False, lambda v: v < VEHICLE_LENGTH),
    )
    for keys, height, too_small in checks:
        for i, raw in enumerate(forward_backward(tags, keys)):
            value = parse_metres(raw, height=height)
            if value is not None and too_small(value):
                closed[i] = True
    return closed[0], closed[1]


def car_way(tags: Tags) -> Way | None:
    """car.lua `process_way` for a car: the way's speeds each way, or None when a car may use it in
    neither direction. Runs OSRM's handlers in OSRM's order: blocked ways, physical limits, access
    (`motorcar` > `motor_vehicle` > `vehicle` > `access`, blacklisted values close a direction),
    one-way, class speed (or the default speed where access tags open another class), movable
    bridges, maxspeed times 0.8, then surface, tracktype and smoothness caps."""
    highway = tags.get("highway") or ""
    if not highway or _blocked(tags, highway):
        return None
    closed_fwd, closed_bwd = _physically_closed(tags)
    fwd_access, bwd_access = (resolve_access(v) for v in forward_backward(tags, ACCESS_HIERARCHY))
    # OSRM keeps restricted ways (private, destination...) routable behind a turn weight that no
    # through route pays; without turn weights here they are closed like the rest of the blacklist.
    closed_fwd |= fwd_access in ACCESS_BLACKLIST
    closed_bwd |= bwd_access in ACCESS_BLACKLIST
    direction = oneway(tags, highway)
    closed_fwd |= direction == -1
    closed_bwd |= direction == 1

    fwd: float | None
    bwd: float | None
    if tags.get("bridge") == "movable":
        fwd = bwd = MOVABLE_BRIDGE_SPEED
    elif highway in HIGHWAY_SPEEDS:
        fwd = bwd = HIGHWAY_SPEEDS[highway]
    else:
        fwd = (
            DEFAULT_SPEED if fwd_access is not None and fwd_access not in ACCESS_BLACKLIST else None
        )
        bwd = (
            DEFAULT_SPEED if bwd_access is not None and bwd_access not in ACCESS_BLACKLIST else None
        )

    fwd_max, bwd_max = (parse_maxspeed(v) for v in forward_backward(tags, MAXSPEED_KEYS))
    if fwd is not None and fwd_max > 0:
        fwd = fwd_max * SPEED_REDUCTION
    if bwd is not None and bwd_max > 0:
        bwd = bwd_max * SPEED_REDUCTION

    for table, key in (
        (SURFACE_SPEEDS, "surface"),
        (TRACKTYPE_SPEEDS, "tracktype"),
        (SMOOTHNESS_SPEEDS, "smoothness"),
    ):
        cap = table.get(tags.get(key, ""))
        if cap is not None:
            fwd = None if fwd is None else min(fwd, cap)
            bwd = None if bwd is None else min(bwd, cap)

    # A zero speed (smoothness=impassable) closes a direction: costs are never infinite.
    fwd = fwd if fwd is not None and fwd > 0 and not closed_fwd else None
    bwd = bwd if bwd is not None and bwd > 0 and not closed_bwd else None
    if fwd is None and bwd is None:
        return None
    return Way(highway, fwd, bwd)

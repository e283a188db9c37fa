"""The synthetic city: neighbourhoods around Algiers, the daily demand curve, shifts, behaviour draws."""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import math
import random
from typing import Protocol

# Where breakdowns happen and where tow trucks wait: the demo area around Algiers (see
# dispatch/demo/seed.py), as neighbourhoods with a weight and a spread (km, one standard deviation).
NEIGHBOURHOODS: list[tuple[str, float, float, float, float]] = [
    ("Alger Centre", 36.7700, 3.0560, 3.0, 1.2),
    ("Bab El Oued", 36.7880, 3.0500, 1.5, 0.8),
    ("Hussein Dey", 36.7400, 3.0950, 2.0, 1.2),
    ("Kouba", 36.7250, 3.0800, 1.5, 1.0),
    ("Birkhadem", 36.7150, 3.0500, 1.2, 1.2),
    ("Draria", 36.7180, 2.9950, 1.0, 1.5),
    ("Cheraga", 36.7600, 2.9550, 1.2, 1.5),
    ("Bab Ezzouar", 36.7200, 3.1850, 2.0, 1.5),
    ("Dar El Beida", 36.7000, 3.2150, 1.5, 1.5),
    ("Baraki", 36.6680, 3.0960, 1.0, 1.5),
    ("Rouiba", 36.7350, 3.2800, 1.0, 1.5),
]
# Breakdowns away from any neighbourhood (motorways, outskirts): uniform in this box.
BACKGROUND_SHARE = 0.15
BOX = (36.64, 2.92, 36.78, 3.30)  # min lat, min lng, max lat, max lng

# Requests per hour of the day, relative (hour h covers [h, h+1)): low at night, a morning peak
# around 8 h, a plateau, and a higher evening peak around 17-18 h (commuting traffic).
HOURLY_DEMAND = [
    1.0, 0.7, 0.5, 0.4, 0.4, 0.7, 1.8, 3.6, 4.2, 3.0, 2.4, 2.4,
    2.6, 2.6, 2.6, 3.0, 3.8, 4.6, 4.4, 3.2, 2.4, 1.9, 1.5, 1.2,
]  # fmt: skip

# Shift patterns (start hour, hours, share of the fleet): supply roughly follows the curve above.
SHIFTS = [(22, 9, 0.12), (6, 9, 0.24), (7, 9, 0.16), (11, 9, 0.20), (15, 8, 0.28)]
SHIFT_JITTER_H = 0.75  # each assistant starts and ends up to this much off the pattern


@dataclasses.dataclass(frozen=True)
class Behaviour:
    """How assistants and clients behave, in simulated seconds and km (scaled at run time)."""

    speed_kmh: float = 30.0  # city driving, with or without a car in tow
    start_delay_s: float = 120.0  # from accepting to rolling
    hookup_s: float = 600.0  # loading the car at the pickup
    unload_s: float = 300.0
    tow_km: tuple[float, float] = (2.0, 12.0)  # pickup to garage
    respond_median_s: float = 8.0  # offer on screen -> answer (lognormal)
    respond_sigma: float = 0.6
    silence: float = 0.12  # share of offers an assistant never answers (phone in a pocket)
    accept_max: float = 0.9  # acceptance probability at distance 0 ...
    accept_scale_km: float = 6.0  # ... falling as exp(-d / scale)
    patience_median_s: float = 900.0  # a client gives up after this long without an assistant
    patience_sigma: float = 0.4
    exhausted_wait_s: float = 60.0  # a client told "nobody available" cancels after this long
    reposition_every_s: tuple[float, float] = (1200.0, 3600.0)  # idle drivers move on after ...
    gps_every_s: float = 120.0  # a moving assistant sends its position this often


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


def offset(p: tuple[float, float], km: float, bearing: float) -> tuple[float, float]:
    """The point `km` away from `p` towards `bearing` (radians), flat-earth (city scale)."""
    dlat = km * math.cos(bearing) / 111.32
    dlng = km * math.sin(bearing) / (111.32 * math.cos(math.radians(p[0])))
    return p[0] + dlat, p[1] + dlng


def toward(a: tuple[float, float], b: tuple[float, float], f: float) -> tuple[float, float]:
    """The point a fraction `f` of the way from a to b (straight line; city scale)."""
    return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f


def place(rng: random.Random) -> tuple[float, float]:
    """A point of the city: a neighbourhood (Gaussian around its centre) or the background."""
    if rng.random() < BACKGROUND_SHARE:
        return rng.uniform(BOX[0], BOX[2]), rng.uniform(BOX[1], BOX[3])
    weights = [n[3] for n in NEIGHBOURHOODS]
    _, lat, lng, _, sigma = rng.choices(NEIGHBOURHOODS, weights)[0]
    p = offset((lat, lng), abs(rng.gauss(0, sigma)), rng.uniform(0, 2 * math.pi))
    return min(max(p[0], BOX[0]), BOX[2]), min(max(p[1], BOX[1]), BOX[3])


def arrival_times(rng: random.Random, n: int, start_h: float, hours: float) -> list[float]:
    """`n` request times (simulated seconds since midnight) in [start_h, start_h + hours), drawn
    from the hourly curve (piecewise constant; a window past midnight wraps to the next day)."""
    edges = [start_h]
    h = start_h
    while h < start_h + hours:
        nxt = min(math.floor(h) + 1.0, start_h + hours)
        edges.append(nxt)
        h = nxt
    pieces = [
        (lo, hi, HOURLY_DEMAND[int(lo) % 24] * (hi - lo)) for lo, hi in itertools.pairwise(edges)
    ]
    total = sum(w for _, _, w in pieces)
    cum = []
    acc = 0.0
    for _, _, w in pieces:
        acc += w / total
        cum.append(acc)
    times = []
    for _ in range(n):
        u = rng.random()
        k = min(bisect.bisect_left(cum, u), len(pieces) - 1)
        lo, hi, _ = pieces[k]
        times.append(rng.uniform(lo, hi) * 3600)
    return sorted(times)


class Places(Protocol):
    """Where a road city puts breakdowns, garages and bases (bench/simulate/roads.py)."""

    def place(self, rng: random.Random) -> tuple[float, float]: ...

    def dropoff(
        self, rng: random.Random, pickup: tuple[float, float], tow_km: tuple[float, float]
    ) -> tuple[float, float]: ...


@dataclasses.dataclass(frozen=True)
class PlannedRequest:
    index: int
    at_s: float  # simulated seconds since midnight
    pickup: tuple[float, float]
    dropoff: tuple[float, float]
    patience_s: float
    service_type: str = "towing"


@dataclasses.dataclass(frozen=True)
class PlannedAssistant:
    index: int
    base: tuple[float, float]
    shifts: tuple[tuple[float, float], ...]  # (start, end) in simulated seconds since midnight
    service_type: str = "towing"
    accept_factor: float = 1.0  # this assistant's acceptance against the fleet's (a replay's fit)


@dataclasses.dataclass(frozen=True)
class DayPlan:
    start_s: float
    end_s: float
    requests: list[PlannedRequest]
    assistants: list[PlannedAssistant]


def expected_requests(per_day: float, start_h: float, hours: float) -> int:
    """Requests falling in the window for a day of `per_day` requests (the hourly curve's share)."""
    total = sum(HOURLY_DEMAND)
    share = 0.0
    h = start_h
    while h < start_h + hours - 1e-9:
        nxt = min(math.floor(h) + 1.0, start_h + hours)
        share += HOURLY_DEMAND[int(h) % 24] * (nxt - h) / total
        h = nxt
    return round(per_day * share)


def plan_day(
    seed: int,
    *,
    assistants: int,
    per_day: float,
    start_h: float,
    hours: float,
    b: Behaviour,
    places: Places | None = None,
) -> DayPlan:
    """The day's script, identical for every policy: who works when, and who breaks down where
    (`places`: a road city's places; Algiers' neighbourhoods by default)."""
    rng = random.Random(f"city:{seed}")
    requests = expected_requests(per_day, start_h, hours)
    start_s, end_s = start_h * 3600, (start_h + hours) * 3600
    fleet = []
    for i in range(assistants):
        # Deal shifts out by share (deterministic round robin on the cumulative shares), so even
        # a handful of assistants covers the day's patterns in proportion.
        u = (i + 0.5) / assistants
        acc = 0.0
        pattern = SHIFTS[-1]
        for s in SHIFTS:
            acc += s[2]
            if u < acc:
                pattern = s
                break
        begin = (pattern[0] + rng.uniform(-SHIFT_JITTER_H, SHIFT_JITTER_H)) * 3600
        end = begin + (pattern[1] + rng.uniform(-SHIFT_JITTER_H, SHIFT_JITTER_H)) * 3600
        # A shift past midnight also covers the early hours of the same simulated day.
        spans = [(begin, end), (begin - 86400, end - 86400), (begin + 86400, end + 86400)]
        shifts = tuple(
            sorted(
                (max(lo, start_s), min(hi, end_s))
                for lo, hi in spans
                if hi > start_s and lo < end_s
            )
        )
        fleet.append(PlannedAssistant(i, places.place(rng) if places else place(rng), shifts))
    # A short window (the test's) may miss every shift: keep at least two assistants at work.
    if assistants and not any(a.shifts for a in fleet):
        fleet = [
            dataclasses.replace(a, shifts=((start_s, end_s),)) if a.index < 2 else a for a in fleet
        ]
    plans = []
    for k, t in enumerate(arrival_times(rng, requests, start_h, hours)):
        if places is not None:
            pickup = places.place(rng)
            dropoff = places.dropoff(rng, pickup, b.tow_km)
        else:
            pickup = place(rng)
            dropoff = offset(pickup, rng.uniform(*b.tow_km), rng.uniform(0, 2 * math.pi))
        patience = b.patience_median_s * math.exp(rng.gauss(0, b.patience_sigma))
        plans.append(PlannedRequest(k, t, pickup, dropoff, patience))
    return DayPlan(start_s, end_s, plans, fleet)


@dataclasses.dataclass(frozen=True)
class Answer:
    """An assistant's reaction to one offer: drawn from (seed, assistant, request) alone, so the same
    assistant reacts to the same request the same way under every policy (common random numbers)."""

    delay_s: float
    silent: bool
    draw: float  # accept when draw < acceptance probability at the offer's distance


def answer(seed: int, assistant: int, request: int, b: Behaviour) -> Answer:
    rng = random.Random(f"answer:{seed}:{assistant}:{request}")
    delay = b.respond_median_s * math.exp(rng.gauss(0, b.respond_sigma))
    return Answer(min(delay, 90.0), rng.random() < b.silence, rng.random())


def accept_probability(distance_km: float, b: Behaviour) -> float:
    return b.accept_max * math.exp(-distance_km / b.accept_scale_km)

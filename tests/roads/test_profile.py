"""The car profile against OSRM's car.lua: tag sets in, speeds and directions out."""

from __future__ import annotations

import pytest

from dispatch.roads.profile import car_way, oneway, parse_maxspeed, resolve_access


@pytest.mark.parametrize(
    ("highway", "kmh"),
    [
        ("motorway", 90),
        ("motorway_link", 45),
        ("trunk", 85),
        ("trunk_link", 40),
        ("primary", 65),
        ("primary_link", 30),
        ("secondary", 55),
        ("secondary_link", 25),
        ("tertiary", 40),
        ("tertiary_link", 20),
        ("unclassified", 25),
        ("residential", 25),
        ("living_street", 10),
        ("service", 15),
    ],
)
def test_class_speeds(highway, kmh):
    way = car_way({"highway": highway})
    assert way is not None
    assert way.forward_kmh == kmh


@pytest.mark.parametrize(
    ("raw", "kmh"),
    [
        ("50", 50),
        ("30 mph", 30 * 1.609),
        ("FR:urban", 50),
        ("FR:rural", 80),
        ("DE:motorway", 0),
        ("RU:motorway", 110),
        ("IT:rural", 90),
        ("none", 140),
        ("signals", 0),
        ("", 0),
        (None, 0),
    ],
)
def test_parse_maxspeed(raw, kmh):
    assert parse_maxspeed(raw) == pytest.approx(kmh)


def test_maxspeed_replaces_the_class_speed_at_eighty_percent():
    way = car_way({"highway": "residential", "maxspeed": "40"})
    assert way is not None
    assert way.forward_kmh == way.backward_kmh == pytest.approx(32)
    way = car_way({"highway": "primary", "maxspeed:forward": "50", "maxspeed:backward": "30"})
    assert way is not None
    assert (way.forward_kmh, way.backward_kmh) == pytest.approx((40, 24))
    # An unparsed maxspeed (0) leaves the class speed, as OSRM does for DE:motorway.
    assert car_way({"highway": "motorway", "maxspeed": "DE:motorway"}).forward_kmh == 90


def test_surface_tracktype_smoothness_cap_the_speed():
    assert car_way({"highway": "primary", "surface": "gravel"}).forward_kmh == 40
    assert car_way({"highway": "residential", "surface": "cobblestone"}).forward_kmh == 25
    assert (
        car_way({"highway": "residential", "maxspeed": "50", "surface": "sett"}).forward_kmh == 40
    )
    assert car_way({"highway": "track", "access": "yes", "tracktype": "grade1"}).forward_kmh == 10
    assert car_way({"highway": "primary", "smoothness": "bad"}).forward_kmh == 40
    # A zero speed is no speed: the way is left out rather than costed infinite.
    assert car_way({"highway": "primary", "smoothness": "impassable"}) is None


@pytest.mark.parametrize(
    "tags",
    [
        {"highway": "footway"},
        {"highway": "cycleway"},
        {"highway": "steps", "access": "yes"},
        {"highway": "construction"},
        {"highway": "proposed"},
        {"highway": "residential", "construction": "yes"},
        {"highway": "pedestrian", "area": "yes", "motor_vehicle": "yes"},
        {"highway": "residential", "access": "no"},
        {"highway": "residential", "access": "private"},
        {"highway": "service", "access": "destination"},
        {"highway": "residential", "motor_vehicle": "delivery"},
        {"highway": "residential", "access": "yes", "motorcar": "no"},
        {"highway": "service", "service": "emergency_access"},
        {"highway": "residential", "oneway": "reversible"},
        {"highway": "residential", "impassable": "yes"},
        {"highway": "residential", "status": "impassable"},
        {"highway": "residential", "maxheight": "1.9"},
        {"highway": "residential", "maxwidth": "1.8"},
        {"route": "ferry"},
        {"highway": "residential", "route": "ferry"},
    ],
)
def test_excluded_ways(tags):
    assert car_way(tags) is None


def test_access_hierarchy_and_lists():
    assert car_way({"highway": "residential", "access": "no", "motorcar": "yes"}) is not None
    assert car_way({"highway": "residential", "vehicle": "no", "motor_vehicle": "yes"}) is not None
    assert resolve_access("no;yes") == "yes"
    # Another class opened by its access tags goes at OSRM's default speed.
    assert car_way({"highway": "footway", "access": "permissive"}).forward_kmh == 10
    assert car_way({"highway": "residential", "maxheight": "default"}) is not None


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"oneway": "yes"}, 1),
        ({"oneway": "1"}, 1),
        ({"oneway": "true"}, 1),
        ({"oneway": "-1"}, -1),
        ({"oneway": "no"}, 0),
        ({}, 0),
        ({"junction": "roundabout"}, 1),
        ({"junction": "circular"}, 1),
        ({"junction": "roundabout", "oneway": "no"}, 0),
        ({"oneway": "yes", "oneway:motorcar": "no"}, 0),
        ({"oneway:vehicle": "-1"}, -1),
    ],
)
def test_oneway(tags, expected):
    assert oneway(tags, "residential") == expected


def test_motorway_implies_oneway_and_directions_close():
    assert oneway({}, "motorway") == 1
    way = car_way({"highway": "motorway"})
    assert (way.forward_kmh, way.backward_kmh) == (90, None)
    way = car_way({"highway": "residential", "oneway": "-1"})
    assert (way.forward_kmh, way.backward_kmh) == (None, 25)
    way = car_way({"highway": "residential", "access:backward": "no"})
    assert (way.forward_kmh, way.backward_kmh) == (25, None)

"""Fleet: clients' vehicles, service zones and the priced catalogue (requests and responses)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    RootModel,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from api.schemas.common import MAX_MONEY, ZONE_BASE_FARE, ZONE_PER_KM, Out, StoredIn
from dispatch.fleet.vehicles import FIRST_YEAR, last_model_year, normalise_plate, normalise_vin

FuelType = Literal["gasoline", "diesel", "electric", "hybrid", "lpg", "cng", "other"]

VehicleClass = Literal["light", "heavy"]

ServiceType = Literal["towing", "repair"]


class _VehicleFields(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    @field_validator("year", check_fields=False)
    @classmethod
    def _year(cls, value: int | None) -> int | None:
        if value is not None and not FIRST_YEAR <= value <= last_model_year():
            raise ValueError(f"Must be between {FIRST_YEAR} and {last_model_year()}.")
        return value

    @field_validator("license_plate", check_fields=False)
    @classmethod
    def _plate(cls, value: str | None) -> str | None:
        return None if value is None else normalise_plate(value)

    @field_validator("vin", check_fields=False)
    @classmethod
    def _vin(cls, value: str | None) -> str | None:
        # An empty string means "no VIN", as apps send for a blank form field.
        return normalise_vin(value) if value and value.strip() else None


class VehicleBody(_VehicleFields):
    """POST and PUT: the whole vehicle (what is left out takes its default)."""

    make: str = Field(min_length=1, max_length=60)
    model: str = Field(min_length=1, max_length=60)
    year: int
    license_plate: str = Field(validation_alias=AliasChoices("license_plate", "licensePlate"))
    vin: str | None = None
    fuel_type: FuelType | None = Field(None, validation_alias=AliasChoices("fuel_type", "fuelType"))
    vehicle_class: VehicleClass = Field(
        "light", validation_alias=AliasChoices("vehicle_class", "vehicleClass")
    )


class VehiclePatch(_VehicleFields):
    """PATCH: only the fields sent change (vin and fuel_type may be set to null)."""

    make: str | None = Field(None, min_length=1, max_length=60)
    model: str | None = Field(None, min_length=1, max_length=60)
    year: int | None = None
    license_plate: str | None = Field(
        None, validation_alias=AliasChoices("license_plate", "licensePlate")
    )
    vin: str | None = None
    fuel_type: FuelType | None = Field(None, validation_alias=AliasChoices("fuel_type", "fuelType"))
    vehicle_class: VehicleClass | None = Field(
        None, validation_alias=AliasChoices("vehicle_class", "vehicleClass")
    )

    def problems(self) -> dict[str, list[str]]:
        required = ("make", "model", "year", "license_plate", "vehicle_class")
        return {
            name: ["Cannot be null."]
            for name in required
            if name in self.model_fields_set and getattr(self, name) is None
        }

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class ZoneTariff(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    service_type: ServiceType
    vehicle_type: VehicleClass
    base_fare: Annotated[
        float,
        Field(ge=0, le=MAX_MONEY, allow_inf_nan=False),
        StoredIn(ZONE_BASE_FARE, places=2),
    ]
    per_km: Annotated[
        float,
        Field(ge=0, le=MAX_MONEY, allow_inf_nan=False),
        StoredIn(ZONE_PER_KM, places=2),
    ]


def _tariff_problems(tariffs: list[ZoneTariff] | None) -> dict[str, list[str]]:
    pairs = [(t.service_type, t.vehicle_type) for t in tariffs or []]
    if len(pairs) != len(set(pairs)):
        return {"tariffs": ["Each service_type and vehicle_type pair may appear once."]}
    return {}


_GEOMETRY_TYPE = "Must be a GeoJSON Polygon or MultiPolygon."

_WELL_FORMED = (
    "Not a well-formed GeoJSON Polygon or MultiPolygon (rings need 4 or more positions, the last "
    "equal to the first)."
)

_POSITION = "Positions are [longitude, latitude]: two numbers, no altitude."

_RANGE = "Coordinates must be [longitude, latitude] within -180..180 and -90..90."

_RING = "Every ring needs 4 or more positions, the last equal to the first."


def _geometry_problem(value: Any) -> str | None:
    """Why a zone's GeoJSON is not a Polygon or MultiPolygon of 2-D JSON-number positions in
    range with closed rings; None when it is. Topology (self-intersections) and the edge spans
    that geodesic area needs are SQL's (dispatch.zone_geometry), which hand-written SQL calls too."""
    if not isinstance(value, dict) or value.get("type") not in ("Polygon", "MultiPolygon"):
        return _GEOMETRY_TYPE
    coordinates = value.get("coordinates")
    polygons = [coordinates] if value["type"] == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        return _WELL_FORMED
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            return _WELL_FORMED
        for ring in polygon:
            if not isinstance(ring, list) or not all(isinstance(p, list) for p in ring):
                return _WELL_FORMED
            for position in ring:
                # JSON numbers only: bool is an int to Python, and PostGIS would read "3.0".
                if len(position) != 2 or not all(
                    type(c) in (int, float) and math.isfinite(c) for c in position
                ):
                    return _POSITION
                if not (-180 <= position[0] <= 180 and -90 <= position[1] <= 90):
                    return _RANGE
            if len(ring) < 4 or ring[0] != ring[-1]:
                return _RING
    return None


def _zone_geometry(value: Any) -> dict[str, Any]:
    problem = _geometry_problem(value)
    if problem is not None:
        raise PydanticCustomError("invalid_geometry", problem)
    # Only the geometry goes on: foreign members (a "crs", a "bbox") play no part.
    return {"type": value["type"], "coordinates": value["coordinates"]}


_POSITION_SCHEMA = {
    "type": "array",
    "prefixItems": [
        {"type": "number", "minimum": -180, "maximum": 180},
        {"type": "number", "minimum": -90, "maximum": 90},
    ],
    "minItems": 2,
    "maxItems": 2,
}

_POLYGON_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "array", "minItems": 4, "items": _POSITION_SCHEMA},
}

ZONE_GEOMETRY_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {
            "type": "object",
            "required": ["type", "coordinates"],
            "properties": {"type": {"const": "Polygon"}, "coordinates": _POLYGON_SCHEMA},
        },
        {
            "type": "object",
            "required": ["type", "coordinates"],
            "properties": {
                "type": {"const": "MultiPolygon"},
                "coordinates": {"type": "array", "minItems": 1, "items": _POLYGON_SCHEMA},
            },
        },
    ],
    "description": "A GeoJSON Polygon or MultiPolygon of [longitude, latitude] positions, valid "
    "(no self-intersection), every edge spanning less than 180 degrees of longitude and latitude "
    "(a zone across the antimeridian is a MultiPolygon split at 180 / -180). Otherwise 400 "
    "INVALID_GEOMETRY with the reason in `fields.geometry`.",
}

# A zone's shape; every problem is a 400 INVALID_GEOMETRY with the reason in fields.geometry.
ZoneGeometry = Annotated[
    dict[str, Any], PlainValidator(_zone_geometry), WithJsonSchema(ZONE_GEOMETRY_SCHEMA)
]

# Stored stripped: "   " is no name (and two zones differing by spaces are one).
ZoneName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class ZoneBody(BaseModel):
    """POST: a new zone. The geometry's JSON is checked here, its topology in SQL."""

    model_config = ConfigDict(strict=True, extra="ignore")

    name: ZoneName
    geometry: ZoneGeometry
    serviceable: bool = True
    tariffs: list[ZoneTariff] = []

    def problems(self) -> dict[str, list[str]]:
        return _tariff_problems(self.tariffs)


class ZoneUpdate(BaseModel):
    """PUT: the parts sent replace the stored ones (tariffs as a whole list)."""

    model_config = ConfigDict(strict=True, extra="ignore")

    name: ZoneName | None = None
    geometry: ZoneGeometry | None = None
    serviceable: bool | None = None
    tariffs: list[ZoneTariff] | None = None

    def problems(self) -> dict[str, list[str]]:
        return _tariff_problems(self.tariffs)


class CatalogueQuery(BaseModel):
    # Query strings are text: numbers are parsed from them (lax mode).
    model_config = ConfigDict(extra="ignore")

    lat: float = Field(
        ge=-90, le=90, allow_inf_nan=False, validation_alias=AliasChoices("lat", "latitude")
    )
    lng: float = Field(
        ge=-180, le=180, allow_inf_nan=False, validation_alias=AliasChoices("lng", "longitude")
    )


class Vehicle(Out):
    id: int
    make: str
    model: str
    year: int
    license_plate: str
    vin: str | None
    fuel_type: str | None
    vehicle_class: Literal["light", "heavy"]
    created_at: dt.datetime
    updated_at: dt.datetime


class Vehicles(RootModel[list[Vehicle]]):
    """GET /api/vehicles/: oldest first."""


class Zone(Out):
    """A service zone: a GeoJSON Polygon or MultiPolygon with its own tariffs."""

    id: int
    name: str
    geometry: dict[str, Any] = Field(description="GeoJSON MultiPolygon (a Polygon is widened).")
    serviceable: bool
    area_km2: float | None = None
    tariffs: list[Tariff]
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class Zones(Out):
    count: int
    results: list[Zone]


class ZoneRef(Out):
    id: int
    name: str


class Tariff(Out):
    service_type: Literal["towing", "repair"]
    vehicle_type: Literal["light", "heavy"]
    base_fare: float
    per_km: float


class ServicePrice(Out):
    """GET /api/services/: one service with the prices that apply at a point."""

    service_type: str
    vehicle_type: str
    base_fare: float
    per_km: float
    currency: str
    zone: ZoneRef | None
    surge_multiplier: float


class Services(RootModel[list[ServicePrice]]):
    """GET /api/services/: towing before repair, light before heavy."""

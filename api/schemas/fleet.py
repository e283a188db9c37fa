"""Request bodies of the fleet, zone, catalogue and cost-line endpoints (pydantic, strict JSON)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from api.schemas.common import (
    COST_LINE_QUANTITY,
    COST_LINE_UNIT_PRICE,
    INVOICE_LINE_AMOUNT,
    ZONE_BASE_FARE,
    ZONE_PER_KM,
    StoredIn,
    exact,
)
from dispatch.fleet import FIRST_YEAR, last_model_year, normalise_plate, normalise_vin

FuelType = Literal["gasoline", "diesel", "electric", "hybrid", "lpg", "cng", "other"]
VehicleClass = Literal["light", "heavy"]
ServiceType = Literal["towing", "repair"]
MAX_MONEY = 10_000_000
MAX_QUANTITY = 1_000_000
# quantity x unit_price is an invoice line's amount: it must fit invoice_lines.amount once rounded.
MAX_LINE_AMOUNT = INVOICE_LINE_AMOUNT.largest_whole


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


class ZoneBody(BaseModel):
    """POST: a new zone. The geometry's own checks (GeoJSON type, validity) happen in SQL."""

    model_config = ConfigDict(strict=True, extra="ignore")

    name: str = Field(min_length=1, max_length=120)
    geometry: dict[str, Any]
    serviceable: bool = True
    tariffs: list[ZoneTariff] = []

    def problems(self) -> dict[str, list[str]]:
        return _tariff_problems(self.tariffs)


class ZoneUpdate(BaseModel):
    """PUT: the parts sent replace the stored ones (tariffs as a whole list)."""

    model_config = ConfigDict(strict=True, extra="ignore")

    name: str | None = Field(None, min_length=1, max_length=120)
    geometry: dict[str, Any] | None = None
    serviceable: bool | None = None
    tariffs: list[ZoneTariff] | None = None

    def problems(self) -> dict[str, list[str]]:
        return _tariff_problems(self.tariffs)


class CostLineBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    label: str = Field(min_length=1, max_length=200)
    quantity: Annotated[
        float,
        Field(gt=0, le=MAX_QUANTITY, allow_inf_nan=False),
        StoredIn(COST_LINE_QUANTITY, places=3),
    ] = 1.0
    unit_price: Annotated[
        float,
        Field(ge=0, le=MAX_MONEY, allow_inf_nan=False),
        StoredIn(COST_LINE_UNIT_PRICE, places=4),
    ]

    def problems(self) -> dict[str, list[str]]:
        quantity, unit_price = self.exact()
        if quantity * unit_price > MAX_LINE_AMOUNT:
            return {"unit_price": [f"quantity times unit_price must be at most {MAX_LINE_AMOUNT}."]}
        return {}

    def exact(self) -> tuple[Decimal, Decimal]:
        """(quantity, unit_price) as exact decimals: money never passes through a float sum."""
        return exact(self.quantity), exact(self.unit_price)


class CatalogueQuery(BaseModel):
    # Query strings are text: numbers are parsed from them (lax mode).
    model_config = ConfigDict(extra="ignore")

    lat: float = Field(
        ge=-90, le=90, allow_inf_nan=False, validation_alias=AliasChoices("lat", "latitude")
    )
    lng: float = Field(
        ge=-180, le=180, allow_inf_nan=False, validation_alias=AliasChoices("lng", "longitude")
    )

"""Request bodies of the fleet, zone, catalogue and cost-line endpoints (pydantic, strict JSON)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from dispatch.fleet import FIRST_YEAR, last_model_year, normalise_plate, normalise_vin

FuelType = Literal["gasoline", "diesel", "electric", "hybrid", "lpg", "cng", "other"]
VehicleClass = Literal["light", "heavy"]
ServiceType = Literal["towing", "repair"]
MAX_MONEY = 10_000_000


def _decimal(value: float, places: int) -> Decimal:
    """The JSON number as an exact decimal, refused when it has more decimal places than stored."""
    exact = Decimal(str(value))
    exponent = exact.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        raise ValueError(f"At most {places} decimal places.")
    return exact


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
    base_fare: float = Field(ge=0, le=MAX_MONEY, allow_inf_nan=False)
    per_km: float = Field(ge=0, le=MAX_MONEY, allow_inf_nan=False)

    @field_validator("base_fare", "per_km")
    @classmethod
    def _cents(cls, value: float) -> float:
        _decimal(value, 2)
        return value


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
    quantity: float = Field(1.0, gt=0, le=1_000_000, allow_inf_nan=False)
    unit_price: float = Field(ge=0, le=MAX_MONEY, allow_inf_nan=False)

    @field_validator("quantity")
    @classmethod
    def _quantity(cls, value: float) -> float:
        _decimal(value, 3)
        return value

    @field_validator("unit_price")
    @classmethod
    def _unit_price(cls, value: float) -> float:
        _decimal(value, 4)
        return value

    def exact(self) -> tuple[Decimal, Decimal]:
        """(quantity, unit_price) as exact decimals: money never passes through a float sum."""
        return Decimal(str(self.quantity)), Decimal(str(self.unit_price))


class CatalogueQuery(BaseModel):
    # Query strings are text: numbers are parsed from them (lax mode).
    model_config = ConfigDict(extra="ignore")

    lat: float = Field(
        ge=-90, le=90, allow_inf_nan=False, validation_alias=AliasChoices("lat", "latitude")
    )
    lng: float = Field(
        ge=-180, le=180, allow_inf_nan=False, validation_alias=AliasChoices("lng", "longitude")
    )

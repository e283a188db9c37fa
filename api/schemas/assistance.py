"""Request bodies and query strings of the assistance endpoints (pydantic, strict JSON types)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from api.schemas.common import REQUEST_TOTAL_PRICE, Lat, Lng, StoredIn

Status = Literal["requested", "accepted", "ongoing", "completed", "canceled"]

MAX_IDEMPOTENCY_KEY = 255
MAX_OFFSET = 1_000_000


class LatLng(BaseModel):
    # Strict: coordinates are JSON numbers, never strings or booleans (ints are fine).
    model_config = ConfigDict(strict=True, extra="ignore")

    lat: Lat = Field(validation_alias=AliasChoices("lat", "latitude"))
    lng: Lng = Field(validation_alias=AliasChoices("lng", "longitude"))


class RequestBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    pickup: LatLng
    dropoff: LatLng | None = None
    service_type: Literal["towing", "repair"] = Field(
        "towing", validation_alias=AliasChoices("service_type", "assistance_type")
    )
    vehicle_type: Literal["light", "heavy"] = "light"
    description: str | None = Field(None, max_length=2000)
    # The client's own vehicle (issue 12): its class becomes the request's vehicle_type.
    vehicle_id: int | None = Field(
        None, ge=1, le=2**63 - 1, validation_alias=AliasChoices("vehicle_id", "vehicleId")
    )


class StatusBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    status: Status
    # Rounded to cents by the database (no decimal-places check).
    total_price: (
        Annotated[
            float,
            Field(ge=0, le=10_000_000, allow_inf_nan=False),
            StoredIn(REQUEST_TOTAL_PRICE),
        ]
        | None
    ) = None


class RateBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=2000)


class ListQuery(BaseModel):
    # Query strings are text: numbers are parsed from them (lax mode).
    model_config = ConfigDict(extra="ignore")

    status: Status | None = None
    limit: int = Field(20, ge=1, le=100)
    # Bounded like every numeric query parameter: past int32 the database call itself fails.
    offset: int = Field(0, ge=0, le=MAX_OFFSET)

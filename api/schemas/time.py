"""Request bodies and query strings of bookings, shifts, chat history and telematics (pydantic)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from api.schemas.assistance import LatLng
from api.schemas.common import IsoDate, IsoDateTime, Lat, Lng

MAX_TELEMATICS_POINTS = 1000


class BookingBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    pickup: LatLng
    dropoff: LatLng | None = None
    service_type: Literal["towing", "repair"] = Field(
        validation_alias=AliasChoices("service_type", "assistance_type")
    )
    vehicle_type: Literal["light", "heavy"] = "light"
    vehicle_id: int | None = Field(None, ge=1, le=2**63 - 1)
    description: str | None = Field(None, max_length=2000)
    scheduled_for: IsoDateTime = Field(
        validation_alias=AliasChoices("scheduled_for", "scheduledFor")
    )


class BookingUpdateBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    # The only change a client makes to a booking; anything else is a new booking.
    status: Literal["canceled"]


class BookingListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["scheduled", "converted", "failed", "canceled"] | None = None
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=1_000_000)


class AvailabilityQuery(BaseModel):
    # Query strings are text: numbers and dates are parsed from them (lax mode).
    model_config = ConfigDict(extra="ignore")

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lng: float = Field(ge=-180, le=180, allow_inf_nan=False)
    service_type: Literal["towing", "repair"] = "towing"
    date: IsoDate


class ShiftsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    since: IsoDateTime | None = None
    limit: int = Field(100, ge=1, le=1000)


class MessagesQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    before: int | None = Field(None, ge=1, le=2**63 - 1)
    limit: int = Field(50, ge=1, le=200)


class TelematicsPoint(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    lat: Lat = Field(validation_alias=AliasChoices("lat", "latitude"))
    lng: Lng = Field(validation_alias=AliasChoices("lng", "longitude"))
    recorded_at: IsoDateTime = Field(validation_alias=AliasChoices("recorded_at", "recordedAt"))
    # km/h and degrees clockwise from north.
    speed: float | None = Field(None, ge=0, le=500, allow_inf_nan=False)
    heading: float | None = Field(None, ge=0, lt=360, allow_inf_nan=False)


class TelematicsBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    points: list[TelematicsPoint] = Field(min_length=1, max_length=MAX_TELEMATICS_POINTS)

    def future_points(self, now: datetime, skew_s: float) -> dict[str, list[str]]:
        """Points recorded later than now plus the allowed clock skew, by index."""
        return {
            f"points.{i}.recorded_at": [f"Must not be more than {skew_s:g} s in the future."]
            for i, p in enumerate(self.points)
            if (p.recorded_at - now).total_seconds() > skew_s
        }

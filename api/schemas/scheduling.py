"""Scheduling: bookings, their availability and assistants' shifts (requests and responses)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
)

from api.schemas.assistance import LatLng, Point
from api.schemas.common import IsoDate, IsoDateTime, Out


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


class BookingFailure(Out):
    code: str
    reason: str


class Booking(Out):
    """A scheduled request; it becomes an assistance request at `scheduled_for` minus the lead."""

    id: int
    status: str = Field(description="scheduled | converted | failed | canceled")
    service_type: str
    vehicle_type: str
    vehicle_id: int | None = None
    description: str | None = None
    pickup_lat: float
    pickup_lng: float
    dropoff_lat: float | None
    dropoff_lng: float | None
    pickupLocation: Point
    dropoffLocation: Point | None
    scheduled_for: dt.datetime
    activates_at: dt.datetime
    assistance_id: int | None = Field(None, description="Once converted.")
    failure: BookingFailure | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


class Bookings(Out):
    count: int
    results: list[Booking]


class Slot(Out):
    start: dt.datetime
    end: dt.datetime
    expected_idle_assistants: float | None = Field(description="A mean; null without samples.")
    sampled_days: int
    bookable: bool


class Availability(Out):
    """GET /api/bookings/availability/: the UTC hours of a date."""

    date: dt.date
    service_type: str
    lat: float
    lng: float
    slots: list[Slot]


class Shift(Out):
    id: int | None = None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    end_reason: str | None = None
    online_minutes: float
    on_job_minutes: float
    jobs: int


class Shifts(RootModel[list[Shift]]):
    """GET /api/profile/shifts/: newest first."""

"""Response models written against the contract for the objects other features serve (offers,
zones, services, invoices, bookings, shifts); their routes reference these in `@describe`."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, RootModel

from api.schemas.responses import Assistance, Out, Point


class Declined(Out):
    """PATCH /api/assistance/decline/<id>/."""

    assistance_id: int
    declined: bool


class Offer(Out):
    """One offer of a request to an assistant (dispatcher view of a request)."""

    assistant_id: int
    assistant_name: str | None = None
    round: int
    distance: float = Field(description="Kilometres from the pickup.")
    sent_at: dt.datetime
    expires_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    state: Literal["open", "declined", "expired", "withdrawn", "accepted"]


class Transition(Out):
    from_status: str | None
    to_status: str
    actor_id: int | None
    actor_role: str | None
    reason: str | None = None
    at: dt.datetime


class DispatchAssistance(Assistance):
    """GET /api/dispatch/requests/<id>/: the assistance with its offers and transitions."""

    exhausted_at: dt.datetime | None = Field(None, description="When the search ran out.")
    offers: list[Offer]
    events: list[Transition]


class Tariff(Out):
    service_type: Literal["towing", "repair"]
    vehicle_type: Literal["light", "heavy"]
    base_fare: float
    per_km: float


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


class ZoneRef(Out):
    id: int
    name: str


class ServicePrice(Out):
    """GET /api/services/: one service with the prices that apply at a point."""

    service_type: str
    vehicle_type: str
    base_fare: float
    per_km: float
    currency: str
    zone: ZoneRef | None
    surge_multiplier: float


class InvoiceLine(Out):
    label: str
    quantity: float
    unit_price: float
    amount: float


class Invoice(Out):
    number: int | str = Field(description="Sequential, without gaps.")
    assistance_id: int
    issued_at: dt.datetime
    currency: str
    lines: list[InvoiceLine]
    subtotal: float
    total: float


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


class ChatMessage(Out):
    id: int
    type: str
    message: str
    sender: int
    sender_id: int
    sender_name: str
    sender_role: str
    sent_at: dt.datetime


class ChatPage(Out):
    """GET /api/assistance/<id>/messages/: newest first; `next_before` pages to older ones."""

    results: list[ChatMessage]
    next_before: int | None


class Track(Out):
    """GET /api/assistance/<id>/track/: a GeoJSON LineString with the job's bounds."""

    type: Literal["LineString"]
    coordinates: list[list[float]] = Field(description="[lng, lat] pairs, oldest first.")
    timestamps: list[dt.datetime]
    assistance_id: int
    assistant_id: int | None
    status: str
    started_at: dt.datetime | None
    ended_at: dt.datetime | None


class Accepted(Out):
    """POST /api/telematics/: the points stored."""

    accepted: int


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


class Zones(Out):
    count: int
    results: list[Zone]


class Services(RootModel[list[ServicePrice]]):
    """GET /api/services/: towing before repair, light before heavy."""


class CostLine(Out):
    id: int
    assistance_id: int
    label: str
    quantity: float
    unit_price: float
    amount: float
    currency: str
    created_at: dt.datetime


class CostLines(Out):
    count: int
    results: list[CostLine]


class DispatchRequests(Out):
    """GET /api/dispatch/requests/: `count` counts every match, `results` holds the page."""

    count: int
    results: list[Assistance]


class FleetAssistant(Out):
    id: int
    name: str
    service_type: str | None
    vehicle_type: str | None
    is_active: bool
    lat: float | None
    lng: float | None
    state: Literal["idle", "offered", "busy", "offline"]
    last_seen: dt.datetime | None
    open_assistance_id: int | None


class FleetAssistants(Out):
    count: int
    results: list[FleetAssistant]

"""Response models written against the contract for the objects other features serve (offers,
zones, services, invoices, bookings, shifts); their routes reference these in `@describe`."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field

from api.schemas.responses import Assistance, Out, Point


class Declined(Out):
    """PATCH /api/assistance/decline/<id>/."""

    assistance_id: int
    declined: bool


class Offer(Out):
    """One offer of a request to an assistant (dispatcher view of a request)."""

    assistant_id: int
    round: int
    distance: float = Field(description="Kilometres from the pickup.")
    sent_at: dt.datetime
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
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon.")
    serviceable: bool
    tariffs: list[Tariff]


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


class Booking(Out):
    """A scheduled request; it becomes an assistance request at `scheduled_for` minus the lead."""

    id: int
    status: str = Field(description="scheduled | dispatched | canceled")
    pickup: Point
    dropoff: Point | None
    service_type: str
    vehicle_type: str
    vehicle_id: int | None = None
    scheduled_for: dt.datetime
    assistance_id: int | None = Field(None, description="Once dispatched.")
    created_at: dt.datetime | None = None


class Shift(Out):
    started_at: dt.datetime
    ended_at: dt.datetime | None
    online_minutes: float
    on_job_minutes: float
    jobs: int

"""Assistance: a request, its list and status changes, rating, declines and its chat page (requests
and responses)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
)

from api.schemas.common import REQUEST_TOTAL_PRICE, Lat, Lng, Out, StoredIn

Status = Literal["requested", "accepted", "ongoing", "completed", "canceled"]
EtaSource = Literal["road", "straight_line"]

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


class AssistanceStatusBody(BaseModel):
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


class Party(Out):
    id: int
    name: str
    phone: str
    phone_number: str


class AssistantParty(Party):
    lat: float | None = Field(description="Only while the job is accepted or ongoing.")
    lng: float | None


class Point(Out):
    lat: float
    lng: float


class PriceLine(Out):
    label: str
    amount: float


class Assistance(Out):
    """The assistance object (superset of both renditions)."""

    id: int
    status: str = Field(description="requested | accepted | ongoing | completed | canceled")
    service_type: str
    vehicle_type: str
    description: str
    client: Party | None
    assistant: AssistantParty | None
    pickup_lat: float
    pickup_lng: float
    dropoff_lat: float | None
    dropoff_lng: float | None
    pickupLocation: Point
    dropoffLocation: Point | None
    distance_km: float
    distance_source: EtaSource = Field(
        "straight_line", description="Which pickup-to-dropoff distance priced the trip."
    )
    eta_s: int | None = Field(
        None, description="While accepted: the assistant's travel time to the pickup, seconds."
    )
    eta_source: EtaSource | None = Field(
        None, description="road (over an imported graph) or straight_line."
    )
    total_price: float | None
    currency: str | None
    surge_multiplier: float | None = None
    price_breakdown: list[PriceLine] | None
    rating: int | None
    comment: str | None = None
    searching: bool | None = Field(None, description="Offer rounds are running.")
    offer_round: int | None = Field(None, description="The round in progress (0 before the first).")
    created_at: dt.datetime
    updated_at: dt.datetime
    createdAt: dt.datetime
    updatedAt: dt.datetime


class NearbyAssistant(Out):
    assistant_id: int
    distance: float = Field(description="Kilometres from the pickup.")
    eta_s: int = Field(description="Travel time to the pickup, seconds.")
    eta_source: EtaSource


class AssistanceCreated(Out):
    assistance: Assistance
    nearby_assistants: list[NearbyAssistant]


class AssistanceList(Out):
    message: str
    Assistance: list[Assistance]


class AssistanceOne(Out):
    message: str
    Assistance: Assistance


class Declined(Out):
    """PATCH /api/assistance/decline/<id>/."""

    assistance_id: int
    declined: bool


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


class MessagesQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    before: int | None = Field(None, ge=1, le=2**63 - 1)
    limit: int = Field(50, ge=1, le=200)

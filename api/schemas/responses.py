"""Response models of the main objects (error, user, session, assistance), for the OpenAPI
document. They describe what the SQL functions and handlers send: extra keys are allowed, so a
field added later does not break a client generated from an older document."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, RootModel


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class Error(Out):
    """The one error shape of every failure (extra keys such as `assistance_id` may join it)."""

    error: str = Field(description="A human sentence.")
    code: str = Field(description="A machine code, e.g. VALIDATION_ERROR, ASSISTANCE_NOT_FOUND.")
    fields: dict[str, list[str]] | None = Field(
        None, description="Validation problems per field (400 VALIDATION_ERROR only)."
    )


class Message(Out):
    message: str


class Listener(Out):
    state: str = Field(description="up | down | off (an app without a listener, in tests)")
    seq: int | None = Field(None, description="the last event seq this process has delivered")
    down_s: float | None = Field(None, description="seconds the listener has been down")


class Health(Out):
    status: str = Field(description="ok | error")
    database: str = Field(description="ok | unavailable")
    listener: Listener


# -- accounts ------------------------------------------------------------------------------


class User(Out):
    """A user as both renditions name it; assistants also carry the licence and vehicle fields."""

    id: int
    email: str | None
    name: str
    phone: str
    phone_number: str
    user_type: str = Field(description="client | assistant | dispatcher")
    role: str
    address: str
    current_lat: float | None
    current_lng: float | None
    email_verified: bool
    phone_verified: bool
    created_at: dt.datetime
    createdAt: dt.datetime
    updated_at: dt.datetime
    updatedAt: dt.datetime
    service_type: str | None = None
    vehicle_type: str | None = None
    is_active_assistant: bool | None = None
    driving_license_cat: str | None = None
    driving_license_num: str | None = None
    driving_license_expiry: dt.date | None = None
    vehicle_registration_num: int | None = None


class UserProfile(User):
    """The user flat (seed 001) and nested under `user` (the apps read `user.name`)."""

    user: User


class AssistantProfile(User):
    assistant: User


class Tokens(Out):
    access: str
    refresh: str


class Session(Out):
    """A login or registration: the contract's {user, tokens}, plus the tokens at the top level."""

    user: User
    tokens: Tokens
    access: str
    refresh: str
    created: bool | None = Field(None, description="Google login only: the account is new.")


class Refreshed(Out):
    access: str
    access_token: str
    refresh: str


class Position(Out):
    user_id: int
    lat: float
    lng: float
    latitude: float
    longitude: float
    current_lat: float
    current_lng: float
    h3_cell: str = Field(description="H3 resolution-9 cell, hexadecimal.")
    updated_at: dt.datetime
    updatedAt: dt.datetime


class ActiveState(Out):
    is_active: bool
    is_active_assistant: bool


class ActiveAssistant(Out):
    id: int
    assistant_id: int
    name: str
    service_type: str
    vehicle_type: str
    is_active_assistant: bool
    current_lat: float
    current_lng: float
    lat: float
    lng: float
    distance: float | None = Field(description="Kilometres from the origin.")
    position_updated_at: dt.datetime | None


class ActiveAssistants(RootModel[list[ActiveAssistant]]):
    """Active assistants, nearest first."""


# -- assistance ----------------------------------------------------------------------------


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


class AssistanceCreated(Out):
    assistance: Assistance
    nearby_assistants: list[NearbyAssistant]


class AssistanceList(Out):
    message: str
    Assistance: list[Assistance]


class AssistanceOne(Out):
    message: str
    Assistance: Assistance

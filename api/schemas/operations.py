"""Operations: the dispatchers' queries and actions (/api/dispatch/...) and what they answer (a
request with its offers and timeline, the fleet)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from api.schemas.assistance import Assistance, EtaSource
from api.schemas.common import IsoDateTime, Out

MAX_REASON = 500

MAX_STATUSES = 5

Status = Literal["requested", "accepted", "ongoing", "completed", "canceled"]


def parse_bbox(raw: str | None) -> list[float] | None:
    """`minLng,minLat,maxLng,maxLat` as four floats in range and in order; ValueError otherwise."""
    if raw is None:
        return None
    parts = raw.split(",")
    if len(parts) != 4:
        raise ValueError("Must be minLng,minLat,maxLng,maxLat.")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError("Must be four numbers: minLng,minLat,maxLng,maxLat.") from None
    check_bbox(values)
    return values


def check_bbox(values: list[float]) -> None:
    min_lng, min_lat, max_lng, max_lat = values
    if not all(math.isfinite(v) for v in values):
        raise ValueError("Coordinates must be finite numbers.")
    if not (-180 <= min_lng <= 180 and -180 <= max_lng <= 180):
        raise ValueError("Longitudes must be between -180 and 180.")
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise ValueError("Latitudes must be between -90 and 90.")
    if min_lng > max_lng or min_lat > max_lat:
        raise ValueError("The minimum must not exceed the maximum.")


class RequestsQuery(BaseModel):
    # Query strings are text: numbers and booleans are parsed from them (lax mode).
    model_config = ConfigDict(extra="ignore")

    status: str | None = None
    searching: bool | None = None
    since: IsoDateTime | None = None
    bbox: str | None = None
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: str | None) -> str | None:
        if value is None:
            return None
        items = [v.strip() for v in value.split(",") if v.strip()]
        allowed = ("requested", "accepted", "ongoing", "completed", "canceled")
        if not items or len(items) > MAX_STATUSES or any(v not in allowed for v in items):
            raise ValueError(f"Must be one or more of {', '.join(allowed)}, comma-separated.")
        return ",".join(items)

    @field_validator("bbox")
    @classmethod
    def _bbox(cls, value: str | None) -> str | None:
        parse_bbox(value)
        return value

    def statuses(self) -> list[str] | None:
        return self.status.split(",") if self.status else None

    def area(self) -> list[float] | None:
        return parse_bbox(self.bbox)


class DispatcherAssistantsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    state: Literal["idle", "offered", "busy", "offline"] | None = None
    service_type: Literal["towing", "repair"] | None = None
    bbox: str | None = None
    limit: int = Field(200, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000)

    @field_validator("bbox")
    @classmethod
    def _bbox(cls, value: str | None) -> str | None:
        parse_bbox(value)
        return value

    def area(self) -> list[float] | None:
        return parse_bbox(self.bbox)


class AssignBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    assistant_id: int = Field(ge=1, le=2**63 - 1)
    reason: str | None = Field(None, max_length=MAX_REASON)


class ReassignBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    assistant_id: int = Field(ge=1, le=2**63 - 1)
    reason: str = Field(max_length=MAX_REASON)

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Must not be blank.")
        return value


class CancelBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    reason: str = Field(max_length=MAX_REASON)

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Must not be blank.")
        return value


class Offer(Out):
    """One offer of a request to an assistant (dispatcher view of a request)."""

    assistant_id: int
    assistant_name: str | None = None
    round: int
    distance: float = Field(description="Kilometres from the pickup.")
    eta_s: int | None = Field(None, description="Travel time to the pickup when offered, seconds.")
    eta_source: EtaSource | None = None
    sent_at: dt.datetime
    expires_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    state: Literal["open", "declined", "expired", "withdrawn", "accepted"]


class Candidate(Out):
    """An assistant who could take a searching request now (the first is the suggestion)."""

    assistant_id: int
    assistant_name: str | None = None
    distance: float = Field(description="Kilometres from the pickup.")
    eta_s: int = Field(description="Travel time to the pickup, seconds.")
    eta_source: EtaSource


class BatchAlternative(Out):
    """Another candidate of the request in that batch, and which request it went to instead."""

    assistant_id: int
    cost_s: float = Field(description="Travel time to the pickup, seconds.")
    eta_source: EtaSource
    went_to: int | None = Field(
        None, description="The request of the batch this assistant was offered (none: null)."
    )


class BatchDecision(Out):
    """One assignment batch's decision for the request (offer_policy assignment)."""

    batch_id: int
    at: dt.datetime
    outcome: Literal["offered", "unmatched", "no_candidate", "fell_back"]
    assistant_id: int | None = Field(None, description="Who was offered it (exclusively).")
    cost_s: float | None = Field(None, description="That pair's travel time, seconds.")
    eta_source: EtaSource | None = None
    candidates: int = Field(description="Candidate assistants within the cost cap.")
    nearest_id: int | None = Field(None, description="The cheapest candidate (the greedy pick).")
    nearest_cost_s: float | None = None
    batch_requests: int
    batch_matched: int
    alternatives: list[BatchAlternative]


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
    batches: list[BatchDecision] = Field(
        default_factory=list,
        description="Under offer_policy assignment: each batch that considered the request, "
        "oldest first, with its decision and the alternatives (dispatch.request_batches).",
    )
    candidates: list[Candidate] = Field(
        default_factory=list,
        description="While requested: available assistants soonest first, by road time where a "
        "graph covers the pickup (the offer rounds' ranking, offered before or not).",
    )


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


class RoadsQuery(BaseModel):
    """GET /api/dispatch/roads/: the view's box (required) and the map's zoom."""

    model_config = ConfigDict(extra="ignore")

    bbox: str
    zoom: int = Field(14, ge=0, le=22)
    limit: int = Field(4000, ge=1, le=20000)

    @field_validator("bbox")
    @classmethod
    def _bbox(cls, value: str) -> str:
        values = parse_bbox(value)
        assert values is not None
        if (values[2] - values[0]) * (values[3] - values[1]) > MAX_ROADS_BOX_DEG2:
            raise ValueError(f"The box may cover at most {MAX_ROADS_BOX_DEG2} square degrees.")
        return value

    def area(self) -> list[float]:
        values = parse_bbox(self.bbox)
        assert values is not None
        return values


# About a 100 km square at mid latitudes: the console asks for the view, never a continent.
MAX_ROADS_BOX_DEG2 = 1.0


class RoadNetwork(Out):
    """A GeoJSON FeatureCollection of road lines (© OpenStreetMap contributors)."""

    type: Literal["FeatureCollection"]
    features: list[dict[str, object]]
    truncated: bool = Field(description="More edges matched than `limit`: the busiest are kept.")
    attribution: str


class DemandQuery(BaseModel):
    """GET /api/dispatch/demand/: H3 resolution and how many UTC days back."""

    model_config = ConfigDict(extra="ignore")

    resolution: int = Field(8, ge=7, le=8)
    days: int = Field(1, ge=0, le=31)


class DemandCells(Out):
    """A GeoJSON FeatureCollection of H3 cells with the analysts' heatmap figures."""

    type: Literal["FeatureCollection"]
    features: list[dict[str, object]]


class DispatcherMessageBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    message: str = Field(max_length=2000)

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Must not be blank.")
        return value.strip()

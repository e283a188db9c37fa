"""Positions over time: telematics batches in, a job's track out (requests and responses)."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
)

from api.schemas.common import IsoDateTime, Lat, Lng, Out

MAX_TELEMATICS_POINTS = 1000


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

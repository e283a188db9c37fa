"""The service's own answers: health and its event listener."""

from __future__ import annotations

from pydantic import (
    Field,
)

from api.schemas.common import Out


class Listener(Out):
    state: str = Field(description="up | down | off (an app without a listener, in tests)")
    seq: int | None = Field(None, description="the last event seq this process has delivered")
    down_s: float | None = Field(None, description="seconds the listener has been down")


class Health(Out):
    status: str = Field(description="ok | error")
    database: str = Field(
        description="ok | unavailable | failing_over (a multi-host DATABASE_URL with no primary reachable)"
    )
    listener: Listener

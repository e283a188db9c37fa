"""The domain's exception hierarchy and the one map from SQLSTATEs and constraints to it."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson


class DispatchError(Exception):
    """An error meant for the client: an HTTP status, a machine code and a human sentence."""

    status = 400
    code = "BAD_REQUEST"
    message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        if code:
            self.code = code
        self.fields = fields
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.message, "code": self.code}
        if self.fields:
            out["fields"] = self.fields
        out.update(self.extra)
        return out


class ValidationError(DispatchError):
    status = 400
    code = "VALIDATION_ERROR"
    message = "The request is invalid."


class AuthenticationError(DispatchError):
    status = 401
    code = "NOT_AUTHENTICATED"
    message = "Authentication credentials are missing or invalid."


class PermissionDenied(DispatchError):
    status = 403
    code = "PERMISSION_DENIED"
    message = "You do not have permission to perform this action."


class NotFound(DispatchError):
    status = 404
    code = "NOT_FOUND"
    message = "Not found."


class Conflict(DispatchError):
    status = 409
    code = "CONFLICT"
    message = "The request conflicts with the current state."


class RateLimited(DispatchError):
    status = 429
    code = "RATE_LIMITED"
    message = "Too many requests; try again later."


class ServiceUnavailable(DispatchError):
    status = 503
    code = "SERVICE_UNAVAILABLE"
    message = "The service is temporarily unavailable."


# The project's own SQLSTATEs (class DP), raised by SQL functions with RAISE ... USING ERRCODE.
# Documented in docs/sql.md (the SQLSTATE tables); map them here and nowhere else.
SQLSTATES: dict[str, tuple[type[DispatchError], str]] = {}

# Named constraints whose violation is a client-visible conflict or validation problem.
CONSTRAINTS: dict[str, tuple[type[DispatchError], str, str]] = {}


def register_sqlstate(sqlstate: str, exc: type[DispatchError], code: str) -> None:
    SQLSTATES[sqlstate] = (exc, code)


def register_constraint(name: str, exc: type[DispatchError], code: str, message: str) -> None:
    CONSTRAINTS[name] = (exc, code, message)


def from_postgres(exc: asyncpg.PostgresError) -> DispatchError | None:
    """The client-facing error for a database error, or None when it is unexpected (a 500)."""
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate in SQLSTATES:
        cls, code = SQLSTATES[sqlstate]
        # Messages of DP-class errors are written for clients by our own SQL functions, and so is
        # a DETAIL holding a JSON object (e.g. {"assistance_id": 7}): it joins the error body.
        return cls(getattr(exc, "message", None) or None, code=code, extra=_detail(exc))
    constraint = getattr(exc, "constraint_name", None)
    if constraint in CONSTRAINTS:
        cls, code, message = CONSTRAINTS[constraint]
        return cls(message, code=code)
    return None


def _detail(exc: asyncpg.PostgresError) -> dict[str, Any] | None:
    detail = getattr(exc, "detail", None)
    if not detail or not detail.startswith("{"):
        return None
    try:
        value = orjson.loads(detail)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


# The dispatch core (sql/functions/lifecycle.sql, pricing.sql): the SQLSTATE table of docs/sql.md.
register_sqlstate("DP001", NotFound, "ASSISTANCE_NOT_FOUND")
register_sqlstate("DP002", Conflict, "OPEN_REQUEST_EXISTS")
register_sqlstate("DP003", Conflict, "ALREADY_ACCEPTED")
register_sqlstate("DP004", Conflict, "ASSISTANT_BUSY")
register_sqlstate("DP005", Conflict, "ASSISTANT_UNAVAILABLE")
register_sqlstate("DP006", Conflict, "ASSISTANCE_FINAL")
register_sqlstate("DP007", Conflict, "INVALID_TRANSITION")
register_sqlstate("DP008", PermissionDenied, "TRANSITION_FORBIDDEN")
register_sqlstate("DP009", ValidationError, "INVALID_VALUE")
register_sqlstate("DP010", Conflict, "NOT_COMPLETED")
register_sqlstate("DP011", Conflict, "ALREADY_RATED")
register_sqlstate("DP012", Conflict, "IDEMPOTENCY_KEY_REUSED")
register_sqlstate("DP013", Conflict, "OFFER_FINAL")  # sql/functions/offers_answers.sql
# Offer rounds (sql/functions/offers.sql, accept in lifecycle.sql): refusals reveal nothing.
register_sqlstate("DP014", Conflict, "NOT_OFFERED")
register_sqlstate("DP015", Conflict, "OFFER_EXPIRED")
register_sqlstate("DP016", Conflict, "OFFER_DECLINED")
register_sqlstate("DP017", NotFound, "OFFER_NOT_FOUND")
# Dispatchers and analysts (sql/functions/ops_dispatch.sql, ops_analytics.sql).
register_sqlstate("DP045", NotFound, "ASSISTANT_NOT_FOUND")
register_sqlstate("DP046", PermissionDenied, "DISPATCHER_ONLY")
register_sqlstate("DP047", Conflict, "ALREADY_ASSIGNED")
register_sqlstate("DP048", ValidationError, "INVALID_RESOLUTION")
# Time (sql/functions/time_*.sql): bookings and telematics.
register_sqlstate("DP030", ValidationError, "INVALID_SCHEDULE")
register_sqlstate("DP031", NotFound, "VEHICLE_NOT_FOUND")
register_sqlstate("DP032", NotFound, "BOOKING_NOT_FOUND")
register_sqlstate("DP033", Conflict, "BOOKING_FINAL")
register_sqlstate("DP034", ValidationError, "POINTS_TOO_OLD")
# Real time (sql/functions/realtime.sql): a chat beyond the sender's bucket, shared by every process.
register_sqlstate("DPC01", RateLimited, "CHAT_RATE_LIMITED")
# The same rules as constraints, for writers that bypass the functions or race past their checks.
register_constraint(
    "assistance_one_open_per_client",
    Conflict,
    "OPEN_REQUEST_EXISTS",
    "You already have an open assistance request.",
)
register_constraint(
    "assistance_one_open_per_assistant",
    Conflict,
    "ASSISTANT_BUSY",
    "You already have an open job.",
)
register_constraint(
    "assistance_requests_idempotency_key",
    Conflict,
    "IDEMPOTENCY_KEY_REUSED",
    "A request with this Idempotency-Key is being processed; retry it.",
)
register_constraint("ratings_pkey", Conflict, "ALREADY_RATED", "This assistance was already rated.")

# Fleet, services and money (issue 12: sql/functions/vehicles.sql, zones.sql, money.sql).
register_sqlstate("DP020", Conflict, "OUT_OF_SERVICE_AREA")
register_sqlstate("DP021", NotFound, "VEHICLE_NOT_FOUND")
register_sqlstate("DP022", ValidationError, "INVALID_GEOMETRY")
register_sqlstate("DP023", NotFound, "ZONE_NOT_FOUND")
register_sqlstate("DP024", Conflict, "NOT_ONGOING")
register_sqlstate("DP025", Conflict, "VEHICLE_IN_USE")  # issue 23 D18
# Bounds that keep a job's invoice within its columns (issue 23 D4).
register_sqlstate("DP026", Conflict, "TOO_MANY_COST_LINES")
register_sqlstate("DP027", Conflict, "INVOICE_LIMIT_EXCEEDED")
register_sqlstate("DP028", NotFound, "COST_LINE_NOT_FOUND")
register_sqlstate("DP029", Conflict, "QUOTE_LIMIT_EXCEEDED")
register_constraint(
    "vehicles_owner_plate_key",
    Conflict,
    "VEHICLE_EXISTS",
    "You already registered a vehicle with this licence plate.",
)
register_constraint(
    "service_zones_name_key", Conflict, "ZONE_NAME_TAKEN", "A service zone has this name already."
)
# A booking made with a vehicle deleted meanwhile (dispatch.delete_vehicle won the race).
register_constraint("bookings_vehicle_fkey", NotFound, "VEHICLE_NOT_FOUND", "Vehicle not found.")

"""The domain's exception hierarchy and the one map from SQLSTATEs and constraints to it."""

from __future__ import annotations

from typing import Any

import asyncpg


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
# Documented in the README ("SQL API"); map them here and nowhere else.
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
        # Messages of DP-class errors are written for clients by our own SQL functions.
        return cls(getattr(exc, "message", None) or None, code=code)
    constraint = getattr(exc, "constraint_name", None)
    if constraint in CONSTRAINTS:
        cls, code, message = CONSTRAINTS[constraint]
        return cls(message, code=code)
    return None

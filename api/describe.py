"""What each handler declares for the OpenAPI document: models, roles, statuses (`@describe`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

H = TypeVar("H", bound=Callable[[web.Request], Awaitable[web.StreamResponse]])

ATTRIBUTE = "__operation__"

PUBLIC: tuple[str, ...] | None = None  # no token needed
ANY_ROLE: tuple[str, ...] = ()  # any authenticated user


@dataclass(frozen=True)
class Header:
    """A request header the operation reads."""

    name: str
    description: str
    max_length: int = 255


@dataclass(frozen=True)
class Channel:
    """A WebSocket channel: who may join and the frames each side sends (type → fields)."""

    server_frames: Mapping[str, str]
    client_frames: Mapping[str, str]


@dataclass(frozen=True)
class Operation:
    """One route's description. `roles`: PUBLIC (None), ANY_ROLE (()) or the roles allowed.
    `errors`: statuses beyond those implied (401 with roles, 403 with a role list, 404 with a
    path parameter, 400 with a body or query, 413 with a body), each with its machine codes."""

    summary: str
    roles: tuple[str, ...] | None
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: Mapping[int, str] = field(default_factory=dict)
    headers: tuple[Header, ...] = ()
    description: str = ""
    channel: Channel | None = None
    content_type: str = "application/json"  # of the success response
    # Answers other than the success and the error shape: status → (description, model).
    responses: Mapping[int, tuple[str, type[BaseModel]]] = field(default_factory=dict)
    # JSON schemas of path parameters that are not ids (an id is a positive int64 by default).
    path: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def describe(
    summary: str,
    *,
    roles: tuple[str, ...] | None,
    tag: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    errors: Mapping[int, str] | None = None,
    headers: tuple[Header, ...] = (),
    description: str = "",
    channel: Channel | None = None,
    content_type: str = "application/json",
    path: Mapping[str, Mapping[str, Any]] | None = None,
    responses: Mapping[int, tuple[str, type[BaseModel]]] | None = None,
) -> Callable[[H], H]:
    """Attach the operation's description to a handler; the generator reads it off the router."""
    operation = Operation(
        summary=summary,
        roles=roles,
        tag=tag,
        body=body,
        query=query,
        response=response,
        status=status,
        errors=dict(errors or {}),
        headers=headers,
        description=description,
        channel=channel,
        content_type=content_type,
        path=dict(path or {}),
        responses=dict(responses or {}),
    )

    def attach(handler: H) -> H:
        setattr(handler, ATTRIBUTE, operation)
        return handler

    return attach


def operation_of(handler: object) -> Operation | None:
    found = getattr(handler, ATTRIBUTE, None)
    return found if isinstance(found, Operation) else None

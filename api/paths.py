"""Ids in paths: every handler and channel reads its `{id}` here, through the one parser."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from dispatch.core.errors import DispatchError, NotFound
from dispatch.core.ids import parse_id


def path_id(
    request: web.Request,
    not_found: Callable[[], DispatchError] = NotFound,
    *,
    name: str = "id",
) -> int:
    """The id in the path variable `name` (ASCII digits naming a positive bigint:
    dispatch/core/ids.py); anything else (other scripts' digits, an overflow, a word) raises
    `not_found()`, the resource's 404."""
    value = parse_id(request.match_info[name])
    if value is None:
        raise not_found()
    return value

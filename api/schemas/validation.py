"""Turn pydantic validation errors into the contract's 400 with `fields`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import pydantic
from aiohttp import web

from api.jsonsafe import has_nul
from api.responses import read_json
from dispatch.core.errors import ValidationError

M = TypeVar("M", bound=pydantic.BaseModel)

_MESSAGES = {
    "missing": "This field is required.",
    "string_type": "Must be a string.",
    "bool_type": "Must be true or false.",
    "float_type": "Must be a number.",
    "int_type": "Must be an integer.",
    "int_parsing": "Must be an integer.",
    "float_parsing": "Must be a number.",
}

# Error types whose problems have a code of their own (a custom error raised by a field type),
# used when every problem of a request is of that type.
_CODES = {"invalid_geometry": "INVALID_GEOMETRY"}


def code_of(exc: pydantic.ValidationError) -> str | None:
    codes = {_CODES.get(error["type"]) for error in exc.errors(include_url=False)}
    return codes.pop() if len(codes) == 1 else None


def fields_of(exc: pydantic.ValidationError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = error.get("loc") or ()
        name = ".".join(str(part) for part in loc) or "non_field_errors"
        message = _MESSAGES.get(error["type"]) or str(error["msg"]).removeprefix("Value error, ")
        if not message.endswith("."):
            message += "."
        fields.setdefault(name, []).append(message)
    return fields


def parse(model: type[M], data: Mapping[str, Any]) -> M:
    """The validated model; 400 VALIDATION_ERROR naming every problem otherwise. Models may add
    cross-field problems through a `problems()` method."""
    # Postgres text cannot hold NUL characters: refuse them here rather than fail in the database.
    nul = [str(key) for key, value in data.items() if has_nul(key) or has_nul(value)]
    if nul:
        raise ValidationError(fields={key: ["Must not contain NUL characters."] for key in nul})
    try:
        value = model.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        raise ValidationError(fields=fields_of(exc), code=code_of(exc)) from None
    problems = getattr(value, "problems", None)
    if callable(problems):
        found: dict[str, list[str]] = problems()
        if found:
            raise ValidationError(fields=found)
    return value


async def body(request: web.Request, model: type[M]) -> M:
    return parse(model, await read_json(request))

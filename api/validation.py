"""Request validation with pydantic models, mapped to the contract's 400 `fields` shape."""

from __future__ import annotations

from typing import Any, TypeVar

import pydantic

from dispatch.errors import ValidationError

M = TypeVar("M", bound=pydantic.BaseModel)


def parse(model: type[M], data: Any) -> M:
    """`data` validated as `model`; 400 VALIDATION_ERROR with a problem list per field otherwise."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        fields: dict[str, list[str]] = {}
        for error in exc.errors(include_url=False, include_context=False, include_input=False):
            name = ".".join(str(part) for part in error["loc"]) or "non_field_errors"
            fields.setdefault(name, []).append(error["msg"])
        raise ValidationError("The request is invalid.", fields=fields) from None

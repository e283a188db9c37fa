"""Field types shared by every request schema."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# Coordinates are JSON numbers (never strings or booleans), in range and finite.
Lat = Annotated[float, Field(strict=True, ge=-90, le=90, allow_inf_nan=False)]
Lng = Annotated[float, Field(strict=True, ge=-180, le=180, allow_inf_nan=False)]

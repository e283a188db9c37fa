"""Field types shared by every request schema: coordinates, date-times and dates, and the numbers
stored in `numeric` columns (each bound checked against its column)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_FLOOR, Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    PlainValidator,
    WithJsonSchema,
)
from pydantic_core import core_schema

# Coordinates are JSON numbers (never strings or booleans), in range and finite.
Lat = Annotated[float, Field(strict=True, ge=-90, le=90, allow_inf_nan=False)]

Lng = Annotated[float, Field(strict=True, ge=-180, le=180, allow_inf_nan=False)]

# --- Date-times and dates -------------------------------------------------------------------
# Every date-time a client sends (bodies and query strings) goes through parse_date_time, and
# every date through parse_date: one grammar and one range for the whole API. The range keeps
# far from every edge on the way to the database: Python's years 1..9999 (an offset can push a
# valid-looking 0001-01-01 or 9999-12-31 out of them), asyncpg's ±infinity sentinels (0001-01-01
# and 9999-12-31 exactly) and PostgreSQL date arithmetic.
FIRST_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)

END_INSTANT = datetime(9999, 1, 1, tzinfo=UTC)  # excluded

FIRST_DATE = FIRST_INSTANT.date()

LAST_DATE = (END_INSTANT - timedelta(days=1)).date()  # its 24 UTC hours end at END_INSTANT

# ISO 8601 extended format with a zone (RFC 3339; seconds optional, a space allowed for the T as
# RFC 3339 allows): ASCII digits only, as \d would also match other scripts' digits.
_DATE_TIME = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,9}))?)?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<off_h>[0-9]{2}):?(?P<off_m>[0-9]{2}))"
)

_DATE = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})")

# The same grammars for the OpenAPI document (JSON Schema patterns: no named groups).
DATE_TIME_PATTERN = re.sub(r"\?P<\w+>", "?:", _DATE_TIME.pattern)

DATE_PATTERN = re.sub(r"\?P<\w+>", "?:", _DATE.pattern)

_DATE_TIME_FORMAT = (
    "Must be an ISO 8601 date-time string with a zone (Z or an offset), "
    "e.g. 2030-01-31T08:30:00Z or 2030-01-31T09:30:00+01:00."
)

DATE_FORMAT = "Must be a date as YYYY-MM-DD."

DATE_TIME_RANGE = (
    f"Must be between {FIRST_INSTANT:%Y-%m-%dT%H:%M:%SZ} and "
    f"{END_INSTANT - timedelta(microseconds=1):%Y-%m-%dT%H:%M:%S.%fZ} in UTC."
)

DATE_RANGE = f"Must be from {FIRST_DATE} to {LAST_DATE}."


def parse_date_time(value: Any) -> datetime:
    """An aware UTC datetime from an ISO 8601 string with a zone; ValueError for anything else
    (numbers and numeric strings, naive times, dates alone) and for instants out of range."""
    match = _DATE_TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(_DATE_TIME_FORMAT)
    parts = match.groupdict()
    try:
        day = date.fromisoformat(parts["date"])
        offset = timedelta(hours=int(parts["off_h"] or 0), minutes=int(parts["off_m"] or 0)) * (
            -1 if parts["sign"] == "-" else 1
        )
        local = datetime(
            day.year,
            day.month,
            day.day,
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"] or 0),
            int((parts["fraction"] or "0").ljust(6, "0")[:6]),  # microseconds, truncated
            tzinfo=timezone(offset),
        )
    except ValueError:  # a month 13, an hour 24, an offset of 24 hours or more
        raise ValueError(_DATE_TIME_FORMAT) from None
    try:
        instant = local.astimezone(UTC)
    except OverflowError:  # before year 1 or after year 9999 in UTC
        raise ValueError(DATE_TIME_RANGE) from None
    if not FIRST_INSTANT <= instant < END_INSTANT:
        raise ValueError(DATE_TIME_RANGE)
    return instant


def parse_date(value: Any) -> date:
    """A calendar date from `YYYY-MM-DD` whose 24 UTC hours are all date-times the API accepts."""
    match = _DATE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(DATE_FORMAT)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError(DATE_FORMAT) from None
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(DATE_RANGE)
    return day


DATE_TIME_SCHEMA: dict[str, Any] = {
    "type": "string",
    "format": "date-time",
    "pattern": f"^{DATE_TIME_PATTERN}$",
    "description": "ISO 8601 with a zone (Z or an offset); numbers and naive times are refused. "
    + DATE_TIME_RANGE,
}

DATE_SCHEMA: dict[str, Any] = {
    "type": "string",
    "format": "date",
    "pattern": f"^{DATE_PATTERN}$",
    "description": DATE_RANGE,
}

# The one date-time type of request bodies and query strings (always UTC once parsed).
IsoDateTime = Annotated[datetime, PlainValidator(parse_date_time), WithJsonSchema(DATE_TIME_SCHEMA)]

# The one date type (a UTC calendar day).
IsoDate = Annotated[date, PlainValidator(parse_date), WithJsonSchema(DATE_SCHEMA)]


# --- Numbers stored in numeric columns ------------------------------------------------------
# A bound that the column cannot hold turns a 201 into a 500 later (issue 23 D4: a cost line of
# 1e6 x 1e7 overflowed the invoice's numeric(14, 4) at every completion). Each request number is
# declared with the column it is stored in; tests/money/test_numeric_bounds.py compares the columns
# with information_schema and each field's bounds with its column.
@dataclass(frozen=True)
class NumericColumn:
    """A `numeric(precision, scale)` column of schema `dispatch` (tests compare each declared
    column with information_schema, so a migration changing one fails until this follows)."""

    table: str
    column: str
    precision: int
    scale: int

    @property
    def largest(self) -> Decimal:
        """The largest value the column holds (numeric(14, 4): 9999999999.9999)."""
        return Decimal(10) ** (self.precision - self.scale) - Decimal(10) ** -self.scale

    @property
    def largest_whole(self) -> Decimal:
        """The largest integer the column holds: an amount up to it, rounded to any currency's
        minor unit, still fits."""
        return self.largest.to_integral_value(rounding=ROUND_FLOOR)


COST_LINE_QUANTITY = NumericColumn("cost_lines", "quantity", 12, 3)

COST_LINE_UNIT_PRICE = NumericColumn("cost_lines", "unit_price", 14, 4)

INVOICE_LINE_AMOUNT = NumericColumn("invoice_lines", "amount", 14, 4)

INVOICE_TOTAL = NumericColumn("invoices", "total", 14, 4)

ZONE_BASE_FARE = NumericColumn("zone_tariffs", "base_fare", 12, 2)

ZONE_PER_KM = NumericColumn("zone_tariffs", "per_km", 12, 2)

REQUEST_TOTAL_PRICE = NumericColumn("assistance_requests", "total_price", 12, 2)

NUMERIC_COLUMNS = (
    COST_LINE_QUANTITY,
    COST_LINE_UNIT_PRICE,
    INVOICE_LINE_AMOUNT,
    INVOICE_TOTAL,
    ZONE_BASE_FARE,
    ZONE_PER_KM,
    REQUEST_TOTAL_PRICE,
)


def exact(value: float) -> Decimal:
    """A JSON number as the exact decimal it was written as (money never passes a float sum)."""
    return Decimal(str(value))


@dataclass(frozen=True)
class StoredIn:
    """Field metadata: the number is stored in `column`. With `places`, more decimal places than
    that are refused (None: the database rounds to the column's scale). The field's own bounds
    (`Field(le=...)`) must fit the column, which tests/money/test_numeric_bounds.py checks for every
    request schema."""

    column: NumericColumn
    places: int | None = None

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        schema = handler(source)
        if self.places is None:
            return schema
        return core_schema.no_info_after_validator_function(self._places, schema)

    def _places(self, value: float) -> float:
        exponent = exact(value).as_tuple().exponent
        if isinstance(exponent, int) and exponent < -(self.places or 0):
            raise ValueError(f"At most {self.places} decimal places.")
        return value


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class Error(Out):
    """The one error shape of every failure (extra keys such as `assistance_id` may join it)."""

    error: str = Field(description="A human sentence.")
    code: str = Field(description="A machine code, e.g. VALIDATION_ERROR, ASSISTANCE_NOT_FOUND.")
    fields: dict[str, list[str]] | None = Field(
        None, description="Validation problems per field (400 VALIDATION_ERROR only)."
    )


class Message(Out):
    message: str


MAX_MONEY = 10_000_000

"""One bound per numeric column (issue 23 D4): every number a request schema stores in a `numeric`
column is declared with that column, its bounds fit it, and the declared columns are the
database's own (information_schema), so a migration and a schema cannot drift apart."""

from __future__ import annotations

import typing
from decimal import Decimal
from typing import Any

import annotated_types
import pydantic
import pytest

from api.app import create_app
from api.openapi import described_routes
from api.schemas.common import MAX_MONEY, NUMERIC_COLUMNS, NumericColumn, StoredIn
from api.schemas.money import MAX_LINE_AMOUNT, MAX_QUANTITY

# Request numbers stored in floating-point columns (double precision, real) or not stored at all:
# coordinates, a fix's speed and heading, a search radius. Any other number must name its column.
FLOAT_FIELDS = {"lat", "lng", "speed", "heading", "current_lat", "current_lng", "radius_km"}


@pytest.mark.parametrize("column", NUMERIC_COLUMNS, ids=lambda c: f"{c.table}.{c.column}")
async def test_declared_columns_are_the_databases(conn, column: NumericColumn):
    row = await conn.fetchrow(
        """
        SELECT data_type, numeric_precision, numeric_scale FROM information_schema.columns
        WHERE table_schema = 'dispatch' AND table_name = $1 AND column_name = $2
        """,
        column.table,
        column.column,
    )
    assert row is not None, "no such column"
    assert (row["data_type"], row["numeric_precision"], row["numeric_scale"]) == (
        "numeric",
        column.precision,
        column.scale,
    )
    # The SQL functions read the same bound from the column's type.
    largest = await conn.fetchval(
        "SELECT dispatch.numeric_max($1::regclass, $2)", f"dispatch.{column.table}", column.column
    )
    assert largest == column.largest


def _models() -> list[type[pydantic.BaseModel]]:
    """Every model that validates a request body or query string, nested ones included."""
    from dispatch.core.config import Settings

    operations, _ = described_routes(create_app(Settings.from_env(), db_url="unused"))
    found: dict[type[pydantic.BaseModel], None] = {}

    def walk(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
            if annotation not in found:
                found[annotation] = None
                for field in annotation.model_fields.values():
                    walk(field.annotation)
        for arg in typing.get_args(annotation):
            walk(arg)

    for _, _, op in operations:
        for model in (op.body, op.query):
            walk(model)
    return sorted(found, key=lambda m: m.__name__)


def _numbers(annotation: Any) -> bool:
    return annotation in (float, Decimal) or any(_numbers(a) for a in typing.get_args(annotation))


def _metadata(field: pydantic.fields.FieldInfo) -> list[Any]:
    """The field's own constraints and those inside `X | None`."""
    found = list(field.metadata)
    for arg in typing.get_args(field.annotation):
        found += pydantic.fields.FieldInfo.from_annotation(arg).metadata
    return found


def test_every_request_number_fits_its_column():
    checked = []
    for model in _models():
        for name, field in model.model_fields.items():
            if not _numbers(field.annotation):
                continue
            meta = _metadata(field)
            stored = [m for m in meta if isinstance(m, StoredIn)]
            if name in FLOAT_FIELDS:
                assert not stored, (model.__name__, name)
                continue
            assert stored, f"{model.__name__}.{name}: a number without its column (StoredIn)"
            column = stored[0].column
            upper = [m.le for m in meta if isinstance(m, annotated_types.Le)]
            upper += [m.lt for m in meta if isinstance(m, annotated_types.Lt)]
            lower = [m.ge for m in meta if isinstance(m, annotated_types.Ge)]
            lower += [m.gt for m in meta if isinstance(m, annotated_types.Gt)]
            assert upper and lower, f"{model.__name__}.{name}: unbounded"
            assert Decimal(str(max(upper))) <= column.largest, (model.__name__, name)
            assert Decimal(str(min(lower))) >= -column.largest, (model.__name__, name)
            places = stored[0].places
            assert places is None or places <= column.scale, (model.__name__, name)
            checked.append(f"{model.__name__}.{name}")
    assert {
        "CostLineBody.quantity",
        "CostLineBody.unit_price",
        "ZoneTariff.base_fare",
        "ZoneTariff.per_km",
        "AssistanceStatusBody.total_price",
    } <= set(checked)


def test_a_lines_amount_fits_the_invoice():
    """quantity x unit_price is bounded so that, rounded to any currency's minor unit (0 to 4
    places), it fits invoice_lines.amount; the running total is checked in SQL."""
    from api.schemas.common import INVOICE_LINE_AMOUNT

    assert MAX_LINE_AMOUNT <= INVOICE_LINE_AMOUNT.largest
    assert MAX_LINE_AMOUNT == MAX_LINE_AMOUNT.to_integral_value()
    assert MAX_QUANTITY * MAX_MONEY > MAX_LINE_AMOUNT, "so the product needs its own bound"

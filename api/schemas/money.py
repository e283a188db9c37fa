"""Money: cost lines (bounded by the columns that store them) and invoices (requests and responses)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from api.schemas.common import (
    COST_LINE_QUANTITY,
    COST_LINE_UNIT_PRICE,
    INVOICE_LINE_AMOUNT,
    MAX_MONEY,
    Out,
    StoredIn,
    exact,
)

MAX_QUANTITY = 1_000_000

# quantity x unit_price is an invoice line's amount: it must fit invoice_lines.amount once rounded.
MAX_LINE_AMOUNT = INVOICE_LINE_AMOUNT.largest_whole


class CostLineBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    label: str = Field(min_length=1, max_length=200)
    quantity: Annotated[
        float,
        Field(gt=0, le=MAX_QUANTITY, allow_inf_nan=False),
        StoredIn(COST_LINE_QUANTITY, places=3),
    ] = 1.0
    unit_price: Annotated[
        float,
        Field(ge=0, le=MAX_MONEY, allow_inf_nan=False),
        StoredIn(COST_LINE_UNIT_PRICE, places=4),
    ]

    def problems(self) -> dict[str, list[str]]:
        quantity, unit_price = self.exact()
        if quantity * unit_price > MAX_LINE_AMOUNT:
            return {"unit_price": [f"quantity times unit_price must be at most {MAX_LINE_AMOUNT}."]}
        return {}

    def exact(self) -> tuple[Decimal, Decimal]:
        """(quantity, unit_price) as exact decimals: money never passes through a float sum."""
        return exact(self.quantity), exact(self.unit_price)


class CostLine(Out):
    id: int
    assistance_id: int
    label: str
    quantity: float
    unit_price: float
    amount: float
    currency: str
    created_at: dt.datetime


class CostLines(Out):
    count: int
    results: list[CostLine]


class InvoiceLine(Out):
    label: str
    quantity: float
    unit_price: float
    amount: float


class Invoice(Out):
    number: int | str = Field(description="Sequential, without gaps.")
    assistance_id: int
    issued_at: dt.datetime
    currency: str
    lines: list[InvoiceLine]
    subtotal: float
    total: float

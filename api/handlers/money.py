"""Cost lines (added by the assigned assistant while ongoing) and the invoice (parties, dispatchers)."""

from __future__ import annotations

from aiohttp import web

from api.auth import require
from api.describe import ANY_ROLE, describe
from api.handlers.assistance import assistance_not_found
from api.keys import POOL
from api.paths import path_id
from api.responses import json_response, read_json
from api.schemas.money import CostLine, CostLineBody, CostLines, Invoice
from api.schemas.validation import parse
from dispatch.core.db import connection
from dispatch.core.errors import NotFound
from dispatch.money import invoices


def _line_not_found() -> NotFound:
    return NotFound("Cost line not found.", code="COST_LINE_NOT_FOUND")


@describe(
    "Add a cost line to an ongoing job (its assistant)",
    roles=("assistant",),
    tag="money",
    body=CostLineBody,
    response=CostLine,
    status=201,
    errors={
        404: "ASSISTANCE_NOT_FOUND.",
        409: "NOT_ONGOING, TOO_MANY_COST_LINES (100 per job), INVOICE_LIMIT_EXCEEDED (the "
        "invoice's total would not fit; with `invoice_total_limit`).",
    },
)
async def add_cost_line(request: web.Request) -> web.Response:
    user = require(request, "assistant")
    assistance_id = path_id(request, assistance_not_found)
    body = parse(CostLineBody, await read_json(request))
    quantity, unit_price = body.exact()
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        line = await invoices.add_cost_line(
            conn,
            assistance_id=assistance_id,
            assistant_id=user.id,
            label=body.label,
            quantity=quantity,
            unit_price=unit_price,
        )
    return json_response(line, status=201)


@describe(
    "Remove a cost line from an ongoing job (its assistant; 204, no body)",
    roles=("assistant",),
    tag="money",
    status=204,
    errors={404: "ASSISTANCE_NOT_FOUND, COST_LINE_NOT_FOUND.", 409: "NOT_ONGOING."},
)
async def remove_cost_line(request: web.Request) -> web.Response:
    user = require(request, "assistant")
    assistance_id = path_id(request, assistance_not_found)
    line_id = path_id(request, _line_not_found, name="line_id")
    async with connection(request.app[POOL]) as conn:  # one SQL call: atomic on its own
        await invoices.remove_cost_line(
            conn, assistance_id=assistance_id, assistant_id=user.id, line_id=line_id
        )
    return web.Response(status=204)


@describe(
    "A job's cost lines (its parties and dispatchers)",
    roles=ANY_ROLE,
    tag="money",
    response=CostLines,
    errors={404: "ASSISTANCE_NOT_FOUND."},
)
async def list_cost_lines(request: web.Request) -> web.Response:
    user = require(request)
    assistance_id = path_id(request, assistance_not_found)
    async with connection(request.app[POOL]) as conn:
        lines = await invoices.list_cost_lines(conn, assistance_id=assistance_id, user_id=user.id)
    if lines is None:
        raise assistance_not_found()
    return json_response({"count": len(lines), "results": lines})


@describe(
    "A completed job's invoice (its parties and dispatchers)",
    roles=ANY_ROLE,
    tag="money",
    response=Invoice,
    errors={404: "INVOICE_NOT_FOUND (also before completion)."},
)
async def get_invoice(request: web.Request) -> web.Response:
    user = require(request)
    assistance_id = path_id(request, assistance_not_found)
    async with connection(request.app[POOL]) as conn:
        invoice = await invoices.get_invoice(conn, assistance_id=assistance_id, user_id=user.id)
    if invoice is None:
        raise NotFound("There is no invoice for this request.", code="INVOICE_NOT_FOUND")
    return json_response(invoice)

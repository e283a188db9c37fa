"""Cost lines and invoices over real HTTP, and gapless numbering under concurrent completions."""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg
import pytest

from api.app import create_app
from api.schemas.money import CostLine, CostLines, Invoice
from dispatch.core import db
from tests.support.apps import serve
from tests.support.assist import DROPOFF, PICKUP, active_assistant, call, job_in_state
from tests.support.factories import User, auth_header, create_user


def cost_lines(job_id: int) -> str:
    return f"/api/assistance/{job_id}/cost-lines/"


def invoice(job_id: int) -> str:
    return f"/api/assistance/{job_id}/invoice/"


async def test_cost_lines_then_invoice(client, settings, conn):
    job = await job_in_state(client, settings, conn, "ongoing")
    first = await conn.fetchval("SELECT next_number FROM dispatch.invoice_counter")
    status, line = await call(
        client,
        settings,
        job.assistant,
        "POST",
        cost_lines(job.id),
        {"label": "Winch strap", "quantity": 3, "unit_price": 333.3333},
    )
    assert status == 201, line
    assert (line["label"], line["quantity"], line["unit_price"]) == ("Winch strap", 3, 333.3333)
    assert line["amount"] == 1000.0 and line["currency"] == "DZD"
    CostLine.model_validate(line)
    status, _ = await call(
        client,
        settings,
        job.assistant,
        "POST",
        cost_lines(job.id),
        {"label": "Toll", "unit_price": 120},
    )
    assert status == 201

    status, body = await call(client, settings, job.client, "GET", invoice(job.id))
    assert status == 404 and body["code"] == "INVOICE_NOT_FOUND", "no invoice before completion"

    status, done = await call(
        client,
        settings,
        job.assistant,
        "PATCH",
        f"/api/assistance/update/{job.id}/",
        {"status": "completed"},
    )
    assert status == 200, done
    ops = await create_user(conn, role="dispatcher")
    answers = [
        await call(client, settings, u, "GET", invoice(job.id))
        for u in (job.client, job.assistant, ops)
    ]
    assert [s for s, _ in answers] == [200, 200, 200]
    bill = answers[0][1]
    Invoice.model_validate(bill)
    assert all(b == bill for _, b in answers)
    assert set(bill) == {
        "number",
        "assistance_id",
        "issued_at",
        "currency",
        "lines",
        "subtotal",
        "total",
    }
    assert bill["number"] == first and bill["assistance_id"] == job.id
    assert bill["issued_at"].endswith("Z") and bill["currency"] == "DZD"
    quote_lines = [(q["label"], q["amount"]) for q in done["price_breakdown"]]
    assert [(li["label"], li["amount"]) for li in bill["lines"]] == [
        *quote_lines,
        ("Winch strap", 1000.0),
        ("Toll", 120.0),
    ]
    assert all(set(li) == {"label", "quantity", "unit_price", "amount"} for li in bill["lines"])
    assert bill["subtotal"] == bill["total"] == pytest.approx(done["total_price"] + 1120)

    other = await create_user(conn, role="client")
    status, body = await call(client, settings, other, "GET", invoice(job.id))
    assert status == 404 and body["code"] == "INVOICE_NOT_FOUND"
    status, body = await call(
        client,
        settings,
        job.assistant,
        "POST",
        cost_lines(job.id),
        {"label": "Late", "unit_price": 1},
    )
    assert status == 409 and body["code"] == "NOT_ONGOING"


async def test_cost_lines_are_listed_for_the_parties(client, settings, conn):
    job = await job_in_state(client, settings, conn, "ongoing")
    for label in ("Fuel", "Toll"):
        status, _ = await call(
            client,
            settings,
            job.assistant,
            "POST",
            cost_lines(job.id),
            {"label": label, "quantity": 2, "unit_price": 12.5},
        )
        assert status == 201
    ops = await create_user(conn, role="dispatcher")
    for user in (job.client, job.assistant, ops):
        status, body = await call(client, settings, user, "GET", cost_lines(job.id))
        assert status == 200, body
        CostLines.model_validate(body)
        assert body["count"] == 2 and [li["label"] for li in body["results"]] == ["Fuel", "Toll"]
        assert body["results"][0]["amount"] == 25.0
    for user in (await create_user(conn, role="client"), await active_assistant(conn, dlat=0.02)):
        status, body = await call(client, settings, user, "GET", cost_lines(job.id))
        assert status == 404 and body["code"] == "ASSISTANCE_NOT_FOUND"
    status, _ = await call(client, settings, None, "GET", cost_lines(job.id))
    assert status == 401


async def test_repair_final_price_is_an_invoice_line(client, settings, conn):
    job = await job_in_state(client, settings, conn, "ongoing", service_type="repair")
    status, done = await call(
        client,
        settings,
        job.assistant,
        "PATCH",
        f"/api/assistance/update/{job.id}/",
        {"status": "completed", "total_price": 4500.5},
    )
    assert status == 200, done
    status, bill = await call(client, settings, job.client, "GET", invoice(job.id))
    assert status == 200
    assert [(li["label"], li["amount"]) for li in bill["lines"]] == [
        ("Callout fee", 1000.0),
        ("Repair work", 3500.5),
    ]
    assert bill["total"] == 4500.5


@pytest.mark.parametrize("state", ["accepted", "completed", "canceled"])
async def test_cost_lines_only_while_ongoing(client, settings, conn, state):
    job = await job_in_state(client, settings, conn, state)
    status, body = await call(
        client, settings, job.assistant, "POST", cost_lines(job.id), {"label": "x", "unit_price": 1}
    )
    assert status == 409 and body["code"] == "NOT_ONGOING"


async def test_cost_line_refusals(client, settings, conn):
    job = await job_in_state(client, settings, conn, "ongoing")
    stranger = await active_assistant(conn, dlat=0.01)
    body = {"label": "Fuel", "unit_price": 10}
    status, answer = await call(client, settings, stranger, "POST", cost_lines(job.id), body)
    assert status == 404 and answer["code"] == "ASSISTANCE_NOT_FOUND"
    for user in (job.client, await create_user(conn, role="dispatcher")):
        status, answer = await call(client, settings, user, "POST", cost_lines(job.id), body)
        assert status == 403 and answer["code"] == "PERMISSION_DENIED"
    status, answer = await call(client, settings, None, "POST", cost_lines(job.id), body)
    assert status == 401
    status, answer = await call(
        client, settings, job.assistant, "POST", cost_lines(999999999), body
    )
    assert status == 404
    for bad, field in [
        ({"unit_price": 1}, "label"),
        ({"label": "x"}, "unit_price"),
        ({"label": "x", "unit_price": -1}, "unit_price"),
        ({"label": "x", "unit_price": "1"}, "unit_price"),
        ({"label": "x", "unit_price": 1, "quantity": 0}, "quantity"),
        ({"label": "x", "unit_price": 1.00001}, "unit_price"),
        ({"label": "", "unit_price": 1}, "label"),
    ]:
        status, answer = await call(
            client, settings, job.assistant, "POST", cost_lines(job.id), bad
        )
        assert status == 400 and field in answer["fields"], (bad, answer)
    count = await conn.fetchval(
        "SELECT count(*) FROM dispatch.cost_lines WHERE assistance_id = $1", job.id
    )
    assert count == 0


async def test_invoice_route_guards(client, settings, conn):
    job = await job_in_state(client, settings, conn, "completed")
    status, body = await call(client, settings, None, "GET", invoice(job.id))
    assert status == 401
    for path in (invoice(999999999), "/api/assistance/abc/invoice/"):
        status, body = await call(client, settings, job.client, "GET", path)
        assert status == 404 and body["code"] in {"INVOICE_NOT_FOUND", "ASSISTANCE_NOT_FOUND"}


# --- numbering under concurrency: real commits on a throwaway database -----------------------


async def _ongoing_job(conn: asyncpg.Connection, n: int) -> tuple[int, int]:
    """(request id, assistant id) of an ongoing job, set up through the SQL functions."""
    owner = await create_user(conn, role="client")
    helper = await create_user(
        conn, role="assistant", is_active=True, lat=PICKUP["lat"] + 0.001 * n, lng=PICKUP["lng"]
    )
    created = await conn.fetchval(
        "SELECT dispatch.request_assistance(client_id => $1, pickup_lat => $2, pickup_lng => $3,"
        " pickup_cell_r7 => 0, dropoff_lat => $4, dropoff_lng => $5)",
        owner.id,
        PICKUP["lat"],
        PICKUP["lng"],
        DROPOFF["lat"],
        DROPOFF["lng"],
    )
    job_id = created["assistance"]["id"]
    await conn.fetchval("SELECT dispatch.accept_assistance($1, $2)", job_id, helper.id)
    await conn.fetchval(
        "SELECT dispatch.update_assistance_status($1, $2, 'ongoing')", job_id, helper.id
    )
    return job_id, helper.id


COMPLETE = "SELECT dispatch.update_assistance_status($1, $2, 'completed')"


async def test_concurrent_completions_take_consecutive_numbers(throwaway_db):
    setup = await asyncpg.connect(throwaway_db)
    await db.init_connection(setup)
    racers = [await asyncpg.connect(throwaway_db) for _ in range(3)]
    try:
        first = await setup.fetchval("SELECT next_number FROM dispatch.invoice_counter")
        jobs = [await _ongoing_job(setup, n) for n in range(3)]

        # A completion that rolls back gives its number back.
        undone = racers[2].transaction()
        await undone.start()
        await racers[2].fetchval(COMPLETE, *jobs[2])
        await undone.rollback()

        # Two completions in flight at once: the second waits for the counter row until the
        # first commits, then takes the next number.
        txs = [c.transaction() for c in racers[:2]]
        for tx in txs:
            await tx.start()
        await racers[0].fetchval(COMPLETE, *jobs[0])
        second = asyncio.create_task(racers[1].fetchval(COMPLETE, *jobs[1]))
        await asyncio.sleep(0.3)
        assert not second.done(), "the second completion waits for the counter row"
        await txs[0].commit()
        await asyncio.wait_for(second, 10)
        await txs[1].commit()

        await racers[2].fetchval(COMPLETE, *jobs[2])
        rows = await setup.fetch(
            "SELECT number, assistance_id FROM dispatch.invoices ORDER BY number"
        )
        assert [r["number"] for r in rows] == [first, first + 1, first + 2]
        assert [r["assistance_id"] for r in rows] == [j for j, _ in jobs]
    finally:
        for c in racers:
            await c.close()
        await setup.close()


async def test_many_completions_over_http_leave_no_gap(settings, throwaway_db):
    setup = await asyncpg.connect(throwaway_db)
    await db.init_connection(setup)
    big = dataclasses.replace(settings, db=dataclasses.replace(settings.db, pool_min=1, pool_max=8))
    try:
        first = await setup.fetchval("SELECT next_number FROM dispatch.invoice_counter")
        jobs = [await _ongoing_job(setup, n) for n in range(6)]
        users = {
            r["id"]: r
            for r in await setup.fetch(
                "SELECT id, role FROM dispatch.users WHERE role = 'assistant'"
            )
        }
        async with serve(create_app(big, db_url=throwaway_db)) as live:
            results = await asyncio.gather(
                *(
                    call(
                        live,
                        settings,
                        User(id=helper, role=users[helper]["role"], email="", phone_number=""),
                        "PATCH",
                        f"/api/assistance/update/{job}/",
                        {"status": "completed"},
                    )
                    for job, helper in jobs
                )
            )
        assert [s for s, _ in results] == [200] * len(jobs)
        numbers = sorted(await setup.fetchval("SELECT array_agg(number) FROM dispatch.invoices"))
        assert numbers == list(range(first, first + len(jobs)))
    finally:
        await setup.close()


# --- bounds that keep every invoice within its columns (issue 23 D4) --------------------------


def status_url(job_id: int) -> str:
    return f"/api/assistance/update/{job_id}/"


async def test_a_line_whose_amount_no_invoice_holds_is_400(client, settings, conn):
    # 1e6 x 1e7 (each within its documented bound) was 201 with amount 1e13, and every
    # completion then overflowed the invoice's numeric(14, 4) with a 500, for ever.
    job = await job_in_state(client, settings, conn, "ongoing")
    body = {"label": "Gold", "quantity": 1_000_000, "unit_price": 10_000_000}
    status, answer = await call(client, settings, job.assistant, "POST", cost_lines(job.id), body)
    assert status == 400, answer
    assert answer["fields"] == {
        "unit_price": ["quantity times unit_price must be at most 9999999999."]
    }
    count = await conn.fetchval(
        "SELECT count(*) FROM dispatch.cost_lines WHERE assistance_id = $1", job.id
    )
    assert count == 0


async def test_the_invoice_total_stays_within_its_column(client, settings, conn):
    job = await job_in_state(client, settings, conn, "ongoing")
    big = {"label": "Crane", "quantity": 1000, "unit_price": 9_999_000}
    status, line = await call(client, settings, job.assistant, "POST", cost_lines(job.id), big)
    assert status == 201 and line["amount"] == 9_999_000_000, line
    more = {"label": "Toll", "unit_price": 1_000_000}
    status, answer = await call(client, settings, job.assistant, "POST", cost_lines(job.id), more)
    assert status == 409 and answer["code"] == "INVOICE_LIMIT_EXCEEDED", answer
    assert answer["invoice_total_limit"] == 9999999999.9999
    status, done = await call(
        client, settings, job.assistant, "PATCH", status_url(job.id), {"status": "completed"}
    )
    assert status == 200, done
    status, bill = await call(client, settings, job.client, "GET", invoice(job.id))
    assert status == 200 and bill["total"] == pytest.approx(9_999_000_000 + done["total_price"])


async def test_a_job_has_at_most_100_cost_lines(client, settings, conn):
    job = await job_in_state(client, settings, conn, "ongoing")
    await conn.executemany(
        "INSERT INTO dispatch.cost_lines (assistance_id, added_by, label, quantity, unit_price)"
        " VALUES ($1, $2, $3, 1, 1)",
        [(job.id, job.assistant.id, f"Line {n}") for n in range(99)],
    )
    body = {"label": "Last", "unit_price": 1}
    status, _ = await call(client, settings, job.assistant, "POST", cost_lines(job.id), body)
    assert status == 201
    status, answer = await call(client, settings, job.assistant, "POST", cost_lines(job.id), body)
    assert status == 409 and answer["code"] == "TOO_MANY_COST_LINES", answer
    assert answer["max_cost_lines"] == 100


async def test_a_job_stuck_by_a_stored_line_can_be_completed(client, settings, conn):
    """A line stored under the old bounds makes completion a 409 with a code (the job stays
    ongoing, nothing is issued); its assistant removes the line, and the job completes."""
    job = await job_in_state(client, settings, conn, "ongoing")
    stuck = await conn.fetchval(
        "INSERT INTO dispatch.cost_lines (assistance_id, added_by, label, quantity, unit_price)"
        " VALUES ($1, $2, 'Old bounds', 1000000, 10000000) RETURNING id",
        job.id,
        job.assistant.id,
    )
    status, answer = await call(
        client, settings, job.assistant, "PATCH", status_url(job.id), {"status": "completed"}
    )
    assert status == 409 and answer["code"] == "INVOICE_LIMIT_EXCEEDED", answer
    state = await conn.fetchval(
        "SELECT status FROM dispatch.assistance_requests WHERE id = $1", job.id
    )
    assert state == "ongoing"
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM dispatch.invoices WHERE assistance_id = $1", job.id
        )
        == 0
    )

    line = f"{cost_lines(job.id)}{stuck}/"
    status, answer = await call(client, settings, job.client, "DELETE", line)
    assert status == 403 and answer["code"] == "PERMISSION_DENIED"
    other = await active_assistant(conn, dlat=0.01)
    status, answer = await call(client, settings, other, "DELETE", line)
    assert status == 404 and answer["code"] == "ASSISTANCE_NOT_FOUND"
    for missing in (f"{cost_lines(job.id)}999999999/", f"{cost_lines(job.id)}%D9%A1/"):
        status, answer = await call(client, settings, job.assistant, "DELETE", missing)
        assert status == 404 and answer["code"] == "COST_LINE_NOT_FOUND", (missing, answer)
    status, answer = await call(client, settings, None, "DELETE", line)
    assert status == 401

    resp = await client.delete(line, headers=auth_header(settings, job.assistant))
    assert resp.status == 204 and await resp.read() == b""
    status, done = await call(
        client, settings, job.assistant, "PATCH", status_url(job.id), {"status": "completed"}
    )
    assert status == 200 and done["status"] == "completed", done
    status, _ = await call(client, settings, job.client, "GET", invoice(job.id))
    assert status == 200
    status, answer = await call(client, settings, job.assistant, "DELETE", line)
    assert status == 409 and answer["code"] == "NOT_ONGOING"


async def test_a_repair_price_that_overflows_the_invoice_is_409(client, settings, conn):
    job = await job_in_state(client, settings, conn, "ongoing", service_type="repair")
    big = {"label": "Engine", "quantity": 1000, "unit_price": 9_999_000}
    status, _ = await call(client, settings, job.assistant, "POST", cost_lines(job.id), big)
    assert status == 201
    final = {"status": "completed", "total_price": 10_000_000}
    status, answer = await call(client, settings, job.assistant, "PATCH", status_url(job.id), final)
    assert status == 409 and answer["code"] == "INVOICE_LIMIT_EXCEEDED", answer
    status, done = await call(
        client, settings, job.assistant, "PATCH", status_url(job.id), {"status": "completed"}
    )
    assert status == 200, done

"""Offers over real HTTP (in-process app, rolled back): decline, the new fields, refusals' shape."""

from __future__ import annotations

import pytest

from tests.support.assist import PICKUP, active_assistant, call, offer_to
from tests.support.factories import create_user

REQUEST = "/api/assistance/request/"


async def _request(client, settings, conn) -> tuple[int, dict]:
    owner = await create_user(conn, role="client")
    status, body = await call(client, settings, owner, "POST", REQUEST, {"pickup": PICKUP})
    assert status == 201, body
    return body["assistance"]["id"], body


async def test_request_starts_round_one(client, settings, conn):
    near = await active_assistant(conn, dlat=0.001)
    job_id, body = await _request(client, settings, conn)
    assert body["assistance"]["searching"] is True and body["assistance"]["offer_round"] == 1
    assert [n["assistant_id"] for n in body["nearby_assistants"]] == [near.id]
    row = await conn.fetchrow(
        "SELECT round, state, expires_at - sent_at AS ttl FROM dispatch.offers "
        "WHERE assistance_id = $1 AND assistant_id = $2",
        job_id,
        near.id,
    )
    assert (row["round"], row["state"], row["ttl"].total_seconds()) == (1, "open", 20)


@pytest.mark.parametrize("slash", [True, False])
async def test_decline_then_never_again(client, settings, conn, slash):
    first = await active_assistant(conn, dlat=0.001)
    second = await active_assistant(conn, dlat=0.002)
    job_id, _ = await _request(client, settings, conn)
    path = f"/api/assistance/decline/{job_id}" + ("/" if slash else "")
    status, body = await call(client, settings, first, "PATCH", path)
    assert (status, body) == (200, {"assistance_id": job_id, "declined": True})
    # A second decline, or an accept, finds no open offer; nothing about the request leaks.
    status, body = await call(client, settings, first, "PATCH", path)
    assert status == 404 and body["code"] == "OFFER_NOT_FOUND" and "pickup" not in str(body)
    status, body = await call(client, settings, first, "PATCH", f"/api/assistance/accept/{job_id}/")
    assert status == 409 and body == {"error": body["error"], "code": "OFFER_DECLINED"}
    # The other offer is still open: the round goes on, and the decliner is never offered again.
    assert (
        await conn.fetchval(
            "SELECT offer_round FROM dispatch.assistance_requests WHERE id = $1", job_id
        )
        == 1
    )
    await offer_to(conn, job_id)
    await conn.execute(
        "UPDATE dispatch.assistance_requests SET round_ends_at = now() - interval '1 s' "
        "WHERE id = $1",
        job_id,
    )
    assert await conn.fetchval("SELECT dispatch.advance_offer_rounds()") == 1
    offers = await conn.fetch(
        "SELECT assistant_id, state FROM dispatch.offers WHERE assistance_id = $1 "
        "ORDER BY assistant_id",
        job_id,
    )
    assert [tuple(o) for o in offers] == [(first.id, "declined"), (second.id, "expired")]
    status, body = await call(
        client, settings, second, "PATCH", f"/api/assistance/accept/{job_id}/"
    )
    assert status == 409 and body["code"] == "OFFER_EXPIRED"


async def test_every_decline_starts_the_next_round_at_once(client, settings, conn):
    near = await active_assistant(conn, dlat=0.001)
    far = await active_assistant(conn, dlat=0.12)  # ~13 km: only round 2 (15 km) reaches it
    job_id, body = await _request(client, settings, conn)
    assert [n["assistant_id"] for n in body["nearby_assistants"]] == [near.id]
    status, _ = await call(client, settings, near, "PATCH", f"/api/assistance/decline/{job_id}/")
    assert status == 200
    status, body = await call(client, settings, far, "PATCH", f"/api/assistance/accept/{job_id}/")
    assert status == 200, body
    assert body["status"] == "accepted" and body["searching"] is False
    assert body["offer_round"] == 2


@pytest.mark.parametrize("who", ["client", "dispatcher"])
async def test_only_assistants_decline(client, settings, conn, who):
    user = await create_user(conn, role=who)
    status, body = await call(client, settings, user, "PATCH", "/api/assistance/decline/1/")
    assert status == 403 and body["code"] == "PERMISSION_DENIED"


@pytest.mark.parametrize("job_id", ["999999999", "abc", "-1"])
async def test_decline_without_an_offer_is_404(client, settings, conn, job_id):
    user = await active_assistant(conn)
    status, body = await call(client, settings, user, "PATCH", f"/api/assistance/decline/{job_id}/")
    assert status == 404 and body["code"] in {"OFFER_NOT_FOUND", "ASSISTANCE_NOT_FOUND"}


async def test_decline_needs_a_token(client):
    resp = await client.patch("/api/assistance/decline/1/")
    assert resp.status == 401
    assert (await resp.json())["code"] == "NOT_AUTHENTICATED"


async def test_cancel_withdraws_open_offers(client, settings, conn):
    near = await active_assistant(conn, dlat=0.001)
    owner = await create_user(conn, role="client")
    status, body = await call(client, settings, owner, "POST", REQUEST, {"pickup": PICKUP})
    job_id = body["assistance"]["id"]
    status, body = await call(
        client,
        settings,
        owner,
        "PATCH",
        f"/api/assistance/update/{job_id}/",
        {"status": "canceled"},
    )
    assert status == 200 and body["searching"] is False
    row = await conn.fetchrow(
        "SELECT state, close_reason FROM dispatch.offers WHERE assistance_id = $1 "
        "AND assistant_id = $2",
        job_id,
        near.id,
    )
    assert tuple(row) == ("withdrawn", "canceled")
    status, body = await call(client, settings, near, "PATCH", f"/api/assistance/accept/{job_id}/")
    assert status == 409 and body["code"] == "ASSISTANCE_FINAL"

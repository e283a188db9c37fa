"""Helpers for the accounts tests: bodies of both renditions, codes read from the outbox."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import asyncpg

from dispatch.core.config import Settings

PASSWORD = "correct horse battery"

CLIENT_000 = {  # seed 000: phone_number, password_confirm, user_type
    "phone_number": "+213 555 10 20 30",
    "email": "Amel@Example.com",
    "name": "Amel",
    "password": PASSWORD,
    "password_confirm": PASSWORD,
    "user_type": "client",
    "address": "1 rue Didouche Mourad",
}
CLIENT_001 = {  # seed 001: phone, no confirmation
    "email": "user@example.com",
    "phone": "+1234567890",
    "password": PASSWORD,
    "name": "User Name",
    "user_type": "client",
}
ASSISTANT_000 = {
    "phone_number": "+213550999001",
    "email": "tow@example.com",
    "name": "Karim",
    "password": PASSWORD,
    "password_confirm": PASSWORD,
    "user_type": "assistant",
    "service_type": "towing",
    "vehicle_type": "light",
    "driving_license_cat": "c",
    "driving_license_num": "DZ-123",
    "driving_license_expiry": "31:12:39",
    "vehicle_registration_num": 123456,
    "current_lat": 36.7538,
    "current_lng": 3.0588,
}


def with_accounts(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(settings, accounts=dataclasses.replace(settings.accounts, **changes))


async def last_code(conn: asyncpg.Connection, recipient: str) -> str:
    """The code in the newest outbox message to `recipient` (what the log sender would write)."""
    body = await conn.fetchval(
        "SELECT body FROM dispatch.outbox WHERE recipient = $1 ORDER BY id DESC LIMIT 1",
        recipient,
    )
    assert body, f"no message to {recipient}"
    match = re.search(r"\b(\d{6})\b", body)
    assert match, body
    return match.group(1)


async def register(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post("/api/auth/register/", json=body)
    assert resp.status == 201, await resp.text()
    return await resp.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(body: dict[str, Any], code: str) -> None:
    assert set(body) <= {"error", "code", "fields", "retry_after"}, body
    assert body["code"] == code, body
    assert isinstance(body["error"], str) and body["error"]

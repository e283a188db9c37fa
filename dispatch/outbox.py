"""The message outbox: every message to a user is queued in Postgres and drained by a sender."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import asyncpg

from dispatch.config import AccountsSettings
from dispatch.db import transaction

log = logging.getLogger("dispatch.outbox")

MAX_ATTEMPTS = 5
CLAIM_SECONDS = 60


@dataclass(frozen=True)
class Message:
    id: int
    channel: str
    recipient: str
    subject: str
    body: str


class Sender(Protocol):
    async def send(self, message: Message) -> None: ...


class LogSender:
    """The development channel: writes each message, code included, to the log at INFO.

    Configure SMTP (DISPATCH_SMTP_HOST) in production so codes never land in the logs."""

    async def send(self, message: Message) -> None:
        log.info(
            "outbox message",
            extra={
                "fields": {
                    "channel": message.channel,
                    "recipient": message.recipient,
                    "subject": message.subject,
                    "body": message.body,
                }
            },
        )


class SmtpSender:
    """Email through an SMTP server (in a thread); SMS falls back to the log sender."""

    def __init__(self, settings: AccountsSettings) -> None:
        self._s = settings
        self._fallback = LogSender()

    def _send_sync(self, message: Message) -> None:
        email = EmailMessage()
        email["From"] = self._s.smtp_from
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email.set_content(message.body)
        with smtplib.SMTP(self._s.smtp_host, self._s.smtp_port, timeout=10) as smtp:
            if self._s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self._s.smtp_user:
                smtp.login(self._s.smtp_user, self._s.smtp_password)
            smtp.send_message(email)

    async def send(self, message: Message) -> None:
        if message.channel != "email":
            await self._fallback.send(message)
            return
        await asyncio.to_thread(self._send_sync, message)


def sender_for(settings: AccountsSettings) -> Sender:
    return SmtpSender(settings) if settings.smtp_host else LogSender()


async def enqueue(
    conn: asyncpg.Connection,
    *,
    user_id: int | None,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
) -> None:
    await conn.execute(
        """
        INSERT INTO dispatch.outbox (user_id, channel, recipient, subject, body)
        VALUES ($1, $2, $3, $4, $5)
        """,
        user_id,
        channel,
        recipient,
        subject,
        body,
    )


async def _claim(conn: asyncpg.Connection, limit: int) -> Sequence[asyncpg.Record]:
    # Claimed rows are invisible to other drainers for CLAIM_SECONDS; SKIP LOCKED lets several
    # processes drain side by side without sending a message twice.
    return await conn.fetch(
        """
        UPDATE dispatch.outbox o
           SET claimed_until = now() + make_interval(secs => $2), attempts = o.attempts + 1
         WHERE o.id IN (
                SELECT id FROM dispatch.outbox
                 WHERE sent_at IS NULL AND attempts < $3
                   AND (claimed_until IS NULL OR claimed_until < now())
                 ORDER BY id LIMIT $1
                   FOR UPDATE SKIP LOCKED)
        RETURNING o.id, o.channel, o.recipient, o.subject, o.body
        """,
        limit,
        CLAIM_SECONDS,
        MAX_ATTEMPTS,
    )


async def drain(pool: Any, sender: Sender, *, limit: int = 50) -> int:
    """Send what is pending (no connection held while sending); returns how many were sent."""
    async with transaction(pool) as conn:
        rows = await _claim(conn, limit)
    sent: list[int] = []
    for row in rows:
        message = Message(**dict(row))
        try:
            await sender.send(message)
        except Exception as exc:  # any delivery failure is retried later, up to MAX_ATTEMPTS
            log.warning("outbox message %s not sent: %s", message.id, type(exc).__name__)
            async with transaction(pool) as conn:
                await conn.execute(
                    "UPDATE dispatch.outbox SET last_error = $2 WHERE id = $1",
                    message.id,
                    type(exc).__name__,
                )
            continue
        sent.append(message.id)
    if sent:
        async with transaction(pool) as conn:
            await conn.execute(
                """
                UPDATE dispatch.outbox SET sent_at = now(), body = '', claimed_until = NULL
                 WHERE id = ANY($1::bigint[])
                """,
                sent,
            )
    return len(sent)

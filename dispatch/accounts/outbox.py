"""The message outbox: every message to a user is queued in Postgres and drained by a sender."""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import aiohttp
import asyncpg

from dispatch.core.config import AccountsSettings
from dispatch.core.db import transaction

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


class DeliveryFailed(Exception):
    """A gateway refused or failed a message; the drain retries it (up to MAX_ATTEMPTS)."""


def mask(recipient: str) -> str:
    """A recipient as a log may show it: a phone number's last two digits (and its +), an email's
    first letter and domain. Logs never carry a full phone number or address."""
    if "@" in recipient:
        local, _, domain = recipient.rpartition("@")
        return f"{local[:1]}***@{domain}"
    head = "+" if recipient.startswith("+") else ""
    return head + "*" * max(len(recipient) - len(head) - 2, 0) + recipient[-2:]


class LogSender:
    """The channel of last resort, for messages without a gateway: the log.

    By default it writes a warning naming the channel and the masked recipient, never the text
    (codes are secrets). With `include_text` (DISPATCH_DEV_LOG_CODES=1, development only) it
    writes the whole message at INFO, the code included, so that codes can be read locally."""

    def __init__(self, *, include_text: bool = False) -> None:
        self._include_text = include_text

    async def send(self, message: Message) -> None:
        fields: dict[str, Any] = {
            "outbox_id": message.id,
            "channel": message.channel,
            "recipient": mask(message.recipient),
        }
        if self._include_text:
            fields.update(subject=message.subject, body=message.body)
            log.info("outbox message", extra={"fields": fields})
            return
        gateway = (
            "DISPATCH_SMTP_HOST"
            if message.channel == "email"
            else "DISPATCH_SMS_COMMAND or DISPATCH_SMS_WEBHOOK_URL"
        )
        log.warning(
            "outbox message not delivered: no %s gateway (set %s); its text is not logged",
            message.channel,
            gateway,
            extra={"fields": fields},
        )


class SmtpSender:
    """Email through an SMTP server (in a thread)."""

    def __init__(self, settings: AccountsSettings) -> None:
        self._s = settings

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
        await asyncio.to_thread(self._send_sync, message)


# The server's own secrets stay out of a gateway command's environment.
_SECRET_ENV = frozenset(
    {
        "DATABASE_URL",
        "DISPATCH_JWT_SECRET",
        "DISPATCH_SMTP_PASSWORD",
        "DISPATCH_SMS_WEBHOOK_TOKEN",
        "DISPATCH_METRICS_TOKEN",
        "PGPASSWORD",
    }
)


class CommandSmsSender:
    """SMS through a local command (DISPATCH_SMS_COMMAND), never through a shell: the command's
    words plus the phone number as its last argument, the message on stdin. Exit status 0 is a
    delivery; any other status, or no exit within `timeout` seconds (the process is killed), is a
    failure the drain retries. Its output is discarded: it could echo the code."""

    def __init__(self, command: str, *, timeout: float = 30.0) -> None:
        self._argv = shlex.split(command)
        self._timeout = timeout

    async def send(self, message: Message) -> None:
        env = {k: v for k, v in os.environ.items() if k not in _SECRET_ENV}
        proc = await asyncio.create_subprocess_exec(
            *self._argv,
            message.recipient,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
        )
        try:
            await asyncio.wait_for(proc.communicate(message.body.encode()), self._timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise DeliveryFailed("the SMS command timed out") from None
        if proc.returncode != 0:
            raise DeliveryFailed(f"the SMS command exited with status {proc.returncode}")


class WebhookSmsSender:
    """SMS through an HTTP gateway (DISPATCH_SMS_WEBHOOK_URL): POST {to, body, id} as JSON with an
    `Idempotency-Key` (a retried message carries the same one) and the optional bearer token; a 2xx
    answer is a delivery, anything else a failure the drain retries."""

    def __init__(self, url: str, *, token: str = "", timeout: float = 10.0) -> None:
        self._url = url
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, message: Message) -> None:
        headers = {"Idempotency-Key": f"outbox-{message.id}"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body = {"to": message.recipient, "body": message.body, "id": message.id}
        async with (
            aiohttp.ClientSession(timeout=self._timeout) as session,
            session.post(self._url, json=body, headers=headers) as resp,
        ):
            if not 200 <= resp.status < 300:
                raise DeliveryFailed(f"the SMS webhook answered {resp.status}")


class ChannelSender:
    """Each message to its channel's sender: email or SMS."""

    def __init__(self, *, email: Sender, sms: Sender) -> None:
        self._senders = {"email": email, "sms": sms}

    async def send(self, message: Message) -> None:
        await self._senders[message.channel].send(message)


def sender_for(settings: AccountsSettings) -> Sender:
    """Email through SMTP, SMS through the command or else the webhook; a channel without a
    gateway goes to the log (the text only with DISPATCH_DEV_LOG_CODES)."""
    fallback = LogSender(include_text=settings.dev_log_codes)
    email: Sender = SmtpSender(settings) if settings.smtp_host else fallback
    sms: Sender = fallback
    if settings.sms_command:
        sms = CommandSmsSender(settings.sms_command)
    elif settings.sms_webhook_url:
        sms = WebhookSmsSender(settings.sms_webhook_url, token=settings.sms_webhook_token)
    return ChannelSender(email=email, sms=sms)


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
            # The reason, never the message: a gateway's own error text could quote the code.
            reason = str(exc) if isinstance(exc, DeliveryFailed) else type(exc).__name__
            log.warning("outbox message %s not sent: %s", message.id, reason)
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

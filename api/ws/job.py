"""A socket on a job's channel follows the job: who may see each frame is decided as it is sent."""

from __future__ import annotations

from typing import Any

import orjson

from api.ws.hub import Close, Peer

# The job states in which its parties share positions (and its assistant is a party).
LIVE = frozenset({"accepted", "ongoing"})
CLOSE_NOT_A_PARTY = 4403  # the WebSocket twin of 403 (see docs/websockets.md)
NOT_A_PARTY = Close(CLOSE_NOT_A_PARTY, b"no longer a party to this job")


def channel_party(status: dict[str, Any], user_id: int) -> bool:
    """dispatch.channel_party read off a status frame: the job's client, or its assistant while
    the job is accepted or ongoing (sql/functions/realtime.sql holds the rule; a test keeps the
    two in step)."""
    client = status.get("client") or {}
    assistant = status.get("assistant") or {}
    return user_id == client.get("id") or (
        user_id == assistant.get("id") and status.get("status") in LIVE
    )


def _typed(message: str, kind: str) -> dict[str, Any] | None:
    """The frame as a dict when it is of type `kind`; a substring test spares the parse of the
    others (a quote inside a JSON string is escaped, so `"<kind>"` only matches a real token)."""
    if f'"{kind}"' not in message:
        return None
    try:
        data = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) and data.get("type") == kind else None


class JobPeer(Peer):
    """A party's socket on /ws/assistance/<id>/. Every status frame carries the job's parties and
    state, and every process delivers it, in seq order, to every socket on the channel; this
    socket re-applies the party rule to it as it is sent:

    - a user the frame no longer names (a reassigned assistant) is closed with 4403 without it
      (it holds the new assistant's name, phone and position);
    - a user it names who is no longer a party (the assistant of a finished or canceled job) gets
      it, then is closed with 4403;
    - location frames pass only while the job is accepted or ongoing (the relays are addressed to
      the other party when they are made; this also drops one that crossed the job's end).
    """

    def __init__(self, *args: Any, status: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status = status  # the job's state as of the last status frame this socket passed

    def _enqueue(self, message: str | object) -> None:
        if isinstance(message, str) and not self.closing:
            frame = _typed(message, "status")
            if frame is not None:
                self._on_status(message, frame)
                return
            if self.status not in LIVE and _typed(message, "location") is not None:
                return
        super()._enqueue(message)

    def _on_status(self, message: str, frame: dict[str, Any]) -> None:
        named = self.user_id in (
            (frame.get("client") or {}).get("id"),
            (frame.get("assistant") or {}).get("id"),
        )
        if not named:
            self.end(NOT_A_PARTY)
            return
        self.status = frame.get("status")
        super()._enqueue(message)
        if not channel_party(frame, self.user_id):
            self.end(NOT_A_PARTY)

    async def replay(self, message: str, seq: int) -> None:
        """Stored events are history the user was a party to when they happened (the upgrade
        checked the user is one now): they only move the state on."""
        frame = _typed(message, "status")
        if frame is not None:
            self.status = frame.get("status")
        await super().replay(message, seq)

"""The WebSocket channels: an assistant's own (/ws/assistant/<id>/), a job's (/ws/assistance/<id>/)
and the dispatchers' feed (/ws/dispatch/). Authenticated and authorised before the upgrade."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import WSMsgType, web

from api.auth import CLAIMS, current_user, token_revoked
from api.describe import ANY_ROLE, describe
from api.keys import BATCHER, HUB, POOL, PUBLISHER, SETTINGS
from api.paths import path_id
from api.ws import frames
from api.ws.catalogue import ASSISTANCE_CHANNEL, ASSISTANT_CHANNEL, DISPATCH_CHANNEL, WS_ERRORS
from api.ws.hub import AreaPeer, Peer
from api.ws.job import NOT_A_PARTY, JobPeer
from api.ws.sessions import SESSIONS
from dispatch.accounts.tokens import CurrentUser, decode_token, user_from_claims
from dispatch.assistance import channel
from dispatch.core import db
from dispatch.core.errors import (
    AuthenticationError,
    DispatchError,
    PermissionDenied,
    ValidationError,
)
from dispatch.events import replay

log = logging.getLogger(__name__)

ASSISTANT_FRAMES = frozenset({"location", "ping"})
ASSISTANCE_FRAMES = frozenset({"location", "chat", "ping"})
DISPATCH_FRAMES = frozenset({"subscribe", "ping"})


async def ws_user(request: web.Request) -> CurrentUser:
    """The caller from `?token=` or the Authorization header; 401 before any upgrade."""
    token = request.query.get("token")
    if token and CLAIMS not in request:
        claims = decode_token(request.app[SETTINGS].auth, token, typ="access")
        user = user_from_claims(claims)
        if await token_revoked(request.app, claims):
            raise AuthenticationError("The token has been revoked.", code="TOKEN_REVOKED")
        request[CLAIMS] = claims  # as a header token's would be: the socket's session is read here
        return user
    return current_user(request)


def _message(**fields: object) -> str:
    return orjson.dumps(fields).decode()


def _since(request: web.Request) -> int | None:
    """`?since=<seq>`: the last event the client received; 400 before the upgrade when malformed."""
    raw = request.query.get("since")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise ValidationError(
            "'since' must be the seq of an event received (a non-negative integer).",
            fields={"since": ["Must be a non-negative integer."]},
        )
    return int(raw)


# The current status frame (None: no longer a party) and the last seq published when it was read.
StatusReader = Callable[[], Awaitable[tuple[str | None, int]]]


async def _serve(
    request: web.Request,
    user: CurrentUser,
    *,
    topic: str,
    greeting: str,
    status: StatusReader | None,
    allowed: frozenset[str],
    assistance_id: int | None,
    since: int | None,
    peer_class: Callable[..., Peer] = Peer,
) -> web.WebSocketResponse:
    """Upgrade, subscribe the socket to `topic`, greet, replay what came after `since` (or send
    the current status), then read frames until it closes."""
    rt = request.app[SETTINGS].realtime
    ws = web.WebSocketResponse(heartbeat=rt.heartbeat, max_msg_size=rt.max_frame_bytes)
    await ws.prepare(request)
    peer = peer_class(
        ws,
        user.id,
        queue=rt.send_queue,
        timeout=rt.send_timeout,
        max_bytes=rt.send_queue_bytes,
        transport=request.transport,
    )
    hub = request.app[HUB]
    # Subscribed first, so that nothing published from here on is missed; with `since`, live
    # events are held until the stored ones are replayed, and a seq already sent is not sent twice.
    # A status snapshot holds them too: events already in it are dropped, not sent after it.
    if since is not None or status is not None:
        peer.hold()
    hub.subscribe(topic, peer)
    sessions = request.app[SESSIONS]
    sessions.add(user.id, request[CLAIMS].get("fam"), ws)
    try:
        peer.send(_message(type="connection_established", message=greeting))
        if since is None:
            if status is not None:
                await _snapshot(peer, status)
        else:
            await _replay(request, peer, topic=topic, since=since, status=status)
        await _read(request, ws, peer, user, allowed, assistance_id=assistance_id)
    finally:
        sessions.discard(user.id, ws)
        hub.unsubscribe(topic, peer)
        await peer.close()
    return ws


async def _snapshot(peer: Peer, status: StatusReader) -> None:
    """Send the current status; the held events it already reflects (seq up to the one read with
    it) are dropped, the later ones follow it. A user who stopped being a party since the upgrade
    is closed with 4403 instead."""
    try:
        frame, seq = await status()
        peer.last_seq = max(peer.last_seq, seq)
        if frame is not None:
            peer.send(frame)
        else:
            peer.end(NOT_A_PARTY)
    finally:
        peer.release()


async def _replay(
    request: web.Request, peer: Peer, *, topic: str, since: int, status: StatusReader | None
) -> None:
    """The stored events of `topic` after `since`, then the held live ones. When some were pruned
    (or more than DISPATCH_WS_REPLAY_MAX wait) the client is told, and starts afresh instead."""
    try:
        async with db.connection(request.app[POOL]) as conn:
            stored = await replay.replay(
                conn, topic=topic, since=since, limit=request.app[SETTINGS].realtime.replay_max
            )
        if stored.truncated:
            peer.last_seq = stored.last_seq
            peer.send(_message(type="replay_truncated", since=since, oldest_seq=stored.oldest_seq))
            if status is not None:
                await _snapshot(peer, status)
            return
        # A `since` from the future (another database, a typo) must not silence the live feed.
        peer.last_seq = min(since, stored.last_seq)
        for row in stored.rows:
            if row["skip_user"] != peer.user_id:
                await peer.replay(row["frame"], row["seq"])
    finally:
        peer.release()


@describe(
    "An assistant's own channel: offers, withdrawals, relayed positions",
    roles=("assistant",),
    tag="websockets",
    status=101,
    description="A WebSocket (token in `?token=` or the Authorization header); refusals are "
    "plain HTTP answers in the error shape before the upgrade.",
    errors=WS_ERRORS,
    channel=ASSISTANT_CHANNEL,
)
async def assistant_channel(request: web.Request) -> web.StreamResponse:
    user = await ws_user(request)
    channel_id = path_id(request)
    if user.role != "assistant" or user.id != channel_id:
        raise PermissionDenied("This channel belongs to another assistant.")
    return await _serve(
        request,
        user,
        topic=f"assistant:{user.id}",
        greeting=f"Connected as assistant_{user.id}",
        status=None,
        allowed=ASSISTANT_FRAMES,
        assistance_id=None,
        since=_since(request),
    )


@describe(
    "A job's channel: status, positions and chat between its client and assistant",
    roles=ANY_ROLE,
    tag="websockets",
    status=101,
    description="A WebSocket for the request's client and its assigned assistant (token in "
    "`?token=` or the Authorization header); refusals are plain HTTP answers before the upgrade.",
    errors=WS_ERRORS,
    channel=ASSISTANCE_CHANNEL,
)
async def assistance_channel(request: web.Request) -> web.StreamResponse:
    user = await ws_user(request)
    assistance_id = path_id(request)
    since = _since(request)
    async with db.connection(request.app[POOL]) as conn:
        first = await channel.channel_status(conn, assistance_id=assistance_id, user_id=user.id)
    if first is None:
        # Not a party (or no such request): the contract's 403 for channels.
        raise PermissionDenied("You are not a party to this assistance request.")

    async def current_status() -> tuple[str | None, int]:
        # Number what has committed so far (the request's own creation, say, whose event may not
        # be published yet), so that every change this snapshot shows has a seq at most the one
        # read with it: those events are then not sent again after it, stale.
        with contextlib.suppress(Exception):
            await request.app[PUBLISHER].publish_pending()
        async with db.connection(request.app[POOL]) as conn:
            now, seq = await channel.channel_status_at(
                conn, assistance_id=assistance_id, user_id=user.id
            )
        return (orjson.dumps(now).decode() if now is not None else None), seq

    return await _serve(
        request,
        user,
        topic=f"assistance:{assistance_id}",
        greeting=f"Connected to channel_{assistance_id}",
        status=current_status,
        allowed=ASSISTANCE_FRAMES,
        assistance_id=assistance_id,
        since=since,
        peer_class=functools.partial(JobPeer, status=first["status"]),
    )


@describe(
    "The dispatchers' live feed: new requests, transitions, offers and fleet positions",
    roles=("dispatcher",),
    tag="websockets",
    status=101,
    description="A WebSocket (token in `?token=` or the Authorization header); no snapshot on "
    "connect: load the lists over REST, then follow the feed.",
    errors=WS_ERRORS,
    channel=DISPATCH_CHANNEL,
)
async def dispatch_channel(request: web.Request) -> web.StreamResponse:
    user = await ws_user(request)
    if user.role != "dispatcher":
        raise PermissionDenied("This channel is for dispatchers.")
    return await _serve(
        request,
        user,
        topic="dispatch",
        greeting=f"Connected as dispatcher_{user.id}",
        status=None,
        allowed=DISPATCH_FRAMES,
        assistance_id=None,
        since=_since(request),
        peer_class=AreaPeer,
    )


async def _read(
    request: web.Request,
    ws: web.WebSocketResponse,
    peer: Peer,
    user: CurrentUser,
    allowed: frozenset[str],
    *,
    assistance_id: int | None,
) -> None:
    batcher = request.app[BATCHER]
    async for msg in ws:
        if peer.closing:
            continue  # closed for a reason of the server's (4403, 4008): its close frame is on the way
        if msg.type != WSMsgType.TEXT:
            if msg.type == WSMsgType.BINARY:
                peer.send(frames.error_frame("frames must be JSON text"))
            continue
        try:
            frame = frames.parse(msg.data, allowed=allowed)
        except frames.FrameError as exc:
            peer.send(frames.error_frame(str(exc)))
            continue
        if isinstance(frame, frames.Ping):
            peer.send(_message(type="pong"))
        elif isinstance(frame, frames.Location):
            # Stored as the sender's position; relayed to the other party of the sender's job
            # while it is accepted or ongoing, whichever channel it came on (positions.py).
            batcher.add(user_id=user.id, lat=frame.lat, lng=frame.lng)
        elif isinstance(frame, frames.Subscribe) and isinstance(peer, AreaPeer):
            peer.area = frame.bbox
            peer.send(_message(type="subscribed", bbox=frame.bbox))
        elif isinstance(frame, frames.Chat) and assistance_id is not None:
            try:
                async with db.transaction(request.app[POOL]) as conn:
                    # The per-user chat limit is taken in the same transaction, from a bucket in
                    # the database that every process shares (its refusal: an error frame).
                    await channel.post_chat(
                        conn,
                        assistance_id=assistance_id,
                        sender_id=user.id,
                        message=frame.message,
                        per_minute=request.app[SETTINGS].realtime.chat_per_minute,
                    )
            except DispatchError as exc:
                peer.send(frames.error_frame(exc.message))
            except Exception as exc:
                # An answer to one frame never ends the socket (aiohttp would write an HTTP 500
                # into the upgraded stream): log it, tell the client, read on.
                if db.database_unavailable(exc):  # a failover or a restart: not a bug
                    log.warning("chat frame: database unavailable (%s)", type(exc).__name__)
                    peer.send(frames.error_frame("the service is unavailable; send it again"))
                    continue
                log.exception("chat frame failed (user %s)", user.id)
                peer.send(frames.error_frame("the message could not be processed"))
            else:
                request.app[PUBLISHER].kick()  # the chat event is committed: publish it now

"""A stored message becomes its WebSocket frame by appending `seq`, without re-serialising."""

import orjson
import pytest

from dispatch.events.listener import frame


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ('{"type": "offer", "assistance_id": 7}', {"type": "offer", "assistance_id": 7, "seq": 42}),
        ("{}", {"seq": 42}),
        ('{"nested": {"a": [1, {"b": 2}]}}', {"nested": {"a": [1, {"b": 2}]}, "seq": 42}),
    ],
)
def test_an_object_gets_its_seq(message: str, expected: dict) -> None:
    assert orjson.loads(frame(message, 42)) == expected


def test_anything_else_goes_as_it_is() -> None:
    assert frame("[1, 2]", 42) == "[1, 2]"
    assert frame('"text"', 42) == '"text"'


async def test_the_frame_matches_the_sql_one(conn) -> None:
    """dispatch.event_frame (psql's view of a frame) and the servers' frame agree."""
    message = {"type": "status", "status": "requested", "assistant": None}
    in_sql = await conn.fetchval("SELECT dispatch.event_frame($1::jsonb, 9)", message)
    stored = await conn.fetchval("SELECT $1::jsonb::text", message)  # as dispatch.emit stores it
    assert orjson.loads(frame(stored, 9)) == orjson.loads(in_sql)

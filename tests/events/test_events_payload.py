"""The wake-up NOTIFY carries the numbered batches when they fit: other processes' listeners
deliver them from the payload, in seq order, without reading the table, and fall back to the
table for a batch too large for a payload, for a gap, and for a malformed payload."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import orjson
import pytest

from dispatch.events.listener import CHANNEL, EventBus

Got = list[tuple[str, dict, int | None]]


@pytest.fixture
async def bus(throwaway_db: str) -> AsyncIterator[tuple[EventBus, Got, asyncpg.Connection]]:
    """A listener with no safety-net poll to speak of, what it delivered, and an autocommit
    connection playing another process's publisher."""
    got: Got = []
    listener = EventBus(
        throwaway_db,
        lambda topic, text, _skip, seq: got.append((topic, orjson.loads(text), seq)),
        poll=3600,
    )
    await listener.start()
    assert listener.connected.is_set()
    other = await asyncpg.connect(throwaway_db)
    yield listener, got, other
    await other.close()
    await listener.stop()


async def publish(conn: asyncpg.Connection, *batches: list[tuple[str, dict]]) -> None:
    async with conn.transaction():
        for batch in batches:
            await conn.execute(
                "SELECT dispatch.emit_many($1, $2::jsonb[])",
                [topic for topic, _ in batch],
                [orjson.dumps(message).decode() for _, message in batch],
            )
    assert await conn.fetch("SELECT seq FROM dispatch.publish_events()")


async def delivered(got: Got, n: int) -> list[int]:
    async with asyncio.timeout(5):
        while len(got) < n:
            await asyncio.sleep(0.01)
    return [seq for _, _, seq in got]


async def test_batches_that_fit_are_delivered_from_the_payload(bus) -> None:
    listener, got, other = bus
    reads = listener.reads
    offers = [(f"assistant:{i}", {"type": "offer", "n": i, "name": "Zoë"}) for i in range(10)]
    await publish(other, offers, [("dispatch", {"type": "offer", "ids": list(range(10))})])
    await publish(other, [("assistance:7", {"type": "status", "quote": 'a "b"'})])
    seqs = await delivered(got, 12)
    assert seqs == list(range(seqs[0], seqs[0] + 12))
    assert [topic for topic, _, _ in got][:2] == ["assistant:0", "assistant:1"]
    assert got[0][1] == {"type": "offer", "n": 0, "name": "Zoë", "seq": seqs[0]}
    assert got[-1][1] == {"type": "status", "quote": 'a "b"', "seq": seqs[-1]}
    assert listener.reads == reads, "nothing was read from the table"


async def test_batches_beyond_one_payload_travel_in_several(bus) -> None:
    listener, got, other = bus
    reads = listener.reads
    batches = [[(f"assistant:{i}", {"n": i, "text": "y" * 3000})] for i in range(5)]
    await publish(other, *batches)
    seqs = await delivered(got, 5)
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    assert [m["n"] for _, m, _ in got] == [0, 1, 2, 3, 4]
    assert listener.reads == reads, "15 kB of batches came in payloads, not from the table"


async def test_a_batch_too_large_for_a_payload_is_read_in_its_place(bus) -> None:
    listener, got, other = bus
    reads = listener.reads
    big = [("assistant:1", {"type": "offer", "description": "x" * 9000})]
    await publish(other, [("assistant:1", {"n": 1})], big, [("assistant:1", {"n": 3})])
    seqs = await delivered(got, 3)
    assert seqs == [seqs[0], seqs[0] + 1, seqs[0] + 2]
    assert [len(m.get("description", "")) for _, m, _ in got] == [0, 9000, 0]
    assert listener.reads > reads


async def test_a_malformed_payload_falls_back_to_the_table(bus) -> None:
    _, got, other = bus
    async with other.transaction():
        await other.execute("SELECT dispatch.emit('assistant:2', '{\"n\": 1}')")
    async with other.transaction():
        # Numbered without the function (so without its payload), announced with a broken one.
        top = await other.fetchval(
            "UPDATE dispatch.event_cursor SET last_seq = last_seq + 1 RETURNING last_seq"
        )
        await other.execute("UPDATE dispatch.event_log SET seq = $1 WHERE seq IS NULL", top)
        await other.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{top} [[{top}, null, [")
    assert await delivered(got, 1) == [top]
    assert got[0][:2] == ("assistant:2", {"n": 1, "seq": top})

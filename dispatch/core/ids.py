"""The one parser of ids from the outside world (paths, WebSocket paths, token subjects)."""

from __future__ import annotations

MAX_ID = 2**63 - 1  # ids are positive bigints


def parse_id(raw: object) -> int | None:
    """The id in `raw` (a string of ASCII digits naming a positive bigint), or None.

    `str.isdigit()` and `int()` also accept other scripts' digits (superscript two, Arabic-Indic one),
    so an id must be ASCII before those are asked."""
    if not isinstance(raw, str) or not raw or len(raw) > 19 or not raw.isascii():
        return None
    if not raw.isdigit():  # ASCII-only by now: exactly 0-9
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None

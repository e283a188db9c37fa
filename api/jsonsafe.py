"""Checks over decoded client JSON that never recurse: depth bound and NUL characters."""

from __future__ import annotations

from typing import Any


def depth_exceeds(value: Any, limit: int) -> bool:
    """Whether `value` nests arrays/objects more than `limit` levels deep (iterative walk)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def has_nul(value: Any) -> bool:
    """Whether any string in `value` (keys included) holds a NUL character, which Postgres text
    cannot store. An explicit stack, not recursion: client data decides the depth."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False

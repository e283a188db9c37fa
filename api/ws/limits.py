"""WebSocket limits: the chat refusal's text (its bucket is in the database), unsent bytes."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import struct
import termios

# The `error` frame's message for a chat beyond the sender's allowance: the text of SQLSTATE DPC01,
# raised by dispatch.post_chat when the sender's bucket (one per user in the database, shared by
# every socket in every server process: DISPATCH_WS_CHAT_PER_MINUTE) is empty.
CHAT_LIMITED = "too many chat messages; slow down"


def unsent_bytes(transport: asyncio.Transport | None) -> int:
    """Bytes written to a socket that the client has not taken yet: the transport's buffer plus
    the kernel's send queue (SIOCOUTQ), which grows to megabytes before a send ever blocks."""
    if transport is None or transport.is_closing():
        return 0
    total = transport.get_write_buffer_size()
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, ValueError):
            packed = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
            total += struct.unpack("i", packed)[0]
    return total

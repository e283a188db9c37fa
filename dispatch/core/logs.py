"""Structured logging for every command: JSON lines on stderr, with tokens redacted."""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

import orjson

# A token in a query string (`token=…`, `access=…`, `refresh=…`) and any JWT-shaped string.
_SECRETS = re.compile(
    r"(?P<key>\b(?:token|access|refresh|access_token|refresh_token)=)[^&\s\"'\\]+"
    r"|eyJ[\w-]*\.[\w-]*\.[\w-]*"
)


def redact(text: str) -> str:
    return _SECRETS.sub(lambda m: (m.group("key") or "") + "[redacted]", text)


class RedactSecrets(logging.Filter):
    """Strips tokens from every record a handler writes, aiohttp's own included: when it refuses
    a malformed request line, its error log quotes the raw line, `?token=eyJ…` and all. The
    structured fields a record carries (`extra={"fields": ...}`: the access log's `path`, where a
    client may put a JWT) are cleaned the same way."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = {k: redact(v) if isinstance(v, str) else v for k, v in fields.items()}
        if record.exc_info:
            # The traceback text (exception messages quote the input) is rendered and cleaned
            # here, once; formatters reuse exc_text.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        return orjson.dumps(entry, default=str).decode()


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecrets())  # on the handler: it sees every logger's records
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)

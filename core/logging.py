"""Log records as JSON lines (production) or readable lines (development), each with request and user id.

Nothing here logs bodies or headers; `RedactingFilter` is the safety net for a secret that reaches a
record's `extra` anyway.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import orjson

from core.context import request_id_var, user_id_var

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "request_id", "user_id", "taskName"}
)
# Extras that are objects, not data: django.request passes the request, gunicorn its own objects.
_DROPPED_EXTRAS = frozenset({"request", "response", "server_time"})

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"password|passwd|passphrase|token|secret|authori[sz]ation|api[-_]?key|cookie|session|signature|dsn|"
    r"credential|private[-_]?key",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def redact(value: Any, depth: int = 0) -> Any:
    """`value` with every member whose key names a secret replaced, through nested dicts and lists."""
    if depth > 8:
        return value
    if isinstance(value, dict):
        return {
            k: (REDACTED if isinstance(k, str) and is_secret_key(k) else redact(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, depth + 1) for v in value]
    return value


class RequestContextFilter(logging.Filter):
    """Puts the current request id and user id on every record, so every line can be traced."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.user_id = user_id_var.get()
        return True


class RedactingFilter(logging.Filter):
    """Replaces secrets in a record's extras (password, token, secret, authorization, ...) and in mapping
    arguments, whatever code logged them."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key in list(vars(record)):
            if key in _STANDARD_ATTRS:
                continue
            if is_secret_key(key):
                setattr(record, key, REDACTED)
            else:
                setattr(record, key, redact(getattr(record, key)))
        if isinstance(record.args, dict):
            record.args = redact(record.args)
        return True


def _json_default(value: Any) -> Any:
    return str(value)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _STANDARD_ATTRS and key not in _DROPPED_EXTRAS and not key.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request and user id, the record's extras,
    and the stack trace of an error."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
            "user_id": getattr(record, "user_id", user_id_var.get()),
        }
        entry.update(_extras(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()


class ConsoleFormatter(logging.Formatter):
    """Readable lines for development: time, level, logger, [request id user id], message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s %(user_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
            record.user_id = user_id_var.get()
        return super().format(record)

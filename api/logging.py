"""How `serve` logs: JSON lines (one object a line) or plain text, at the
configured level, for uvicorn's loggers, the ledger's and the access log
(`api/middleware.py`). uvicorn's own access log is off when ours is on.
As with uvicorn, access lines go to standard output, the rest to standard
error.

A JSON line holds `time` (UTC, RFC 3339), `level`, `logger`, `message`, the
access fields of an access line (`request_id`, `method`, `route`, `status`,
`duration_ms`, `client`, and for a caller with a key `key_id`, `actor`,
`role`), and `exception` when there is one.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from factledger.settings import Settings

__all__ = ["JsonFormatter", "TextFormatter", "log_config"]

_TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """`time level logger: message`, and an access line's fields as key=value."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            text += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        return text


def log_config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn to apply in each worker."""
    formatter = "json" if settings.log_format == "json" else "text"
    level = settings.log_level.upper()

    def handler(stream: str) -> dict[str, str]:
        return {"class": "logging.StreamHandler", "formatter": formatter, "stream": stream}

    def logger(handler: str, level: str = level) -> dict[str, Any]:
        return {"handlers": [handler], "level": level, "propagate": False}

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": JsonFormatter},
            "text": {"()": TextFormatter},
        },
        # As uvicorn does: access lines on standard output, the rest on standard error.
        "handlers": {"default": handler("ext://sys.stderr"), "access": handler("ext://sys.stdout")},
        "loggers": {
            "uvicorn": logger("default"),
            "uvicorn.error": {"level": level},
            "uvicorn.access": logger("access", "WARNING" if settings.access_log else level),
            "factledger": logger("default"),
            "factledger.access": logger("access"),
            "projections": logger("default"),
            "api": logger("default"),
        },
        "root": {"handlers": ["default"], "level": "WARNING"},
    }

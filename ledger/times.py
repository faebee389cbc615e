"""Instants as the ledger reads and writes them (SPEC §1).

Every time in the ledger is a UTC instant with microsecond precision. In
requests a time is RFC 3339 with an explicit offset; in answers it is always
`YYYY-MM-DDTHH:MM:SS.ffffffZ`, so a time read from an answer and sent back
means exactly that instant.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = [
    "Instant",
    "InvalidTime",
    "format_instant",
    "from_micros",
    "parse_instant",
    "to_micros",
    "utc_now",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"[Tt ]"
    r"(?P<time>\d{2}:\d{2}:\d{2})"
    r"(?:\.(?P<fraction>\d+))?"
    r"(?P<offset>[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)",
    re.ASCII,
)


class InvalidTime(ValueError):
    """A text that is not an RFC 3339 time with an offset."""


def parse_instant(text: object) -> datetime:
    """Reads an RFC 3339 time with an offset into an aware UTC datetime.

    Digits beyond the microsecond are cut, not rounded, so that the instant
    never moves past what the client wrote.
    """
    if not isinstance(text, str):
        raise InvalidTime("a time must be an RFC 3339 string with an offset")
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise InvalidTime("a time must be RFC 3339 with an offset, such as 2023-01-13T09:00:00Z")
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    offset = match["offset"].upper()
    offset = "+00:00" if offset == "Z" else offset
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}{offset}")
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise InvalidTime(f"not a valid time: {error}") from None


def format_instant(instant: datetime) -> str:
    """Writes an aware datetime as `YYYY-MM-DDTHH:MM:SS.ffffffZ`."""
    if instant.tzinfo is None:
        raise ValueError("the ledger only writes aware datetimes")
    utc = instant.astimezone(UTC)
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}.{utc.microsecond:06d}Z"


def to_micros(instant: datetime) -> int:
    """Microseconds since the Unix epoch: how instants are stored and compared."""
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _coerce_instant(value: object) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidTime("a time needs an offset")
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise InvalidTime("the time lies outside the years 1 to 9999 in UTC") from None
    return parse_instant(value)


Instant = Annotated[
    datetime,
    BeforeValidator(_coerce_instant),
    PlainSerializer(format_instant, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 with an offset; answers use UTC and six fractional digits",
            "examples": ["2023-01-13T09:00:00.000000Z"],
        }
    ),
]
"""A UTC instant: read from RFC 3339 with an offset, written in the ledger's format."""

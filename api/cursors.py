"""Opaque page cursors: a few integers, named for the listing they page,
in URL-safe base64 without padding (only `[A-Za-z0-9_-]`)."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

from api.problems import FieldError, ProblemError

__all__ = ["decode_cursor", "encode_cursor"]

_SHAPE: Final = re.compile(r"[A-Za-z0-9_-]{1,120}")
_INTEGER: Final = re.compile(r"-?[0-9]{1,19}")


def encode_cursor(listing: str, *numbers: int) -> str:
    text = ".".join((listing, *map(str, numbers)))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(listing: str, cursor: str, count: int) -> tuple[int, ...]:
    """The numbers of a cursor made by `encode_cursor(listing, ...)`; 422 for anything else."""
    if _SHAPE.fullmatch(cursor):
        try:
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            text = ""
        name, *numbers = text.split(".")
        if name == listing and len(numbers) == count and all(map(_INTEGER.fullmatch, numbers)):
            values = tuple(int(number) for number in numbers)
            if all(abs(value) < 2**63 for value in values):
                return values
    raise ProblemError(
        422,
        "invalid-request",
        "cursor is not one this listing gave: pass `next_cursor` from the previous page as it is.",
        errors=[FieldError(field="cursor", message="not a cursor of this listing")],
    )

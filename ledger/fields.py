"""The field types that event payloads are made of, with the limits of SPEC §2.

Each type validates and never rewrites: a payload read back is the payload as
written, because the proofs hash it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "ClaimText",
    "FrozenModel",
    "LanguageTag",
    "LongText",
    "ShortText",
    "Tag",
    "Tags",
    "WebUrl",
]

MAX_URL_LENGTH = 2048

# RFC 5646 well-formed language tags, ASCII only; a primary language subtag of
# 4 to 8 letters is well-formed but none is registered, so it is refused.
_BCP47 = re.compile(
    r"(?:"
    r"[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}"  # language, extlang
    r"(?:-[A-Za-z]{4})?"  # script
    r"(?:-(?:[A-Za-z]{2}|\d{3}))?"  # region
    r"(?:-(?:[A-Za-z\d]{5,8}|\d[A-Za-z\d]{3}))*"  # variants
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z\d]{2,8})+)*"  # extensions
    r"(?:-[Xx](?:-[A-Za-z\d]{1,8})+)?"  # private use
    r"|[Xx](?:-[A-Za-z\d]{1,8})+"  # private use only
    r")",
    re.ASCII,
)


class FrozenModel(BaseModel):
    """Immutable, and strict about the fields it accepts: unknown ones are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no unpaired surrogates)") from None
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _check_url(value: str) -> str:
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        raise ValueError("must be an absolute http(s) URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or not port_ok:
        raise ValueError("must be an absolute http(s) URL")
    return value


def _check_language(value: str) -> str:
    if not _BCP47.fullmatch(value):
        raise ValueError("must be a BCP 47 language tag, such as 'en' or 'pt-BR'")
    return value


def _check_unique(tags: list[str]) -> list[str]:
    if len(set(tags)) != len(tags):
        raise ValueError("tags must not repeat")
    return tags


ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_check_text)
]
"""Names, outlets and titles."""

LongText = Annotated[
    str, StringConstraints(min_length=1, max_length=5000), AfterValidator(_check_text)
]
"""Statements, rationales, reasons, quotes and excerpts."""

ClaimText = Annotated[
    str, StringConstraints(min_length=1, max_length=2000), AfterValidator(_check_text)
]

Tag = Annotated[str, StringConstraints(min_length=1, max_length=50), AfterValidator(_check_text)]

Tags = Annotated[list[Tag], Field(max_length=20), AfterValidator(_check_unique)]

WebUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_URL_LENGTH),
    AfterValidator(_check_url),
    Field(json_schema_extra={"format": "uri"}),
]

LanguageTag = Annotated[
    str,
    StringConstraints(max_length=64),
    AfterValidator(_check_language),
    Field(json_schema_extra={"pattern": f"^{_BCP47.pattern}$"}),
]

"""What makes two requests "the same" for an Idempotency-Key (SPEC §4)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

__all__ = ["request_fingerprint"]


def request_fingerprint(document: Any) -> str:
    """SHA-256 of the body's RFC 8785 canonical JSON: bodies equal after parsing
    (whatever their key order or whitespace) have the same fingerprint."""
    try:
        canonical = rfc8785.dumps(document)
    except (rfc8785.CanonicalizationError, TypeError, ValueError):
        # Numbers beyond what JSON can carry exactly: fall back to sorted keys.
        canonical = json.dumps(document, sort_keys=True).encode()
    return hashlib.sha256(canonical).hexdigest()

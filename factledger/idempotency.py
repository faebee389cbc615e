"""What makes two requests "the same" for an Idempotency-Key (SPEC §4)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

from storage.rows import IdempotencyRow, IdempotencyScope

__all__ = ["idempotency_key", "request_fingerprint"]


def request_fingerprint(document: Any) -> str:
    """SHA-256 of the body's RFC 8785 canonical JSON: bodies equal after parsing
    (whatever their key order or whitespace) have the same fingerprint."""
    try:
        canonical = rfc8785.dumps(document)
    except (rfc8785.CanonicalizationError, TypeError, ValueError):
        # Numbers beyond what JSON can carry exactly: fall back to sorted keys.
        canonical = json.dumps(document, sort_keys=True).encode()
    return hashlib.sha256(canonical).hexdigest()


def idempotency_key(
    api_key_id: str, method: str, path: str, key: str, document: Any
) -> IdempotencyRow:
    """An Idempotency-Key in its scope (API key, method, path), with the body's
    fingerprint, as a write command carries it."""
    return IdempotencyRow(
        scope=IdempotencyScope(api_key_id=api_key_id, method=method, path=path, key=key),
        request_hash=request_fingerprint(document),
    )

"""Checkpoints: C2SP `tlog-checkpoint` signed notes over the tree's head, signed
with Ed25519 (C2SP `signed-note`), byte for byte as SPEC §6 gives them.

    <origin>\\n<size>\\n<base64 root>\\n\\n— <origin> <base64(key id ‖ signature)>\\n

The key id is the first 4 bytes of SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ public key);
the verifier key that publishes a public key is
`<origin>+<key id, 8 hex>+<base64(0x01 ‖ public key)>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "Checkpoint",
    "InvalidNote",
    "PublishedKey",
    "checkpoint_body",
    "key_id",
    "open_checkpoint",
    "parse_verifier_key",
    "public_bytes",
    "sign_note",
    "verifier_key",
]

_ED25519: Final = b"\x01"
_SIGNATURE_PREFIX: Final = "\u2014 "  # the em dash and a space


class InvalidNote(ValueError):
    """A note that is not a well-formed checkpoint, or not signed by a given key."""


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(origin: str, public_key: bytes) -> bytes:
    return hashlib.sha256(origin.encode() + b"\n" + _ED25519 + public_key).digest()[:4]


def verifier_key(origin: str, public_key: bytes) -> str:
    encoded = base64.b64encode(_ED25519 + public_key).decode()
    return f"{origin}+{key_id(origin, public_key).hex()}+{encoded}"


@dataclass(frozen=True)
class PublishedKey:
    origin: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @property
    def text(self) -> str:
        return verifier_key(self.origin, public_bytes(self.public_key))


def parse_verifier_key(text: str) -> PublishedKey:
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise InvalidNote(f"not a verifier key: {text!r}")
    origin, hex_id, encoded = parts
    try:
        raw = base64.b64decode(encoded, validate=True)
        claimed = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError) as error:
        raise InvalidNote(f"not a verifier key: {text!r}") from error
    if len(raw) != 33 or raw[:1] != _ED25519 or key_id(origin, raw[1:]) != claimed:
        raise InvalidNote(f"not an Ed25519 verifier key of {origin!r}: {text!r}")
    return PublishedKey(origin, claimed, Ed25519PublicKey.from_public_bytes(raw[1:]))


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def sign_note(origin: str, body: str, key: Ed25519PrivateKey) -> str:
    """The body, a blank line, and the signature line of `origin`'s key."""
    signature = key.sign(body.encode())
    blob = base64.b64encode(key_id(origin, public_bytes(key.public_key())) + signature).decode()
    return f"{body}\n{_SIGNATURE_PREFIX}{origin} {blob}\n"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    key_id: bytes
    """The id of the key whose signature was checked."""


def open_checkpoint(note: str, keys: list[PublishedKey]) -> Checkpoint:
    """The checkpoint a note holds, once one of its signatures is found good
    under one of `keys`; `InvalidNote` otherwise."""
    body, separator, signatures = note.partition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise InvalidNote("no signature after the checkpoint")
    body += "\n"
    lines = body.split("\n")
    if len(lines) < 4:
        raise InvalidNote("a checkpoint has an origin, a size and a root hash")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise InvalidNote(f"not a tree size: {size_text!r}")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as error:
        raise InvalidNote(f"not a base64 root hash: {root_text!r}") from error
    if len(root) != 32:
        raise InvalidNote("the root hash is not 32 bytes")
    for line in signatures[:-1].split("\n"):
        if not line.startswith(_SIGNATURE_PREFIX):
            raise InvalidNote(f"not a signature line: {line!r}")
        name, _, blob_text = line[len(_SIGNATURE_PREFIX) :].partition(" ")
        try:
            blob = base64.b64decode(blob_text, validate=True)
        except binascii.Error as error:
            raise InvalidNote(f"not a base64 signature: {blob_text!r}") from error
        for key in keys:
            if name != key.origin or blob[:4] != key.key_id or name != origin:
                continue
            try:
                key.public_key.verify(blob[4:], body.encode())
            except InvalidSignature:
                continue
            return Checkpoint(origin, int(size_text), root, key.key_id)
    raise InvalidNote("no signature by a published key verifies")

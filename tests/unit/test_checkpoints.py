"""Checkpoints as C2SP signed notes: the published example of golang.org/x/mod's
sumdb/note (the signed-note reference) reproduced byte for byte, key id and
verifier key included; a checkpoint's exact bytes; and what opening refuses."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoints import (
    InvalidNote,
    checkpoint_body,
    key_id,
    open_checkpoint,
    parse_verifier_key,
    public_bytes,
    sign_note,
    verifier_key,
)

# golang.org/x/mod/sumdb/note, note_test.go and the package's example.
SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
SIGNED = (
    TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def example_key() -> Ed25519PrivateKey:
    seed = base64.b64decode(SIGNER_KEY.split("+", 4)[4])
    assert seed[0] == 1  # Ed25519
    return Ed25519PrivateKey.from_private_bytes(seed[1:])


def test_the_signed_note_example_is_reproduced_byte_for_byte() -> None:
    key = example_key()
    public = public_bytes(key.public_key())
    assert key_id("PeterNeumann", public).hex() == "c74f20a3"
    assert verifier_key("PeterNeumann", public) == VERIFIER_KEY
    assert sign_note("PeterNeumann", TEXT, key) == SIGNED


def test_a_checkpoint_is_origin_size_and_base64_root_then_the_signature() -> None:
    key = example_key()
    root = hashlib.sha256(b"").digest()
    body = checkpoint_body("factledger", 0, root)
    assert body == "factledger\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    note = sign_note("factledger", body, key)
    blob = base64.b64decode(note.split("\n")[-2].split(" ")[2])
    public = public_bytes(key.public_key())
    assert blob[:4] == hashlib.sha256(b"factledger\n\x01" + public).digest()[:4]
    key.public_key().verify(blob[4:], body.encode())
    published = parse_verifier_key(verifier_key("factledger", public))
    opened = open_checkpoint(note, [published])
    assert (opened.origin, opened.size, opened.root) == ("factledger", 0, root)


def test_a_note_altered_or_signed_by_another_key_does_not_open() -> None:
    key = example_key()
    public = public_bytes(key.public_key())
    published = parse_verifier_key(verifier_key("factledger", public))
    note = sign_note("factledger", checkpoint_body("factledger", 7, bytes(32)), key)
    with pytest.raises(InvalidNote):
        open_checkpoint(note.replace("\n7\n", "\n8\n"), [published])
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    stranger = parse_verifier_key(verifier_key("factledger", public_bytes(other.public_key())))
    with pytest.raises(InvalidNote):
        open_checkpoint(note, [stranger])
    with pytest.raises(InvalidNote):
        parse_verifier_key(VERIFIER_KEY.replace("c74f20a3", "c74f20a4"))

"""An outsider's verifier of the ledger's proofs and checkpoints, written from
RFC 9162 §2.1, C2SP tlog-checkpoint and signed-note, and SPEC §6 alone:
plain hashlib, json and cryptography, sharing no code with the ledger's."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def canonical(value: Any) -> bytes:
    """RFC 8785 for the values an envelope holds (strings, integers, objects)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def leaf_of(envelope: dict[str, Any]) -> bytes:
    data_hash = sha256(bytes.fromhex(envelope["data_salt"]) + canonical(envelope["data"])).hex()
    keys = ("event_id", "claim_id", "version", "position", "type", "occurred_at")
    entry = {key: envelope[key] for key in keys}
    entry |= {
        "recorded_at": envelope["recorded_at"],
        "actor": envelope["actor"],
        "data_hash": data_hash,
    }
    return sha256(b"\x00" + canonical(entry))


def root_from_path(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2."""
    assert 0 <= index < size
    fn, sn, r = index, size - 1, leaf
    for p in path:
        assert sn != 0
        if fn % 2 == 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn //= 2
                sn //= 2
        else:
            r = sha256(b"\x01" + r + p)
        fn //= 2
        sn //= 2
    assert sn == 0
    return r


def check_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, proof: list[bytes]
) -> None:
    """RFC 9162 §2.1.4.2; raises AssertionError when the proof does not hold."""
    assert 0 < first <= second
    if first == second:
        assert proof == []
        assert first_hash == second_hash
        return
    assert proof
    if first & (first - 1) == 0:
        proof = [first_hash, *proof]
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn //= 2
        sn //= 2
    fr = sr = proof[0]
    for c in proof[1:]:
        assert sn != 0
        if fn % 2 == 1 or fn == sn:
            fr = sha256(b"\x01" + c + fr)
            sr = sha256(b"\x01" + c + sr)
            while fn % 2 == 0 and fn != 0:
                fn //= 2
                sn //= 2
        else:
            sr = sha256(b"\x01" + sr + c)
        fn //= 2
        sn //= 2
    assert fr == first_hash
    assert sr == second_hash
    assert sn == 0


def open_checkpoint(note: str, verifier_keys: list[str]) -> tuple[str, int, bytes]:
    """(origin, size, root) of a checkpoint signed by one of the verifier keys."""
    body, _, signature_lines = note.partition("\n\n")
    body += "\n"
    origin, size, root = body.split("\n")[:3]
    for key_text in verifier_keys:
        name, key_hash, encoded = key_text.split("+", 2)
        raw = base64.b64decode(encoded)
        assert raw[0] == 1
        assert sha256(name.encode() + b"\n" + raw)[:4].hex() == key_hash
        for line in signature_lines.splitlines():
            signer, blob64 = line.removeprefix("\u2014 ").split(" ")
            blob = base64.b64decode(blob64)
            if signer == name and blob[:4].hex() == key_hash:
                Ed25519PublicKey.from_public_bytes(raw[1:]).verify(blob[4:], body.encode())
                return origin, int(size), base64.b64decode(root)
    raise AssertionError("no signature by a given key")

"""The ledger's checkpoints: its signing key, signing the tree's head, and the
projector's share of the work (feeding the tree, signing as it grows).

The signing key lives in a file (never in the database, never logged),
created once, on the first start of a ledger that has published no key; every
process of the ledger loads the same file, and one whose key is not the
ledger's newest published key refuses to start. Replacing the key publishes
the new one beside the old: checkpoints signed by the old stay verifiable.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from ledger.checkpoints import checkpoint_body, public_bytes, sign_note, verifier_key
from ledger.errors import CheckpointNotFound, ProofOutOfRange
from ledger.merkle import (
    Node,
    StoredNodes,
    consistency_nodes,
    consistency_proof,
    inclusion_nodes,
    inclusion_path,
    root_nodes,
    tree_head,
    verify_consistency,
)
from ledger.times import to_micros, utc_now
from projections.tree import TreeFeeder
from storage.tree import CheckpointRow, PublishedKeyRow, TreeStore

__all__ = [
    "AUTO_SIGN_EVENTS",
    "AUTO_SIGN_SECONDS",
    "CheckpointSigner",
    "ConsistencyProof",
    "InclusionProof",
    "InconsistentTree",
    "SigningKeyError",
    "TreeWork",
    "consistency",
    "inclusion",
    "inclusion_proofs",
    "load_signing_key",
    "rotate_signing_key",
    "signed_checkpoint",
]

AUTO_SIGN_EVENTS: Final = 1_000
AUTO_SIGN_SECONDS: Final = 10.0
LEAVES_PER_CALL: Final = 5_000
"""Leaves the projector adds between two catch-ups of the read models (about 0.4 s)."""


class SigningKeyError(Exception):
    """The signing key cannot be used for this ledger (one line says why)."""


class InconsistentTree(Exception):
    """The tree is not an extension of an earlier checkpoint's: never signed."""


def _write_new_key(path: Path, key: Ed25519PrivateKey, *, replace: bool) -> None:
    """Writes the key, mode 0600, whole or not at all (written aside, then linked:
    of two processes creating it at once, one wins and the other reads its key)."""
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, aside = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, pem)
        os.fsync(descriptor)
        os.close(descriptor)
        if replace:
            Path(aside).replace(path)
        else:
            os.link(aside, path)
    finally:
        Path(aside).unlink(missing_ok=True)


def _read_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise SigningKeyError(f"cannot read the checkpoint signing key {path}: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"the checkpoint signing key {path} is not an Ed25519 key")
    return key


def load_signing_key(path: Path, store: TreeStore, origin: str) -> Ed25519PrivateKey:
    """The ledger's signing key from its file; made (and published) on the first
    start of a ledger that has none."""
    published = store.published_keys()
    if not path.exists():
        if published:
            raise SigningKeyError(
                f"no checkpoint signing key at {path}, and the ledger's checkpoints are "
                f"signed by {published[0].verifier_key}: give every process that key's file "
                "(FACTLEDGER_CHECKPOINT_KEY_FILE), or replace it with "
                "`factledger checkpoint-key rotate`"
            )
        try:
            _write_new_key(path, Ed25519PrivateKey.generate(), replace=False)
        except FileExistsError:
            pass  # another process of the ledger made it first: its key is used
        except OSError as error:
            raise SigningKeyError(
                f"cannot create the checkpoint signing key {path}: {error}"
            ) from None
    key = _read_key(path)
    mine = verifier_key(origin, public_bytes(key.public_key()))
    if not published:
        store.publish_key(PublishedKeyRow(mine, to_micros(utc_now())))
        published = store.published_keys()
    if published[0].verifier_key != mine:
        raise SigningKeyError(
            f"the checkpoint signing key in {path} ({mine}) is not the ledger's published "
            f"key ({published[0].verifier_key})"
        )
    return key


def rotate_signing_key(path: Path, store: TreeStore, origin: str) -> str:
    """Makes a new key in `path` (the old file kept beside it) and publishes it
    as the newest; returns its verifier key."""
    key = Ed25519PrivateKey.generate()
    if path.exists():
        old = path.with_name(f"{path.name}.{int(time.time())}.old")
        path.replace(old)
    _write_new_key(path, key, replace=True)
    mine = verifier_key(origin, public_bytes(key.public_key()))
    newest = store.published_keys()
    at = max([to_micros(utc_now()), *(row.published_at_us + 1 for row in newest)])
    store.publish_key(PublishedKeyRow(mine, at))
    return mine


@dataclass(frozen=True)
class Signed:
    checkpoint: CheckpointRow
    new: bool


class CheckpointSigner:
    """Signs the tree's head as it stands, once per size."""

    def __init__(self, store: TreeStore, origin: str, key: Ed25519PrivateKey) -> None:
        self.store = store
        self.origin = origin
        self.key = key

    def sign(self) -> Signed:
        """A checkpoint of the tree's size: the one kept already, or a new one
        after checking that the tree extends the latest earlier checkpoint."""
        size = self.store.size()
        kept = self.store.checkpoint(size)
        if kept is not None:
            return Signed(kept, new=False)
        root = tree_head(StoredNodes(self.store.nodes(root_nodes(size))), size)
        earlier = self.store.checkpoint_before(size)
        if earlier is not None and earlier.size > 0:
            nodes = StoredNodes(self.store.nodes(consistency_nodes(earlier.size, size)))
            proof = consistency_proof(nodes, earlier.size, size)
            if not verify_consistency(earlier.size, size, earlier.root, root, proof):
                raise InconsistentTree(
                    f"the tree of {size} leaves does not extend the checkpoint of {earlier.size}"
                )
        note = sign_note(self.origin, checkpoint_body(self.origin, size, root), self.key)
        added = self.store.add_checkpoint(CheckpointRow(size, root, note, to_micros(utc_now())))
        kept = self.store.checkpoint(size)
        assert kept is not None
        return Signed(kept, new=added)


class TreeWork:
    """What the projector does for the tree after each catch-up: adds the new
    leaves, and signs when 1,000 events or 10 s have passed since the last
    checkpoint with new events."""

    def __init__(self, feeder: TreeFeeder, signer: CheckpointSigner) -> None:
        self.feeder = feeder
        self.signer = signer
        self._signed_at = time.monotonic()

    def __call__(self) -> float | None:
        """Returns how long the projector may wait before calling again."""
        # A bounded share at a time: a long backlog (a ledger just upgraded)
        # never holds the read models up for long.
        if self.feeder.catch_up(limit=LEAVES_PER_CALL) == LEAVES_PER_CALL:
            return 0.0
        store = self.signer.store
        latest = store.checkpoint()
        unsigned = store.size() - (latest.size if latest else 0)
        if unsigned <= 0:
            return None
        since = time.monotonic() - self._signed_at
        if unsigned >= AUTO_SIGN_EVENTS or since >= AUTO_SIGN_SECONDS or latest is None:
            self.signer.sign()
            self._signed_at = time.monotonic()
            return None
        return AUTO_SIGN_SECONDS - since


# --- what the API answers ---------------------------------------------------------


def signed_checkpoint(store: TreeStore, size: int | None) -> CheckpointRow:
    """The checkpoint at that size, or the latest."""
    found = store.checkpoint(size)
    if found is None:
        raise CheckpointNotFound(
            "No checkpoint is signed yet."
            if size is None
            else f"No checkpoint was signed at tree size {size}."
        )
    return found


def _signed_size(store: TreeStore, size: int, field: str) -> None:
    if not store.is_signed(size):
        raise ProofOutOfRange(
            f"{field} {size} is not the size of a signed checkpoint (GET /ledger/checkpoint).",
            field,
        )


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    leaf_hash: bytes
    audit_path: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    proof: list[bytes]


def inclusion(store: TreeStore, index: int, size: int) -> InclusionProof:
    _signed_size(store, size, "size")
    if not 0 <= index < size:
        raise ProofOutOfRange(f"index {index} is not a leaf of a tree of {size}.", "index")
    nodes = StoredNodes(store.nodes(inclusion_nodes(index, size)))
    return InclusionProof(index, size, nodes.nodes[0, index], inclusion_path(nodes, index, size))


def consistency(store: TreeStore, old_size: int, new_size: int) -> ConsistencyProof:
    _signed_size(store, old_size, "from")
    _signed_size(store, new_size, "to")
    if not 0 < old_size <= new_size:
        raise ProofOutOfRange(
            f"from ({old_size}) must be at least 1 and at most to ({new_size}).", "from"
        )
    nodes = StoredNodes(store.nodes(consistency_nodes(old_size, new_size)))
    return ConsistencyProof(old_size, new_size, consistency_proof(nodes, old_size, new_size))


def inclusion_proofs(
    store: TreeStore, indexes: list[int]
) -> tuple[CheckpointRow | None, dict[int, InclusionProof]]:
    """The latest checkpoint, and the inclusion proof into it of each of these
    leaves that it holds, from one read of the nodes they all need."""
    latest = store.checkpoint()
    if latest is None or latest.size == 0:
        return latest, {}
    held = [index for index in indexes if 0 <= index < latest.size]
    wanted: set[Node] = set()
    for index in held:
        wanted |= inclusion_nodes(index, latest.size)
    nodes = StoredNodes(store.nodes(wanted))
    return latest, {
        index: InclusionProof(
            index, latest.size, nodes.nodes[0, index], inclusion_path(nodes, index, latest.size)
        )
        for index in held
    }

"""What the ledger keeps of its Merkle tree, whichever backend holds it.

The tree is kept as the hash of every complete, aligned subtree
(`ledger.merkle.Node`: leaves at level 0), with its size beside them,
written in one transaction: the size is the tree's own tracking (the next
leaf added must be leaf `size`), so a leaf is never added twice or skipped.
Signed checkpoints (at most one per size) and every public key that ever
signed one are kept beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from ledger.merkle import Node

__all__ = ["CheckpointRow", "PublishedKeyRow", "SignedSizes", "TreeOutOfStep", "TreeStore"]

_REMEMBERED_SIZES: Final = 100_000


class TreeOutOfStep(Exception):
    """Leaves were offered from another index than the stored tree's size
    (another projector added them first)."""


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    size: int
    root: bytes
    note: str
    signed_at_us: int


@dataclass(frozen=True, slots=True)
class PublishedKeyRow:
    verifier_key: str
    published_at_us: int


class SignedSizes:
    """The sizes found signed, remembered (checkpoints are never removed), so
    that a proof's check of its size asks the database once."""

    def __init__(self) -> None:
        self._known: set[int] = set()

    def check(self, size: int, stored: Callable[[int], bool]) -> bool:
        if size in self._known:
            return True
        if not stored(size):
            return False
        if len(self._known) < _REMEMBERED_SIZES:
            self._known.add(size)
        return True


class TreeStore(Protocol):
    def create_tables(self) -> None: ...

    def size(self) -> int: ...

    def append(self, first: int, leaves: Sequence[bytes]) -> int:
        """Adds leaves `first`, `first + 1`, ... with the nodes they complete, in one
        transaction; returns the new size. `TreeOutOfStep` when the tree's size
        is not `first`."""

    def nodes(self, wanted: Iterable[Node]) -> dict[Node, bytes]:
        """The stored hashes of those nodes (those not stored are absent)."""

    def add_checkpoint(self, row: CheckpointRow) -> bool:
        """Keeps a signed checkpoint; False when one of that size is kept already."""

    def checkpoint(self, size: int | None = None) -> CheckpointRow | None:
        """The checkpoint of that size, or the latest."""

    def is_signed(self, size: int) -> bool:
        """Whether a checkpoint of that size is kept (a size found signed is
        remembered: checkpoints are never removed)."""

    def checkpoint_before(self, size: int) -> CheckpointRow | None:
        """The latest checkpoint of a smaller size."""

    def checkpoints(self) -> Iterator[CheckpointRow]:
        """Every checkpoint, by size."""

    def publish_key(self, row: PublishedKeyRow) -> None:
        """Publishes a verifier key (once)."""

    def published_keys(self) -> list[PublishedKeyRow]:
        """Every key that ever signed, newest first."""

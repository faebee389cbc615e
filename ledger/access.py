"""Who may do what (SPEC §5): roles, the actor recorded on every event, and the
role each kind of event needs."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from ledger.fields import FrozenModel, ShortText

__all__ = ["SEEDS_ACTOR", "Actor", "Role"]


class Role(StrEnum):
    """Each role has the rights of those before it."""

    READER = "reader"
    CONTRIBUTOR = "contributor"
    CHECKER = "checker"
    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def includes(self, other: Role) -> bool:
        """True when this role has at least the rights of `other`."""
        return _RANKS[self] >= _RANKS[other]


_RANKS: Final = {role: rank for rank, role in enumerate(Role)}


class Actor(FrozenModel):
    """The authenticated caller an event is attributed to; never taken from a body."""

    id: ShortText
    name: ShortText
    role: Role


SEEDS_ACTOR: Final = Actor(id="seeds", name="factledger seed", role=Role.EDITOR)

"""API keys on both backends: shown once, stored as a hash, revocable."""

from __future__ import annotations

import pytest

from factledger.keys import KeyNotFound
from factledger.service import LedgerService
from ledger.access import Role


def test_a_key_authenticates_as_its_actor(service: LedgerService) -> None:
    issued = service.keys.create("Newsroom A", Role.CHECKER)
    actor = service.keys.authenticate(issued.secret)
    assert actor is not None
    assert (actor.id, actor.name, actor.role) == (issued.key_id, "Newsroom A", Role.CHECKER)


def test_only_a_hash_of_the_key_is_stored(service: LedgerService) -> None:
    issued = service.keys.create("Newsroom A", Role.EDITOR)
    [row] = service.keys.list()
    assert issued.secret not in repr(row)
    assert row.secret_hash != issued.secret


def test_a_revoked_key_no_longer_authenticates(service: LedgerService) -> None:
    issued = service.keys.create("Newsroom A", Role.EDITOR)
    service.keys.revoke(issued.key_id)
    assert service.keys.authenticate(issued.secret) is None
    with pytest.raises(KeyNotFound):
        service.keys.revoke(issued.key_id)


@pytest.mark.parametrize(
    "presented",
    ["", "nonsense", "fl_000000000000_" + "A" * 43, "Bearer x"],
)
def test_a_wrong_key_does_not_authenticate(service: LedgerService, presented: str) -> None:
    issued = service.keys.create("Newsroom A", Role.EDITOR)
    assert service.keys.authenticate(presented) is None
    assert service.keys.authenticate(issued.secret[:-1] + "x") is None

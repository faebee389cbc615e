"""A claim copied from a history must be independent of the history's own."""

from __future__ import annotations

import copy

from ledger.events import EventType
from ledger.payloads import Withdrawal
from tests.builders import EDITOR, ClaimBuilder, at


def test_a_copied_claim_changes_without_changing_the_original() -> None:
    built = ClaimBuilder()
    rebuttal = built.rebut(at(10))
    original = built.claim
    clone = copy.deepcopy(original)

    clone.execute(
        EventType.REBUTTAL_WITHDRAWN,
        Withdrawal(reason="Filed in error."),
        occurred_at=at(20),
        actor=EDITOR,
        item_id=rebuttal,
    )

    assert clone.version == original.version + 1
    assert clone.items[rebuttal].ended
    assert not original.items[rebuttal].ended
    assert len(clone.pending_events) == 1
    assert original.pending_events == []

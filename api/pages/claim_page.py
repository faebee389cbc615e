"""What the claim page shows, read through the one read façade: the state, the
timeline (drawn) and the history, all at one pair of times.

The three reads use the same window: the state's echoed `as_of` is passed to
the others, so an event appended meanwhile cannot make them disagree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.deps import query_time
from api.pages.errors import PageProblem
from api.pages.forms import FormState
from api.pages.templating import render
from api.pages.timeline import draw_timeline
from api.pages.visitors import Visitor
from api.pages.write_forms import FORMS, WriteForm
from api.problems import ProblemError, problem_of
from api.state import Ledger
from factledger.checkpointing import InclusionProof, inclusion_proofs
from ledger.claimreview import claim_review
from ledger.envelope import envelope_fields
from ledger.errors import ClaimNotFound, NoStandingVerification
from ledger.events import EventType, ItemKind
from ledger.recorded import RecordedEvent
from ledger.times import format_instant

__all__ = ["TimeControls", "render_claim_page"]

_CLAIM_FORMS = (
    EventType.REBUTTAL_FILED,
    EventType.EVIDENCE_ATTACHED,
    EventType.VERIFICATION_RECORDED,
)
_ENDING_FORMS = {
    ItemKind.EVIDENCE: EventType.EVIDENCE_WITHDRAWN,
    ItemKind.REBUTTAL: EventType.REBUTTAL_WITHDRAWN,
    ItemKind.VERIFICATION: EventType.VERIFICATION_RETRACTED,
}


@dataclass
class TimeControls:
    """The time-travel form: what was asked (as typed), and what is wrong with it."""

    as_of: str = ""
    valid_at: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def query(self) -> str:
        """The permalink's query string of the times asked (none: the present)."""
        pairs = {"as_of": self.as_of, "valid_at": self.valid_at}
        return urlencode({name: value for name, value in pairs.items() if value})


def _form_of(event_type: EventType) -> WriteForm:
    return FORMS[event_type.declared.operation]


def _event_row(event: RecordedEvent, proof: InclusionProof | None) -> dict[str, Any]:
    fields = envelope_fields(event)
    fields["data_json"] = json.dumps(fields["data"], indent=2, ensure_ascii=False)
    fields["proof"] = (
        {
            "size": proof.size,
            "leaf_hash": proof.leaf_hash.hex(),
            "audit_path": [node.hex() for node in proof.audit_path],
        }
        if proof is not None
        else None
    )
    return fields


async def render_claim_page(
    request: Request,
    ledger: Ledger,
    visitor: Visitor,
    claim_id: UUID,
    controls: TimeControls,
    failed: FormState | None = None,
    status_code: int = 200,
) -> Response:
    """The claim page at the times asked (the present, when they do not parse:
    then the problem is shown at the controls and the status is 422)."""
    as_of = valid_at = None
    for name in ("as_of", "valid_at"):
        try:
            parsed = query_time(name, getattr(controls, name) or None)
        except ProblemError as problem:
            controls.errors[name] = [error.message for error in problem.errors]
            status_code = 422
            continue
        if name == "as_of":
            as_of = parsed
        else:
            valid_at = parsed
    try:
        view = await ledger.reads.claim.astate(claim_id, as_of=as_of, valid_at=valid_at)
        window, events = await ledger.reads.claim.ahistory(
            claim_id, as_of=view.window.as_of, valid_at=view.window.valid_at
        )
    except ClaimNotFound as error:
        raise PageProblem(problem_of(error)) from None
    changes = view.folded.changes()
    checkpoint, proofs = await run_in_threadpool(
        inclusion_proofs, ledger.service.persistence.tree, [e.leaf_index for e in events]
    )
    try:
        review: str | None = _json_ld(
            claim_review(claim_id, view.folded, ledger.settings.publisher)
        )
    except NoStandingVerification:
        review = None
    ending_forms = {
        kind.value: _form_of(event_type)
        for kind, event_type in _ENDING_FORMS.items()
        if visitor.may(event_type.declared.role)
    }
    context = {
        "visitor": visitor,
        "claim_id": claim_id,
        "state": view.state,
        "changes": changes,
        "drawing": draw_timeline(changes),
        "events": [_event_row(event, proofs.get(event.leaf_index)) for event in events],
        "checkpoint": checkpoint.note if checkpoint is not None else None,
        "as_of": format_instant(window.as_of),
        "valid_at": format_instant(window.valid_at) if window.valid_at is not None else None,
        "controls": controls,
        "forms": [
            _form_of(event_type)
            for event_type in _CLAIM_FORMS
            if visitor.may(event_type.declared.role)
        ],
        "ending_forms": ending_forms,
        "failed": failed,
        "in_the_past": as_of is not None or valid_at is not None,
        "claim_review": review,
    }
    return render(request, "claim.html", context, status_code)


def _json_ld(document: dict[str, Any]) -> str:
    """JSON for a `<script type="application/ld+json">` block: every `<` written
    as its JSON escape, so that no text of the claim can end the block."""
    return json.dumps(document, ensure_ascii=False).replace("<", "\\u003c")

"""The write forms of the pages, declared once: for each write (by its event
type, `ledger.events`), the inputs a person fills in. One template macro draws
any of them; the route reads any of them into the API's JSON body.

Each input is named by its path in the body (see `api.pages.forms`). The role a
form needs is its write's role: a form is shown only to a session whose key
has it, and the write path checks it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ledger.events import EventType, ItemKind
from ledger.payloads import Party, Rating, Stance, VerificationRecording

__all__ = ["FORMS", "Input", "WriteForm", "form_named"]


@dataclass(frozen=True)
class Input:
    name: str
    label: str
    kind: str = "text"
    """text, url, textarea or select."""
    required: bool = False
    hint: str = ""
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class WriteForm:
    event_type: EventType
    title: str
    button: str
    inputs: tuple[Input, ...]

    @property
    def name(self) -> str:
        return self.event_type.declared.operation

    @property
    def ends(self) -> ItemKind | None:
        return self.event_type.declared.ends


_OCCURRED_AT: Final = Input(
    "occurred_at",
    "Occurred at",
    hint="When it happened in the world, RFC 3339 with an offset "
    "(2023-01-13T12:00:00Z); empty: now.",
)


def _source(prefix: str, *, required: bool) -> tuple[Input, ...]:
    return (
        Input(f"{prefix}.url", "Source URL", "url", required=required),
        Input(f"{prefix}.title", "Source title"),
        Input(f"{prefix}.outlet", "Source outlet"),
    )


def _cited(index: int) -> tuple[Input, ...]:
    number = index + 1
    return (
        Input(f"sources.{index}.url", f"Source {number} URL", "url", required=index == 0),
        Input(f"sources.{index}.title", f"Source {number} title"),
    )


def _kind(prefix: str, whose: str) -> tuple[Input, ...]:
    # Only when parties have a `kind` (SPEC §2: a person or an organization).
    if "kind" not in Party.model_fields:
        return ()
    return (
        Input(
            f"{prefix}.kind",
            f"{whose} is a",
            "select",
            options=(("person", "Person"), ("organization", "Organization")),
        ),
    )


def _review() -> tuple[Input, ...]:
    # Only when the payload has a `review` (the published fact-check article).
    if "review" not in VerificationRecording.model_fields:
        return ()
    return (
        Input("review.url", "Review URL", "url", hint="The published fact-check, if any."),
        Input("review.headline", "Review headline"),
    )


def _ending(event_type: EventType, title: str, button: str) -> WriteForm:
    return WriteForm(
        event_type,
        title,
        button,
        (Input("reason", "Reason", "textarea", required=True), _OCCURRED_AT),
    )


FORMS: Final = {
    form.name: form
    for form in (
        WriteForm(
            EventType.CLAIM_REGISTERED,
            "Register a claim",
            "Register the claim",
            (
                Input("text", "Claim text", "textarea", required=True),
                Input("claimant.name", "Claimant's name", required=True),
                Input("claimant.affiliation", "Claimant's affiliation"),
                *_kind("claimant", "The claimant"),
                Input("appearance.url", "Where it appeared (URL)", "url"),
                Input("appearance.outlet", "Outlet"),
                Input("appearance.quote", "Quote", "textarea"),
                Input("language", "Language", hint="BCP 47 tag; empty: en."),
                Input("tags", "Tags", hint="Separated by commas."),
                _OCCURRED_AT,
            ),
        ),
        WriteForm(
            EventType.REBUTTAL_FILED,
            "File a rebuttal",
            "File the rebuttal",
            (
                Input("party.name", "Party's name", required=True),
                Input("party.affiliation", "Party's affiliation"),
                *_kind("party", "The party"),
                Input("statement", "Statement", "textarea", required=True),
                *_source("source", required=False),
                _OCCURRED_AT,
            ),
        ),
        WriteForm(
            EventType.EVIDENCE_ATTACHED,
            "Attach evidence",
            "Attach the evidence",
            (
                Input(
                    "stance",
                    "Stance",
                    "select",
                    required=True,
                    options=tuple((stance.value, stance.value.capitalize()) for stance in Stance),
                ),
                *_source("source", required=True),
                Input("excerpt", "Excerpt", "textarea"),
                _OCCURRED_AT,
            ),
        ),
        WriteForm(
            EventType.VERIFICATION_RECORDED,
            "Record a verification",
            "Record the verification",
            (
                Input(
                    "rating",
                    "Rating",
                    "select",
                    required=True,
                    options=tuple((rating.value, rating.label) for rating in Rating),
                ),
                Input("rationale", "Rationale", "textarea", required=True),
                *_cited(0),
                *_cited(1),
                *_cited(2),
                *_review(),
                _OCCURRED_AT,
            ),
        ),
        _ending(EventType.EVIDENCE_WITHDRAWN, "Withdraw this evidence", "Withdraw"),
        _ending(EventType.REBUTTAL_WITHDRAWN, "Withdraw this rebuttal", "Withdraw"),
        _ending(EventType.VERIFICATION_RETRACTED, "Retract this verification", "Retract"),
    )
}
"""The forms by the operation of their write."""


def form_named(name: str) -> WriteForm | None:
    return FORMS.get(name)

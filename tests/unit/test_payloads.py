"""The shapes and limits of event payloads (docs/events.md), one sentence each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from pydantic import BaseModel, ValidationError

from ledger.payloads import (
    Appearance,
    CitedSource,
    ClaimAmendedData,
    ClaimAmendment,
    ClaimRegisteredData,
    ClaimRegistration,
    EvidenceAttachedData,
    EvidenceAttachment,
    EvidenceWithdrawnData,
    Party,
    Rating,
    RebuttalFiledData,
    RebuttalFiling,
    RebuttalWithdrawnData,
    Review,
    Source,
    Stance,
    VerificationRecordedData,
    VerificationRecording,
    VerificationRetractedData,
    Withdrawal,
)

URL = "https://example.org/report"
CLAIMANT = {"name": "Igor Konashenkov"}

Make = Callable[[Any], BaseModel]


def registration(**fields: Any) -> ClaimRegistration:
    return ClaimRegistration.model_validate(
        {"text": "Soledar was taken.", "claimant": CLAIMANT, **fields}
    )


def recording(**fields: Any) -> VerificationRecording:
    return VerificationRecording.model_validate(
        {"rating": "false", "rationale": "Fighting went on.", "sources": [{"url": URL}], **fields}
    )


def attachment(**fields: Any) -> EvidenceAttachment:
    return EvidenceAttachment.model_validate(
        {"source": {"url": URL}, "stance": "refutes", **fields}
    )


def filing(**fields: Any) -> RebuttalFiling:
    return RebuttalFiling.model_validate(
        {"party": {"name": "Hanna Malyar"}, "statement": "Battles continued.", **fields}
    )


def amendment(**fields: Any) -> ClaimAmendment:
    return ClaimAmendment.model_validate({"reason": "Transcription fixed.", **fields})


# --- unknown fields -------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: registration(verdict="false"), id="registration"),
        pytest.param(lambda: registration(claimant={**CLAIMANT, "age": 60}), id="claimant"),
        pytest.param(lambda: registration(appearance={"url": URL, "date": "x"}), id="appearance"),
        pytest.param(lambda: amendment(text="New.", language="uk"), id="amendment"),
        pytest.param(lambda: attachment(weight=3), id="evidence"),
        pytest.param(lambda: attachment(source={"url": URL, "author": "x"}), id="evidence source"),
        pytest.param(lambda: filing(claim_id=str(uuid4())), id="rebuttal"),
        pytest.param(lambda: filing(party={"name": "x", "role": "y"}), id="rebuttal party"),
        pytest.param(lambda: recording(score=1), id="verification"),
        pytest.param(lambda: recording(review={"url": URL, "rating": "x"}), id="review"),
        pytest.param(lambda: recording(sources=[{"url": URL, "outlet": "x"}]), id="cited source"),
        pytest.param(
            lambda: Withdrawal.model_validate({"reason": "x", "by": "y"}), id="withdrawal"
        ),
    ],
)
def test_an_unknown_field_is_refused_never_dropped(make: Callable[[], BaseModel]) -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        make()


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: attachment(evidence_id=str(uuid4())), id="evidence_id"),
        pytest.param(lambda: filing(rebuttal_id=str(uuid4())), id="rebuttal_id"),
        pytest.param(lambda: recording(verification_id=str(uuid4())), id="verification_id"),
    ],
)
def test_a_client_may_not_choose_an_id_the_server_makes(make: Callable[[], BaseModel]) -> None:
    with pytest.raises(ValidationError):
        make()


# --- text limits ----------------------------------------------------------------

TEXT_FIELDS = [
    pytest.param(lambda v: registration(text=v), 2000, id="claim text"),
    pytest.param(lambda v: amendment(text=v), 2000, id="amended text"),
    pytest.param(lambda v: registration(claimant={"name": v}), 200, id="claimant name"),
    pytest.param(
        lambda v: registration(claimant={**CLAIMANT, "affiliation": v}), 200, id="affiliation"
    ),
    pytest.param(lambda v: filing(party={"name": v}), 200, id="party name"),
    pytest.param(lambda v: recording(review={"url": URL, "headline": v}), 200, id="headline"),
    pytest.param(lambda v: Appearance(url=URL, outlet=v), 200, id="appearance outlet"),
    pytest.param(lambda v: Source(url=URL, outlet=v), 200, id="source outlet"),
    pytest.param(lambda v: Source(url=URL, title=v), 200, id="source title"),
    pytest.param(lambda v: CitedSource(url=URL, title=v), 200, id="cited source title"),
    pytest.param(lambda v: Appearance(url=URL, quote=v), 5000, id="quote"),
    pytest.param(lambda v: attachment(excerpt=v), 5000, id="excerpt"),
    pytest.param(lambda v: filing(statement=v), 5000, id="statement"),
    pytest.param(lambda v: recording(rationale=v), 5000, id="rationale"),
    pytest.param(lambda v: Withdrawal(reason=v), 5000, id="withdrawal reason"),
    pytest.param(lambda v: amendment(text="New.", reason=v), 5000, id="amendment reason"),
    pytest.param(lambda v: registration(tags=[v]), 50, id="tag"),
]


@pytest.mark.parametrize(("make", "limit"), TEXT_FIELDS)
def test_a_text_field_takes_from_one_character_up_to_its_limit(make: Make, limit: int) -> None:
    make("x")
    make("x" * limit)


@pytest.mark.parametrize(("make", "limit"), TEXT_FIELDS)
def test_a_text_field_refuses_one_character_past_its_limit(make: Make, limit: int) -> None:
    with pytest.raises(ValidationError):
        make("x" * (limit + 1))


@pytest.mark.parametrize(("make", "limit"), TEXT_FIELDS)
def test_a_limit_counts_characters_not_bytes(make: Make, limit: int) -> None:
    make("é" * limit)
    make("😀" * limit)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("", id="empty"),
        pytest.param(" ", id="a space"),
        pytest.param(" \t\n ", id="whitespace"),
        pytest.param("\u3000", id="ideographic space"),
        pytest.param("\x00", id="NUL alone"),
        pytest.param("Soledar\x00was taken.", id="NUL inside"),
        pytest.param("\ud800", id="unpaired surrogate alone"),
        pytest.param("Soledar \udfff", id="unpaired surrogate inside"),
    ],
)
@pytest.mark.parametrize(("make", "limit"), TEXT_FIELDS)
def test_a_text_field_refuses_blank_nul_and_unpaired_surrogates(
    make: Make, limit: int, bad: str
) -> None:
    with pytest.raises(ValidationError):
        make(bad)


def test_a_text_is_kept_exactly_as_written() -> None:
    written = "  Soledar\twas taken.\n"
    assert registration(text=written).text == written


def test_an_unpaired_surrogate_in_a_json_body_is_refused() -> None:
    body = '{"text": "Soledar \\ud800", "claimant": {"name": "x"}}'
    with pytest.raises(ValidationError):
        ClaimRegistration.model_validate_json(body)


# --- URLs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org",
        "http://example.org/",
        "https://example.org/path/to/page?q=1&r=2#part",
        "HTTPS://EXAMPLE.ORG/Upper",
        "https://example.org:8443/x",
        "https://[2001:db8::1]/x",
        "https://example.org/a%20b",
        "https://sub.example.co.uk/" + "a" * (2048 - len("https://sub.example.co.uk/")),
    ],
)
def test_an_absolute_http_or_https_url_is_taken(url: str) -> None:
    assert Source(url=url).url == url


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("", id="empty"),
        pytest.param("example.org", id="no scheme"),
        pytest.param("/claims/1", id="relative path"),
        pytest.param("report.html", id="relative file"),
        pytest.param("//example.org/x", id="scheme relative"),
        pytest.param("ftp://example.org/file", id="ftp"),
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("JavaScript://example.org/%0Aalert(1)", id="javascript with host"),
        pytest.param("mailto:desk@example.org", id="mailto"),
        pytest.param("data:text/html,hi", id="data"),
        pytest.param("file:///etc/passwd", id="file"),
        pytest.param("http://", id="no host"),
        pytest.param("http:///path", id="empty host"),
        pytest.param("http:example.org", id="opaque http"),
        pytest.param("https://user@/x", id="user without host"),
        pytest.param("https://example.org/a b", id="space"),
        pytest.param(" https://example.org/", id="leading space"),
        pytest.param("https://example.org/\n", id="newline"),
        pytest.param("https://example.org/\t", id="tab"),
        pytest.param("https://exa\x00mple.org/", id="NUL"),
        pytest.param("https://example.org/\x1b[2J", id="escape"),
        pytest.param("https://example.org/\x7f", id="DEL"),
        pytest.param("https://example.org/\x9b2J", id="C1 control"),
        pytest.param("https://example.org/\u00a0", id="no-break space"),
        pytest.param("https://example.org:0/", id="port zero"),
        pytest.param("https://example.org:99999/", id="port out of range"),
        pytest.param("https://example.org:http/", id="port not a number"),
        pytest.param("https://[2001:db8::1/", id="unclosed IPv6"),
        pytest.param("https://example.org/" + "a" * (2049 - 20), id="2049 chars"),
    ],
)
def test_anything_but_an_absolute_http_or_https_url_is_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        Source(url=url)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda url: Appearance(url=url), id="appearance"),
        pytest.param(lambda url: Source(url=url), id="source"),
        pytest.param(lambda url: CitedSource(url=url), id="cited source"),
        pytest.param(lambda url: recording(review={"url": url}), id="review"),
    ],
)
def test_every_url_field_refuses_a_relative_url(make: Make) -> None:
    make(URL)
    with pytest.raises(ValidationError):
        make("/report")


# --- tags -----------------------------------------------------------------------

TAGGED = [
    pytest.param(lambda tags: registration(tags=tags), id="registration"),
    pytest.param(lambda tags: amendment(tags=tags), id="amendment"),
]


@pytest.mark.parametrize("make", TAGGED)
def test_a_claim_takes_up_to_twenty_different_tags(make: Make) -> None:
    make([f"tag-{n}" for n in range(20)])


@pytest.mark.parametrize("make", TAGGED)
def test_a_twenty_first_tag_is_refused(make: Make) -> None:
    with pytest.raises(ValidationError):
        make([f"tag-{n}" for n in range(21)])


@pytest.mark.parametrize("make", TAGGED)
def test_a_tag_may_not_repeat(make: Make) -> None:
    with pytest.raises(ValidationError, match="repeat"):
        make(["soledar", "bakhmut", "soledar"])


# --- lists of sources -----------------------------------------------------------


@pytest.mark.parametrize("count", [1, 20])
def test_a_verification_rests_on_one_to_twenty_sources(count: int) -> None:
    sources = [{"url": f"{URL}/{n}"} for n in range(count)]
    assert len(recording(sources=sources).sources) == count


@pytest.mark.parametrize("count", [0, 21])
def test_a_verification_with_no_sources_or_more_than_twenty_is_refused(count: int) -> None:
    with pytest.raises(ValidationError):
        recording(sources=[{"url": f"{URL}/{n}"} for n in range(count)])


# --- ratings and stances --------------------------------------------------------


@pytest.mark.parametrize(
    ("rating", "value", "label"),
    [
        ("true", 5, "True"),
        ("mostly_true", 4, "Mostly true"),
        ("mixed", 3, "Mixed"),
        ("mostly_false", 2, "Mostly false"),
        ("false", 1, "False"),
        ("misleading", None, "Misleading"),
        ("unproven", None, "Unproven"),
    ],
)
def test_each_rating_has_its_claimreview_value_and_label(
    rating: str, value: int | None, label: str
) -> None:
    recorded = recording(rating=rating).rating
    assert recorded is Rating(rating)
    assert recorded.rating_value == value
    assert recorded.label == label


def test_the_scale_has_exactly_seven_ratings_best_to_worst_then_the_two_without_a_value() -> None:
    assert [r.value for r in Rating] == [
        "true",
        "mostly_true",
        "mixed",
        "mostly_false",
        "false",
        "misleading",
        "unproven",
    ]


@pytest.mark.parametrize(
    "rating", ["TRUE", "True", "mostly true", "disputed", "unverified", "pants_on_fire", "", 5]
)
def test_a_rating_off_the_scale_is_refused(rating: object) -> None:
    with pytest.raises(ValidationError):
        recording(rating=rating)


@pytest.mark.parametrize("stance", ["supports", "refutes", "context"])
def test_evidence_supports_refutes_or_gives_context(stance: str) -> None:
    assert attachment(stance=stance).stance is Stance(stance)


@pytest.mark.parametrize("stance", ["neutral", "SUPPORTS", "support", "", None])
def test_any_other_stance_is_refused(stance: object) -> None:
    with pytest.raises(ValidationError):
        attachment(stance=stance)


# --- language -------------------------------------------------------------------


@pytest.mark.parametrize(
    "language",
    ["en", "uk", "ru", "pt-BR", "zh-Hant-TW", "sr-Latn-RS", "es-419", "de-CH-1996", "EN"],
)
def test_a_bcp_47_language_tag_is_taken(language: str) -> None:
    assert registration(language=language).language == language


@pytest.mark.parametrize(
    "language",
    [
        "english",
        "e",
        "en_US",
        "",
        "en-",
        "-en",
        "en--US",
        "en US",
        "12",
        "en-\u0661\u0662\u0663",  # Arabic-Indic digits
        "en-US\n",
    ],
)
def test_anything_but_a_bcp_47_language_tag_is_refused(language: str) -> None:
    with pytest.raises(ValidationError):
        registration(language=language)


# --- amendments -----------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"text": "Reworded."}, id="text"),
        pytest.param({"tags": ["soledar"]}, id="tags"),
        pytest.param({"text": "Reworded.", "tags": ["soledar"]}, id="both"),
    ],
)
def test_an_amendment_changes_the_text_or_the_tags_or_both(changes: dict[str, Any]) -> None:
    amendment(**changes)


def test_an_amendment_that_changes_neither_text_nor_tags_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least one of text and tags"):
        amendment()


def test_an_amendment_needs_a_reason() -> None:
    with pytest.raises(ValidationError):
        ClaimAmendment.model_validate({"text": "Reworded."})


# --- required and optional fields -----------------------------------------------


@pytest.mark.parametrize(
    ("model", "fields", "missing"),
    [
        (ClaimRegistration, {"claimant": CLAIMANT}, "text"),
        (ClaimRegistration, {"text": "x"}, "claimant"),
        (Party, {"affiliation": "x"}, "name"),
        (Appearance, {"outlet": "x"}, "url"),
        (EvidenceAttachment, {"source": {"url": URL}}, "stance"),
        (EvidenceAttachment, {"stance": "refutes"}, "source"),
        (RebuttalFiling, {"party": {"name": "x"}}, "statement"),
        (RebuttalFiling, {"statement": "x"}, "party"),
        (VerificationRecording, {"rationale": "x", "sources": [{"url": URL}]}, "rating"),
        (VerificationRecording, {"rating": "true", "sources": [{"url": URL}]}, "rationale"),
        (VerificationRecording, {"rating": "true", "rationale": "x"}, "sources"),
        (Withdrawal, {}, "reason"),
        (Review, {"headline": "x"}, "url"),
    ],
)
def test_a_required_field_may_not_be_left_out(
    model: type[BaseModel], fields: dict[str, Any], missing: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(fields)
    assert [error["loc"] for error in raised.value.errors()] == [(missing,)]


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (ClaimRegisteredData, {"text": "x", "claimant": CLAIMANT}),
        (ClaimAmendedData, {"text": "x", "reason": "r"}),
        (
            EvidenceAttachedData,
            {"evidence_id": str(uuid4()), "source": {"url": URL}, "stance": "context"},
        ),
        (EvidenceWithdrawnData, {"evidence_id": str(uuid4()), "reason": "r"}),
        (
            RebuttalFiledData,
            {"rebuttal_id": str(uuid4()), "party": {"name": "x"}, "statement": "s"},
        ),
        (RebuttalWithdrawnData, {"rebuttal_id": str(uuid4()), "reason": "r"}),
        (
            VerificationRecordedData,
            {
                "verification_id": str(uuid4()),
                "rating": "true",
                "rationale": "x",
                "sources": [{"url": URL}],
            },
        ),
        (VerificationRetractedData, {"verification_id": str(uuid4()), "reason": "r"}),
    ],
)
def test_optional_fields_not_given_are_absent_from_the_stored_data(
    model: type[BaseModel], fields: dict[str, Any]
) -> None:
    assert model.model_validate(fields).model_dump(mode="json", exclude_none=True) == fields


@pytest.mark.parametrize("kind", ["person", "organization"])
def test_a_claimant_or_a_rebuttal_party_is_a_person_or_an_organization(kind: str) -> None:
    assert registration(claimant={**CLAIMANT, "kind": kind}).claimant.kind == kind
    assert filing(party={"name": "x", "kind": kind}).party.kind == kind


@pytest.mark.parametrize("kind", ["Person", "people", "", 1])
def test_any_other_kind_of_party_is_refused(kind: object) -> None:
    with pytest.raises(ValidationError):
        registration(claimant={**CLAIMANT, "kind": kind})
    with pytest.raises(ValidationError):
        filing(party={"name": "x", "kind": kind})


def test_a_verification_may_name_its_published_review_with_or_without_a_headline() -> None:
    assert recording(review={"url": URL}).review == Review(url=URL)
    given = recording(review={"url": URL, "headline": "Soledar had not fallen"})
    assert given.review == Review(url=URL, headline="Soledar had not fallen")


def test_a_kind_and_a_review_given_are_stored_as_given() -> None:
    review = {"url": URL + "#second", "headline": "Soledar had not fallen"}
    data = VerificationRecordedData.model_validate(
        {**recording(review=review).model_dump(), "verification_id": str(uuid4())}
    ).model_dump(mode="json", exclude_none=True)
    assert data["review"] == review
    claimant = {"name": "Russian Defense Ministry", "kind": "organization"}
    stored = ClaimRegisteredData.model_validate(registration(claimant=claimant).model_dump())
    assert stored.model_dump(mode="json", exclude_none=True)["claimant"] == claimant


def test_the_language_is_not_defaulted_in_the_stored_data() -> None:
    dumped = ClaimRegisteredData.model_validate(registration().model_dump())
    assert "language" not in dumped.model_dump(mode="json", exclude_none=True)


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (EvidenceAttachedData, {"source": {"url": URL}, "stance": "context"}),
        (EvidenceWithdrawnData, {"reason": "r"}),
        (RebuttalFiledData, {"party": {"name": "x"}, "statement": "s"}),
        (RebuttalWithdrawnData, {"reason": "r"}),
        (VerificationRecordedData, {"rating": "true", "rationale": "x", "sources": [{"url": URL}]}),
        (VerificationRetractedData, {"reason": "r"}),
    ],
)
def test_the_stored_data_of_an_item_always_names_its_id(
    model: type[BaseModel], fields: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(fields)


@pytest.mark.parametrize(
    ("payload", "field", "value"),
    [
        pytest.param(registration(), "text", "Changed.", id="registration"),
        pytest.param(Party(name="x"), "name", "y", id="party"),
        pytest.param(Source(url=URL), "url", "https://example.com", id="source"),
        pytest.param(amendment(text="x"), "reason", "y", id="amendment"),
        pytest.param(attachment(), "stance", Stance.SUPPORTS, id="evidence"),
        pytest.param(filing(), "statement", "y", id="rebuttal"),
        pytest.param(recording(), "rating", Rating.TRUE, id="verification"),
        pytest.param(Withdrawal(reason="x"), "reason", "y", id="withdrawal"),
    ],
)
def test_a_payload_is_frozen(payload: BaseModel, field: str, value: object) -> None:
    with pytest.raises(ValidationError, match="frozen"):
        setattr(payload, field, value)

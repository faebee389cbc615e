"""Forms read into the API's JSON bodies, and the API's problems put back next
to the inputs they concern (`api/pages/forms.py`)."""

from __future__ import annotations

from api.pages.forms import FormState, document_of
from api.pages.write_forms import FORMS
from api.problems import FieldError, ProblemError
from api.schemas import write_body
from ledger.payloads import Party, VerificationRecording


def test_inputs_named_by_their_path_make_the_nested_body() -> None:
    form = [
        ("csrf_token", "t"),
        ("text", " Soledar was taken. "),
        ("claimant.name", "Igor Konashenkov"),
        ("claimant.affiliation", ""),
        ("sources.0.url", "https://example.org/a"),
        ("sources.0.title", ""),
        ("sources.1.url", "https://example.org/b"),
        ("sources.2.url", ""),
        ("tags", "soledar, , bakhmut "),
        ("appearance.url", ""),
    ]

    assert document_of(form) == {
        "text": "Soledar was taken.",
        "claimant": {"name": "Igor Konashenkov"},
        "sources": [{"url": "https://example.org/a"}, {"url": "https://example.org/b"}],
        "tags": ["soledar", "bakhmut"],
    }


def test_an_empty_form_is_an_empty_body() -> None:
    assert document_of([("csrf_token", "t"), ("claimant.name", " "), ("item_id", "x")]) == {}


def _problem(*fields: str) -> ProblemError:
    errors = [FieldError(field=field, message=f"wrong: {field}") for field in fields]
    return ProblemError(422, "invalid-request", "not valid", errors=errors)


def test_each_error_goes_next_to_its_input_or_the_input_that_holds_its_path() -> None:
    inputs = ["text", "claimant.name", "claimant.affiliation", "tags", "sources.0.url"]

    state = FormState.failed(
        "register_claim",
        {"text": "x"},
        _problem("text", "claimant", "tags.3", "sources", "claim_id"),
        inputs,
    )

    assert state.errors_of("text") == ["wrong: text"]
    assert state.errors_of("claimant.name") == ["wrong: claimant"]  # the object was missing
    assert state.errors_of("tags") == ["wrong: tags.3"]
    assert state.errors_of("sources.0.url") == ["wrong: sources"]
    assert state.unplaced == ["wrong: claim_id"]  # no input of its own: above the form
    assert state.value("text") == "x"
    assert state.value("tags") == ""


def test_every_input_of_every_form_is_a_field_of_its_write_s_body() -> None:
    for form in FORMS.values():
        body = write_body(form.event_type)
        for item in form.inputs:
            assert item.name.split(".")[0] in body.model_fields, (form.name, item.name)


def test_the_forms_offer_the_optional_fields_the_payloads_have() -> None:
    verification = {item.name for item in FORMS["record_verification"].inputs}
    registration = {item.name for item in FORMS["register_claim"].inputs}

    assert ("review.url" in verification) == ("review" in VerificationRecording.model_fields)
    assert ("claimant.kind" in registration) == ("kind" in Party.model_fields)

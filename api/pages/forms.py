"""Forms of the pages, read into the same JSON documents the API takes, and the
API's problems mapped back onto the forms' fields.

A form's inputs are named by the dotted paths of the JSON body
(`claimant.name`, `sources.0.url`), which are also the `field`s of the API's
422 errors: an error lands next to the input of its path, or of the longest
input whose path begins it (`tags.3` next to `tags`). An empty input is an
absent field (optional fields stay absent, as in the API); `tags` is one
input of comma-separated tags.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

from api.pages.errors import PageProblem
from api.problems import FieldError, ProblemError

__all__ = ["FORM_CONTROLS", "FormState", "document_of", "read_form"]

MAX_FORM_BYTES: Final = 64 * 1024
"""The same bound as an API body's."""
MAX_FORM_FIELDS: Final = 50

FORM_CONTROLS: Final = frozenset({"csrf_token", "form", "item_id"})
"""Inputs that steer the form, not fields of the body."""
_LISTS: Final = frozenset({"tags"})


async def read_form(request: Request, max_fields: int = MAX_FORM_FIELDS) -> FormData:
    """A posted form (no files): a 413 page past 64 KiB, a 400 page when it does not parse."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise PageProblem(
            ProblemError(
                413, "content-too-large", f"The form is larger than {MAX_FORM_BYTES} bytes."
            )
        )
    try:
        return await request.form(max_files=0, max_fields=max_fields)
    except HTTPException as error:  # Starlette's answer to a form it cannot parse
        raise PageProblem(
            ProblemError(400, "invalid-form", f"The form could not be read: {error.detail}")
        ) from None


def _put(document: dict[str, Any], path: list[str], value: Any) -> None:
    here: Any = document
    for part, following in zip(path, [*path[1:], None], strict=True):
        if following is None:
            here[part] = value
            return
        nested: Any = [] if following.isdigit() else {}
        if isinstance(here, list):
            index = int(part)
            while len(here) <= index:
                here.append(None)
            if here[index] is None:
                here[index] = nested
            here = here[index]
        else:
            here = here.setdefault(part, nested)


def _compact(value: Any) -> Any:
    """Drops what empty inputs left behind: empty objects, and list rows with nothing."""
    if isinstance(value, dict):
        kept = {key: _compact(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in (None, {}, [])}
    if isinstance(value, list):
        kept_items = [_compact(item) for item in value]
        return [item for item in kept_items if item not in (None, {}, [])]
    return value


def document_of(form: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The JSON body a form stands for."""
    document: dict[str, Any] = {}
    for name, raw in form:
        value = raw.strip()
        if name in FORM_CONTROLS or not value:
            continue
        if name in _LISTS:
            _put(document, [name], [tag.strip() for tag in value.split(",") if tag.strip()])
        else:
            _put(document, name.split("."), value)
    compacted: dict[str, Any] = _compact(document)
    return compacted


@dataclass
class FormState:
    """A form as it is shown again after a problem: what was typed, and what is wrong."""

    name: str
    """Which form: the write's operation (`file_rebuttal`, ...)."""
    values: Mapping[str, str] = field(default_factory=dict)
    problem: ProblemError | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    """Messages by input name; those of no input are under ""."""

    @classmethod
    def failed(
        cls, name: str, values: Mapping[str, str], problem: ProblemError, inputs: Iterable[str]
    ) -> FormState:
        state = cls(name, values, problem)
        in_order = list(inputs)
        for error in problem.errors:
            state.errors.setdefault(_input_of(error, in_order), []).append(error.message)
        return state

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def errors_of(self, name: str) -> list[str]:
        return self.errors.get(name, [])

    @property
    def unplaced(self) -> list[str]:
        """Messages that belong to no input (shown at the top of the form)."""
        return self.errors.get("", [])


def _input_of(error: FieldError, inputs: list[str]) -> str:
    """The input an error is about: its own, the longest that begins its path, or
    (for a missing object such as `claimant`) the first input inside it."""
    for name in sorted(inputs, key=len, reverse=True):
        if error.field == name or error.field.startswith(f"{name}."):
            return name
    for name in inputs:
        if name.startswith(f"{error.field}."):
            return name
    return ""

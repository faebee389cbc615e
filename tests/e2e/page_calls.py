"""What the page tests share: reading the bits of a page a test looks at, and
signing a test client in (the pages' own forms, as a browser sends them)."""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi.testclient import TestClient

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]*)"')
CLAIM_LINK = re.compile(r'class="claim-text" href="/claims/([0-9a-f-]{36})/page"')


def csrf_token(page: str, form_id: str | None = None) -> str:
    """The CSRF token the page's forms carry (those of the form with that id)."""
    if form_id is not None:
        page = page.split(f'id="{form_id}"', 1)[1]
    found = CSRF_INPUT.search(page)
    assert found is not None, "the page has no form with a CSRF token"
    return found[1]


def listed_claims(page: str) -> list[str]:
    """The claim ids a list page links to, in its order."""
    return CLAIM_LINK.findall(page)


def field_errors(page: str, input_id: str) -> list[str]:
    """The messages shown next to the input of that id."""
    found = re.search(
        rf'<ul class="field-errors" id="{re.escape(input_id)}-errors">(.*?)</ul>', page
    )
    if found is None:
        return []
    return [html.unescape(message) for message in re.findall(r"<li>(.*?)</li>", found[1])]


def timeline_marks(page: str) -> list[str]:
    """The classes of each mark of the drawn timeline, in order."""
    return re.findall(r'<g class="(mark [^"]*)"', page)


def sign_in(client: TestClient, key: str) -> str:
    """Signs the client in with a key; the session's CSRF token."""
    form = client.get("/sign-in")
    answer = client.post(
        "/sign-in",
        data={"csrf_token": csrf_token(form.text, "sign-in"), "api_key": key},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_token(client.get("/").text)


def post_form(client: TestClient, path: str, fields: dict[str, Any]) -> Any:
    return client.post(path, data=fields, follow_redirects=False)

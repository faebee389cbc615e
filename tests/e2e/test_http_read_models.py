"""`GET /claims`, `GET /changes` and `/readyz` over HTTP (docs/http-api.md), on both
backends, with the projector running inside the app as `serve` runs it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.access import Role
from tests.e2e.http_calls import CLAIM, REASON, REBUTTAL, VERIFICATION, post, problem

Headers = Callable[[Role], dict[str, str]]


def register(
    client: TestClient, headers: dict[str, str], text: str, **fields: Any
) -> dict[str, Any]:
    body = {**CLAIM, "text": text, **fields}
    response = post(client, "/claims", body, headers)
    assert response.status_code == 201, response.text
    written: dict[str, Any] = response.json()
    return written


def listing(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"{path}?{urlencode(params)}")
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def texts(page: dict[str, Any]) -> list[str]:
    return [item["text"] for item in page["items"]]


# --- GET /claims ------------------------------------------------------------------


def test_claims_lists_summaries_newest_registration_first_after_the_writes(
    client: TestClient, as_role: Headers
) -> None:
    editor = as_role(Role.EDITOR)
    first = register(client, editor, "Soledar was taken.")
    second = register(client, editor, "Bakhmut was encircled.", tags=["bakhmut"])
    rebutted = post(client, f"/claims/{first['claim_id']}/rebuttals", REBUTTAL, editor).json()

    page = listing(client, "/claims", min_position=rebutted["position"])

    assert page["next_cursor"] is None
    assert [item["claim_id"] for item in page["items"]] == [
        second["claim_id"],
        first["claim_id"],
    ]
    newest, oldest = page["items"]
    assert newest == {
        "claim_id": second["claim_id"],
        "text": "Bakhmut was encircled.",
        "claimant": {**CLAIM["claimant"], "kind": None},
        "tags": ["bakhmut"],
        "verdict": "unverified",
        "verdict_since": "2023-01-13T09:00:00.000000Z",
        "version": 1,
        "counts": {
            "rebuttals": 0,
            "evidence": {"supports": 0, "refutes": 0, "context": 0},
            "verifications": 0,
        },
    }
    assert (oldest["verdict"], oldest["version"], oldest["counts"]["rebuttals"]) == (
        "disputed",
        2,
        1,
    )
    assert oldest["verdict_since"] == REBUTTAL["occurred_at"].replace("Z", ".000000Z")


def test_a_summary_is_the_claims_own_current_state(client: TestClient, as_role: Headers) -> None:
    editor = as_role(Role.EDITOR)
    claim = register(client, editor, "Soledar was taken.")["claim_id"]
    post(client, f"/claims/{claim}/rebuttals", REBUTTAL, editor)
    verified = post(client, f"/claims/{claim}/verifications", VERIFICATION, editor).json()
    last = post(
        client,
        f"/claims/{claim}/amendments",
        {"text": "Soledar fell.", "tags": ["x"], "reason": "Typo."},
        editor,
    ).json()

    (item,) = listing(client, "/claims", min_position=last["position"])["items"]
    state = client.get(f"/claims/{claim}").json()

    for field in ("text", "claimant", "tags", "verdict", "verdict_since", "version"):
        assert item[field] == state[field], field
    assert item["verdict"] == "mostly_false"
    assert item["counts"]["verifications"] == 1
    assert verified["position"] < last["position"]


def test_claims_filters_by_verdict_claimant_and_tag(client: TestClient, as_role: Headers) -> None:
    editor = as_role(Role.EDITOR)
    a = register(client, editor, "A", tags=["soledar", "army"])
    register(client, editor, "B", tags=["bakhmut"], claimant={"name": "Hanna Malyar"})
    c = register(client, editor, "C", tags=["soledar"])
    last = post(client, f"/claims/{c['claim_id']}/verifications", VERIFICATION, editor).json()
    wait = {"min_position": last["position"]}

    assert texts(listing(client, "/claims", verdict="mostly_false", **wait)) == ["C"]
    assert texts(listing(client, "/claims", verdict="unverified", **wait)) == ["B", "A"]
    assert texts(listing(client, "/claims", verdict="true", **wait)) == []
    assert texts(listing(client, "/claims", claimant="Hanna Malyar", **wait)) == ["B"]
    assert texts(listing(client, "/claims", claimant="hanna malyar", **wait)) == []
    assert texts(listing(client, "/claims", tag="soledar", **wait)) == ["C", "A"]
    assert texts(listing(client, "/claims", tag="army", verdict="unverified", **wait)) == ["A"]
    assert texts(listing(client, "/claims", tag="soledar", claimant="Hanna Malyar")) == []
    assert a["claim_id"] in {i["claim_id"] for i in listing(client, "/claims")["items"]}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("soledar", ["Soledar was taken, Wagner says.", "The fight for SOLEDAR-2 goes on."]),
        ("SOLEDAR taken", ["Soledar was taken, Wagner says."]),
        ("wagner", ["Soledar was taken, Wagner says."]),
        ("soledar 2", ["The fight for SOLEDAR-2 goes on."]),
        ("konashenkov", ["Bakhmut: ещё держится", "Soledar was taken, Wagner says."]),
        ("ЕЩЁ", ["Bakhmut: ещё держится"]),
        ("still", ["Naïve café owners still there"]),
        ("café naïve", ["Naïve café owners still there"]),
        ("cafe", []),  # no folding of accents
        ("take", []),  # whole words only, no stemming
        ("sol", []),
        ("soledar bakhmut", []),  # every word must appear
        ("malyar", ["Naïve café owners still there"]),  # the claimant's name counts
    ],
)
def test_q_finds_claims_with_every_word_as_a_whole_word_in_text_or_claimant(
    client: TestClient, as_role: Headers, q: str, expected: list[str]
) -> None:
    editor = as_role(Role.EDITOR)
    register(client, editor, "Soledar was taken, Wagner says.")
    register(client, editor, "Bakhmut: ещё держится")
    register(client, editor, "The fight for SOLEDAR-2 goes on.", claimant={"name": "Someone"})
    last = register(
        client, editor, "Naïve café owners still there", claimant={"name": "Hanna Malyar"}
    )
    page = listing(client, "/claims", q=q, min_position=last["position"])
    assert sorted(texts(page)) == sorted(expected)


def test_q_follows_amendments(client: TestClient, as_role: Headers) -> None:
    editor = as_role(Role.EDITOR)
    claim = register(client, editor, "Soledar was taken.")["claim_id"]
    amended = post(
        client, f"/claims/{claim}/amendments", {"text": "Soledar held.", "reason": "Typo."}, editor
    )
    wait = amended.json()["position"]
    assert texts(listing(client, "/claims", q="held", min_position=wait)) == ["Soledar held."]
    assert texts(listing(client, "/claims", q="taken")) == []


def test_paging_returns_every_claim_once_while_others_are_registered(
    client: TestClient, as_role: Headers
) -> None:
    editor = as_role(Role.EDITOR)
    written = [register(client, editor, f"Claim {n}") for n in range(11)]
    existing = [w["claim_id"] for w in written]
    seen: list[str] = []
    page = listing(client, "/claims", limit=3, min_position=written[-1]["position"])
    pages = 1
    while True:
        seen += [item["claim_id"] for item in page["items"]]
        # Writes continue between pages: new claims, and events on listed ones.
        register(client, editor, f"Newer {pages}")
        post(client, f"/claims/{existing[pages]}/rebuttals", REBUTTAL, editor)
        if page["next_cursor"] is None:
            break
        assert set(page["next_cursor"]) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )
        page = listing(client, "/claims", limit=3, cursor=page["next_cursor"])
        pages += 1
    assert sorted(seen) == sorted(existing)
    assert pages == 4


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "ten"},
        {"verdict": "wrong"},
        {"cursor": "not a cursor"},
        {"cursor": "Y2xhaW1zLjE"[:-1]},
        {"cursor": "Y2hhbmdlcy4xLjI"},  # a /changes cursor
        {"cursor": "x" * 121},
        {"q": "!!! ..."},
        {"q": "w" * 501},
        {"min_position": "-1"},
        {"min_position": str(2**63)},
        {"claimant": ""},
    ],
)
def test_bad_listing_parameters_are_422_problems(
    client: TestClient, params: dict[str, str]
) -> None:
    body = problem(client.get(f"/claims?{urlencode(params)}"), 422)
    assert body["errors"]


def test_a_cursor_from_a_page_is_accepted_and_pages_on(
    client: TestClient, as_role: Headers
) -> None:
    editor = as_role(Role.EDITOR)
    last = {}
    for n in range(3):
        last = register(client, editor, f"Claim {n}")
    first = listing(client, "/claims", limit=2, min_position=last["position"])
    second = listing(client, "/claims", limit=2, cursor=first["next_cursor"])
    assert texts(first) + texts(second) == ["Claim 2", "Claim 1", "Claim 0"]
    assert second["next_cursor"] is None


def test_min_position_past_the_ledger_is_422(client: TestClient) -> None:
    problem(client.get("/claims?min_position=5"), 422)


@pytest.fixture
def client_without_projector(service: LedgerService) -> Iterator[TestClient]:
    settings = Settings(database_url=service.settings.database_url, projector=False)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.mark.slow
def test_min_position_not_reached_within_5_s_is_503_with_retry_after(
    client_without_projector: TestClient, as_role: Headers
) -> None:
    written = register(client_without_projector, as_role(Role.EDITOR), "Soledar was taken.")
    response = client_without_projector.get(f"/claims?min_position={written['position']}")
    body = problem(response, 503)
    assert response.headers["Retry-After"].isdigit()
    assert str(written["position"]) in body["detail"]
    # Without min_position the (stale) read model answers at once.
    assert listing(client_without_projector, "/claims")["items"] == []


# --- GET /changes -------------------------------------------------------------------


def test_changes_lists_every_timeline_entry_newest_first(
    client: TestClient, as_role: Headers
) -> None:
    editor = as_role(Role.EDITOR)
    claim = register(client, editor, "Soledar was taken.")["claim_id"]
    post(client, f"/claims/{claim}/rebuttals", REBUTTAL, editor)
    verification = post(client, f"/claims/{claim}/verifications", VERIFICATION, editor).json()
    retracted = post(
        client,
        f"/claims/{claim}/verifications/{verification['data']['verification_id']}/retraction",
        {**REASON, "occurred_at": "2023-01-15T00:00:00Z"},
        editor,
    ).json()

    page = listing(client, "/changes", min_position=retracted["position"])
    timeline = client.get(f"/claims/{claim}/timeline").json()

    assert page["next_cursor"] is None
    assert [(i["from"], i["to"]) for i in page["items"]] == [
        ("mostly_false", "disputed"),
        ("disputed", "mostly_false"),
        ("unverified", "disputed"),
        (None, "unverified"),
    ]
    for item, entry in zip(page["items"], reversed(timeline), strict=True):
        assert item["claim_id"] == claim
        assert {k: v for k, v in item.items() if k not in ("claim_id", "position")} == entry
    assert page["items"][0]["position"] == retracted["position"]


def test_changes_filters_by_time_verdict_and_actor(client: TestClient, as_role: Headers) -> None:
    editor, checker = as_role(Role.EDITOR), as_role(Role.CHECKER)
    a = register(client, editor, "A")["claim_id"]
    b = register(client, editor, "B", occurred_at="2023-02-01T00:00:00Z")["claim_id"]
    checker_id = post(client, f"/claims/{a}/verifications", VERIFICATION, checker).json()["actor"][
        "id"
    ]
    last = post(
        client,
        f"/claims/{b}/rebuttals",
        {**REBUTTAL, "occurred_at": "2023-02-02T00:00:00Z"},
        editor,
    ).json()
    wait = {"min_position": last["position"]}

    def pairs(**params: str) -> list[tuple[str, str]]:
        page = listing(client, "/changes", **params, **wait)
        return [
            (next(n for n, c in (("A", a), ("B", b)) if c == i["claim_id"]), i["to"])
            for i in page["items"]
        ]

    assert pairs(to="disputed") == [("B", "disputed")]
    assert pairs(actor=checker_id) == [("A", "mostly_false")]
    assert pairs(actor="nobody") == []
    assert pairs(since="2023-01-14T12:00:00Z") == [
        ("B", "disputed"),
        ("B", "unverified"),
        ("A", "mostly_false"),
    ]
    assert pairs(since="2023-01-14T12:00:00Z", until="2023-02-01T00:00:00Z") == [
        ("A", "mostly_false")
    ]
    assert pairs(until="2023-01-14T12:00:00Z") == [("A", "unverified")]


def test_changes_pages_without_duplicates(client: TestClient, as_role: Headers) -> None:
    editor = as_role(Role.EDITOR)
    last = {}
    for n in range(7):
        # The same occurred_at for all: the position breaks ties.
        last = register(client, editor, f"Claim {n}")
    seen: list[int] = []
    page = listing(client, "/changes", limit=2, min_position=last["position"])
    while True:
        seen += [item["position"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        page = listing(client, "/changes", limit=2, cursor=page["next_cursor"])
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen)) == 7


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"until": "2023-01-01"},
        {"to": "nope"},
        {"limit": "1000"},
        {"cursor": "Y2xhaW1zLjE"},  # a /claims cursor
        {"actor": "x" * 201},
    ],
)
def test_bad_changes_parameters_are_422_problems(
    client: TestClient, params: dict[str, str]
) -> None:
    problem(client.get(f"/changes?{urlencode(params)}"), 422)


# --- /readyz --------------------------------------------------------------------------


def test_readyz_reports_each_read_models_position_and_lag(
    client: TestClient, client_without_projector: TestClient, as_role: Headers
) -> None:
    written = register(client, as_role(Role.EDITOR), "Soledar was taken.")
    listing(client, "/claims", min_position=written["position"])

    ready = client.get("/readyz").json()
    assert ready["projector"] in ("leading", "standing_by")
    assert ready["read_models"] == {
        "claims": {"position": written["position"], "lag": 0},
        "verdict_changes": {"position": written["position"], "lag": 0},
    }

    # A second app on the same ledger, with no projector of its own.
    register(client_without_projector, as_role(Role.EDITOR), "Bakhmut held.")
    other = client_without_projector.get("/readyz").json()
    assert other["projector"] == "off"
    assert other["read_models"]["claims"]["lag"] in (0, 1)


def test_a_wrong_method_on_claims_names_both_of_its_methods(client: TestClient) -> None:
    response = client.delete("/claims")
    problem(response, 405)
    assert {"GET", "POST"} <= set(response.headers["Allow"].replace(" ", "").split(","))

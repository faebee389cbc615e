"""The ledger's history checked as an outsider checks it (SPEC §6), over HTTP on
both backends: events written, a checkpoint signed on demand, every event's
inclusion proof and the consistency of two checkpoints verified by
tests/transparency.py, which shares no code with the ledger."""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from ledger.access import Role
from tests.e2e.http_calls import CLAIM, REBUTTAL, post
from tests.transparency import check_consistency, leaf_of, open_checkpoint, root_from_path

Headers = Callable[[Role], dict[str, str]]
TEXT = "text/plain; charset=utf-8"


def write_claims(client: TestClient, headers: dict[str, str], claims: int) -> None:
    for _ in range(claims):
        claim = post(client, "/claims", CLAIM, headers).json()
        post(client, f"/claims/{claim['claim_id']}/rebuttals", REBUTTAL, headers)


def sign(client: TestClient, as_role: Headers) -> tuple[int, str]:
    response = client.post("/ledger/checkpoints", headers=as_role(Role.ADMIN))
    assert response.headers["content-type"] == TEXT
    return response.status_code, response.text


def test_every_event_is_proved_into_a_signed_checkpoint_and_checkpoints_are_consistent(
    client: TestClient, as_role: Headers
) -> None:
    write_claims(client, as_role(Role.EDITOR), 3)
    status, note = sign(client, as_role)
    assert status in (200, 201)  # the projector may have signed this size already
    assert sign(client, as_role) == (200, note)

    keys = client.get("/ledger/public-key")
    assert keys.status_code == 200
    assert keys.headers["content-type"] == TEXT
    verifier_keys = keys.text.splitlines()
    assert len(verifier_keys) == 1
    assert verifier_keys[0].startswith("factledger+")

    latest = client.get("/ledger/checkpoint", headers={"Accept": "application/json"})
    assert (latest.status_code, latest.headers["content-type"], latest.text) == (200, TEXT, note)
    origin, size, root = open_checkpoint(note, verifier_keys)
    assert (origin, size) == ("factledger", 6)
    assert note.startswith("factledger\n6\n")
    assert "\n\n\u2014 factledger " in note

    events: list[dict[str, Any]] = client.get("/events").json()["events"]
    for envelope in events:
        proof = client.get(
            "/ledger/proofs/inclusion", params={"index": envelope["leaf_index"], "size": size}
        ).json()
        assert proof["leaf_hash"] == leaf_of(envelope).hex()
        path = [bytes.fromhex(node) for node in proof["audit_path"]]
        assert root_from_path(envelope["leaf_index"], size, leaf_of(envelope), path) == root

    write_claims(client, as_role(Role.EDITOR), 2)
    status, newer = sign(client, as_role)
    assert status in (200, 201)
    _, newer_size, newer_root = open_checkpoint(newer, verifier_keys)
    assert newer_size == 10
    assert client.get("/ledger/checkpoint", params={"size": 6}).text == note
    answer = client.get("/ledger/proofs/consistency", params={"from": 6, "to": 10}).json()
    assert (answer["from"], answer["to"]) == (6, 10)
    proof = [bytes.fromhex(node) for node in answer["proof"]]
    check_consistency(6, 10, root, newer_root, proof)


def test_proofs_are_asked_of_signed_sizes_only_and_signing_is_the_admins(
    client: TestClient, as_role: Headers
) -> None:
    assert client.get("/ledger/checkpoint", params={"size": 5}).status_code == 404
    write_claims(client, as_role(Role.EDITOR), 2)
    assert client.post("/ledger/checkpoints").status_code == 401
    assert client.post("/ledger/checkpoints", headers=as_role(Role.EDITOR)).status_code == 403
    assert sign(client, as_role)[0] in (200, 201)

    def status(path: str, **params: int) -> tuple[int, str]:
        response = client.get(path, params=params)
        return response.status_code, response.headers["content-type"]

    # The projector may sign sizes 1 to 4 as well: 5 is past the tree, never signed.
    problem = "application/problem+json"
    assert status("/ledger/checkpoint", size=5) == (404, problem)
    assert status("/ledger/proofs/inclusion", index=0, size=5) == (422, problem)
    assert status("/ledger/proofs/inclusion", index=4, size=4) == (422, problem)
    assert status("/ledger/proofs/inclusion", index=-1, size=4) == (422, problem)
    assert status("/ledger/proofs/consistency", **{"from": 4, "to": 5}) == (422, problem)
    assert status("/ledger/proofs/consistency", **{"from": 5, "to": 4}) == (422, problem)
    assert status("/ledger/proofs/consistency", **{"from": 0, "to": 4}) == (422, problem)
    assert status("/ledger/proofs/inclusion", index=3, size=4)[0] == 200
    assert status("/ledger/proofs/consistency", **{"from": 4, "to": 4})[0] == 200


def test_the_projector_signs_a_checkpoint_of_new_events_on_its_own(
    client: TestClient, as_role: Headers
) -> None:
    """The first checkpoint as soon as there are events; after it, within 10 s of
    new events."""
    assert client.get("/ledger/checkpoint").status_code == 404
    write_claims(client, as_role(Role.EDITOR), 2)
    wait_for_checkpoint(client, 4, within=15)


def wait_for_checkpoint(client: TestClient, size: int, within: float = 5) -> None:
    deadline = time.monotonic() + within
    while client.get("/ledger/checkpoint", params={"size": size}).status_code != 200:
        assert time.monotonic() < deadline, f"no checkpoint of size {size} within {within} s"
        time.sleep(0.1)


def test_the_claim_page_shows_each_events_inclusion_proof_and_the_latest_checkpoint(
    client: TestClient, as_role: Headers
) -> None:
    claim = post(client, "/claims", CLAIM, as_role(Role.EDITOR)).json()
    page = client.get(f"/claims/{claim['claim_id']}/page").text
    assert "No checkpoint is signed yet." in page or '<pre class="checkpoint">' in page
    post(client, f"/claims/{claim['claim_id']}/rebuttals", REBUTTAL, as_role(Role.EDITOR))
    _, note = sign(client, as_role)
    page = client.get(f"/claims/{claim['claim_id']}/page").text
    assert html.escape(note, quote=False).rstrip("\n") in page
    for index in (0, 1):
        proof = client.get("/ledger/proofs/inclusion", params={"index": index, "size": 2}).json()
        assert f"Leaf {index}: its inclusion proof in the checkpoint of 2 events" in page
        assert proof["leaf_hash"] in page
        assert all(node in page for node in proof["audit_path"])

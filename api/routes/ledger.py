"""`/ledger/...`: the ledger's Merkle tree as an outsider checks it (SPEC §6):
signed checkpoints, the keys that signed them, inclusion and consistency
proofs. Reads follow the read access rule; signing on demand is the admin's."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import LedgerDep, ReaderDep, caller
from api.openapi import problem_responses
from factledger.checkpointing import consistency, inclusion, signed_checkpoint
from ledger.access import Role
from ledger.errors import Unavailable

__all__ = ["router"]

router = APIRouter(tags=["integrity"])

TEXT: Final = "text/plain; charset=utf-8"
SIGN_SECONDS: Final = 9.0
"""How long `POST /ledger/checkpoints` may take to bring the tree up (SPEC: 10 s a request)."""
MAX_SIZE: Final = 2**63 - 1
_TEXT_ANSWER: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}}
}


class InclusionProofAnswer(BaseModel):
    index: int
    size: int
    leaf_hash: str = Field(description="Lowercase hex.")
    audit_path: list[str] = Field(description="RFC 9162 PATH, leaf to root, lowercase hex.")


class ConsistencyProofAnswer(BaseModel):
    from_: int = Field(alias="from")
    to: int
    proof: list[str] = Field(description="RFC 9162 PROOF, lowercase hex.")


@router.get(
    "/ledger/checkpoint",
    response_class=Response,
    responses={**_TEXT_ANSWER, **problem_responses(401, 404, 422, 503)},
    summary="The latest signed checkpoint, or the one at a tree size",
)
async def get_checkpoint(
    _: ReaderDep,
    ledger: LedgerDep,
    size: Annotated[int | None, Query(ge=0, le=MAX_SIZE)] = None,
) -> Response:
    store = ledger.service.persistence.tree
    found = await run_in_threadpool(signed_checkpoint, store, size)
    return Response(found.note, media_type=TEXT)


@router.post(
    "/ledger/checkpoints",
    response_class=Response,
    status_code=201,
    responses={**_TEXT_ANSWER, 201: _TEXT_ANSWER[200], **problem_responses(401, 403, 503)},
    summary="Sign a checkpoint of every event recorded so far (admin)",
)
async def sign_checkpoint(request: Request, ledger: LedgerDep) -> Response:
    await caller(request, ledger, Role.ADMIN)
    service = ledger.service

    def bring_up_and_sign() -> tuple[str, bool]:
        # Every event recorded before the request is visible now: the tree takes them all.
        service.tree_feeder.catch_up()
        signed = service.checkpoint_signer().sign()
        return signed.checkpoint.note, signed.new

    try:
        note, new = await asyncio.wait_for(run_in_threadpool(bring_up_and_sign), SIGN_SECONDS)
    except TimeoutError:
        raise Unavailable(
            "The tree is still taking the events recorded before this request; ask again shortly.",
            retry_after=5,
        ) from None
    return Response(note, status_code=201 if new else 200, media_type=TEXT)


@router.get(
    "/ledger/public-key",
    response_class=Response,
    responses={**_TEXT_ANSWER, **problem_responses(401, 503)},
    summary="The verifier keys of every key that ever signed a checkpoint, newest first",
)
async def get_public_key(_: ReaderDep, ledger: LedgerDep) -> Response:
    rows = await run_in_threadpool(ledger.service.persistence.tree.published_keys)
    return Response("".join(f"{row.verifier_key}\n" for row in rows), media_type=TEXT)


@router.get(
    "/ledger/proofs/inclusion",
    response_model=InclusionProofAnswer,
    responses=problem_responses(401, 422, 503),
    summary="An RFC 9162 inclusion proof of a leaf in a signed tree",
)
async def get_inclusion_proof(
    _: ReaderDep,
    ledger: LedgerDep,
    index: Annotated[int, Query(ge=0, le=MAX_SIZE)],
    size: Annotated[int, Query(ge=1, le=MAX_SIZE)],
) -> InclusionProofAnswer:
    proof = await run_in_threadpool(inclusion, ledger.service.persistence.tree, index, size)
    return InclusionProofAnswer(
        index=proof.index,
        size=proof.size,
        leaf_hash=proof.leaf_hash.hex(),
        audit_path=[node.hex() for node in proof.audit_path],
    )


@router.get(
    "/ledger/proofs/consistency",
    response_model=ConsistencyProofAnswer,
    response_model_by_alias=True,
    responses=problem_responses(401, 422, 503),
    summary="An RFC 9162 consistency proof between two signed trees",
)
async def get_consistency_proof(
    _: ReaderDep,
    ledger: LedgerDep,
    from_: Annotated[int, Query(alias="from", ge=1, le=MAX_SIZE)],
    to: Annotated[int, Query(ge=1, le=MAX_SIZE)],
) -> ConsistencyProofAnswer:
    proof = await run_in_threadpool(consistency, ledger.service.persistence.tree, from_, to)
    return ConsistencyProofAnswer.model_validate(
        {"from": proof.old_size, "to": proof.new_size, "proof": [p.hex() for p in proof.proof]}
    )

"""`GET /metrics`: Prometheus's text format, for every worker of the `serve`
that answers it together (`factledger.metrics`), and what the ledger's
database says at that moment."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Final

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from api.deps import LedgerDep, ReaderDep
from api.openapi import problem_responses
from api.problems import DATABASE_ERRORS
from factledger.ledger_reads import Readiness
from factledger.metrics import ProcessMetrics
from projections.runner import ProjectorRole

__all__ = ["LedgerFigures", "router"]

log = logging.getLogger("factledger.api")

router = APIRouter(tags=["operations"])

PROJECTOR_ROLES: Final = (*(role.value for role in ProjectorRole), "off")
"""Every role `/readyz` names for the projector of a `serve`."""


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus's text exposition format (docs/metrics.md).",
            "content": {CONTENT_TYPE_PLAIN_0_0_4: {"schema": {"type": "string"}}},
        },
        **problem_responses(401),
    },
    summary="Metrics of every worker of this serve, for Prometheus",
)
async def metrics(_: ReaderDep, ledger: LedgerDep, request: Request) -> Response:
    process: ProcessMetrics = request.app.state.metrics
    try:
        ready: Readiness | None = await ledger.reads.readiness()
    except DATABASE_ERRORS as error:
        log.warning("metrics: the database cannot be read: %s", error)
        ready = None
    store = ledger.service.persistence.tree

    def tree_sizes() -> tuple[int, int]:
        latest = store.checkpoint()
        return store.size(), latest.size if latest else 0

    tree: tuple[int, int] | None = None
    if ready is not None:
        try:
            tree = await run_in_threadpool(tree_sizes)
        except DATABASE_ERRORS as error:
            log.warning("metrics: the tree cannot be read: %s", error)
    process.sample_cache(ledger.service.histories.report())
    body = await run_in_threadpool(process.exposition, LedgerFigures(ready, tree))
    return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)


class LedgerFigures:
    """What the ledger's database said when scraped (the figures of `/readyz`):
    they belong to the ledger, not to a worker. When the database could not
    be read (`ready` None), only `factledger_database_up 0`: the workers' own
    figures are still answered."""

    def __init__(self, ready: Readiness | None, tree: tuple[int, int] | None = None) -> None:
        self.ready = ready
        self.tree = tree
        """The tree's size and the latest checkpoint's, when they could be read."""

    def collect(self) -> Iterator[Metric]:
        ready = self.ready
        yield GaugeMetricFamily(
            "factledger_database_up",
            "1 when this scrape read the ledger's database, else 0 (and the figures "
            "read from it are missing).",
            0 if ready is None else 1,
        )
        if ready is None:
            return
        yield GaugeMetricFamily(
            "factledger_ledger_position", "The newest position in the ledger.", ready.position
        )
        position = GaugeMetricFamily(
            "factledger_read_model_position",
            "The position of the last event a read model applied.",
            labels=["read_model"],
        )
        lag = GaugeMetricFamily(
            "factledger_read_model_lag_events",
            "Events in the ledger that a read model has not applied yet.",
            labels=["read_model"],
        )
        for name, (applied, behind) in ready.read_models.items():
            position.add_metric([name], applied)
            lag.add_metric([name], behind)
        yield position
        yield lag
        role = GaugeMetricFamily(
            "factledger_projector_role",
            "1 for the role of this serve's projector (leading: it keeps the read models; "
            "standing_by: another one does; stopped; off: not run here), 0 for the others.",
            labels=["role"],
        )
        current = ready.projector.value if ready.projector is not None else "off"
        for name in PROJECTOR_ROLES:
            role.add_metric([name], float(name == current))
        yield role
        if self.tree is not None:
            tree_size, checkpoint_size = self.tree
            yield GaugeMetricFamily(
                "factledger_tree_size", "Leaves in the ledger's Merkle tree.", tree_size
            )
            yield GaugeMetricFamily(
                "factledger_checkpoint_size",
                "The tree size of the latest signed checkpoint (0 before the first).",
                checkpoint_size,
            )

"""The Merkle tree (docs/integrity.md): what it costs to keep, and what a proof
costs as the ledger grows, on each backend, against bare baselines measured
in the same run.

    .venv/bin/python bench/merkle.py --backend both            # full run: 1k, 100k, 1M
    .venv/bin/python bench/merkle.py --backend sqlite --quick  # smoke: 1k, 100k

- **Tree cost per leaf**: leaf hashes (random 32 bytes: the leaves'
  canonicalisation is measured apart) added to the stored tree in batches of
  1,000, as the projector does (the complete-subtree nodes and the size
  written in one transaction each), against raw SHA-256 of the same leaves'
  entries (a typical 330-byte leaf entry each) in memory. Rounds alternate
  tree, raw, tree, raw. Goal: tree >= 50 % of the raw rate.
- **Canonicalisation**: RFC 8785 JSON of a typical leaf object, per second.
- **verify**: `factledger verify`'s work (every leaf computed again from
  the stored event and compared with the tree, every checkpoint's root and
  signature) on a store of 50k events (20k quick) filled through the
  write path, in events/s, against a raw scan of the same rows in leaf
  order (read, nothing computed). Alternated. Also the projector's cost of
  adding those events to the tree (canonicalisation included), events/s.
- **Proof latency** at each size, once a checkpoint is signed there: an
  inclusion proof of a random leaf, and a consistency proof from a random
  earlier size to it, each as `GET /ledger/proofs/...` computes it (the
  signed-size check, the nodes named by the proof read in one query, the
  proof assembled), against the bare floor of one stored node read by its
  key. Alternated proof, floor, proof, floor. Goal: p99 <= 5 ms at 1M,
  within a factor 3 from 1k to 1M.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rfc8785
from command import parse_options, run_benchmark
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fill import fill as fill_events
from harness import Workspace, alternate, log
from report import count, goal_met, median, ms, out, print_table, rate

from factledger.checkpointing import CheckpointSigner, consistency, inclusion
from factledger.persistence import open_persistence
from factledger.service import LedgerService
from factledger.settings import Settings
from factledger.verifying import verify_ledger
from storage.database import Database
from storage.tree import TreeStore

BATCH = 1_000
SAMPLES = 300
ENTRY: dict[str, Any] = {
    "actor": {"id": "0a1b2c3d4e5f", "name": "A checker of the ledger", "role": "checker"},
    "claim_id": "0b7e9a52-6c1d-4f0e-9d51-5a4f2f3c8e11",
    "data_hash": "7f672ae1538b6277eb8807ce3ee47c35a35a9df83c192ee4a67e25a50ec67618",
    "event_id": "5d1b6a3e-2f0c-4c8e-9a7b-1e2d3c4b5a69",
    "occurred_at": "2023-01-13T09:00:00.000000Z",
    "position": 1042,
    "recorded_at": "2026-11-25T10:00:00.123456Z",
    "type": "RebuttalFiled",
    "version": 3,
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def fill(store: TreeStore, upto: int) -> float:
    """Adds random leaves until the tree holds `upto`; returns the seconds it took."""
    started = time.perf_counter()
    size = store.size()
    while size < upto:
        leaves = [os.urandom(32) for _ in range(min(BATCH, upto - size))]
        size = store.append(size, leaves)
    return time.perf_counter() - started


def tree_round(store: TreeStore, leaves: int) -> float:
    """Leaves per second added to the stored tree (their hashes made beforehand)."""
    batches = [[os.urandom(32) for _ in range(BATCH)] for _ in range(leaves // BATCH)]
    size = store.size()
    started = time.perf_counter()
    for batch in batches:
        size = store.append(size, batch)
    return leaves / (time.perf_counter() - started)


def raw_round(leaves: int) -> float:
    """Leaves per second hashed raw: SHA-256(0x00 ‖ entry) of as many entries."""
    entries = [os.urandom(330) for _ in range(leaves)]
    started = time.perf_counter()
    for entry in entries:
        hashlib.sha256(b"\x00" + entry).digest()
    return leaves / (time.perf_counter() - started)


def canonical_rate(n: int = 20_000) -> float:
    started = time.perf_counter()
    for _ in range(n):
        rfc8785.dumps(ENTRY)
    return n / (time.perf_counter() - started)


def latencies(run: Callable[[], object], samples: int) -> list[float]:
    found = []
    for _ in range(samples):
        started = time.perf_counter()
        run()
        found.append(time.perf_counter() - started)
    return found


def bench_backend(
    workspace: Workspace, backend: str, sizes: list[int], rounds: int, results: dict[str, Any]
) -> None:
    out(f"### The Merkle tree: {backend}")
    out()
    url, _drop = workspace.new_database(backend, "merkle")
    persistence = open_persistence(Database.from_url(url))
    try:
        store = persistence.tree
        store.create_tables()
        signer = CheckpointSigner(store, "factledger", Ed25519PrivateKey.generate())

        rows = []
        rng = random.Random(9162)
        for size in sizes:
            log(f"{backend}: filling the tree to {count(size)}")
            fill(store, size)
            signer.sign()
            signed = [row.size for row in store.checkpoints()]

            def proofs(
                _i: int, size: int = size, signed: list[int] = signed
            ) -> dict[str, list[float]]:
                earlier = [s for s in signed if 0 < s < size] or [size]
                return {
                    "inclusion": latencies(
                        lambda: inclusion(store, rng.randrange(size), size), SAMPLES
                    ),
                    "consistency": latencies(
                        lambda: consistency(store, rng.choice(earlier), size), SAMPLES
                    ),
                }

            def floor(_i: int, size: int = size) -> list[float]:
                return latencies(lambda: store.nodes([(0, rng.randrange(size))]), SAMPLES)

            measured = alternate(rounds, proofs, floor)
            inc = [x for p, _ in measured for x in p["inclusion"]]
            con = [x for p, _ in measured for x in p["consistency"]]
            bare = [x for _, f in measured for x in f]
            rows.append(
                [
                    count(size),
                    ms(percentile(inc, 0.5)),
                    ms(percentile(inc, 0.99)),
                    ms(percentile(con, 0.5)),
                    ms(percentile(con, 0.99)),
                    ms(percentile(bare, 0.5)),
                    ms(percentile(bare, 0.99)),
                ]
            )
            results[f"proofs_{size}"] = {
                "inclusion_p50": percentile(inc, 0.5),
                "inclusion_p99": percentile(inc, 0.99),
                "consistency_p50": percentile(con, 0.5),
                "consistency_p99": percentile(con, 0.99),
                "node_read_p50": percentile(bare, 0.5),
                "node_read_p99": percentile(bare, 0.99),
            }
        print_table(
            f"#### {backend}: proof latency, ms ({rounds} rounds of {SAMPLES} each)",
            [
                "leaves",
                "inclusion p50",
                "inclusion p99",
                "consistency p50",
                "consistency p99",
                "one node read p50",
                "one node read p99",
            ],
            rows,
        )
        per_round = 20_000
        pairs = alternate(
            rounds, lambda _i: tree_round(store, per_round), lambda _i: raw_round(per_round)
        )
        tree_rate = median([t for t, _ in pairs])
        raw_rate = median([r for _, r in pairs])
        share = tree_rate / raw_rate
        canonical = canonical_rate()
        print_table(
            f"#### {backend}: keeping the tree (leaves/s, {rounds} rounds of {count(per_round)})",
            ["tree (stored)", "raw SHA-256", "tree / raw (goal >= 0.5)", "RFC 8785 entries/s"],
            [
                [
                    rate(tree_rate),
                    rate(raw_rate),
                    f"{share:.2f} ({goal_met(share, 0.5)})",
                    rate(canonical),
                ]
            ],
        )
        results["tree_per_second"] = tree_rate
        results["raw_sha256_per_second"] = raw_rate
        results["canonical_per_second"] = canonical

    finally:
        persistence.close()


def bench_verify(
    workspace: Workspace, backend: str, events: int, rounds: int, results: dict[str, Any]
) -> None:
    url, _drop = workspace.new_database(backend, "verify")
    log(f"{backend}: filling {count(events)} events for verify")
    fill_events(url, 1_000, events)  # waves of about events / 1,000 writes each
    settings = Settings(
        database_url=url,
        projector=False,
        checkpoint_key_file=workspace.root / f"{backend}-verify.key",
    )
    service = LedgerService(settings)
    try:
        started = time.perf_counter()
        service.tree_feeder.catch_up()
        feed_rate = events / (time.perf_counter() - started)
        service.checkpoint_signer().sign()
        log_ = service.persistence.event_log
        store = service.persistence.tree

        def verified(_i: int) -> float:
            started = time.perf_counter()
            done = verify_ledger(log_, store)
            assert done.events == events
            return events / (time.perf_counter() - started)

        def scanned(_i: int) -> float:
            started = time.perf_counter()
            seen = 0
            while rows := log_.queries.rows_from_leaf(seen, 1_000):
                seen += len(rows)
            assert seen == events
            return events / (time.perf_counter() - started)

        pairs = alternate(rounds, verified, scanned)
    finally:
        service.close()
    verify_rate = median([v for v, _ in pairs])
    scan_rate = median([r for _, r in pairs])
    print_table(
        f"#### {backend}: verify and the projector's tree, {count(events)} events",
        ["verify events/s", "raw scan events/s", "verify / scan", "tree fed, events/s"],
        [[rate(verify_rate), rate(scan_rate), f"{verify_rate / scan_rate:.2f}", rate(feed_rate)]],
    )
    results["verify_per_second"] = verify_rate
    results["scan_per_second"] = scan_rate
    results["tree_fed_per_second"] = feed_rate


def main(argv: list[str] | None = None) -> int:
    options = parse_options(__doc__ or "", argv)
    sizes = [1_000, 100_000] if options.quick else [1_000, 100_000, 1_000_000]
    rounds = options.rounds or (2 if options.quick else 4)

    def body(workspace: Workspace, backend: str, results: dict[str, Any]) -> None:
        bench_backend(workspace, backend, sizes, rounds, results)
        bench_verify(workspace, backend, 20_000 if options.quick else 50_000, rounds, results)

    return run_benchmark("The Merkle tree", options, body)


if __name__ == "__main__":
    sys.exit(main())

"""What every benchmark command shares: its options (`--backend`, `--quick`,
`--json`, `--rounds`, `--postgres-url`), and the run around its body, which
prints the machine and the code measured, writes the figures as JSON, warns
when the product's source changed during the run, and cleans up every
database and process the run started, also on Ctrl-C, SIGTERM or an error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from harness import DEFAULT_POSTGRES_ADMIN_URL, Cleanup, Workspace, install_signal_handlers
from report import machine_description, out, source_fingerprint

BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Options:
    backends: tuple[str, ...]
    quick: bool
    rounds: int | None
    """Rounds of each side (A B A B ...), when not the plan's."""
    json_path: Path | None
    postgres_url: str
    extra: argparse.Namespace
    """The command's own options."""


def parse_options(
    doc: str,
    argv: Sequence[str] | None = None,
    add_arguments: Callable[[argparse.ArgumentParser], None] = lambda _parser: None,
) -> Options:
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n", maxsplit=1)[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="small numbers: a smoke run")
    parser.add_argument("--rounds", type=int, help="rounds of each side (default: the plan's)")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("FACTLEDGER_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_ADMIN_URL),
        help="an existing database to connect to for CREATE/DROP DATABASE "
        "(default: $FACTLEDGER_BENCH_POSTGRES_URL or %(default)s)",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    return Options(
        backends=BACKENDS if args.backend == "both" else (args.backend,),
        quick=args.quick,
        rounds=args.rounds,
        json_path=args.json,
        postgres_url=args.postgres_url,
        extra=args,
    )


Body = Callable[[Workspace, str, dict[str, Any]], None]
"""Measures one backend in the workspace; adds its figures to the results."""


def run_benchmark(title: str, options: Options, body: Body) -> int:
    """Runs `body` on each backend; returns the process's exit status."""
    install_signal_handlers()
    cleanup = Cleanup()
    started = time.monotonic()
    results: dict[str, Any] = {"quick": options.quick}
    try:
        workspace = Workspace(cleanup, options.postgres_url)
        try:
            postgres = workspace.check_postgres() if "postgresql" in options.backends else None
        except psycopg.Error as error:
            print(
                f"error: PostgreSQL is not reachable at {options.postgres_url}: {error}",
                file=sys.stderr,
            )
            return 2
        results["machine"] = machine_description(postgres)
        out(f"## {title} ({'quick' if options.quick else 'full'} run)")
        out()
        for name, value in results["machine"].items():
            out(f"- {name}: {value}")
        out()
        for backend in options.backends:
            results[backend] = {}
            body(workspace, backend, results[backend])
        _finish(results, started, options)
        return 0
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        cleanup.run_all()


def _finish(results: dict[str, Any], started: float, options: Options) -> None:
    results["seconds"] = time.monotonic() - started
    fingerprint = source_fingerprint()
    if not results["machine"]["factledger"].endswith(fingerprint):
        out(
            f"WARNING: the product's source changed during the run (now {fingerprint}): "
            "the figures above mix versions; run again."
        )
        out()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    out(f"Total time: {results['seconds']:.0f} s; load average after the run: {load}")
    if options.json_path is not None:
        options.json_path.write_text(json.dumps(results, indent=2, default=str))

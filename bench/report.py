"""How the benchmarks print: Markdown tables on standard output, figures
formatted alike, the machine and the code measured, and the medians and
ratios of rounds measured side by side."""

from __future__ import annotations

import hashlib
import os
import platform
import sqlite3
import statistics
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("api", "factledger", "ledger", "projections", "seeds", "storage")


def out(text: str = "") -> None:
    print(text, flush=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown pipe table, right-aligned, readable in a terminal too."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    out(title)
    out()
    out(table(headers, rows))
    out()


def ms(seconds: float) -> str:
    """Seconds as milliseconds, to two decimals below 10 ms."""
    value = seconds * 1000
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def count(n: int) -> str:
    """1k, 100k, 1M for round numbers; else the number with separators."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n:,}"


def rate(per_second: float) -> str:
    return f"{per_second:,.0f}"


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def goal_met(value: float, goal: float, *, at_least: bool = True) -> str:
    met = value >= goal if at_least else value <= goal
    return "met" if met else "NOT met"


# --- what was measured --------------------------------------------------------------


def machine_description(postgres_version: str | None) -> dict[str, str]:
    described = {
        "factledger": f"{_commit()}, source {source_fingerprint()}",
        "cpus (nproc)": str(len(os.sched_getaffinity(0))),
        "cpu model": _cpu_model(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load average before the run": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    if postgres_version is not None:
        described["postgresql"] = postgres_version
    return described


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def source_fingerprint() -> str:
    """A hash of the product's source as it is on disk now: the servers import it
    afresh, so a change during a run would mix versions in one table."""
    digest = hashlib.sha256()
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".json"):
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _commit() -> str:
    """The commit of the code measured, and whether the work tree differs from it."""
    try:
        head = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {head}{' with local changes' if dirty else ''}"


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()

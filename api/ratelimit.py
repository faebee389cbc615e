"""Rate limits (SPEC §4): per API key, and per client address for anonymous
reads; off unless configured (`FACTLEDGER_RATE_LIMIT`,
`FACTLEDGER_ANONYMOUS_RATE_LIMIT`, each like `100/minute`). Past a limit the
answer is 429 with `Retry-After`, the seconds until the window ends.

Fixed windows (aligned to the epoch), counted in a small SQLite file that
every worker of one `serve` shares (`serve` makes it in its run directory and
hands its path down), so a limit holds across `--workers N`: one upsert per
limited request, on a file of its own, never in the ledger's database (whose
writer it would contend with). Without a file (an app made in-process) the
counts live in this process's memory.

Old windows are deleted now and then, so the file stays small.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from pathlib import Path
from typing import Final, Protocol

from api.problems import ProblemError
from factledger.rates import Rate, parse_rate
from factledger.settings import Settings

__all__ = ["RateLimiter"]

_PRUNE_EVERY: Final = 1000


class _Counter(Protocol):
    def hit(self, bucket: str, window: int) -> int:
        """Counts a hit in (bucket, window); returns the window's count so far."""


class _MemoryCounter:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, int], int] = {}

    def hit(self, bucket: str, window: int) -> int:
        key = (bucket, window)
        self.counts[key] = count = self.counts.get(key, 0) + 1
        if len(self.counts) > 100_000:
            self.counts = {k: v for k, v in self.counts.items() if k[1] >= window}
        return count


class _FileCounter:
    """Counts in a SQLite file shared by the processes of one `serve`."""

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path, timeout=1.0, check_same_thread=False)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=OFF")  # counts need not survive a crash
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS rate_hits (bucket TEXT NOT NULL, window INTEGER NOT NULL,"
            " hits INTEGER NOT NULL, PRIMARY KEY (bucket, window)) WITHOUT ROWID"
        )
        self.connection.commit()
        self.lock = threading.Lock()
        self.since_prune = 0

    def hit(self, bucket: str, window: int) -> int:
        with self.lock, self.connection:
            (count,) = self.connection.execute(
                "INSERT INTO rate_hits (bucket, window, hits) VALUES (?, ?, 1) "
                "ON CONFLICT (bucket, window) DO UPDATE SET hits = hits + 1 RETURNING hits",
                (bucket, window),
            ).fetchone()
            self.since_prune += 1
            if self.since_prune >= _PRUNE_EVERY:
                self.since_prune = 0
                self.connection.execute("DELETE FROM rate_hits WHERE window < ?", (window - 1,))
        return int(count)


class RateLimiter:
    def __init__(self, keyed: Rate | None, anonymous: Rate | None, store: Path | None) -> None:
        self.keyed = keyed
        self.anonymous = anonymous
        self.counter: _Counter | None = None
        if keyed or anonymous:
            self.counter = _FileCounter(store) if store is not None else _MemoryCounter()

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        keyed, anonymous = settings.rate_limit, settings.anonymous_rate_limit
        return cls(
            parse_rate(keyed) if keyed else None,
            parse_rate(anonymous) if anonymous else None,
            settings.rate_limit_store,
        )

    def check_key(self, key_id: str) -> None:
        """A request with this key: 429 past the per-key limit."""
        if self.keyed is not None:
            self._check(f"key:{key_id}", self.keyed)

    def check_address(self, address: str) -> None:
        """An anonymous request from this address: 429 past the anonymous limit."""
        if self.anonymous is not None:
            self._check(f"addr:{address}", self.anonymous)

    def _check(self, bucket: str, rate: Rate) -> None:
        assert self.counter is not None
        now = time.time()
        window = int(now // rate.seconds)
        if self.counter.hit(bucket, window) > rate.count:
            retry_after = max(1, math.ceil((window + 1) * rate.seconds - now))
            raise ProblemError(
                429,
                "too-many-requests",
                f"Over the rate limit of {rate}; retry after {retry_after} s.",
                headers={"Retry-After": str(retry_after)},
            )

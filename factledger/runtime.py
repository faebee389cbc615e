"""How a long-running process of the ledger sets up its interpreter."""

from __future__ import annotations

import gc
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Final

__all__ = ["settle_heap", "unwinding_on_sigterm"]

_GC_THRESHOLDS: Final = (10_000, 20, 10)


def settle_heap() -> None:
    """Once a serving process has started: everything alive then (modules,
    models, schemas: most of the heap) is moved out of the garbage collector's
    sight, so that a full collection walks only what requests make; and the
    youngest generation is collected every 10,000 allocations rather than
    700: a request or a batch makes a few dozen containers, nearly all gone
    before the next collection, so collecting that often only walked the same
    work in flight again and again. The figures are in docs/benchmarks.md."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)


class _Terminated(BaseException):
    """SIGTERM, raised where the process was, so that it unwinds."""


@contextmanager
def unwinding_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises rather than ending the process at once,
    so that what the block set up is taken down (its contexts exit, its
    `finally`s run); then the process ends as SIGTERM ends it.

    uvicorn serving in this process (`serve` with one worker) catches SIGTERM,
    shuts down, then raises the signal again under the handler it found: this
    one, so that `serve` still removes what it made for its workers."""

    def terminated(_signum: int, _frame: FrameType | None) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)

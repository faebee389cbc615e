"""How a long-running process of the ledger sets up its interpreter."""

from __future__ import annotations

import gc
from typing import Final

__all__ = ["settle_heap"]

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

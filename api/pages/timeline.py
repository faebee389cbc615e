"""The verdict timeline drawn: where each band and mark of the claim page's SVG
goes on the world-time axis.

World time runs left to right from the registration's `occurred_at`. Each
verdict is a band from the change that set it to the next change; the last
band runs on to the right edge (the verdict holds since then). Each change is
a mark, numbered like the rows of the timeline table under the drawing. A
change recorded more than `BACKFILL_SECONDS` after it occurred was
back-filled: its mark is drawn hollow and dashed, so an archive entered years
later does not look like a decision taken at the time.

Marks closer than `MIN_GAP` are spread apart (in their order), so that each
can be seen, hovered and followed; their titles give the exact times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ledger.times import format_instant
from ledger.verdict import VerdictChange

__all__ = ["BACKFILL_SECONDS", "Band", "Mark", "TimelineDrawing", "draw_timeline"]

BACKFILL_SECONDS: Final = 24 * 3600
"""A change recorded later than this after it occurred is drawn as back-filled."""

WIDTH: Final = 800
HEIGHT: Final = 120
_LEFT: Final = 24
_RIGHT: Final = 24
_TAIL: Final = 0.12
"""The share of the axis after the last change: the last verdict holds on."""
_MIN_SPAN_SECONDS: Final = 3600.0
MIN_GAP: Final = 18.0
"""The least distance between two marks, in the drawing's units."""


@dataclass(frozen=True)
class Band:
    x: float
    width: float
    verdict: str


@dataclass(frozen=True)
class Mark:
    number: int
    x: float
    verdict: str
    backfilled: bool
    title: str
    """Who changed the verdict, when, and why: the mark's tooltip and accessible name."""


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class TimelineDrawing:
    width: int
    height: int
    bands: list[Band]
    marks: list[Mark]
    ticks: list[Tick]
    summary: str
    """What the drawing shows, in words (its `<desc>`)."""


def _title(number: int, change: VerdictChange, backfilled: bool) -> str:
    start = f"{change.from_.value} → " if change.from_ is not None else ""
    when = format_instant(change.occurred_at)
    title = f"{number}. {start}{change.to.value} at {when}, by {change.actor.name}"
    if change.reason:
        title += f": {change.reason}"
    if backfilled:
        title += f" (back-filled: recorded {format_instant(change.recorded_at)})"
    return title


def _spread(xs: list[float], last: float) -> list[float]:
    """The positions, each at least `MIN_GAP` after the one before where there is
    room (none before `_LEFT`, none after `last`)."""
    spread = list(xs)
    for i in range(1, len(spread)):
        spread[i] = max(spread[i], spread[i - 1] + MIN_GAP)
    spread[-1] = min(spread[-1], last)
    for i in range(len(spread) - 2, -1, -1):
        spread[i] = max(min(spread[i], spread[i + 1] - MIN_GAP), _LEFT)
    return [round(x, 2) for x in spread]


def draw_timeline(changes: list[VerdictChange]) -> TimelineDrawing:
    """The drawing of a timeline in fold order (at least the registration)."""
    assert changes, "a claim's timeline starts with its registration"
    start = changes[0].occurred_at
    span = max((changes[-1].occurred_at - start).total_seconds(), _MIN_SPAN_SECONDS)
    inner = WIDTH - _LEFT - _RIGHT
    drawn = inner * (1 - _TAIL)

    def x_of(instant: datetime) -> float:
        return round(_LEFT + drawn * (instant - start).total_seconds() / span, 2)

    xs = _spread([x_of(change.occurred_at) for change in changes], WIDTH - _RIGHT - MIN_GAP)
    marks, bands = [], []
    for number, (change, x) in enumerate(zip(changes, xs, strict=True), start=1):
        backfilled = (change.recorded_at - change.occurred_at).total_seconds() > BACKFILL_SECONDS
        marks.append(
            Mark(number, x, change.to.value, backfilled, _title(number, change, backfilled))
        )
        end = xs[number] if number < len(changes) else WIDTH - _RIGHT
        bands.append(Band(x, round(max(end - x, 0.0), 2), change.to.value))
    ticks = [Tick(_LEFT, format_instant(start)[:10])]
    if changes[-1].occurred_at.date() != start.date():
        ticks.append(
            Tick(x_of(changes[-1].occurred_at), format_instant(changes[-1].occurred_at)[:10])
        )
    summary = (
        f"{len(changes)} verdict change(s) from {format_instant(start)}; "
        f"the verdict is {changes[-1].to.value} since {format_instant(changes[-1].occurred_at)}."
    )
    return TimelineDrawing(WIDTH, HEIGHT, bands, marks, ticks, summary)

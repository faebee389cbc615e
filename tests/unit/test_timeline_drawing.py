"""The verdict timeline drawn (`api/pages/timeline.py`): one band and one mark
per change, along world time, back-filled changes told apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from api.pages.timeline import BACKFILL_SECONDS, MIN_GAP, WIDTH, draw_timeline
from ledger.access import Actor, Role
from ledger.verdict import Verdict, VerdictChange

START = datetime(2023, 1, 13, 9, tzinfo=UTC)
ACTOR = Actor(id="k1", name="A checker", role=Role.CHECKER)


def change(
    to: Verdict, occurred: timedelta, recorded: timedelta = timedelta(0), reason: str | None = None
) -> VerdictChange:
    return VerdictChange(
        from_=None,
        to=to,
        occurred_at=START + occurred,
        recorded_at=START + occurred + recorded,
        event_id=uuid4(),
        version=1,
        actor=ACTOR,
        reason=reason,
    )


def test_each_change_is_a_mark_at_its_world_time_and_a_band_until_the_next() -> None:
    changes = [
        change(Verdict.UNVERIFIED, timedelta(0)),
        change(Verdict.DISPUTED, timedelta(hours=1), reason="Battles continued."),
        change(Verdict.MOSTLY_FALSE, timedelta(days=1)),
    ]

    drawing = draw_timeline(changes)

    xs = [mark.x for mark in drawing.marks]
    assert xs == sorted(xs)
    assert [band.verdict for band in drawing.bands] == ["unverified", "disputed", "mostly_false"]
    for band, following in zip(drawing.bands, drawing.bands[1:], strict=False):
        assert round(band.x + band.width, 2) == following.x
    assert drawing.bands[-1].x + drawing.bands[-1].width <= WIDTH
    assert "A checker: Battles continued." in drawing.marks[1].title


def test_a_change_recorded_more_than_a_day_after_it_occurred_is_back_filled() -> None:
    late = timedelta(seconds=BACKFILL_SECONDS + 1)
    changes = [
        change(Verdict.UNVERIFIED, timedelta(0), recorded=late),
        change(Verdict.DISPUTED, timedelta(hours=1), recorded=timedelta(minutes=5)),
    ]

    marks = draw_timeline(changes).marks

    assert [mark.backfilled for mark in marks] == [True, False]
    assert "back-filled" in marks[0].title


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30))
def test_every_mark_and_band_stays_inside_the_drawing(offsets: list[int]) -> None:
    changes = [change(Verdict.DISPUTED, timedelta(seconds=s)) for s in sorted(offsets)]

    drawing = draw_timeline(changes)

    assert len(drawing.marks) == len(drawing.bands) == len(changes)
    for mark in drawing.marks:
        assert 0 <= mark.x <= WIDTH
    for band in drawing.bands:
        assert band.width >= 0
        assert 0 <= band.x <= band.x + band.width <= WIDTH


def test_changes_at_the_same_time_get_marks_apart_in_their_order() -> None:
    changes = [
        change(Verdict.UNVERIFIED, timedelta(0)),
        change(Verdict.DISPUTED, timedelta(0)),
        change(Verdict.FALSE, timedelta(days=30)),
    ]

    xs = [mark.x for mark in draw_timeline(changes).marks]

    assert xs[1] - xs[0] >= MIN_GAP
    assert xs[2] - xs[1] >= MIN_GAP

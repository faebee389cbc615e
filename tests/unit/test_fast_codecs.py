"""The fast codecs against the models they are derived from (STYLE §13), for
random valid payloads of every event type in random claim histories.

`storage.mapper.decode` must read a stored event as the validating mapper
does; `api.encoding` must write the JSON that the answer models dump; and a
`ClaimHistory`, which folds from its snapshots, must fold what the full fold
folds, however adds and folds interleave. Those are checked with snapshots
as configured and, patched, every 3 events, which reaches the same cases
(a fold from a snapshot before the last, snapshots dropped by a back-dated
event) in histories a tenth as long.

`--hypothesis-show-statistics` tells how often the snapshots were used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from unittest import mock
from uuid import UUID, uuid4

import orjson
import pytest
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.utils import get_topic
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from api.encoding import envelope_json, envelopes_json, state_json, timeline_json
from ledger import history as ledger_history
from ledger.access import Actor, Role
from ledger.claim import Claim, ClaimEvent
from ledger.envelope import envelope_of
from ledger.errors import ClaimNotFound
from ledger.events import EventType
from ledger.fields import FrozenModel
from ledger.history import SNAPSHOT_EVERY, ClaimHistory
from ledger.payloads import (
    Appearance,
    CitedSource,
    ClaimAmendment,
    ClaimRegistration,
    EvidenceAttachment,
    Party,
    PartyKind,
    Rating,
    RebuttalFiling,
    Review,
    Source,
    Stance,
    VerificationRecording,
    Withdrawal,
)
from ledger.recorded import RecordedEvent
from ledger.times import from_micros, to_micros
from ledger.verdict import Fold, fold
from storage.mapper import EventMapper, decode, stored_state

T = TypeVar("T")

# --- payloads -------------------------------------------------------------------

TRICKY = [
    *'"\\/',
    *"\b\f\n\r\t\x01\x1b\x1f\x7f\x85",
    *"\u2028\u2029\u200b\u202e\ufeff\uffff",
    *"éßÆ日本語🙂\u0301",
]
"""What JSON must escape (quotes, backslashes, control characters but NUL),
and non-ASCII that encoders like to get wrong."""

_any_character = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])


def texts(max_size: int) -> st.SearchStrategy[str]:
    """Valid text of the payload fields: any Unicode but NUL and lone surrogates, not blank."""
    return st.text(st.sampled_from(TRICKY) | _any_character, min_size=1, max_size=max_size).filter(
        str.strip
    )


def optional(values: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | values


short_texts = texts(12)
long_texts = texts(30)

_url_character = st.characters(exclude_categories=["Cs", "Cc", "Z"]).filter(
    lambda ch: not ch.isspace()
)
_label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
_hosts = st.sampled_from(
    [
        "example.org",
        "Example.ORG",
        "xn--bcher-kva.example",
        "bücher.example",
        "例え.テスト",
        "127.0.0.1",
        "[::1]",
        "[2001:db8::7]",
    ]
) | st.lists(_label, min_size=1, max_size=3).map(".".join)

urls = st.builds(
    "{}://{}{}{}/{}{}".format,
    st.sampled_from(["http", "https", "HTTPS", "hTTp"]),
    st.sampled_from(["", "user@", "user:pass@"]),
    _hosts,
    st.sampled_from(["", ":1", ":8080", ":65535"]),
    st.text(_url_character, max_size=15),
    st.sampled_from(["", "?q=1&r=%22x%22", '?q="a\\b"', "#frag", "?é=ü#§"]),
)
"""Absolute http(s) URLs that pass `WebUrl`: odd cases, ports, any path
character but spaces and control characters."""

languages = st.sampled_from(
    ["en", "pt-BR", "zh-Hant-TW", "sr-Latn-RS", "de-CH-1996", "es-419", "x-klingon", "EN-gb"]
)
tag_lists = st.lists(texts(8), max_size=4, unique=True)

parties = st.builds(
    Party,
    name=short_texts,
    affiliation=optional(short_texts),
    kind=optional(st.sampled_from(PartyKind)),
)
sources = st.builds(Source, url=urls, title=optional(short_texts), outlet=optional(short_texts))

registrations = st.builds(
    ClaimRegistration,
    text=long_texts,
    claimant=parties,
    appearance=optional(
        st.builds(Appearance, url=urls, outlet=optional(short_texts), quote=optional(long_texts))
    ),
    language=optional(languages),
    tags=optional(tag_lists),
)
amendments = st.one_of(
    st.builds(ClaimAmendment, text=long_texts, reason=long_texts),
    st.builds(ClaimAmendment, tags=tag_lists, reason=long_texts),
    st.builds(ClaimAmendment, text=long_texts, tags=tag_lists, reason=long_texts),
)
attachments = st.builds(
    EvidenceAttachment,
    source=sources,
    excerpt=optional(long_texts),
    stance=st.sampled_from(Stance),
)
filings = st.builds(RebuttalFiling, party=parties, statement=long_texts, source=optional(sources))
recordings = st.builds(
    VerificationRecording,
    rating=st.sampled_from(Rating),
    rationale=long_texts,
    sources=st.lists(
        st.builds(CitedSource, url=urls, title=optional(short_texts)), min_size=1, max_size=20
    ),
    review=optional(st.builds(Review, url=urls, headline=optional(short_texts))),
)
withdrawals = st.builds(Withdrawal, reason=long_texts)
actors = st.builds(Actor, id=short_texts, name=short_texts, role=st.sampled_from(Role))

PAYLOADS: dict[EventType, st.SearchStrategy[Any]] = {
    EventType.CLAIM_AMENDED: amendments,
    EventType.EVIDENCE_ATTACHED: attachments,
    EventType.EVIDENCE_WITHDRAWN: withdrawals,
    EventType.REBUTTAL_FILED: filings,
    EventType.REBUTTAL_WITHDRAWN: withdrawals,
    EventType.VERIFICATION_RECORDED: recordings,
    EventType.VERIFICATION_RETRACTED: withdrawals,
}
"""A payload of each event type but the registration."""

# --- claim histories ---------------------------------------------------------------

MADE_AT = datetime(2023, 1, 13, 9, 0, tzinfo=UTC)
RECORDED_FROM = datetime(2026, 11, 25, tzinfo=UTC)
MINUTE_US = 60_000_000


@dataclass(frozen=True)
class Step:
    event_type: EventType
    payload: int
    """Which of the drawn payloads of its type."""
    actor: int
    which: int
    """Which open item an ending event ends."""
    after_us: int
    """When it occurred: after the claim was made, or an ending after its item."""
    recorded_gap_us: int
    """How long after the previous event it was recorded."""


steps = st.builds(
    Step,
    event_type=st.sampled_from(list(PAYLOADS)),
    payload=st.integers(0, 3),
    actor=st.integers(0, 3),
    which=st.integers(0, 20),
    after_us=st.integers(0, 3 * 40 + 2).map(lambda n: n // 3 * MINUTE_US + n % 3),
    recorded_gap_us=st.sampled_from([1, 2, 1_000_000, 3_600_000_000]),
)


@dataclass(frozen=True)
class Pools:
    """The payloads and actors a history's events draw from (few, so that a
    long history costs little to draw)."""

    registration: ClaimRegistration
    payloads: dict[EventType, list[FrozenModel]]
    actors: list[Actor]


pools = st.builds(
    Pools,
    registration=registrations,
    payloads=st.fixed_dictionaries(
        {kind: st.lists(strategy, min_size=1, max_size=2) for kind, strategy in PAYLOADS.items()}
    ),
    actors=st.lists(actors, min_size=1, max_size=3),
)


@dataclass(frozen=True)
class History:
    claim_id: UUID
    events: list[ClaimEvent]
    """As the aggregate made them, in version order."""
    recorded: list[RecordedEvent]
    """The same, as the ledger reads them back from their stored bytes."""


def recorded(made: ClaimEvent, position: int, recorded_at_us: int) -> RecordedEvent:
    """The event as the ledger reads it back from its stored bytes."""
    return decode(
        topic=get_topic(type(made)),
        claim_id=made.originator_id,
        version=made.originator_version,
        position=position,
        occurred_at_us=to_micros(made.occurred_at),
        recorded_at_us=recorded_at_us,
        leaf_index=position - 1,
        state=orjson.dumps(stored_state(made)),
    )


def build(drawn: Pools, claim_steps: list[Step], first_position: int) -> History:
    """A claim with an event for every step, made through the aggregate's commands.

    An ending step with no open item of its kind begins one instead, so
    that every step adds an event.
    """
    claim = Claim.register(
        claim_id=uuid4(),
        registration=drawn.registration,
        occurred_at=MADE_AT,
        actor=drawn.actors[0],
    )
    open_items: dict[EventType, list[tuple[UUID, datetime]]] = {}
    for step in claim_steps:
        event_type = step.event_type
        declared = event_type.declared
        item_id = None
        occurred_at = MADE_AT + timedelta(microseconds=step.after_us)
        if declared.ends is not None:
            begun = next(t for t in PAYLOADS if t.declared.begins is declared.ends)
            items = open_items.get(begun, [])
            if items:
                item_id, item_occurred_at = items.pop(step.which % len(items))
                occurred_at = item_occurred_at + timedelta(microseconds=step.after_us)
            else:
                event_type = begun
        payloads = drawn.payloads[event_type]
        made = claim.execute(
            event_type,
            payloads[step.payload % len(payloads)],
            occurred_at=occurred_at,
            actor=drawn.actors[step.actor % len(drawn.actors)],
            item_id=item_id,
        )
        if event_type.declared.begins is not None:
            item = getattr(made.data, event_type.declared.begins.id_field)
            open_items.setdefault(event_type, []).append((item, occurred_at))
    recorded_at_us = to_micros(RECORDED_FROM)
    history = History(claim.id, [], [])
    for index, pending in enumerate(claim.collect_events()):
        assert isinstance(pending, ClaimEvent)
        if index:
            recorded_at_us += claim_steps[index - 1].recorded_gap_us
        history.events.append(pending)
        history.recorded.append(recorded(pending, first_position + index, recorded_at_us))
    return history


def histories(min_size: int, max_size: int) -> st.SearchStrategy[History]:
    return st.builds(
        build, pools, st.lists(steps, min_size=min_size, max_size=max_size), st.integers(1, 2**53)
    )


short_histories = histories(0, 10)

SPANNING_HISTORIES = {
    SNAPSHOT_EVERY: short_histories | histories(SNAPSHOT_EVERY + 1, 3 * SNAPSHOT_EVERY),
    3: histories(6, 30),
}
"""By how often a ClaimHistory takes a snapshot, histories that span
several: as configured (short histories, and as many longer than a stretch,
some than two, so that a fold can start from a snapshot before the last),
and every 3 events, which reaches the same cases far more cheaply."""

snapshot_strides = pytest.mark.parametrize(
    "every", list(SPANNING_HISTORIES), ids=["snapshots as configured", "a snapshot every 3 events"]
)


def query_times(events: list[RecordedEvent]) -> st.SearchStrategy[tuple[int, int | None]]:
    """Pairs of (as_of, valid_at), in microseconds: any time an event was
    recorded, one before the first or after the last, often the present;
    no world bound, or one before, at, just after or long after an event."""
    recorded_at = [e.recorded_at_us for e in events]
    as_ofs = sorted({*recorded_at, recorded_at[0] - 1, recorded_at[-1] + 1})
    occurred_at = {e.occurred_at_us for e in events}
    valid_ats = sorted(
        {t + d for t in occurred_at for d in (-1, 0, 1)} | {max(occurred_at) + MINUTE_US}
    )
    return st.tuples(
        st.sampled_from(as_ofs) | st.sampled_from(as_ofs[-3:]),
        st.none() | st.sampled_from(valid_ats),
    )


def instant(micros: int | None) -> datetime | None:
    return from_micros(micros) if micros is not None else None


def full_fold(
    history: History, events: list[RecordedEvent], as_of_us: int, valid_at_us: int | None
) -> Fold | None:
    """The naive fold, from the first event; None where the claim did not exist."""
    try:
        return fold(
            history.claim_id,
            events,
            as_of=from_micros(as_of_us),
            valid_at=instant(valid_at_us),
        ).folded
    except ClaimNotFound:
        return None


def state_dump(history: History, folded: Fold, as_of_us: int, valid_at_us: int | None) -> Any:
    """The state as the declared model dumps it (the reference)."""
    state = folded.state(
        history.claim_id, as_of=from_micros(as_of_us), valid_at=instant(valid_at_us)
    )
    return state.model_dump(mode="json")


def checked_state_dump(
    history: History, folded: Fold, as_of_us: int, valid_at_us: int | None
) -> Any:
    """The state as the model dumps it, having checked that `state_json`
    encodes the same JSON, byte for byte."""
    dumped = state_dump(history, folded, as_of_us, valid_at_us)
    encoded = state_json(history.claim_id, folded, as_of_us, valid_at_us)
    assert orjson.loads(encoded) == dumped
    assert encoded == orjson.dumps(dumped)
    return dumped


def add(kept: ClaimHistory, events: list[RecordedEvent]) -> None:
    before = kept.snapshots
    kept.add(events)
    if kept.snapshots < before:
        event("snapshots dropped by a back-dated event")


def note_snapshot_use(
    kept: ClaimHistory, events: list[RecordedEvent], as_of_us: int, valid_at_us: int | None
) -> None:
    """Notes (for --hypothesis-show-statistics) whether the fold at those
    times starts from a snapshot: the snapshot after the longest run of
    whole stretches of fold order whose events all qualify."""
    qualifying = 0
    for one in sorted(events, key=lambda e: e.fold_key):
        if one.recorded_at_us > as_of_us or (
            valid_at_us is not None and one.occurred_at_us > valid_at_us
        ):
            break
        qualifying += 1
    used = qualifying // ledger_history.SNAPSHOT_EVERY
    if used:
        event("folded from a snapshot")
    if 0 < used < kept.snapshots:
        event("folded from a snapshot before the last")


def add_in_chunks(history: History, cuts: list[int]) -> ClaimHistory:
    """A ClaimHistory given the events in chunks, folded at the present after
    each (as the projector does), so that it makes snapshots that later,
    back-dated events drop."""
    kept = ClaimHistory(history.claim_id)
    added = 0
    for cut in [*sorted(cuts), len(history.recorded)]:
        if cut <= added:
            continue
        add(kept, history.recorded[added:cut])
        added = cut
        kept.fold(history.recorded[cut - 1].recorded_at_us, None)
    return kept


# --- properties -------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MAPPER = EventMapper(transcoder=JSONTranscoder())


@PROPERTY_SETTINGS
@given(short_histories)
def test_decode_reads_a_stored_event_as_the_validating_mapper_does(history: History) -> None:
    for made, lean in zip(history.events, history.recorded, strict=True):
        stored = MAPPER.to_stored_event(made)
        assert stored.state == orjson.dumps(stored_state(made))
        reference = MAPPER.to_domain_event(stored)
        assert isinstance(reference, ClaimEvent)
        as_json = reference.model_dump(mode="json")
        assert as_json == made.model_dump(mode="json")

        decoded = decode(
            topic=stored.topic,
            claim_id=made.originator_id,
            version=made.originator_version,
            position=lean.position,
            occurred_at_us=lean.occurred_at_us,
            recorded_at_us=lean.recorded_at_us,
            leaf_index=lean.leaf_index,
            state=stored.state,
        )
        assert decoded.type is type(reference).event_type
        assert (decoded.claim_id, decoded.version) == (
            reference.originator_id,
            reference.originator_version,
        )
        assert decoded.event_id == as_json["event_id"]
        assert decoded.occurred_at == as_json["occurred_at"]
        assert decoded.occurred_at_us == to_micros(reference.occurred_at)
        assert decoded.actor == as_json["actor"]
        assert decoded.data == reference.data.model_dump(mode="json", exclude_none=True)
        assert decoded.data_salt == reference.data_salt
        assert decoded.stored_data is None
        assert decoded.stored_size == len(stored.state)


@PROPERTY_SETTINGS
@given(short_histories)
def test_an_envelope_encodes_as_its_model_dumps_it(history: History) -> None:
    expected = [envelope_of(e).model_dump(mode="json") for e in history.recorded]
    for one, dumped in zip(history.recorded, expected, strict=True):
        encoded = envelope_json(one)
        assert orjson.loads(encoded) == dumped
        assert encoded == orjson.dumps(dumped)
        assert envelope_json(one) == encoded  # kept on the event
    assert orjson.loads(envelopes_json(history.recorded)) == expected
    assert orjson.loads(envelopes_json([])) == []


@snapshot_strides
@PROPERTY_SETTINGS
@given(data=st.data())
def test_a_state_encodes_as_its_model_dumps_it_whether_folded_in_full_or_from_snapshots(
    every: int, data: st.DataObject
) -> None:
    history = data.draw(SPANNING_HISTORIES[every], label="history")
    with mock.patch.object(ledger_history, "SNAPSHOT_EVERY", every):
        check_states(history, data)


def check_states(history: History, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(1, len(history.recorded)), max_size=4), label="cuts")
    kept = add_in_chunks(history, cuts)
    pairs = data.draw(
        st.lists(query_times(history.recorded), min_size=1, max_size=8),
        label="(as_of, valid_at)",
    )
    for as_of_us, valid_at_us in pairs:
        from_snapshots = kept.fold(as_of_us, valid_at_us)
        in_full = full_fold(history, history.recorded, as_of_us, valid_at_us)
        if in_full is None:
            assert not from_snapshots.registered
            continue
        note_snapshot_use(kept, history.recorded, as_of_us, valid_at_us)
        expected = checked_state_dump(history, in_full, as_of_us, valid_at_us)
        assert checked_state_dump(history, from_snapshots, as_of_us, valid_at_us) == expected
        assert from_snapshots.changes() == in_full.changes()


@PROPERTY_SETTINGS
@given(short_histories, st.data())
def test_a_timeline_encodes_as_its_changes_dump(history: History, data: st.DataObject) -> None:
    pairs = data.draw(
        st.lists(query_times(history.recorded), min_size=1, max_size=10),
        label="(as_of, valid_at)",
    )
    for as_of_us, valid_at_us in pairs:
        folded = full_fold(history, history.recorded, as_of_us, valid_at_us)
        if folded is None:
            continue
        dumped = [c.model_dump(mode="json", by_alias=True) for c in folded.changes()]
        encoded = timeline_json(folded.timeline)
        assert orjson.loads(encoded) == dumped
        assert encoded == orjson.dumps(dumped)


@snapshot_strides
@PROPERTY_SETTINGS
@given(data=st.data())
def test_a_history_folds_as_the_full_fold_however_adds_and_folds_interleave(
    every: int, data: st.DataObject
) -> None:
    history = data.draw(SPANNING_HISTORIES[every], label="history")
    with mock.patch.object(ledger_history, "SNAPSHOT_EVERY", every):
        check_interleaved(history, data)


def check_interleaved(history: History, data: st.DataObject) -> None:
    kept = ClaimHistory(history.claim_id)
    events = history.recorded
    cuts = data.draw(st.lists(st.integers(1, len(events)), max_size=5), label="added up to")
    added = 0
    for cut in sorted({*cuts, len(events)}):
        again = data.draw(st.integers(0, min(added, 3)), label="given again")
        add(kept, events[added - again : cut])
        added = cut
        so_far = events[:added]
        times = query_times(so_far)
        for _ in range(data.draw(st.integers(1, 2), label="folds")):
            as_of_us, valid_at_us = data.draw(times, label="(as_of, valid_at)")
            from_snapshots = kept.fold(as_of_us, valid_at_us)
            note_snapshot_use(kept, so_far, as_of_us, valid_at_us)
            in_full = full_fold(history, so_far, as_of_us, valid_at_us)
            if in_full is None:
                assert not from_snapshots.registered
                continue
            assert state_dump(history, from_snapshots, as_of_us, valid_at_us) == state_dump(
                history, in_full, as_of_us, valid_at_us
            )
            assert from_snapshots.changes() == in_full.changes()
            assert state_json(
                history.claim_id, from_snapshots, as_of_us, valid_at_us
            ) == state_json(history.claim_id, in_full, as_of_us, valid_at_us)

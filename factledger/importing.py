"""`factledger import`: another ledger's events (NDJSON of envelopes, as
`factledger export` writes them) appended to this one.

Each event keeps what makes it the same event: its id, its claim, its
version, `occurred_at`, its actor and its data with the salt (so its data
hash is the same); this ledger gives it its own position and `recorded_at`
(and leaf index) when it commits, as for any write. An envelope's
`leaf_index` is accepted and ignored.

Every line is checked as a write would be: the envelope's shape, the type's
payload model, the role the type needs (the actor's, from the file: import
is the operator's own act), and the claim's rules against its state here.
Versions must follow on: an event is taken only if its claim is at the
version before it. An event whose id is already in the ledger is skipped if
it is the same event, and stops the import if it is not; so importing a file
twice appends nothing.

Lines are applied in order, in transactions of up to `IMPORT_BATCH` events.
The first line that cannot be taken stops the import with its number: every
line before it is in the ledger, nothing from it on is (the events of its
batch before it are committed first). Fixing that line and importing the
file again skips what is there and goes on.

Memory stays bounded: lines are read one at a time, and the state of at most
`CLAIMS_KEPT` claims is kept between batches (others are read again).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Final
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from pydantic import ConfigDict, Field, StringConstraints, ValidationError

from ledger.access import Actor
from ledger.claim import Claim, ClaimEvent, Copied, resolve_occurred_at
from ledger.errors import ClaimAlreadyRegistered, ClaimNotFound, LedgerError
from ledger.events import EventType
from ledger.fields import FrozenModel
from ledger.recorded import RecordedEvent
from ledger.times import Instant, to_micros, utc_now
from storage.errors import AppendRefused, CommitInterrupted, NotAppended
from storage.mapper import decode_row, stored_state
from storage.queries import EventAppender, EventQueries
from storage.rows import NewEvent

__all__ = [
    "CLAIMS_KEPT",
    "IMPORT_BATCH",
    "MAX_LINE_BYTES",
    "ImportReport",
    "ImportStopped",
    "Importer",
    "describe",
]

IMPORT_BATCH: Final = 500
"""Events appended in one transaction at most."""
CLAIMS_KEPT: Final = 10_000
"""Claims whose state is kept between batches."""
MAX_LINE_BYTES: Final = 1024 * 1024
"""A longer line is refused (an envelope is at most a few tens of KiB)."""


class ImportStopped(LedgerError):
    """Raised when a line of an import file cannot be taken: everything before
    it was imported, nothing from it on."""

    def __init__(self, line: int, detail: str, report: ImportReport) -> None:
        super().__init__(f"line {line}: {detail}")
        self.line = line
        self.report = report


@dataclass
class ImportReport:
    lines: int = 0
    appended: int = 0
    already_there: int = 0


class ImportedEnvelope(FrozenModel):
    """An envelope as the API writes it (SPEC §2); unknown keys are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    event_id: UUID
    claim_id: UUID
    version: Annotated[int, Field(ge=1)]
    position: Annotated[int, Field(ge=1)]
    """The other ledger's; this one gives its own."""
    type: str
    occurred_at: Instant
    recorded_at: Instant
    """The other ledger's; this one records its own."""
    actor: Actor
    data: dict[str, Any]
    data_salt: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    leaf_index: Annotated[int, Field(ge=0)] | None = None
    """The other ledger's Merkle leaf; this one gives its own."""


@dataclass(frozen=True)
class _Line:
    number: int
    envelope: ImportedEnvelope
    event_type: EventType
    data: FrozenModel

    def identity(self) -> dict[str, Any]:
        """What must be equal for two envelopes to be the same event."""
        envelope = self.envelope
        return {
            "claim_id": envelope.claim_id,
            "version": envelope.version,
            "type": envelope.type,
            "occurred_at": to_micros(envelope.occurred_at),
            "actor": envelope.actor.model_dump(mode="json"),
            "data": envelope.data,
            "data_salt": envelope.data_salt,
        }


def _identity(event: RecordedEvent) -> dict[str, Any]:
    return {
        "claim_id": event.claim_id,
        "version": event.version,
        "type": event.type.declared.name,
        "occurred_at": event.occurred_at_us,
        "actor": event.actor,
        "data": event.stored_data if event.stored_data is not None else event.data,
        "data_salt": event.data_salt,
    }


class _Refused(Exception):
    """A line that cannot be taken, and why (numbered by the caller)."""


@dataclass
class _Batch:
    events: list[NewEvent] = field(default_factory=list)
    lines: dict[UUID, _Line] = field(default_factory=dict)
    """The lines taken in this batch, by event id."""


class Importer:
    """Appends the events of an export to this ledger."""

    def __init__(
        self,
        appender: EventAppender,
        queries: EventQueries,
        now: Callable[[], datetime] = utc_now,
        batch_size: int = IMPORT_BATCH,
    ) -> None:
        self.appender = appender
        self.queries = queries
        self.now = now
        self.batch_size = batch_size
        self._claims: OrderedDict[UUID, Claim] = OrderedDict()

    def run(
        self, lines: Iterable[bytes], on_line: Callable[[bytes], None] = lambda _: None
    ) -> ImportReport:
        """Imports the lines in order (each one envelope); `on_line` is told of
        each line read. Raises `ImportStopped` at the first line it cannot take."""
        report = ImportReport()
        batch: list[tuple[int, bytes]] = []
        for number, line in enumerate(lines, start=1):
            on_line(line)
            report.lines = number
            if line.strip():
                batch.append((number, line))
            if len(batch) == self.batch_size:
                self._import(batch, report)
                batch = []
        if batch:
            self._import(batch, report)
        return report

    def _import(self, raw: list[tuple[int, bytes]], report: ImportReport) -> None:
        parsed: list[_Line] = []
        stopped: tuple[int, str] | None = None
        for number, text in raw:
            try:
                parsed.append(_parse(number, text))
            except _Refused as refused:
                stopped = (number, str(refused))
                break
        batch = _Batch()
        known = self._known([line.envelope.event_id for line in parsed])
        for line in parsed:
            try:
                self._take(line, known, batch, report)
            except (_Refused, LedgerError) as refused:
                stopped = (line.number, _reason(refused))
                break
        self._append(batch, report)
        if stopped is not None:
            raise ImportStopped(*stopped, report)

    # --- one line -----------------------------------------------------------------

    def _take(
        self, line: _Line, known: dict[UUID, RecordedEvent], batch: _Batch, report: ImportReport
    ) -> None:
        envelope = line.envelope
        there = known.get(envelope.event_id)
        earlier = batch.lines.get(envelope.event_id)
        theirs = _identity(there) if there else earlier.identity() if earlier else None
        if theirs is not None:
            different = [key for key, value in line.identity().items() if theirs[key] != value]
            if different:
                raise _Refused(
                    f"event {envelope.event_id} is already in this ledger as a different "
                    f"event (different: {', '.join(different)})"
                )
            report.already_there += 1
            return
        event = self._apply(line)
        state = stored_state(event)
        batch.events.append(
            NewEvent(
                stored=StoredEvent(
                    originator_id=event.originator_id,
                    originator_version=event.originator_version,
                    topic=get_topic(type(event)),
                    state=orjson.dumps(state),
                ),
                event_id=event.event_id,
                occurred_at_us=to_micros(event.occurred_at),
            )
        )
        batch.lines[envelope.event_id] = line

    def _apply(self, line: _Line) -> ClaimEvent:
        """The line's event, made by its claim under the rules of a write."""
        envelope, event_type = line.envelope, line.event_type
        declared = event_type.declared
        if not envelope.actor.role.includes(declared.role):
            raise _Refused(
                f"{declared.name} needs the role {declared.role.value}; "
                f"its actor {envelope.actor.id!r} has the role {envelope.actor.role.value}"
            )
        now = self.now()
        occurred_at = resolve_occurred_at(envelope.occurred_at, now)
        copied = Copied(envelope.event_id, envelope.data_salt)
        claim = self._claim(envelope.claim_id)
        if event_type.registers:
            if claim is not None:
                raise ClaimAlreadyRegistered(envelope.claim_id)
            _check_version(envelope, 0)
            claim = Claim.register(
                claim_id=envelope.claim_id,
                registration=line.data,
                occurred_at=occurred_at,
                actor=envelope.actor,
                copied=copied,
            )
        else:
            if claim is None:
                raise ClaimNotFound(
                    envelope.claim_id,
                    f"Claim {envelope.claim_id} is not registered in this ledger, "
                    "nor by a line before this one.",
                )
            _check_version(envelope, claim.version)
            kind = declared.begins or declared.ends
            claim.execute(
                event_type,
                line.data,
                occurred_at=occurred_at,
                actor=envelope.actor,
                item_id=getattr(line.data, kind.id_field) if kind is not None else None,
                copied=copied,
            )
        [event] = claim.collect_events()
        assert isinstance(event, ClaimEvent)
        self._keep(claim)
        return event

    # --- claims and events already in the ledger ------------------------------------

    def _claim(self, claim_id: UUID) -> Claim | None:
        claim = self._claims.get(claim_id)
        if claim is not None:
            self._claims.move_to_end(claim_id)
            return claim
        rows = self.queries.claim_rows(claim_id, 0).rows
        if not rows:
            return None
        claim = Claim.from_history(claim_id, [decode_row(row) for row in rows])
        self._keep(claim)
        return claim

    def _keep(self, claim: Claim) -> None:
        self._claims[claim.id] = claim
        self._claims.move_to_end(claim.id)
        while len(self._claims) > CLAIMS_KEPT:
            self._claims.popitem(last=False)

    def _known(self, event_ids: list[UUID]) -> dict[UUID, RecordedEvent]:
        """The events among these that the ledger holds already."""
        events = [decode_row(row) for row in self.queries.rows_by_event_ids(event_ids)]
        return {UUID(event.event_id): event for event in events}

    # --- appending ----------------------------------------------------------------------

    def _append(self, batch: _Batch, report: ImportReport) -> None:
        if not batch.events:
            return
        first = min(line.number for line in batch.lines.values())
        try:
            self.appender.append(batch.events, [])
        except AppendRefused as refused:
            self._claims.clear()
            raise ImportStopped(
                first,
                "another writer appended to a claim of these lines meanwhile "
                f"({refused}); nothing from this line on was imported: import again",
                report,
            ) from None
        except NotAppended as error:
            self._claims.clear()
            raise ImportStopped(
                first, f"the database did not take these lines ({error}): import again", report
            ) from None
        except CommitInterrupted as error:
            self._claims.clear()
            raise ImportStopped(
                first,
                f"the database went away while these lines were committed ({error}); "
                "import again: what was committed is skipped",
                report,
            ) from None
        report.appended += len(batch.events)


def _check_version(envelope: ImportedEnvelope, at: int) -> None:
    if envelope.version != at + 1:
        where = (
            f"is at version {at} in this ledger (with the lines before this one)"
            if at
            else "is registered by this very event"
        )
        raise _Refused(
            f"claim {envelope.claim_id} {where}, so this event is its version {at + 1}, "
            f"not {envelope.version}: versions must follow on"
        )


def _parse(number: int, line: bytes) -> _Line:
    if len(line) > MAX_LINE_BYTES:
        raise _Refused(f"longer than {MAX_LINE_BYTES} bytes")
    try:
        envelope = ImportedEnvelope.model_validate_json(line.rstrip(b"\r\n"))
    except ValidationError as error:
        raise _Refused(_first_error("", error)) from None
    try:
        event_type = EventType.named(envelope.type)
    except KeyError:
        raise _Refused(f"type: unknown event type {envelope.type!r}") from None
    data_model = event_type.declared.data
    try:
        data = data_model.model_validate(envelope.data)
    except ValidationError as error:
        raise _Refused(_first_error("data.", error)) from None
    as_stored = data.model_dump(mode="json", exclude_none=True)
    if as_stored != envelope.data:
        different = sorted(
            key
            for key in as_stored.keys() | envelope.data.keys()
            if key not in as_stored
            or key not in envelope.data
            or as_stored[key] != envelope.data[key]
        )
        raise _Refused(
            f"data.{different[0]}: not as a ledger stores it (an absent optional field is "
            "left out, not null; ids are lowercase)"
        )
    return _Line(number, envelope, event_type, data)


def _first_error(prefix: str, error: ValidationError) -> str:
    first = error.errors()[0]
    if first["type"] == "json_invalid":
        reason = (
            first["msg"].removeprefix("Invalid JSON: ").replace(" at line 1 column ", " at column ")
        )
        return f"not JSON ({reason})"
    where = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{prefix}{where}: {message}{more}" if where else f"{message}{more}"


def _reason(refused: Exception) -> str:
    return refused.detail if isinstance(refused, LedgerError) else str(refused)


def describe(report: ImportReport) -> str:
    """What an import did, in a few words."""
    return f"{_events(report.appended)} appended, {report.already_there} already there"


def _events(count: int) -> str:
    return f"{count} event" if count == 1 else f"{count} events"

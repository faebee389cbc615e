"""Every error the ledger raises, rooted at one class.

    LedgerError
    ├── AccessDenied               the actor's role is too small for the command
    ├── InvalidRequest             the request breaks a rule
    │   ├── OccurredInFuture
    │   ├── OccurredBeforeRegistration
    │   ├── OccurredBeforeItem
    │   ├── IdempotencyKeyReused
    │   ├── PositionNotRecorded
    │   └── ClaimReviewRefused     an imported ClaimReview lacks what a claim needs
    │       └── UnmappableRating   ... or its rating maps to none of the scale
    ├── NotFound                   something that does not exist (or did not yet)
    │   ├── ClaimNotFound
    │   ├── ItemNotFound           evidence, rebuttal or verification
    │   ├── EventNotFound
    │   └── NoStandingVerification a ClaimReview asked of a claim no verification stands on
    ├── PreconditionFailed         a stale If-Match
    ├── Conflict                   the claim's state forbids the event
    │   ├── ClaimAlreadyRegistered
    │   ├── ItemAlreadyWithdrawn
    │   └── ItemIdTaken
    ├── Unavailable                the ledger could not finish in time; retry
    │   └── OutcomeUnknown         a write's commit was interrupted and could not be looked up
    │
    │   and, beside what raises them (never the answer to a request):
    ├── KeyNotFound                factledger.keys: no such key to revoke
    ├── ImportStopped              factledger.importing: a line of an import file cannot be taken
    ├── LeaseLost                  projections.leases: a projector lost its lease
    └── InvalidDatabaseUrl         storage.database: a database URL the ledger cannot use

Each class says when it is raised. Messages are written for the caller.
How each answers over HTTP is the API's business (`api.problems`).
"""

from __future__ import annotations

from uuid import UUID

__all__ = [
    "AccessDenied",
    "CheckpointNotFound",
    "ClaimAlreadyRegistered",
    "ClaimNotFound",
    "ClaimReviewRefused",
    "Conflict",
    "EventNotFound",
    "IdempotencyKeyReused",
    "InvalidRequest",
    "ItemAlreadyWithdrawn",
    "ItemIdTaken",
    "ItemNotFound",
    "LedgerError",
    "NoStandingVerification",
    "NotFound",
    "OccurredBeforeItem",
    "OccurredBeforeRegistration",
    "OccurredInFuture",
    "OutcomeUnknown",
    "PositionNotRecorded",
    "PreconditionFailed",
    "ProofOutOfRange",
    "Unavailable",
    "UnmappableRating",
]


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class AccessDenied(LedgerError):
    """Raised when an actor asks for a command its role does not allow."""


class InvalidRequest(LedgerError):
    """Raised when a request is well formed but breaks one of the ledger's rules."""

    field: str | None = None


class OccurredInFuture(InvalidRequest):
    """Raised when `occurred_at` lies more than the allowed skew past the server's clock."""

    field = "occurred_at"


class OccurredBeforeRegistration(InvalidRequest):
    """Raised when an event would occur before its claim was made."""

    field = "occurred_at"


class OccurredBeforeItem(InvalidRequest):
    """Raised when a withdrawal or retraction would occur before the item it ends."""

    field = "occurred_at"


class IdempotencyKeyReused(InvalidRequest):
    """Raised when an Idempotency-Key comes back with a different body."""

    field = "Idempotency-Key"


class NotFound(LedgerError):
    """Base of the errors for something that does not exist (or did not yet)."""


class ClaimNotFound(NotFound):
    """Raised when a claim is unknown, or did not exist at the times asked about."""

    def __init__(self, claim_id: UUID, detail: str | None = None) -> None:
        super().__init__(detail or f"No claim {claim_id} in the ledger.")
        self.claim_id = claim_id


class ItemNotFound(NotFound):
    """Raised when a claim has no evidence, rebuttal or verification with that id."""

    def __init__(self, kind: str, item_id: UUID, claim_id: UUID) -> None:
        super().__init__(f"Claim {claim_id} has no {kind} {item_id}.")
        self.kind = kind
        self.item_id = item_id


class EventNotFound(NotFound):
    """Raised when no event has the id asked for."""

    def __init__(self, event_id: UUID) -> None:
        super().__init__(f"No event {event_id} in the ledger.")


class NoStandingVerification(NotFound):
    """Raised when a claim's ClaimReview is asked for at times when no verification
    of it stands: it has none, or every one was retracted."""

    def __init__(self, claim_id: UUID) -> None:
        super().__init__(
            f"No verification of claim {claim_id} stands at the times asked about, "
            "so it has no ClaimReview."
        )
        self.claim_id = claim_id


class PreconditionFailed(LedgerError):
    """Raised when a conditional write names a version the claim is no longer at."""

    def __init__(self, current_version: int | None) -> None:
        super().__init__(
            f"The claim is at version {current_version}; nothing was appended."
            if current_version is not None
            else "The claim does not exist; nothing was appended."
        )
        self.current_version = current_version


class Conflict(LedgerError):
    """Base of the errors for an event that the claim's state forbids."""


class ClaimAlreadyRegistered(Conflict):
    """Raised when a registration names a claim id that is already taken."""

    def __init__(self, claim_id: UUID) -> None:
        super().__init__(f"Claim {claim_id} is already registered.")
        self.claim_id = claim_id


class ItemAlreadyWithdrawn(Conflict):
    """Raised when evidence or a rebuttal is withdrawn, or a verification retracted, twice."""


class ItemIdTaken(Conflict):
    """Raised when an event would begin an item under an id its claim already
    has (only an imported event brings its own id)."""


class PositionNotRecorded(InvalidRequest):
    """Raised when a read waits for a position past the ledger's newest event."""

    field = "min_position"

    def __init__(self, position: int) -> None:
        super().__init__(f"min_position {position} is past the ledger's newest event.")


class CheckpointNotFound(NotFound):
    """Raised when no checkpoint was signed at the tree size asked for (or none yet)."""


class ProofOutOfRange(InvalidRequest):
    """Raised when a proof is asked for a size that was never signed, or a leaf
    or an older size outside it."""

    def __init__(self, detail: str, field: str) -> None:
        super().__init__(detail)
        self.field = field


class ClaimReviewRefused(InvalidRequest):
    """Raised when an imported ClaimReview lacks what a claim and its verification
    need (its `url`, the claim's text, the claimant's name, ...) or holds a value
    the ledger cannot take; `field` names where, in ClaimReview's terms."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field


class UnmappableRating(ClaimReviewRefused):
    """Raised when an imported ClaimReview's rating maps to none of the ledger's
    ratings: an unknown label without a `ratingValue`, or a value off its scale."""

    def __init__(self, field: str, detail: str, label: str | None) -> None:
        super().__init__(field, detail)
        self.label = label


class Unavailable(LedgerError):
    """Raised when the ledger cannot finish a request in time (a write that keeps
    losing races, a read model that lags); the caller may retry after `retry_after`."""

    def __init__(self, detail: str, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class OutcomeUnknown(Unavailable):
    """Raised when the database went away while a write was being committed and
    the ledger could not find out in time whether it was: a retry with the same
    Idempotency-Key is safe, one without it may append the event twice."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            "The database went away while this write was being committed, and whether it "
            "was could not be found out in time. Retry with the same Idempotency-Key: it is "
            f"appended at most once. ({detail})",
            retry_after=1,
        )

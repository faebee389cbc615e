"""The ledger's settings: read once from the environment (`FACTLEDGER_*`),
validated at start-up, then passed down. No other module reads os.environ."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from factledger.rates import parse_rate
from factledger.rating_table import load_rating_labels
from ledger.claimreview import Publisher
from ledger.fields import WebUrl
from ledger.rating_labels import RatingLabels
from projections.projector import DEFAULT_BATCH_SIZE
from storage.database import Database, InvalidDatabaseUrl

_HANDED_DOWN: Final = "FACTLEDGER_SERVED_SETTINGS"

__all__ = ["Settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FACTLEDGER_", extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite:///./factledger.db",
        description="sqlite:///path/to/file.db or postgresql://user@host:port/dbname",
    )
    reads_require_key: bool = Field(
        default=False, description="When true, reads need a key with at least the reader role."
    )

    projector: bool = Field(
        default=True,
        description="Run a projector in each served process (`serve --no-projector` turns it off).",
    )
    projector_child: bool = Field(
        default=False,
        description="Set by `serve` for its workers: the projector runs in a child "
        "process that `serve` supervises, not in them.",
    )
    projector_status_file: Path | None = Field(
        default=None,
        description="Set by `serve`: where its projector child writes its role for the workers.",
    )
    projector_batch_size: int = Field(
        default=DEFAULT_BATCH_SIZE, ge=1, le=10_000, description="Events per projector transaction."
    )
    history_cache_mib: int = Field(
        default=256,
        ge=1,
        le=1024 * 1024,
        description="Memory each process may keep decoded claim histories in, in MiB.",
    )

    metrics_dir: Path | None = Field(
        default=None,
        validation_alias="PROMETHEUS_MULTIPROC_DIR",
        description="Set by `serve` for its workers: the directory, made afresh for each "
        "`serve`, where every worker keeps its metrics so that `GET /metrics` adds them up "
        "(prometheus_client's multiprocess mode). Unset: each process counts alone.",
    )
    otel_enabled: bool = Field(
        default=False,
        description="Trace requests and database calls with OpenTelemetry (needs the "
        "`factledger[otel]` extra). Also on when OTEL_EXPORTER_OTLP_ENDPOINT is set.",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT",
        description="OpenTelemetry's own setting: where the OTLP exporter sends spans "
        "(http/protobuf, e.g. http://collector:4318); setting it turns tracing on.",
    )
    otel_traces_exporter: Literal["otlp", "console", "none"] = Field(
        default="otlp",
        validation_alias="OTEL_TRACES_EXPORTER",
        description="OpenTelemetry's own setting: otlp, console (spans printed on standard "
        "output), or none (tracing off whatever else is set).",
    )

    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Origins allowed to call the API from a browser, separated by commas "
        "(e.g. https://a.example,https://b.example); none by default: CORS is closed.",
    )
    log_format: Literal["json", "text"] = Field(
        default="json", description="`serve`'s logs: JSON lines, or plain text."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="The least level `serve` logs."
    )
    access_log: bool = Field(
        default=True,
        description="One log line per request (uvicorn's own access log is then off).",
    )
    request_read_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds a client has to send a whole request (head and body) from its "
        "first byte or from connecting; then 408 and the connection is closed.",
    )
    keep_alive_timeout: int = Field(
        default=5, ge=1, le=300, description="Seconds an idle connection is kept open."
    )
    max_streams: int = Field(
        default=500,
        ge=1,
        le=100_000,
        description="Live event streams (GET /events/stream) each process serves at once; "
        "past them, 503 with Retry-After.",
    )

    session_seconds: int = Field(
        default=12 * 3600,
        ge=60,
        le=12 * 3600,
        description="How long a page session (signed in with a key) lasts, in seconds: "
        "at most 12 hours. It ends sooner when its key is revoked or the person signs out.",
    )

    rate_limit: str | None = Field(
        default=None,
        description="Requests per API key, e.g. 100/minute (second, minute, hour, day); "
        "off by default. Past it, 429 with Retry-After.",
    )
    anonymous_rate_limit: str | None = Field(
        default=None,
        description="Reads without a key, per client address, e.g. 60/minute; off by default.",
    )
    rate_limit_store: Path | None = Field(
        default=None,
        description="Set by `serve`: the file in which its workers count requests together.",
    )

    public_base_url: WebUrl = Field(
        default="http://127.0.0.1:8000",
        description="Where people and aggregators reach this service: the claims' pages "
        "(`<base>/claims/{id}/page`), which ClaimReviews link to, are under it.",
    )
    publisher_name: str = Field(
        default="Factledger",
        min_length=1,
        max_length=200,
        description="The organization that publishes the ClaimReviews (their `author`).",
    )
    publisher_url: WebUrl | None = Field(
        default=None,
        description="The publisher's web site, in the ClaimReviews' `author`; the public base "
        "URL when unset.",
    )
    rating_labels_file: Path | None = Field(
        default=None,
        description="A JSON file of fact-checkers' rating labels that ClaimReview import maps, "
        "added to (and over) the table shipped with the ledger (docs/claimreview.md).",
    )

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, url: str) -> str:
        return url.rstrip("/")

    @field_validator("rating_labels_file")
    @classmethod
    def _labels_read(cls, path: Path | None) -> Path | None:
        load_rating_labels(path)  # a file that cannot be used stops the start
        return path

    checkpoint_origin: str = Field(
        default="factledger",
        min_length=1,
        max_length=200,
        pattern=r"^[^\s+]+$",
        description="The ledger's name in its checkpoints and verifier keys (no spaces or +).",
    )
    checkpoint_key_file: Path | None = Field(
        default=None,
        description="The Ed25519 key that signs checkpoints (made on the first start of a "
        "ledger without one; mode 0600; never in the database). Default: beside a SQLite "
        "database (`<file>.checkpoint-key`), `./factledger-checkpoint.key` for PostgreSQL.",
    )

    @field_validator("rate_limit", "anonymous_rate_limit")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rate(value)
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(origin.strip() for origin in value.split(",") if origin.strip())
        return value

    @field_validator("database_url")
    @classmethod
    def _parses(cls, url: str) -> str:
        try:
            Database.from_url(url)
        except InvalidDatabaseUrl as error:
            raise ValueError(error.detail) from None
        return url

    @classmethod
    def variable(cls, name: str) -> str:
        """The environment variable a setting is read from, by the name a
        validation error gives it: FACTLEDGER_* or, for OpenTelemetry's and
        prometheus_client's own, theirs."""
        aliases = {field.validation_alias for field in cls.model_fields.values()}
        return name if name in aliases else f"FACTLEDGER_{name.upper()}"

    @cached_property
    def database(self) -> Database:
        return Database.from_url(self.database_url)

    @cached_property
    def rating_labels(self) -> RatingLabels:
        """The rating labels ClaimReview import maps: shipped, and the operator's."""
        return load_rating_labels(self.rating_labels_file)

    @property
    def publisher(self) -> Publisher:
        """Who the ClaimReviews say published them, and where the claims' pages are."""
        return Publisher(
            base_url=self.public_base_url,
            name=self.publisher_name,
            url=self.publisher_url or self.public_base_url,
        )

    @property
    def signing_key_path(self) -> Path:
        """Where the checkpoint signing key is, as configured or by default."""
        if self.checkpoint_key_file is not None:
            return self.checkpoint_key_file
        path = self.database.sqlite_path
        if path is not None:
            return path.with_name(f"{path.name}.checkpoint-key")
        return Path("factledger-checkpoint.key").resolve()

    @property
    def tracing(self) -> bool:
        """Whether requests and database calls are traced (`api.tracing`)."""
        configured = self.otel_enabled or self.otel_exporter_otlp_endpoint is not None
        return configured and self.otel_traces_exporter != "none"

    def hand_down(self) -> dict[str, str]:
        """These settings as the environment of a process `serve` starts (its
        workers, its projector child), which reads them with `Settings.handed_down()`."""
        # By alias: the settings read under another name (OTEL_*, ...) are
        # validated under it.
        return {_HANDED_DOWN: self.model_dump_json(by_alias=True)}

    @classmethod
    def handed_down(cls) -> Settings:
        """The settings `serve` handed down to this process, else those of the environment."""
        handed = os.environ.get(_HANDED_DOWN)
        return cls.model_validate_json(handed) if handed else cls()

"""The ledger's settings: read once from the environment (`FACTLEDGER_*`),
validated at start-up, then passed down. No other module reads os.environ."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Final

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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

    @field_validator("database_url")
    @classmethod
    def _parses(cls, url: str) -> str:
        try:
            Database.from_url(url)
        except InvalidDatabaseUrl as error:
            raise ValueError(error.detail) from None
        return url

    @cached_property
    def database(self) -> Database:
        return Database.from_url(self.database_url)

    def hand_down(self) -> dict[str, str]:
        """These settings as the environment of a process `serve` starts (its
        workers, its projector child), which reads them with `Settings.handed_down()`."""
        return {_HANDED_DOWN: self.model_dump_json()}

    @classmethod
    def handed_down(cls) -> Settings:
        """The settings `serve` handed down to this process, else those of the environment."""
        handed = os.environ.get(_HANDED_DOWN)
        return cls.model_validate_json(handed) if handed else cls()

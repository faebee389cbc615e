"""Runs a projector for as long as a process lives: in a thread of `serve`,
or in the foreground of `factledger project`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Final

from projections.leases import Lease, LeaseLost
from projections.projector import Projector

__all__ = ["ProjectorRole", "ProjectorRunner", "read_role"]

log = logging.getLogger(__name__)

_RETRY_SECONDS: Final = 1.0
_GATHER_SECONDS: Final = 0.05
"""At most 20 batches a second: the read models lag appends by about that much."""


class ProjectorRole(StrEnum):
    LEADING = "leading"
    """This process's projector holds the lease and keeps the read models up to date."""
    STANDING_BY = "standing_by"
    """Another process's projector works; this one takes over if it dies."""
    STOPPED = "stopped"


class ProjectorRunner:
    def __init__(
        self,
        projector: Projector,
        lease: Lease,
        status_file: Path | None = None,
        after_catch_up: Callable[[], float | None] | None = None,
    ) -> None:
        self.projector = projector
        self.after_catch_up = after_catch_up
        """More work after each catch-up (the Merkle tree and its checkpoints):
        returns how long it may wait for new events before it is called again."""
        self.lease = lease
        self.status_file = status_file
        """Where the role is written for other processes to read (`serve`'s workers)."""
        self.role = ProjectorRole.STOPPED
        self._announced: ProjectorRole | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Runs in a daemon thread until `stop()`."""
        self._stop.clear()
        self.role = ProjectorRole.STANDING_BY  # until the lease is tried
        self._thread = threading.Thread(target=self.run, name="projector", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.lease.interrupt()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run(self) -> None:
        """Leads when it can, stands by when it cannot, until stopped."""
        try:
            while not self._stop.is_set():
                if not self.lease.try_acquire():
                    self._set_role(ProjectorRole.STANDING_BY)
                    self._stop.wait(_RETRY_SECONDS)
                    continue
                self._set_role(ProjectorRole.LEADING)
                try:
                    self._lead()
                except LeaseLost as error:
                    log.warning("projector: lease lost (%s); trying again", error)
                finally:
                    self.lease.release()
        finally:
            self.lease.release()  # a standby keeps its connection between tries
            self._set_role(ProjectorRole.STOPPED)

    def _lead(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            wait: float | None = None
            try:
                self.projector.catch_up()
                if self.after_catch_up is not None:
                    wait = self.after_catch_up()
            except Exception:
                # The database went away, a rebuild swapped the tables under
                # a batch, ...: nothing of the batch was kept; try again.
                log.exception("projector: a batch failed; retrying")
                self._stop.wait(_RETRY_SECONDS)
                continue
            if wait is None:
                self.lease.wait_for_events(self._stop)
            else:
                self.lease.wait_for_events(self._stop, within=max(wait, 0.01))
            # Under a steady stream of appends, let a few arrive before the next
            # batch: a batch costs a transaction whatever its size.
            self._stop.wait(_GATHER_SECONDS - (time.monotonic() - started))

    def _set_role(self, role: ProjectorRole) -> None:
        self.role = role
        if role is not self._announced:
            log.info("projector: %s", role.value.replace("_", " "))
            self._announced = role
            if self.status_file is not None:
                _write_role(self.status_file, role)


def read_role(status_file: Path) -> ProjectorRole:
    """The role a projector in another process wrote; standing by until it has
    written one (it has not tried the lease yet)."""
    try:
        return ProjectorRole(status_file.read_text().strip())
    except (OSError, ValueError):
        return ProjectorRole.STANDING_BY


def _write_role(status_file: Path, role: ProjectorRole) -> None:
    # Written aside then renamed: a reader sees the old role or the new one.
    written = status_file.with_name(status_file.name + ".new")
    try:
        written.write_text(role.value)
        written.replace(status_file)
    except OSError as error:
        log.warning("projector: cannot write its role to %s: %s", status_file, error)

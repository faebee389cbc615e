"""`serve`'s projector, in a child process of its own.

A projector in a thread of a serving process shares that process's one core
(and its interpreter lock) with the requests; in a child it runs on the
other core. The child is `factledger project` with a pipe from the parent:
it stops when the pipe closes, which the operating system does when the
parent dies however it dies (`kill -9` included), and on Linux it also asks
to be sent SIGTERM when its parent goes. It never outlives `serve`, so it
never holds the projector's lease as an orphan.

The child writes its role (leading, standing by) to a file the workers read
for `/readyz`. The supervisor starts it again if it dies while `serve` runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

__all__ = ["ProjectorChild", "watch_parent"]

log = logging.getLogger(__name__)

_RESTART_SECONDS: Final = 1.0
_STOP_SECONDS: Final = 15.0
_PR_SET_PDEATHSIG: Final = 1


class ProjectorChild:
    def __init__(self, status_file: Path, env: dict[str, str]) -> None:
        self.status_file = status_file
        self.env = env
        self._process: subprocess.Popen[bytes] | None = None
        self._to_child: int | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._spawn()
        self._thread = threading.Thread(target=self._supervise, name="projector child", daemon=True)
        self._thread.start()

    def _spawn(self) -> None:
        from_parent, to_child = os.pipe()
        self._process = subprocess.Popen(  # noqa: S603 (our own command, our interpreter)
            [sys.executable, "-m", "factledger", "project", "--parent-fd", str(from_parent)],
            env=self.env,
            pass_fds=(from_parent,),
            stdin=subprocess.DEVNULL,
        )
        os.close(from_parent)
        if self._to_child is not None:
            os.close(self._to_child)
        self._to_child = to_child

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            code = process.wait()
            if self._stopping.is_set():
                return
            log.warning("projector: the child exited with %s; starting it again", code)
            if self._stopping.wait(_RESTART_SECONDS):
                return
            self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._to_child is not None:
            os.close(self._to_child)
            self._to_child = None
        with contextlib.suppress(FileNotFoundError):
            self.status_file.unlink()


def watch_parent(parent_fd: int, on_gone: Callable[[], None]) -> None:
    """In the child: calls `on_gone` once the parent is gone (its end of the
    pipe closed), from a thread of its own."""
    _ask_for_sigterm_when_orphaned()

    def wait() -> None:
        with contextlib.suppress(OSError):
            while os.read(parent_fd, 1):
                pass
        on_gone()

    threading.Thread(target=wait, name="parent watch", daemon=True).start()


def _ask_for_sigterm_when_orphaned() -> None:
    if not sys.platform.startswith("linux"):
        return
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

"""The shell examples of the README and docs/, read and run as a reader runs them.

Every fenced shell block of a checked page carries a tag, an HTML comment on
the line before it, that says how it is checked:

    <!-- doctest: run -->        run with bash, in order, in one shell session per
                                 page, in a project that `make run` serves (the
                                 pages in turn, on one ledger); every command
                                 must exit 0, each `"key": value` in a
                                 command's own comment must be in its output,
                                 and what follows a `→` there must be all it
                                 prints
    <!-- doctest: output -->     (a ```json, ```http or ```text block) what the last command
                                 of the run block before it answers, compared
                                 after volatile values (random ids, times of the
                                 run, salts, keys) are replaced by their kind
    <!-- doctest: stream -->     one command that does not end by itself (a live
                                 stream): run in the session for a few seconds
    <!-- doctest: serve -->      `make run` / `make test` and the like (tests/e2e/test_readme.py)
    <!-- doctest: postgresql --> the README's PostgreSQL set-up (tests/e2e/test_readme.py)
    <!-- doctest: help -->       a synopsis: each line names a `factledger` command
                                 and options it has
    <!-- doctest: sketch -->     a sketch for another machine (a deployment, a
                                 backup): not run, but each `factledger` line is
                                 checked as a synopsis line is
    <!-- doctest: make -->       make targets, checked with `make -n`

In a shown JSON answer, a key "..." stands for keys not shown, a last list
item "..." for items not shown, and a value "..." for any value; in a shown
text, a line "..." stands for one or more lines, and "..." within a line for
any text.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from tests.e2e.processes import FACTLEDGER

ROOT: Final = Path(__file__).resolve().parent.parent
TAGS: Final = ("run", "output", "stream", "serve", "postgresql", "help", "sketch", "make")
SHELL_LANGUAGES: Final = ("sh", "bash", "shell", "console", "")
STREAM_SECONDS: Final = 2
API_LINE: Final = "API=http://127.0.0.1:8000"
"""The line with which the pages point at `make run`'s service."""

_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_TAG = re.compile(r"<!--\s*doctest:\s*([\w-]+)\s*-->\s*\Z")
_FRAGMENT = re.compile(r'"[\w-]+": (?:"[^"]*"|-?\d+|null|true|false)')
_MARK: Final = "\x1edoctest-command-"


# --- reading pages -----------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    tag: str | None
    language: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a page, each with the tag just before it (or None)."""
    text = page.read_text()
    found = []
    for match in _FENCE.finditer(text):
        tag = _TAG.search(text[: match.start()].rstrip() + "\n")
        found.append(
            Block(
                page=page,
                line=text.count("\n", 0, match.start()) + 1,
                tag=tag[1] if tag else None,
                language=match[1],
                text=match[2],
            )
        )
    return found


def untagged_shell_blocks(page: Path) -> list[str]:
    """Where a page has a shell block that no test would run."""
    return [
        block.where
        for block in blocks(page)
        if block.language in SHELL_LANGUAGES and block.tag not in TAGS
    ]


@dataclass(frozen=True)
class Command:
    text: str
    comment: str
    """The command's own comments (after `#`, outside quotes)."""

    @property
    def expected(self) -> list[str]:
        """The `"key": value` fragments its comments promise in its output."""
        return _FRAGMENT.findall(self.comment)

    @property
    def expected_output(self) -> str | None:
        """What its comment promises it prints, after `→` (a line of text, as
        an output block of text shows it)."""
        match = re.search(r"→\s*(.+?)\s*$", self.comment)
        return match[1] if match else None


def commands(script: str) -> list[Command]:
    """A block's commands: lines are joined until bash finds them complete
    (no open quote, `$(`, pipe or function body) and the last one does not end
    in a backslash; lines that are only a comment are prose and skipped."""
    found: list[Command] = []
    pending: list[str] = []
    for line in script.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending.append(line)
        text = "\n".join(pending)
        if text.endswith("\\") or not _complete(text):
            continue
        found.append(Command(text, _comment_of(text)))
        pending = []
    assert not pending, f"an unfinished command: {pending}"
    return found


def _complete(text: str) -> bool:
    checked = subprocess.run(
        ["bash", "-n"], input=text, capture_output=True, text=True, check=False
    )
    return checked.returncode == 0


def _comment_of(text: str) -> str:
    """The text after each unquoted `#` that starts a word, up to its line's end."""
    comments, quote, index = [], "", 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == quote:
                quote = ""
            elif char == "\\" and quote == '"':
                index += 1
        elif char in "'\"":
            quote = char
        elif char == "\\":
            index += 1
        elif char == "#" and (index == 0 or text[index - 1].isspace()):
            end = text.find("\n", index)
            end = len(text) if end < 0 else end
            comments.append(text[index + 1 : end])
            index = end
        index += 1
    return " ".join(comments)


# --- running a page's session ------------------------------------------------------------


@dataclass
class Ran:
    command: Command
    block: Block
    stdout: str = ""
    stderr: str = ""


@dataclass
class Session:
    """A page's run and stream blocks, in order, in one bash session."""

    page: Path
    steps: list[tuple[Block, Command]] = field(default_factory=list)
    outputs: list[tuple[Block, int]] = field(default_factory=list)
    """Each output block, with the index of the step whose output it shows."""

    @classmethod
    def of(cls, page: Path) -> Session:
        session = cls(page)
        for block in blocks(page):
            if block.tag in ("run", "stream"):
                found = commands(block.text)
                assert found, f"{block.where}: a {block.tag} block without a command"
                assert block.tag == "run" or len(found) == 1, (
                    f"{block.where}: a stream block holds one command"
                )
                session.steps.extend((block, command) for command in found)
            elif block.tag == "output":
                assert session.steps, f"{block.where}: an output block before any command"
                session.outputs.append((block, len(session.steps) - 1))
        return session

    def script(self, replacements: Mapping[str, str]) -> str:
        lines = ["set -euo pipefail"]
        for index, (block, command) in enumerate(self.steps):
            text = replace_all(command.text, replacements)
            lines.append(f"printf '\\n{_MARK}%d\\n' {index}; printf '\\n{_MARK}%d\\n' {index} >&2")
            if block.tag == "stream":
                lines += [
                    f"set +e; timeout {STREAM_SECONDS} {text}",
                    "stopped=$?; set -e; [ $stopped -eq 124 ]",
                ]
            else:
                lines.append(text)
        return "\n".join(lines) + "\n"

    def run(self, cwd: Path, env: Mapping[str, str], replacements: Mapping[str, str]) -> list[Ran]:
        """Runs every step in `cwd` with exactly `env`; fails naming the first
        command that did not exit 0."""
        done = subprocess.run(
            ["bash", "-c", self.script(replacements)],
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        ran = [Ran(command, block) for block, command in self.steps]
        last = -1
        for stream in ("stdout", "stderr"):
            for part in getattr(done, stream).split(_MARK)[1:]:
                number, _, output = part.partition("\n")
                last = max(last, int(number))
                setattr(ran[int(number)], stream, output)
        if done.returncode != 0:
            failed = ran[last] if last >= 0 else None
            raise AssertionError(
                f"exit {done.returncode} at {failed.block.where if failed else '?'}:\n"
                f"{failed.command.text if failed else done.stderr}\n"
                f"--- stdout\n{failed.stdout if failed else done.stdout}\n"
                f"--- stderr\n{failed.stderr if failed else done.stderr}"
            )
        return ran

    def problems(self, ran: list[Ran]) -> list[str]:
        """Every promise of a comment or an output block that the run did not keep."""
        found = []
        for step in ran:
            promised = step.command.expected_output
            if promised is not None and _compare_text(promised, step.stdout):
                found.append(
                    f"{step.block.where}: → {promised} promised by\n{step.command.text}\n"
                    f"--- it said\n{step.stdout}"
                )
            said = _compact(step.stdout)
            for fragment in step.command.expected:
                if not re.search(re.escape(_compact(fragment)) + r"(?![\w.])", said):
                    found.append(
                        f"{step.block.where}: {fragment} is not in the output of\n"
                        f"{step.command.text}\n--- it said\n{step.stdout[:3000]}"
                    )
        for block, index in self.outputs:
            actual = ran[index].stdout
            mismatch = compare_answer(block.language, block.text, actual)
            if mismatch:
                found.append(
                    f"{block.where}: the answer shown differs from what\n"
                    f"{ran[index].command.text}\nanswered: {mismatch}\n--- it answered\n{actual}"
                )
        return found


def replace_all(text: str, replacements: Mapping[str, str]) -> str:
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text


def _compact(text: str) -> str:
    return re.sub(r'"\s*:\s*', '":', text)


# --- comparing answers ----------------------------------------------------------------

_VOLATILE: Final = [
    (re.compile(r"fl_[0-9a-f]{12}_[A-Za-z0-9_-]{43}"), "<key>"),
    (
        re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"),
        "<random id>",
    ),
    (re.compile(r"20(?:2[4-9]|[3-9]\d)-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"), "<time of the run>"),
    (re.compile(r"(?<![\w-])[0-9a-f]{32}(?![\w-])"), "<salt>"),
    (re.compile(r"(?<![\w-])[0-9a-f]{12}(?![\w-])"), "<key id>"),
    (re.compile(r"(?:sqlite|postgresql)://\S*?(?=:?(?:\s|$))"), "<database>"),
]
"""What differs from one run to the next: a value matching one is compared by kind."""

ELLIPSIS: Final = "..."

LEDGER_DEPENDENT: Final = frozenset(
    {"position", "leaf_index", "next_after", "next_cursor", "backend", "history_cache"}
)
"""Keys whose values depend on what else the ledger holds (the pages run in
turn on one ledger, as a reader may run them on theirs) or on where it is
kept: compared by type."""


def volatile(text: str) -> str:
    for pattern, kind in _VOLATILE:
        text = pattern.sub(kind, text)
    return text


def compare(shown: Any, actual: Any, where: str = "$") -> str | None:
    """Why `actual` is not what `shown` shows (None when it is)."""
    if shown == ELLIPSIS:
        return None
    if isinstance(shown, dict):
        if not isinstance(actual, dict):
            return f"{where}: an object was shown, {type(actual).__name__} answered"
        keys = set(shown) - {ELLIPSIS}
        if ELLIPSIS not in shown and set(actual) != keys:
            return f"{where}: keys {sorted(keys)} shown, {sorted(actual)} answered"
        for key in sorted(keys):
            if key not in actual:
                return f"{where}: {key!r} shown, not answered"
            if key in LEDGER_DEPENDENT and type(shown[key]) is type(actual[key]):
                continue
            why = compare(shown[key], actual[key], f"{where}.{key}")
            if why:
                return why
        return None
    if isinstance(shown, list):
        if not isinstance(actual, list):
            return f"{where}: a list was shown, {type(actual).__name__} answered"
        more = bool(shown) and shown[-1] == ELLIPSIS
        items = shown[:-1] if more else shown
        if len(actual) < len(items) or (not more and len(actual) != len(items)):
            return f"{where}: {len(items)} items shown, {len(actual)} answered"
        for number, item in enumerate(items):
            why = compare(item, actual[number], f"{where}[{number}]")
            if why:
                return why
        return None
    if isinstance(shown, str) and isinstance(actual, str):
        shown, actual = volatile(shown), volatile(actual)
    if shown != actual or type(shown) is not type(actual):
        return f"{where}: {shown!r} shown, {actual!r} answered"
    return None


def compare_answer(language: str, shown: str, actual: str) -> str | None:
    """Compares a shown ```json, ```http or ```text answer with what a command printed."""
    if language == "json":
        return _compare_json(shown, actual)
    if language == "text":
        return _compare_text(shown, actual)
    assert language == "http", f"an output block is json, http or text, not {language!r}"
    shown_head, _, shown_body = shown.replace("\r\n", "\n").partition("\n\n")
    actual_head, _, actual_body = actual.replace("\r\n", "\n").strip().partition("\n\n")
    shown_lines, actual_lines = shown_head.strip().splitlines(), actual_head.splitlines()
    if not shown_lines or not actual_lines:
        return "no status line shown" if not shown_lines else "no answer"
    if shown_lines[0] != actual_lines[0]:
        return f"status {shown_lines[0]!r} shown, {actual_lines[0]!r} answered"
    answered = {}
    for line in actual_lines[1:]:
        name, _, value = line.partition(":")
        answered[name.strip().lower()] = value.strip()
    for line in shown_lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name not in answered:
            return f"header {name} shown, not answered"
        if volatile(value) != volatile(answered[name]):
            return f"header {name}: {value!r} shown, {answered[name]!r} answered"
    return _compare_json(shown_body, actual_body) if shown_body.strip() else None


def _compare_text(shown: str, actual: str) -> str | None:
    """Line by line, after volatile values: a line "..." stands for any lines,
    and "..." within a line for any text."""
    pattern = "\n".join(
        r"(?:[^\n]*\n)*?[^\n]*" if line.strip() == ELLIPSIS
        else ".*?".join(map(re.escape, volatile(line.rstrip()).split(ELLIPSIS)))
        for line in shown.strip("\n").splitlines()
    )  # fmt: skip
    answered = "\n".join(line.rstrip() for line in volatile(actual).strip("\n").splitlines())
    return None if re.fullmatch(pattern, answered) else "the text differs"


def _compare_json(shown: str, actual: str) -> str | None:
    try:
        shown_value = json.loads(shown)
    except ValueError as error:
        return f"the answer shown is not JSON ({error})"
    try:
        answered = json.loads(actual)
    except ValueError:
        return "the answer is not JSON"
    return compare(shown_value, answered)


# --- a served ledger --------------------------------------------------------------------


def factledger(*args: str, database_url: str, cwd: Path) -> str:
    done = subprocess.run(
        [FACTLEDGER, *args],
        env={**os.environ, "FACTLEDGER_DATABASE_URL": database_url},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def get_json(url: str, timeout: float = 2) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return json.loads(answer.read())


def wait_until_ready(base: str, process: subprocess.Popen[str], seconds: float = 60) -> None:
    """Returns once `base` answers and its read models have applied every event."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            ready = get_json(f"{base}/readyz")
            if all(model["lag"] == 0 for model in ready["read_models"].values()):
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{base} did not get ready (exit {process.poll()})")
        time.sleep(0.1)


def run_pages(
    pages: list[Path], *, cwd: Path, env: Mapping[str, str], replacements: Mapping[str, str]
) -> list[str]:
    """Runs each page's session in turn, each in a new shell as a reader opens a
    new page, against the ledger `env` names, served where `replacements` point
    the pages' `API=`; every promise a page did not keep."""
    problems = []
    for page in pages:
        session = Session.of(page)
        try:
            ran = session.run(cwd, env, replacements)
        except AssertionError as failed:
            problems.append(str(failed))
            continue
        problems.extend(session.problems(ran))
    return problems

"""The README and the pages of docs/ hold together: every shell block says how
it is checked (tests/e2e/test_readme.py runs them), every link leads to a file
of the repository, every `factledger` command they name exists with the
options shown, and nothing refers to files beside the repository."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest

from factledger.cli import cli
from tests.doctests import ROOT, blocks, commands, untagged_shell_blocks
from tests.e2e.test_readme import PAGES


def test_every_shell_block_of_the_readme_and_the_docs_says_how_it_is_checked() -> None:
    untagged = [where for page in PAGES for where in untagged_shell_blocks(page)]
    assert not untagged, f"shell blocks no test runs: {untagged}"


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings, as GitHub makes them."""
    prose = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
    headings = re.findall(r"^#+ (.+)$", prose, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_every_link_between_the_pages_leads_to_a_file_of_the_repository() -> None:
    for page in PAGES:
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # a URL
            resolved = (page.parent / target).resolve() if target else page
            assert resolved.is_relative_to(ROOT), f"{page.name} links outside: {target}"
            assert resolved.exists(), f"{page.name} links to a missing file: {target}"
            if anchor:
                assert anchor in anchors(resolved), f"{page.name}: no #{anchor} in {target}"


def test_every_factledger_command_the_synopses_and_sketches_name_has_the_options_shown() -> None:
    checked = 0
    for page in PAGES:
        for block in (b for b in blocks(page) if b.tag in ("help", "sketch")):
            for command in commands(block.text):
                shown = command.text.split(" #")[0].strip().removesuffix("&").strip()
                words = shlex.split(shown)
                while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
                    words.pop(0)  # a variable set for the command
                if not words or Path(words[0]).name != "factledger":
                    assert block.tag == "sketch", f"{block.where}: {shown} is not factledger"
                    continue
                named: click.Command = cli
                for word in words[1:]:
                    if not isinstance(named, click.Group) or word.startswith(("-", "[")):
                        break
                    assert word in named.commands, f"{block.where}: no command {word!r}"
                    named = named.commands[word]
                assert not isinstance(named, click.Group), f"{block.where}: {shown}: which command?"
                options = {option for param in named.params for option in param.opts}
                for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", shown):
                    assert option in options, f"{block.where}: {option} is not an option of {shown}"
                checked += 1
    assert checked >= 14


def test_nothing_in_the_repository_refers_to_files_beside_it() -> None:
    """CI keeps a contract check beside the clone; only `make contract` may run it."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    allowed = {"scripts/dev.py", Path(__file__).relative_to(ROOT).as_posix()}
    for name in listed.stdout.splitlines():
        path = ROOT / name
        if name in allowed or not path.is_file():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        assert "../shared" not in text, f"{name} refers to ../shared"
        assert "shared/contract" not in text, f"{name} refers to the contract check beside it"

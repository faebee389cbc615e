"""The `factledger` command line, run as a user runs it: as a subprocess,
from a directory of its own, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.processes import call, create_key, run


def test_keys_create_prints_the_key_alone_on_the_last_line_on_an_empty_database(
    database_url: str, tmp_path: Path
) -> None:
    done = run(
        "keys",
        "create",
        "--name",
        "Newsroom",
        "--role",
        "checker",
        database_url=database_url,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip().splitlines()[-1]
    assert key.startswith("fl_")
    assert " " not in key


def test_keys_list_shows_keys_without_their_secrets_and_revoke_stops_one(
    database_url: str, tmp_path: Path
) -> None:
    key = create_key("editor", database_url, tmp_path)
    key_id = key.split("_")[1]
    listed = run("keys", "list", database_url=database_url, cwd=tmp_path)
    assert key_id in listed.stdout
    assert key not in listed.stdout
    assert run("keys", "revoke", key_id, database_url=database_url, cwd=tmp_path).returncode == 0
    again = run("keys", "revoke", key_id, database_url=database_url, cwd=tmp_path)
    assert again.returncode != 0
    assert again.stderr.strip().count("\n") == 0
    assert "error:" in again.stderr


def test_keys_list_works_on_an_empty_database(database_url: str, tmp_path: Path) -> None:
    done = run("keys", "list", database_url=database_url, cwd=tmp_path)
    assert (done.returncode, done.stdout.strip()) == (0, "No keys.")


def test_seed_loads_the_shipped_seeds_from_any_directory_once(
    database_url: str, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    first = run("seed", database_url=database_url, cwd=elsewhere)
    assert first.returncode == 0, first.stderr
    assert "0 already there" in first.stdout
    second = run("seed", database_url=database_url, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "0 events appended" in second.stdout


@pytest.mark.parametrize(
    ("args", "url"),
    [
        (("keys", "list"), "mysql://somewhere/db"),
        (("seed",), "sqlite:///no/such/directory/ledger.db"),
        (("keys", "create", "--name", "x", "--role", "emperor"), "sqlite:///ledger.db"),
        (("keys", "create", "--role", "reader"), "sqlite:///ledger.db"),
    ],
)
def test_errors_are_one_clear_line_and_a_non_zero_exit_never_a_traceback(
    tmp_path: Path, args: tuple[str, ...], url: str
) -> None:
    done = run(*args, database_url=url, cwd=tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.strip()


# --- serve ----------------------------------------------------------------------


@pytest.mark.slow
def test_serve_answers_writes_and_reads_over_http(served: tuple[str, str]) -> None:
    base, key = served
    status, registered = call(
        base,
        "POST",
        "/claims",
        {"text": "Soledar was taken.", "claimant": {"name": "Igor Konashenkov"}},
        key,
    )
    assert status == 201
    status, state = call(base, "GET", f"/claims/{registered['claim_id']}")
    assert (status, state["verdict"]) == (200, "unverified")
    status, page = call(base, "GET", "/events")
    assert page["events"] == [registered]

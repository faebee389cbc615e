"""A failed connection's libpq message read into one line that says which
cause and what to do (the messages are libpq's and PostgreSQL 15's own)."""

from __future__ import annotations

import pytest

from storage.database import Database
from storage.reachability import diagnose

DATABASE = Database.from_url("postgresql://ledger:secret@db.example:5433/facts")
PREAMBLE = 'connection failed: connection to server at "10.0.0.5", port 5433 failed: '


@pytest.mark.parametrize(
    ("failure", "told"),
    [
        (
            'FATAL:  database "facts" does not exist',
            'database "facts" does not exist on db.example:5433: '
            "create it with `createdb -h db.example -p 5433 -U ledger facts`",
        ),
        (
            'FATAL:  password authentication failed for user "ledger"',
            'PostgreSQL on db.example:5433 refused the password of "ledger": '
            "fix the password in FACTLEDGER_DATABASE_URL",
        ),
        (
            "fe_sendauth: no password supplied",
            'PostgreSQL on db.example:5433 asks "ledger" for a password: put it in '
            "FACTLEDGER_DATABASE_URL (postgresql://ledger:PASSWORD@db.example:5433/facts)",
        ),
        (
            'FATAL:  no pg_hba.conf entry for host "10.0.0.9", user "ledger", database "facts", '
            "no encryption",
            'PostgreSQL on db.example:5433 does not let "ledger" connect to "facts" from here: '
            "allow it in the server's pg_hba.conf, or fix the user in FACTLEDGER_DATABASE_URL",
        ),
        (
            "Connection refused\n\tIs the server running on that host and accepting TCP/IP "
            "connections?",
            "nothing is listening on db.example:5433 (connection refused): start PostgreSQL "
            "there, or fix the host and port in FACTLEDGER_DATABASE_URL",
        ),
        (
            "FATAL:  the database system is starting up",
            "PostgreSQL on db.example:5433 is not accepting connections yet "
            "(the database system is starting up): try again shortly",
        ),
        (
            "FATAL:  la base de données « facts » n'existe pas",
            "cannot connect to PostgreSQL on db.example:5433: "
            "la base de données « facts » n'existe pas",
        ),
    ],
)
def test_each_cause_is_told_in_one_line_with_what_to_do(failure: str, told: str) -> None:
    assert diagnose(PREAMBLE + failure, DATABASE, 5) == told


def test_a_timeout_names_the_seconds_waited() -> None:
    told = diagnose("connection timeout expired", DATABASE, 5)
    assert told.startswith("PostgreSQL on db.example:5433 did not answer within 5 s")


def test_names_that_need_quoting_are_quoted_for_the_shell() -> None:
    database = Database.from_url("postgresql://ledger@[::1]:5432/my%20facts")
    told = diagnose('FATAL:  database "my facts" does not exist', database, 5)
    assert told == (
        'database "my facts" does not exist on [::1]:5432: '
        "create it with `createdb -h ::1 -p 5432 -U ledger 'my facts'`"
    )


def test_the_password_is_never_told() -> None:
    for failure in ("FATAL:  password authentication failed", "something else entirely"):
        assert "secret" not in diagnose(PREAMBLE + failure, DATABASE, 5)

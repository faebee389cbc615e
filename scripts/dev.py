#!/usr/bin/env python3
"""Set up and run Factledger with nothing but Python 3.11+.

    python3 scripts/dev.py run        # .venv, seeded SQLite ledger, a key, then serve
    python3 scripts/dev.py test [...] # .venv with the dev tools, then pytest [...]
    python3 scripts/dev.py check      # ruff, mypy --strict, hadolint, compose.yaml's schema
    python3 scripts/dev.py package-check  # the wheel, installed in a new venv, run elsewhere
    python3 scripts/dev.py contract   # CI's contract check, when it is beside this clone
    python3 scripts/dev.py conformance  # schemathesis against `factledger serve`, both backends
    python3 scripts/dev.py bench [...]  # the benchmarks of docs/benchmarks.md ([...]: --quick)

The virtual environment is `.venv` beside this project; it is (re)installed
only when pyproject.toml changed since the last install. The `make` targets
call this script.

`run` serves on FACTLEDGER_HOST:FACTLEDGER_PORT (default 127.0.0.1:8000) and
keeps its editor key in `.factledger-dev-key` (ignored by git): the key is
reused while the ledger knows it and it is not revoked, else a new one is made.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
# CI keeps the contract check beside the clone; it is not part of the project.
CONTRACT = ROOT.parent / "shared" / "contract" / "check.py"
DEV_KEY = ROOT / ".factledger-dev-key"
DEV_KEY_NAME = "local editor"
BENCHMARKS = ("appends", "reads", "projector", "rebuild")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_ADMIN_URL = os.environ.get(
    "FACTLEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def call(*command: str | Path, env: dict[str, str] | None = None) -> None:
    completed = subprocess.run([str(c) for c in command], cwd=ROOT, env=env, check=False)
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def ensure_venv(extras: str) -> None:
    """A .venv with the project installed (editable) with `extras`."""
    if sys.version_info < (3, 11):  # noqa: UP036 (this script may be started by an older Python)
        sys.exit(f"Factledger needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        say(f"creating {VENV.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    project = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = VENV / ".factledger-install"
    installed = stamp.read_text().split() if stamp.exists() else []
    # Installed extras of this pyproject.toml: "" is covered by any of them.
    if f"{project}{extras}" in installed or (
        not extras and any(line.startswith(project) for line in installed)
    ):
        return
    say(f"installing Factledger{extras} into {VENV.relative_to(ROOT)} (once)")
    call(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    call(PYTHON, "-m", "pip", "install", "--quiet", "-e", f".{extras}")
    stamp.write_text(" ".join([*installed, f"{project}{extras}"]))


def run() -> None:
    # In the venv (`main` re-executes this script there).
    from factledger.listening import ListenAddressUnavailable, check_can_listen  # noqa: PLC0415

    env = dict(os.environ)
    env.setdefault("FACTLEDGER_DATABASE_URL", "sqlite:///./factledger.db")
    host, port = env.get("FACTLEDGER_HOST", "127.0.0.1"), env.get("FACTLEDGER_PORT", "8000")
    # Before anything is seeded or a key printed: can `serve` listen there?
    if not port.isdigit():
        sys.exit(f"error: FACTLEDGER_PORT must be a port number, not {port!r}")
    try:
        check_can_listen(host, int(port))
    except ListenAddressUnavailable as error:
        sys.exit(f"error: {error} (here: FACTLEDGER_HOST, FACTLEDGER_PORT)")
    say(f"seeding {env['FACTLEDGER_DATABASE_URL']}")
    call(BIN / "factledger", "seed", env=env)
    key, made = dev_key(env)
    kept = DEV_KEY.relative_to(ROOT)
    print(
        f"\nFactledger is starting on http://{host}:{port}  (API docs: http://{host}:{port}/docs)\n"
        f"A key to write with (role editor; {'new, ' if made else ''}kept in {kept}):\n\n"
        f"    {key}\n\n"
        f'    curl -H "Authorization: Bearer $(cat {kept})" ...\n\n'
        f"The command line is .venv/bin/factledger (or `source .venv/bin/activate`, then "
        f"`factledger`).\nCtrl-C stops the service.\n",
        flush=True,
    )
    os.chdir(ROOT)
    os.execve(
        BIN / "factledger",
        [str(BIN / "factledger"), "serve", "--host", host, "--port", port],
        env,
    )


def dev_key(env: dict[str, str]) -> tuple[str, bool]:
    """The editor key kept in DEV_KEY when the ledger still knows it (and it is
    not revoked), else a new one, kept there; True when it is new."""
    kept = DEV_KEY.read_text().strip() if DEV_KEY.exists() else ""
    match = re.fullmatch(r"fl_([0-9a-f]{12})_[A-Za-z0-9_-]+", kept)
    if match and match[1] in active_editor_keys(env):
        return kept, False
    made = subprocess.run(
        [BIN / "factledger", "keys", "create", "--name", DEV_KEY_NAME, "--role", "editor"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        sys.exit(made.stderr.strip())
    key = made.stdout.strip().splitlines()[-1]
    DEV_KEY.touch(mode=0o600)
    DEV_KEY.write_text(key + "\n")
    return key, True


def active_editor_keys(env: dict[str, str]) -> set[str]:
    """The ids of the ledger's editor keys that are not revoked (`factledger keys list`)."""
    listed = subprocess.run(
        [BIN / "factledger", "keys", "list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        sys.exit(listed.stderr.strip())
    # Columns: ID ROLE CREATED REVOKED NAME; REVOKED is "-" for an active key.
    rows = (line.split() for line in listed.stdout.splitlines()[1:])
    return {row[0] for row in rows if len(row) >= 4 and row[1] == "editor" and row[3] == "-"}


def test(args: list[str]) -> None:
    ensure_venv("[dev]")
    call(PYTHON, "-m", "pytest", *args)


def check() -> None:
    ensure_venv("[dev]")
    packages = ["ledger", "projections", "api", "storage", "factledger", "bench"]
    call(BIN / "ruff", "check", ".")
    call(BIN / "ruff", "format", "--check", ".")
    call(BIN / "mypy", "--strict", *packages)
    call(BIN / "hadolint", "--no-color", "Dockerfile")
    call(BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", "compose.yaml")


PRODUCT_PACKAGES = ("ledger", "projections", "api", "storage", "factledger", "seeds")

# What a build or an install may print only when something is deprecated or
# wrong: Python's warnings (SetuptoolsDeprecationWarning, ...), setuptools'
# "!!" banners and pip's DEPRECATION lines.
WARNED = re.compile(r"DEPRECATION|Deprecat|\w+Warning\b|^\s*!!\s*$", re.MULTILINE)


def package_check() -> None:
    """The wheel as a user gets it: built, installed with its dependencies into a
    new virtual environment, and run from a folder outside this work tree."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    with tempfile.TemporaryDirectory(prefix="factledger-package-") as folder:
        temp = Path(folder)
        say("building the wheel")
        quiet(PYTHON, "-m", "pip", "wheel", "--verbose", "--no-deps", "-w", temp, ROOT, cwd=temp)
        (wheel,) = temp.glob("factledger-*.whl")
        check_wheel_files(wheel, f"{project['name']}-{project['version']}.dist-info")
        say(f"installing {wheel.name} into a new virtual environment")
        # No pip of its own (ensurepip takes longer than the install): .venv's
        # installs into it.
        venv.EnvBuilder().create(temp / "venv")
        bin_dir = temp / "venv" / BIN.name
        quiet(PYTHON, "-m", "pip", "--python", bin_dir / "python", "install", wheel, cwd=temp)
        say("running it from another folder")
        elsewhere = temp / "elsewhere"
        elsewhere.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "FACTLEDGER_"))}
        env["FACTLEDGER_DATABASE_URL"] = f"sqlite:///{elsewhere}/ledger.db"
        factledger = bin_dir / "factledger"
        for command, expected in [
            ((factledger, "--help"), "Usage: factledger [OPTIONS] COMMAND"),
            ((factledger, "--version"), f"factledger {project['version']}"),
            ((bin_dir / "python", "-m", "factledger", "--help"), "Usage: python -m factledger"),
            ((factledger, "serve", "--help"), "--no-projector"),
            ((factledger, "seed"), "0 already there"),
            ((factledger, "seed"), "0 events appended"),
        ]:
            said = quiet(*command, cwd=elsewhere, env=env)
            if expected not in said:
                sys.exit(f"{' '.join(map(str, command))} did not say {expected!r}:\n{said}")
    say("the wheel installs and runs")


def quiet(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """What `command` printed; exits if it failed or warned."""
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    said = done.stdout + done.stderr
    shown = " ".join(map(str, command))
    if done.returncode != 0:
        sys.exit(f"{shown} failed:\n{said[-5000:]}")
    warned = [line for line in said.splitlines() if WARNED.search(line)]
    if warned:
        sys.exit(f"{shown} warned:\n" + "\n".join(warned))
    return said


def check_wheel_files(wheel: Path, dist_info: str) -> None:
    """The wheel holds every file of the product's packages (subpackages, seeds,
    py.typed, templates), the license, and nothing else at the top."""
    shipped = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        str(path.relative_to(ROOT))
        for package in PRODUCT_PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    missing = sorted(wanted - shipped)
    tops = {name.split("/", 1)[0] for name in shipped} - {dist_info}
    if missing or tops != set(PRODUCT_PACKAGES) or f"{dist_info}/licenses/LICENSE" not in shipped:
        sys.exit(f"{wheel.name}: missing {missing}, top-level {sorted(tops)}")


def both_backends() -> Iterator[tuple[str, str]]:
    """(label, database URL) of an empty SQLite file, then an empty PostgreSQL database."""
    # Installed into the venv (the commands using this re-execute themselves
    # there): imported here so that `run` and `test` need only the standard library.
    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="factledger-") as folder:
        yield "SQLite", f"sqlite:///{folder}/ledger.db"
    name = f"factledger_check_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"PostgreSQL (database {name})", f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def contract() -> None:
    """CI's contract check, as a client would run it, on both backends. It is
    not part of the project: CI keeps it beside the clone. Without it this is
    skipped, except under CI=true, where it must run."""
    if not CONTRACT.exists():
        if IN_CI:
            sys.exit(f"error: CI=true, but there is no contract check at {CONTRACT}")
        say("skipped: no ../shared/contract/check.py beside this clone (CI has one)")
        return
    for label, url in both_backends():
        say(f"contract check on {label}")
        call(PYTHON, CONTRACT, *([url] if url.startswith("postgresql") else []))


def conformance() -> None:
    """Schemathesis drives a real server from its OpenAPI document: every answer
    must be documented, match its schema and never be a 500."""
    for label, url in both_backends():
        say(f"OpenAPI conformance on {label}")
        keys = tempfile.mkdtemp(prefix="factledger-conformance-")
        env = {
            **os.environ,
            "FACTLEDGER_DATABASE_URL": url,
            # The checkpoint signing key of this run's ledger, not one in the working directory.
            "FACTLEDGER_CHECKPOINT_KEY_FILE": f"{keys}/checkpoint.key",
        }
        key = (
            subprocess.run(
                [BIN / "factledger", "keys", "create", "--name", "conformance", "--role", "editor"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen(
            [BIN / "factledger", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base, server)
            call(
                BIN / "schemathesis",
                "run",
                f"{base}/openapi.json",
                "--header",
                f"Authorization: Bearer {key}",
                "--checks",
                "all",
                # Rules such as "not before the claim was made" cannot be said in
                # JSON Schema, so schema-valid data may rightly be refused.
                "--exclude-checks",
                "positive_data_acceptance",
                # A live stream never ends, so it cannot be checked as a
                # response; tests/e2e/test_event_stream.py drives it instead.
                "--exclude-path",
                "/events/stream",
                "--max-examples",
                "40",
                "--seed",
                "20261125",
            )
        finally:
            server.terminate()
            server.wait(10)
            shutil.rmtree(keys, ignore_errors=True)


def bench(args: list[str]) -> None:
    """Each benchmark in turn, with the same arguments (such as --quick)."""
    ensure_venv("")
    for name in BENCHMARKS:
        call(PYTHON, ROOT / "bench" / f"{name}.py", *args)


def wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1)
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit("factledger serve did not start")
            time.sleep(0.2)


def main() -> None:
    command, *args = sys.argv[1:] or ["help"]
    if command == "run":
        if Path(sys.prefix).resolve() != VENV.resolve():
            ensure_venv("")
            os.execv(PYTHON, [str(PYTHON), __file__, command])
        run()
    elif command == "test":
        test(args)
    elif command == "check":
        check()
    elif command == "bench":
        bench(args)
    elif command == "package-check":
        ensure_venv("")
        package_check()
    elif command in ("contract", "conformance"):
        if Path(sys.prefix).resolve() != VENV.resolve():
            ensure_venv("[dev]")
            os.execv(PYTHON, [str(PYTHON), __file__, command])
        contract() if command == "contract" else conformance()
    else:
        print(__doc__)
        sys.exit(0 if command in ("help", "-h", "--help") else 2)


if __name__ == "__main__":
    main()

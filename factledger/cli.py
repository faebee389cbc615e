"""The `factledger` command line (SPEC §7). Every command reads
`FACTLEDGER_DATABASE_URL`; errors are one clear line and a non-zero exit."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final

import click
import uvicorn
from pydantic import ValidationError

from api.logging import log_config
from factledger.checkpointing import SigningKeyError, rotate_signing_key
from factledger.exporting import plan_export
from factledger.importing import MAX_LINE_BYTES, Importer, ImportStopped, describe
from factledger.keys import ApiKeys, KeyNotFound
from factledger.listening import ListenAddressUnavailable, check_can_listen
from factledger.metrics import serving_directory
from factledger.persistence import Persistence, open_persistence
from factledger.rebuilding import parallel_load
from factledger.runtime import settle_heap, unwinding_on_sigterm
from factledger.seeding import load_seeds, seed_ledger
from factledger.service import LedgerService
from factledger.settings import Settings
from factledger.supervisor import ProjectorChild, watch_parent
from factledger.verifying import VerificationFailed, verify_ledger
from ledger.access import Role
from ledger.errors import LedgerError
from ledger.times import format_instant, from_micros
from projections.rebuild import rebuild as rebuild_read_models
from storage.database import InvalidDatabaseUrl
from storage.errors import DATABASE_ERRORS
from storage.reachability import DatabaseUnreachable, check_reachable

__all__ = ["main"]

_SIGNAL_LOOK_SECONDS: Final = 0.2
_GRACEFUL_SHUTDOWN_SECONDS: Final = 15


class CommandError(click.ClickException):
    """A failure to report as one line on standard error."""

    def show(self, file: object = None) -> None:
        click.echo(f"error: {self.message}", err=True)


def _settings() -> Settings:
    try:
        return Settings.handed_down()
    except ValidationError as error:
        problems = "; ".join(
            f"{Settings.variable(str(e['loc'][0]))}: {e['msg'].removeprefix('Value error, ')}"
            for e in error.errors()
        )
        raise CommandError(problems) from None


@contextmanager
def _service(settings: Settings | None = None) -> Iterator[LedgerService]:
    settings = settings or _settings()
    check_reachable(settings.database)
    try:
        service = LedgerService(settings)
    except Exception as error:  # noqa: BLE001 (any failure to open is reported as one line)
        raise CommandError(
            f"cannot open the ledger at {settings.database.display}: {_one_line(error)}"
        ) from None
    try:
        yield service
    finally:
        service.close()


@contextmanager
def _persistence() -> Iterator[Persistence]:
    """The ledger's event store and keys alone: no read model is opened or created."""
    settings = _settings()
    check_reachable(settings.database)
    try:
        persistence = open_persistence(settings.database)
    except Exception as error:  # noqa: BLE001 (any failure to open is reported as one line)
        raise CommandError(
            f"cannot open the ledger at {settings.database.display}: {_one_line(error)}"
        ) from None
    try:
        yield persistence
    except DATABASE_ERRORS as error:
        raise CommandError(
            f"the database at {settings.database.display} failed: {_one_line(error)}"
        ) from None
    finally:
        persistence.close()


def _check_signing_key(service: LedgerService) -> None:
    try:
        service.checkpoint_signer()
    except SigningKeyError as error:
        raise CommandError(str(error)) from None


@contextmanager
def _api_keys() -> Iterator[ApiKeys]:
    """The ledger's keys alone: nothing else of the ledger is opened or created."""
    with _persistence() as persistence:
        yield ApiKeys(persistence.keys)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) < 300 else text[:297] + "..."


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    package_name="factledger", prog_name="factledger", message="%(prog)s %(version)s"
)
def cli() -> None:
    """Factledger: an event-sourced, bitemporal fact-checking ledger."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--no-projector",
    is_flag=True,
    help="Do not run a projector here (run `factledger project` elsewhere).",
)
def serve(host: str, port: int, workers: int, no_projector: bool) -> None:
    """Serve the HTTP API (creates the schema on an empty database)."""
    check_can_listen(host, port)
    settings = _settings()
    if no_projector:
        settings = settings.model_copy(update={"projector": False})
    # Create the schema once, before any worker starts.
    with _service(settings) as service:
        head = service.persistence.event_log.head_position()
        _check_signing_key(service)
    click.echo(
        f"Factledger on {settings.database.display} (position {head}): http://{host}:{port}/docs",
        err=True,
    )
    with ExitStack() as stack:
        stack.enter_context(unwinding_on_sigterm())  # first in: taken down last
        # Where the workers keep their metrics, added up when scraped.
        settings = settings.model_copy(
            update={"metrics_dir": stack.enter_context(serving_directory())}
        )
        if settings.rate_limit or settings.anonymous_rate_limit:
            settings = stack.enter_context(_shared_rate_counts(settings))
        if settings.projector:
            settings = stack.enter_context(_projector_child(settings))
        # uvicorn's workers import the app afresh: the settings go to them, as
        # they are here, in one variable of the environment they inherit.
        os.environ.update(settings.hand_down())
        uvicorn.run(
            "api.app:create_served_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            # The bounds on connections and request heads: api/connections.py.
            http="api.connections:GuardedHttpToolsProtocol",
            timeout_keep_alive=settings.keep_alive_timeout,
            # Past every write's own bound (10 s); live streams end at once.
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
            log_config=log_config(settings),
            log_level=settings.log_level,
            access_log=not settings.access_log,  # ours replaces uvicorn's
        )


@contextmanager
def _shared_rate_counts(settings: Settings) -> Iterator[Settings]:
    """A file in which the workers count requests for the rate limits together."""
    run_dir = Path(tempfile.mkdtemp(prefix="factledger-rates-"))
    try:
        yield settings.model_copy(update={"rate_limit_store": run_dir / "rates.sqlite"})
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


@contextmanager
def _projector_child(settings: Settings) -> Iterator[Settings]:
    """The projector in a child process for as long as `serve` runs; its workers
    run none themselves and read the child's role from a file. Yields the
    settings for the workers."""
    run_dir = Path(tempfile.mkdtemp(prefix="factledger-serve-"))
    status_file = run_dir / "projector.role"
    settings = settings.model_copy(update={"projector_status_file": status_file})
    child = ProjectorChild(status_file, {**os.environ, **settings.hand_down()})
    child.start()
    try:
        yield settings.model_copy(update={"projector_child": True})
    finally:
        child.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


@cli.command()
def seed() -> None:
    """Load the seeds shipped with Factledger, idempotently."""
    try:
        seeds = load_seeds()
    except (OSError, ValueError) as error:
        raise CommandError(f"the shipped seeds cannot be read: {_one_line(error)}") from None
    total = sum(1 + len(entry.rebuttals) for seeds_file in seeds for entry in seeds_file.claims)
    with _service() as service:
        try:
            with click.progressbar(length=total, label="Seeding", file=sys.stderr) as bar:
                report = seed_ledger(
                    service.writer, seeds, on_write=lambda _key, _written: bar.update(1)
                )
        except LedgerError as error:
            raise CommandError(f"seeding stopped: {error.detail}") from None
    click.echo(
        f"Seeded {service.settings.database.display}: {report.appended} events appended, "
        f"{report.already_there} already there."
    )


@cli.command()
@click.option("--parent-fd", type=int, hidden=True, help="Stop when this pipe closes.")
def project(parent_fd: int | None) -> None:
    """Keep the read models up to date until stopped (Ctrl-C or SIGTERM).

    Any number may run: one works, the others take over when it stops.
    """
    stop = threading.Event()
    signals: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        # A handler takes no lock: it may interrupt this very thread inside
        # `stop`'s own (two SIGTERMs in a row once deadlocked it there).
        signal.signal(signum, lambda received, _: signals.append(received))
    if parent_fd is not None:
        watch_parent(parent_fd, stop.set)
    with _service() as service:
        _check_signing_key(service)
        runner = service.projector_runner()
        logging.getLogger("projections").setLevel(logging.INFO)
        click.echo(
            f"Projecting {service.settings.database.display} "
            f"(read models at position {service.persistence.read_models.position()}).",
            err=True,
        )
        settle_heap()
        runner.start()
        while not signals and not stop.wait(_SIGNAL_LOOK_SECONDS):
            pass
        runner.stop()
        click.echo(f"Stopped at position {service.persistence.read_models.position()}.", err=True)


@cli.command()
def rebuild() -> None:
    """Rebuild every read model from the events into new tables, then swap them in.

    A running `serve` keeps answering from the old tables until the swap.
    """
    with _service() as service, ExitStack() as stack:
        lock = service.persistence.rebuild_lock()
        if not lock.try_acquire():
            raise CommandError("another rebuild is running on this database; wait for it to end")
        stack.callback(lock.release)
        bars: list[Any] = []

        def started(total: int) -> None:
            bar = click.progressbar(length=total, label="Rebuilding", file=sys.stderr)
            bars.append(stack.enter_context(bar))

        def progressed(events: int) -> None:
            bars[0].update(events)

        events = service.persistence.events.count_after(0)
        report = rebuild_read_models(
            service.projector,
            on_start=started,
            on_progress=progressed,
            parallel=parallel_load(service.persistence, events),
        )
    rate = report.events / report.seconds if report.seconds else 0.0
    click.echo(
        f"Rebuilt the read models of {service.settings.database.display}: {report.claims} claims "
        f"from {report.events} events in {report.seconds:.1f} s ({rate:,.0f} events/s); "
        f"live at position {report.position}."
    )


@cli.command()
def verify() -> None:
    """Check every event's hash against the Merkle tree, and every stored checkpoint
    (its root, its signature, its consistency with the one before).

    Works on the database alone, with or without a server running.
    """
    settings = _settings()
    with _persistence() as persistence:
        persistence.tree.create_tables()
        total = persistence.events.count_after(0)
        try:
            with _progress("Verifying", total) as bar:
                verified = verify_ledger(persistence.event_log, persistence.tree, bar.update)
        except VerificationFailed as error:
            raise CommandError(f"verification failed: {error}") from None
        except DATABASE_ERRORS:
            raise
        except Exception as error:  # noqa: BLE001 (never a traceback)
            raise CommandError(f"verification could not finish: {_one_line(error)}") from None
    click.echo(
        f"Verified {settings.database.display}: {verified.events} events, a tree of "
        f"{verified.tree_size} leaves, {verified.checkpoints} checkpoints signed by "
        f"{verified.keys} published keys: all hold."
    )


@cli.group(name="checkpoint-key")
def checkpoint_key() -> None:
    """Manage the key that signs checkpoints."""


@checkpoint_key.command(name="rotate")
def rotate_checkpoint_key() -> None:
    """Make a new signing key (the old file kept beside it) and publish it beside the old.

    Checkpoints signed by the old key stay verifiable. Restart every process of
    the ledger with the new key file afterwards.
    """
    settings = _settings()
    with _service(settings) as service:
        path = settings.signing_key_path
        try:
            published = rotate_signing_key(
                path, service.persistence.tree, settings.checkpoint_origin
            )
        except OSError as error:
            raise CommandError(f"cannot write the new key to {path}: {_one_line(error)}") from None
    click.echo(f"New checkpoint signing key in {path}; published as:")
    click.echo(published)


def _progress(label: str, length: int) -> Any:
    """A progress bar on standard error, when it is a terminal and the length of
    the work is known (else nothing)."""
    return click.progressbar(
        length=length, label=label, file=sys.stderr, hidden=not (length and sys.stderr.isatty())
    )


@contextmanager
def _output(file: str) -> Iterator[IO[bytes]]:
    """Standard output for `-`; else a file that appears, complete, only on success."""
    if file == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(file)
    try:
        partial = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, or removed)
            dir=target.parent, prefix=f".{target.name}.", suffix=".partial", delete=False
        )
    except OSError as error:
        raise CommandError(f"cannot write {file}: {error.strerror or error}") from None
    try:
        with partial:
            yield partial
        Path(partial.name).replace(target)
    except BaseException:
        Path(partial.name).unlink(missing_ok=True)
        raise


@cli.command("export")
@click.argument("file", default="-")
def export_events(file: str) -> None:
    """Write every event envelope as NDJSON, in position order, to FILE
    (default `-`: standard output). No server needs to run."""
    with _persistence() as persistence:
        export = plan_export(persistence.event_log)
        try:
            with _output(file) as out, _progress("Exporting", export.events) as bar:
                for line in export.lines():
                    out.write(line)
                    bar.update(1)
        except BrokenPipeError:
            # The reader stopped reading (`| head`): not an error of ours.
            sys.stderr.close()
            os._exit(0)
    where = "standard output" if file == "-" else file
    click.echo(
        f"Exported {export.events} events (positions up to {export.until}) to {where}.", err=True
    )


@cli.command("import")
@click.argument("file")
def import_events(file: str) -> None:
    """Append the events of an export (FILE, or `-` for standard input) to this
    ledger, keeping their ids, times, actors and data; events already here are
    skipped. Stops at the first line it cannot take: nothing from it on is
    imported."""
    with _input(file) as (source, size), _persistence() as persistence:
        importer = Importer(persistence.appender, persistence.events)
        lines = iter(lambda: source.readline(MAX_LINE_BYTES + 1), b"")
        try:
            with _progress("Importing", size) as bar:
                report = importer.run(lines, on_line=lambda line: bar.update(len(line)))
        except ImportStopped as stopped:
            raise CommandError(
                f"{file}: {_one_line(stopped)}. Nothing from line {stopped.line} on was "
                f"imported; before it: {describe(stopped.report)}."
            ) from None
    click.echo(
        f"Imported {file} into {_settings().database.display}: {report.lines} lines, "
        f"{describe(report)}."
    )


@contextmanager
def _input(file: str) -> Iterator[tuple[IO[bytes], int]]:
    """The file to import, and its size (0 when unknown: standard input)."""
    if file == "-":
        yield sys.stdin.buffer, 0
        return
    try:
        opened = Path(file).open("rb")  # noqa: SIM115 (closed below)
    except OSError as error:
        raise CommandError(f"cannot read {file}: {error.strerror or error}") from None
    with opened:
        yield opened, os.fstat(opened.fileno()).st_size


@cli.group()
def keys() -> None:
    """Manage API keys."""


@keys.command("create")
@click.option("--name", required=True, help="Who the key is for; shown as the actor's name.")
@click.option(
    "--role", required=True, type=click.Choice([role.value for role in Role]), help="Its rights."
)
def create_key(name: str, role: str) -> None:
    """Make a key; it is printed once, alone on the last line."""
    if not name.strip() or len(name) > 200 or "\x00" in name:
        raise CommandError("--name must be 1 to 200 characters")
    with _api_keys() as api_keys:
        issued = api_keys.create(name, Role(role))
    click.echo(f"Created key {issued.key_id} ({issued.role}) for {issued.name}.", err=True)
    click.echo("Keep it now: it is shown only once.", err=True)
    click.echo(issued.secret)


@keys.command("list")
def list_keys() -> None:
    """List the keys (never their secrets)."""
    with _api_keys() as api_keys:
        rows = api_keys.list()
    if not rows:
        click.echo("No keys.")
        return
    click.echo(f"{'ID':<14}{'ROLE':<13}{'CREATED':<29}{'REVOKED':<29}NAME")
    for row in rows:
        created = format_instant(from_micros(row.created_at_us))
        revoked = format_instant(from_micros(row.revoked_at_us)) if row.revoked_at_us else "-"
        click.echo(f"{row.key_id:<14}{row.role:<13}{created:<29}{revoked:<29}{row.name}")


@keys.command("revoke")
@click.argument("key_id")
def revoke_key(key_id: str) -> None:
    """Revoke a key: it stops working at once."""
    with _api_keys() as api_keys:
        try:
            api_keys.revoke(key_id)
        except KeyNotFound as error:
            raise CommandError(str(error)) from None
    click.echo(f"Revoked {key_id} at {format_instant(datetime.now().astimezone())}.")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        cli(standalone_mode=True)
    except InvalidDatabaseUrl as error:
        click.echo(f"error: FACTLEDGER_DATABASE_URL: {error}", err=True)
        sys.exit(2)
    except (DatabaseUnreachable, ListenAddressUnavailable) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)

"""`roadbed`: run the platform (`up`, `server`, `worker`, `api`) and use it (`create`, `status`, `list`)."""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from roadbed.cli import catalog as catalog_cli
from roadbed.cli import drift as drift_cli
from roadbed.cli import expiry as expiry_cli
from roadbed.cli import golden_paths, report, services, tokens
from roadbed.cli import health as health_cli
from roadbed.cli import policy as policy_cli
from roadbed.cli import upgrade as upgrade_cli
from roadbed.cli.client import fail
from roadbed.cli.environments import register as register_environment_commands
from roadbed.cli.usage import EXIT_CODES, Group
from roadbed.domain.errors import RoadbedError
from roadbed.private_files import private_dir
from roadbed.startup import StartupError, bind_api_socket, data_dir_lock

if TYPE_CHECKING:
    from roadbed.settings import Settings
    from roadbed.storage.database import Database

# Start-up budget: `roadbed --help`, `status` and `list` start in <= 0.3 s (bench/cli_startup.py), so this module
# imports nothing heavy; the platform commands import the API, the worker and the database when they run.
app = typer.Typer(help="Roadbed: self-service environments on durable Temporal workflows.", epilog=EXIT_CODES, cls=Group,
                  no_args_is_help=True, pretty_exceptions_enable=False)


@app.callback()
def _announce_targets() -> None:
    """Every command says, on stderr, which adapter each port uses (CONTRACT.md, "Targets"); read without pydantic (cheap)."""
    from roadbed.cli.config import load_config

    try:
        targets = load_config().targets
    except Exception:  # noqa: BLE001 - a bad setting is reported by the command itself
        return
    sys.stderr.write("targets: " + ", ".join(f"{port}={target}" for port, target in targets.items()) + "\n")


app.add_typer(golden_paths.app, name="golden-paths")
app.add_typer(tokens.app, name="tokens")
app.add_typer(catalog_cli.app, name="catalog")
app.add_typer(report.app, name="report")
app.add_typer(services.app, name="services")
app.add_typer(policy_cli.app, name="policy")
app.command("health")(health_cli.health)
app.command("drift")(drift_cli.drift)
app.command("upgrade")(upgrade_cli.upgrade)
app.command("extend")(expiry_cli.extend)


class _LazyModule:
    """A module imported on first attribute use: `asyncio` (~50 ms) is only for the platform commands' bodies."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)


asyncio: Any = _LazyModule("asyncio")


class _LazyConsole:
    """stdout for the platform commands, built on first use (rich costs start-up time the client commands need)."""

    def print(self, *args: Any, **kwargs: Any) -> None:
        from rich.console import Console

        Console().print(*args, **kwargs)


console = _LazyConsole()


def load_settings(**overrides: Any) -> Settings:
    """The full settings (pydantic-settings, ~0.3 s to import): only the platform commands and `doctor` need them."""
    from roadbed.settings import load_settings as load

    return load(**overrides)


def ensure_admin_token(database: Database, token_file: Any) -> str:
    from roadbed.auth import ensure_admin_token as ensure

    return ensure(database, token_file)


def serve(*args: Any, **kwargs: Any) -> Any:
    """`roadbed.cli.processes.serve`, imported when a platform command runs (it pulls in uvicorn, the API and Temporal)."""
    from roadbed.cli.processes import serve as run

    return run(*args, **kwargs)


def _settings() -> Settings:
    try:
        return load_settings()
    except Exception as exc:  # noqa: BLE001 - a bad setting is a one-line reason, not a trace
        raise fail(f"invalid settings: {exc}".splitlines()[0] + " " + " ".join(str(exc).splitlines()[1:3])) from exc


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("temporalio").setLevel(logging.WARNING)
    # Alembic narrates its plugin set-up at INFO when first imported (before `Database.migrate` can quiet it).
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _database(settings: Settings) -> Database:
    from roadbed.storage.database import Database

    database = Database(settings.resolved_database_url)
    database.migrate()
    return database


@app.command()
def up() -> None:
    """Start everything on the embedded default: Temporal dev server, worker and API (Ctrl-C stops all).

    All or nothing: the data dir is locked and every port checked before any child starts; a part that cannot
    start, or stops later, stops the rest and exits 1 with one `error:` line.
    """
    from roadbed.devserver import check_dev_server_can_start, start_dev_server, stop_process

    settings = _settings()
    _configure_logging()
    private_dir(settings.home)
    embedded = settings.temporal_address is None
    with contextlib.ExitStack() as running:  # undone in reverse: dev server, database, API socket, lock
        try:
            running.enter_context(data_dir_lock(settings.home))
            api_socket = bind_api_socket(settings)
            running.callback(api_socket.close)
            if embedded:
                check_dev_server_can_start(settings)
            database = _database(settings)
            running.callback(database.dispose)
            ensure_admin_token(database, settings.admin_token_file)
            temporal = start_dev_server(settings, settings.home / "temporal.log") if embedded else None
            if temporal is not None:
                running.callback(stop_process, temporal)
            console.print(f"Portal           {settings.resolved_api_url}/", highlight=False, soft_wrap=True)
            console.print(f"Roadbed API      {settings.resolved_api_url}  (docs: {settings.resolved_api_url}/docs)", highlight=False, soft_wrap=True)
            if temporal is not None:
                console.print(f"Temporal UI      {settings.temporal_ui_url}", highlight=False, soft_wrap=True)
            console.print(f"Temporal         {settings.resolved_temporal_address}", highlight=False, soft_wrap=True)
            console.print(f"Admin token in   {settings.admin_token_file}", highlight=False, soft_wrap=True)
            console.print(f"Data dir         {settings.home}", highlight=False, soft_wrap=True)
            asyncio.run(serve(settings, database, run_worker=True, run_api=True, api_socket=api_socket, dev_server=temporal))
        except (StartupError, RoadbedError) as exc:
            raise fail(str(exc)) from exc
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
    console.print("Roadbed stopped.")


@app.command()
def server() -> None:
    """Run only the embedded Temporal dev server (foreground); a taken port or missing binary is one line, exit 1."""
    import signal
    import subprocess

    from roadbed.devserver import check_dev_server_can_start, dev_server_child_setup, stop_process

    settings = _settings()
    private_dir(settings.home)
    try:
        command = check_dev_server_can_start(settings)
    except StartupError as exc:
        raise fail(str(exc)) from exc
    console.print(f"Temporal {settings.resolved_temporal_address}, UI {settings.temporal_ui_url}", highlight=False)
    # Its own session keeps a terminal's Ctrl-C for us, and it dies with us even if we are killed; SIGTERM to our pid
    # stops it as Ctrl-C does, so a service manager's stop never leaves the dev server running.
    process = subprocess.Popen(command, start_new_session=True, preexec_fn=dev_server_child_setup)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        stop_process(process)
        return
    if code != 0:
        raise fail(f"the Temporal dev server exited with code {code}")


class Queue(StrEnum):
    """`roadbed worker --queue`: a role, named by its queue's default name (roadbed.worker.WorkerQueue; kept here so
    `--help` stays cheap). ROADBED_TASK_QUEUE / ROADBED_TERRAFORM_TASK_QUEUE rename the queues themselves."""

    GENERAL = "roadbed"
    TERRAFORM = "roadbed-terraform"


@app.command()
def worker(
    queue: Annotated[
        Queue | None,
        typer.Option("--queue", help="Poll only this queue: roadbed (workflows, fast steps) or roadbed-terraform (Terraform steps); default both"),
    ] = None,
    max_concurrent_activities: Annotated[
        int | None,
        typer.Option("--max-concurrent-activities", min=1, max=1024, help="Steps this worker runs at once on its --queue (default: the queue's setting)"),
    ] = None,
) -> None:
    """Run one worker against the configured Temporal cluster (run several for more throughput).

    Without --queue it polls both queues; a Terraform worker (--queue roadbed-terraform) runs only the Terraform
    steps, capped at 4 applies per core by default. SIGTERM drains it: running steps finish first.
    """
    if max_concurrent_activities is not None and queue is None:
        raise fail("--max-concurrent-activities needs --queue: each queue has its own cap (ROADBED_WORKER_MAX_CONCURRENT_ACTIVITIES, ROADBED_TERRAFORM_MAX_CONCURRENT_ACTIVITIES)", code=2)
    from roadbed.worker import BOTH_QUEUES, WorkerQueue

    queues = frozenset({WorkerQueue(queue.value)}) if queue is not None else BOTH_QUEUES
    settings = _settings()
    _configure_logging()
    database = _database(settings)
    try:
        asyncio.run(serve(settings, database, run_worker=True, run_api=False, queues=queues, max_concurrent_activities=max_concurrent_activities))
    except (StartupError, RoadbedError) as exc:
        raise fail(str(exc)) from exc
    finally:
        database.dispose()


@app.command()
def api() -> None:
    """Run only the HTTP API; a taken port is one line and exit 1."""
    settings = _settings()
    _configure_logging()
    try:
        api_socket = bind_api_socket(settings)
    except StartupError as exc:
        raise fail(str(exc)) from exc
    database = _database(settings)
    ensure_admin_token(database, settings.admin_token_file)
    console.print(f"Roadbed API {settings.resolved_api_url}", highlight=False)
    try:
        asyncio.run(serve(settings, database, run_worker=False, run_api=True, api_socket=api_socket))
    except (StartupError, RoadbedError) as exc:
        raise fail(str(exc)) from exc
    finally:
        database.dispose()


@app.command()
def migrate() -> None:
    """Bring the engine database's schema to the newest revision, then exit (idempotent; safe from several replicas).

    `api` and `worker` migrate at start as well; a deployment runs this once first (docker-compose.yml's `migrate`
    service) so a failing migration stops the rollout before any replica serves. On PostgreSQL, concurrent runs
    queue on an advisory lock (Database.migrate), so replicas starting together cannot race.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from roadbed.storage.database import Database

    settings = _settings()
    _configure_logging()
    database = Database(settings.resolved_database_url)
    try:
        database.migrate()
        revision = database.current_revision()
    except SQLAlchemyError as exc:
        raise fail(f"cannot migrate the engine database: {str(exc).splitlines()[0]}") from exc
    finally:
        database.dispose()
    console.print(f"engine database at revision {revision}", highlight=False)


register_environment_commands(app)  # after the platform commands, so `--help` lists those first

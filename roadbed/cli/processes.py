"""Running Roadbed's parts: the Temporal dev server, the worker and the API, alone or together (`up`).

Startup is all or nothing (see roadbed.startup for the checks made before any child starts); once running, any part that stops on its own stops the others and ends the process with a
one-line `StartupError` (the CLI prints it and exits non-zero), so `up` never runs half a platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import subprocess
from collections.abc import Awaitable, Callable, Iterator

import uvicorn

from roadbed.api.app import create_app
from roadbed.drift.schedule import ensure_drift_schedule
from roadbed.observability import use_json_logs, worker_runtime
from roadbed.settings import LogFormat, Settings
from roadbed.startup import StartupError, bind_api_socket
from roadbed.storage.database import Database
from roadbed.temporal import connect_temporal, ensure_search_attributes
from roadbed.worker import BOTH_QUEUES, GENERAL_GRACEFUL_SHUTDOWN_SECONDS, WorkerQueue, Workers, build_ports, build_worker, executor_for

log = logging.getLogger("roadbed")

DEV_SERVER_POLL_SECONDS = 0.5
SHUTDOWN_SECONDS = 30.0
DEV_SERVER_PART = "Temporal dev server"


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: `up` owns Ctrl-C and stops every part in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _part(name: str, work: Callable[[], Awaitable[object]]) -> None:
    """Run one part; ending on its own, by any exception or even `sys.exit` (uvicorn's startup failure), is a failure."""
    try:
        await work()
    except asyncio.CancelledError:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - whatever stops a part stops `up`, with its reason
        reason = f"exited with code {exc.code} (see the log above)" if isinstance(exc, SystemExit) else _one_line(exc)
        raise StartupError(f"the {name} stopped: {reason}") from exc
    raise StartupError(f"the {name} stopped unexpectedly (see the log above)")


async def supervise(
    parts: dict[str, Callable[[], Awaitable[object]]],
    stop: asyncio.Event,
    shutdown: Callable[[], Awaitable[None]],
    watchers: frozenset[str] = frozenset(),
    shutdown_seconds: float = SHUTDOWN_SECONDS,
) -> None:
    """Run every part until `stop` is set or one part ends; then cancel the `watchers` (parts that only watch
    something, like the dev server), `shutdown` the rest, cancel what is still running after `shutdown_seconds`,
    and raise the StartupError of the part that ended (if one did)."""
    tasks = [asyncio.create_task(_part(name, work), name=name) for name, work in parts.items()]
    stopper = asyncio.create_task(stop.wait(), name="stop")
    try:
        done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        log.info("shutting down")
        for task in tasks:
            if task.get_name() in watchers:
                task.cancel()
        await shutdown()
        _, pending = await asyncio.wait(tasks, timeout=shutdown_seconds) if tasks else (set(), set())
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    failed = next((task for task in tasks if task in done and not task.cancelled()), None)
    if failed is not None:
        failed.result()


async def watch_process(process: subprocess.Popen[bytes]) -> None:
    """Return when a child process exits (the dev server dying must stop `up`, not leave a worker polling nothing)."""
    while process.poll() is None:
        await asyncio.sleep(DEV_SERVER_POLL_SECONDS)
    raise RuntimeError(f"exited with code {process.returncode}")


def drain_seconds(settings: Settings, queues: frozenset[WorkerQueue], run_worker: bool) -> float:
    """How long a shutdown may take before what still runs is cancelled: past the workers' graceful timeouts."""
    if not run_worker:
        return SHUTDOWN_SECONDS
    graceful = settings.terraform_graceful_shutdown_seconds if WorkerQueue.TERRAFORM in queues else GENERAL_GRACEFUL_SHUTDOWN_SECONDS
    return max(SHUTDOWN_SECONDS, graceful + 10.0)


def _queue_names(settings: Settings, queues: frozenset[WorkerQueue]) -> list[str]:
    names = {WorkerQueue.GENERAL: settings.task_queue, WorkerQueue.TERRAFORM: settings.resolved_terraform_task_queue}
    return [f"{names[q]} ({q.value} role)" if names[q] != q.value else names[q] for q in WorkerQueue if q in queues]


def _one_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__


async def serve(
    settings: Settings,
    database: Database,
    *,
    run_worker: bool,
    run_api: bool,
    api_socket: socket.socket | None = None,
    dev_server: subprocess.Popen[bytes] | None = None,
    queues: frozenset[WorkerQueue] = BOTH_QUEUES,
    max_concurrent_activities: int | None = None,
) -> None:
    """Run the worker and/or the API until SIGINT/SIGTERM, then shut both down cleanly.

    The worker polls `queues` (both by default: the general and the Terraform queue, each with its own cap). On a
    signal it drains: no new tasks, running steps finish within their queue's graceful timeout (a Terraform apply
    gets `terraform_graceful_shutdown_seconds`), so a step is neither cut short nor retried elsewhere.
    Raises StartupError if a part cannot start or stops on its own (the others are shut down first). With
    `dev_server`, that process exiting counts as a part stopping.
    """
    if settings.log_format is LogFormat.JSON:
        use_json_logs()
    stop = _stop_event()
    parts: dict[str, Callable[[], Awaitable[object]]] = {}
    worker: Workers | None = None
    executor = None
    server: _QuietServer | None = None

    async def shutdown() -> None:
        if server is not None:
            server.should_exit = True
        if worker is not None and worker.is_running:
            await worker.shutdown()

    try:
        if run_api and api_socket is None:
            api_socket = bind_api_socket(settings)
        if run_worker:
            try:
                client = await connect_temporal(settings, wait_seconds=60, runtime=worker_runtime(settings.worker_metrics_port))
                await ensure_search_attributes(client, settings.temporal_namespace)
            except Exception as exc:  # noqa: BLE001 - one line: which part and why
                raise StartupError(f"cannot start the worker: {_one_line(exc)}") from exc
            if WorkerQueue.GENERAL in queues:  # the sweep's workflow runs on the general queue
                try:
                    log.info("drift schedule %s", await ensure_drift_schedule(client, settings))
                except Exception as exc:  # noqa: BLE001 - drift checks are not worth refusing to start for
                    log.warning("drift schedule not set: %s", _one_line(exc))
            executor = executor_for(settings, queues, max_concurrent_activities)
            worker = build_worker(client, settings, build_ports(settings, database), executor, queues, max_concurrent_activities)
            parts["worker"] = worker.run
            log.info("worker polling %s", ", ".join(_queue_names(settings, queues)))
        if run_api:
            server = _QuietServer(uvicorn.Config(create_app(settings, database, freeze_after_start=True), log_level="warning", lifespan="on"))
            sockets = [api_socket]
            parts["API"] = lambda: server.serve(sockets=sockets)
        if dev_server is not None:
            parts[DEV_SERVER_PART] = lambda: watch_process(dev_server)
        await supervise(parts, stop, shutdown, watchers=frozenset({DEV_SERVER_PART}), shutdown_seconds=drain_seconds(settings, queues, run_worker))
    finally:
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        if api_socket is not None:
            api_socket.close()

"""Running Roadbed's parts: the Temporal dev server, the worker and the API, alone or together (`up`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn
from temporalio.worker import Worker

from roadbed.api.app import create_app
from roadbed.settings import Settings
from roadbed.storage.database import Database
from roadbed.temporal import connect_temporal, ensure_search_attributes
from roadbed.worker import activity_executor, build_ports, build_worker

log = logging.getLogger("roadbed")


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


async def serve(settings: Settings, database: Database, *, run_worker: bool, run_api: bool) -> None:
    """Run the worker and/or the API until SIGINT/SIGTERM, then shut both down cleanly."""
    stop = _stop_event()
    tasks: list[asyncio.Task[object]] = []
    worker: Worker | None = None
    executor = None
    if run_worker:
        client = await connect_temporal(settings, wait_seconds=60)
        await ensure_search_attributes(client, settings.temporal_namespace)
        executor = activity_executor()
        worker = build_worker(client, settings, build_ports(settings, database), executor)
        tasks.append(asyncio.create_task(worker.run(), name="worker"))
    server = None
    if run_api:
        config = uvicorn.Config(create_app(settings, database), host=settings.api_host, port=settings.api_port, log_level="warning", lifespan="on")
        server = _QuietServer(config)
        tasks.append(asyncio.create_task(server.serve(), name="api"))
    stopper = asyncio.create_task(stop.wait(), name="stop")
    done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not stopper and task.exception() is not None:
            log.error("%s stopped: %s", task.get_name(), task.exception())
    log.info("shutting down")
    if server is not None:
        server.should_exit = True
    if worker is not None:
        await worker.shutdown()
    await asyncio.gather(*tasks, return_exceptions=True)
    stopper.cancel()
    if executor is not None:
        executor.shutdown(wait=False, cancel_futures=True)

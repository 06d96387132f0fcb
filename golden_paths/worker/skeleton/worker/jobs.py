"""The jobs ${{ values.name }} knows how to do. Add yours here: one function per job kind.

A handler gets the job's JSON payload. Return normally for success; raise `PermanentJobError` when
retrying cannot help (bad input: the job is dead-lettered at once); any other exception is retried
with a back-off, then dead-lettered after the last attempt. Delivery is at least once: a handler may
see the same job twice, so make it idempotent (for example, key writes by the job's payload id).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from worker.queues import Job

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}


class PermanentJobError(Exception):
    """The job cannot succeed, however often it is retried."""


def handles(kind: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


@handles("echo")
def echo(payload: dict[str, Any]) -> None:
    """An example job: logs its payload. Replace it with your own."""
    log.info("echo %s", payload)


@handles("scheduled")
def scheduled(payload: dict[str, Any]) -> None:
    """Enqueued by the worker itself on its cron schedule (`SCHEDULE`). Put the periodic work here."""
    log.info("scheduled run for %s", payload.get("scheduled_for"))


def handle(job: Job) -> None:
    handler = HANDLERS.get(job.kind)
    if handler is None:
        raise PermanentJobError(f"no handler for job kind {job.kind!r}")
    handler(job.payload)

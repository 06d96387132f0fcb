"""Entry point of ${{ values.name }} (owned by team ${{ values.owner }}): a queue consumer and scheduled job.

The loop pulls jobs from the queue named by `QUEUE_URL` (in memory when unset), runs up to `CONCURRENCY`
of them at once, retries failures with a back-off and dead-letters what keeps failing, and, when `SCHEDULE`
is set, enqueues a `scheduled` job at every matching minute. Metrics for the SLO are served on
`METRICS_PORT`. Nothing is required: the worker starts without any resource.

    python -m worker.main                   # run until SIGTERM / Ctrl-C
    python -m worker.main once              # process what is waiting now, then exit
    python -m worker.main enqueue echo '{"hello": "world"}'
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from worker import __version__
from worker.jobs import PermanentJobError, handle
from worker.metrics import JobMetrics, serve_metrics
from worker.queues import InMemoryQueue, Job, Queue, queue_from_url
from worker.schedule import Cron

SERVICE_NAME = "${{ values.name }}"
SERVICE_DESCRIPTION = ${{ values.description | dump }}
OWNER = "${{ values.owner }}"
DEFAULT_SCHEDULE = ${{ values.schedule | dump }}
DEFAULT_CONCURRENCY = ${{ values.concurrency }}
MAX_CONCURRENCY = 64

log = logging.getLogger("worker")


def _env_int(env: Mapping[str, str], name: str, default: int, low: int = 0, high: int = 2**31) -> int:
    raw = env.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        return default
    return value if low <= value <= high else default


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    try:
        value = float(env.get(name) or default)
    except ValueError:
        return default
    return value if value > 0 else default


_DEAD_LETTER_SUFFIX = "_DEAD_LETTER_QUEUE_URL"


def _first_resource_value(env: Mapping[str, str], direct: str, suffix: str) -> str | None:
    """`direct` if set, else the first `QUEUE_<name><suffix>` variable Roadbed injects for a queue resource."""
    if env.get(direct):
        return env[direct]
    injected = sorted(
        key
        for key in env
        if key.startswith("QUEUE_") and key.endswith(suffix) and env[key]
        and (suffix == _DEAD_LETTER_SUFFIX or not key.endswith(_DEAD_LETTER_SUFFIX))
    )
    return env[injected[0]] if injected else None


@dataclass(frozen=True)
class Settings:
    """Runtime settings from environment variables; every one is optional."""

    environment: str
    concurrency: int
    schedule: str | None
    queue_url: str | None
    dead_letter_url: str | None
    metrics_port: int
    poll_seconds: float
    max_attempts: int
    retry_delay_seconds: float
    database_host: str | None
    database_port: int
    database_name: str | None
    database_user: str | None
    redis_host: str | None
    redis_port: int
    bucket_name: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        schedule = env.get("SCHEDULE", DEFAULT_SCHEDULE).strip()
        return cls(
            environment=env.get("ENVIRONMENT") or "${{ values.environment }}",
            concurrency=_env_int(env, "CONCURRENCY", DEFAULT_CONCURRENCY, 1, MAX_CONCURRENCY),
            schedule=schedule or None,
            queue_url=_first_resource_value(env, "QUEUE_URL", "_QUEUE_URL"),
            dead_letter_url=_first_resource_value(env, "QUEUE_DEAD_LETTER_URL", _DEAD_LETTER_SUFFIX),
            metrics_port=_env_int(env, "METRICS_PORT", 9100, 0, 65535),
            poll_seconds=_env_float(env, "POLL_SECONDS", 1.0),
            max_attempts=_env_int(env, "MAX_ATTEMPTS", 5, 1, 100),
            retry_delay_seconds=_env_float(env, "RETRY_DELAY_SECONDS", 2.0),
            database_host=env.get("DATABASE_HOST") or None,
            database_port=_env_int(env, "DATABASE_PORT", 5432, 1, 65535),
            database_name=env.get("DATABASE_NAME") or None,
            database_user=env.get("DATABASE_USER") or None,
            redis_host=env.get("REDIS_HOST") or None,
            redis_port=_env_int(env, "REDIS_PORT", 6379, 1, 65535),
            bucket_name=env.get("BUCKET_NAME") or None,
        )

    def resources(self) -> dict[str, bool]:
        """Which resources are configured (never their secrets)."""
        return {
            "database": self.database_host is not None,
            "redis": self.redis_host is not None,
            "bucket": self.bucket_name is not None,
            "queue": self.queue_url is not None,
        }


class Worker:
    """Pulls, handles, retries and dead-letters jobs, and fires the schedule; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        queue: Queue | None = None,
        handler: Callable[[Job], None] = handle,
        metrics: JobMetrics | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.queue = queue if queue is not None else queue_from_url(settings.queue_url, dead_letter_url=settings.dead_letter_url)
        self.handler = handler
        self.metrics = metrics if metrics is not None else JobMetrics(SERVICE_NAME)
        self.metrics.queue_depth = self.queue.depth
        self.cron = Cron.parse(settings.schedule) if settings.schedule else None  # a bad SCHEDULE fails at start
        self._now = now
        self._fired_minute: datetime | None = None

    def process(self, job: Job) -> bool:
        """One attempt at `job`: True when it succeeded. Never raises."""
        self.metrics.started()
        started = time.perf_counter()
        succeeded = False
        try:
            self.handler(job)
            succeeded = True
        except PermanentJobError as exc:
            log.warning("job %s (%s) failed permanently: %s", job.id, job.kind, exc)
            self._dead_letter(job, f"permanent failure: {exc}")
        except Exception as exc:  # any handler error is a failed attempt, not a crash
            if job.attempts >= self.settings.max_attempts:
                log.exception("job %s (%s) failed on its last attempt %d", job.id, job.kind, job.attempts)
                self._dead_letter(job, f"failed {job.attempts} times, last: {exc!r}")
            else:
                delay = self.settings.retry_delay_seconds * 2 ** (job.attempts - 1)
                log.warning("job %s (%s) failed on attempt %d, retrying in %.1fs: %r", job.id, job.kind, job.attempts, delay, exc)
                self.metrics.retried_job(job.kind)
                self._settle(self.queue.retry, job, delay)
        else:
            self._settle(self.queue.ack, job)
        finally:
            self.metrics.finished(job.kind, succeeded, time.perf_counter() - started)
        return succeeded

    def _dead_letter(self, job: Job, reason: str) -> None:
        self.metrics.dead_lettered_job(job.kind)
        self._settle(self.queue.dead_letter, job, reason)

    @staticmethod
    def _settle(action: Callable[..., None], job: Job, *args: object) -> None:
        try:
            action(job, *args)
        except Exception:  # the queue redelivers an unsettled job; log and carry on
            log.exception("could not settle job %s with %s", job.id, getattr(action, "__name__", action))

    def fire_schedule(self) -> Job | None:
        """Enqueue the `scheduled` job when the schedule matches the current minute (once per minute)."""
        if self.cron is None:
            return None
        minute = self._now().replace(second=0, microsecond=0)
        if minute == self._fired_minute or not self.cron.matches(minute):
            return None
        self._fired_minute = minute
        job = Job(kind="scheduled", payload={"scheduled_for": minute.isoformat(), "schedule": self.cron.expression})
        self.queue.put(job)
        return job

    def drain(self, limit: int | None = None) -> int:
        """Handle waiting jobs one at a time until the queue is empty (or `limit`); returns how many."""
        handled = 0
        self.fire_schedule()
        while limit is None or handled < limit:
            job = self.queue.get(timeout=0)
            if job is None:
                self.metrics.queue_idle()
                break
            self.process(job)
            handled += 1
        return handled

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set: up to `concurrency` jobs at once. In-flight jobs finish before it returns."""
        slots = threading.BoundedSemaphore(self.settings.concurrency)
        poll = self.settings.poll_seconds
        with ThreadPoolExecutor(max_workers=self.settings.concurrency, thread_name_prefix="job") as pool:
            while not stop.is_set():
                self.metrics.loop_alive()
                try:
                    self.fire_schedule()
                except Exception:  # an unreachable queue must not kill the loop
                    log.exception("could not enqueue the scheduled job")
                if not slots.acquire(timeout=poll):
                    continue  # every slot busy
                try:
                    job = self.queue.get(timeout=poll)
                except Exception:
                    slots.release()
                    log.exception("could not read from the queue; retrying")
                    stop.wait(poll)
                    continue
                if job is None:
                    slots.release()
                    self.metrics.queue_idle()
                    continue
                pool.submit(self.process, job).add_done_callback(lambda _: slots.release())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="${{ values.name }}", description=SERVICE_DESCRIPTION)
    parser.add_argument("command", nargs="?", choices=["run", "once", "enqueue"], default="run")
    parser.add_argument("kind", nargs="?", help="enqueue: the job kind")
    parser.add_argument("payload", nargs="?", default="{}", help="enqueue: the job payload as a JSON object")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    settings = Settings.from_env()
    worker = Worker(settings)

    if args.command == "enqueue":
        if not args.kind:
            parser.error("enqueue needs a job kind")
        if isinstance(worker.queue, InMemoryQueue):
            parser.error("enqueue needs QUEUE_URL: an in-memory queue ends with this process")
        payload = json.loads(args.payload)
        if not isinstance(payload, dict):
            parser.error("the payload must be a JSON object")
        job = Job(kind=args.kind, payload=payload)
        worker.queue.put(job)
        print(job.id)
        return 0
    if args.command == "once":
        handled = worker.drain()
        log.info("%s %s handled %d job(s)", SERVICE_NAME, __version__, handled)
        return 0

    server = serve_metrics(worker.metrics, settings.metrics_port) if settings.metrics_port else None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info(
        "%s %s started (%s): concurrency %d, schedule %s, queue %s, metrics on port %s",
        SERVICE_NAME, __version__, settings.environment, settings.concurrency, settings.schedule or "none",
        type(worker.queue).__name__, settings.metrics_port or "off",
    )
    worker.run(stop)
    if server is not None:
        server.shutdown()
    log.info("%s stopped", SERVICE_NAME)
    return 0


if __name__ == "__main__":
    sys.exit(main())

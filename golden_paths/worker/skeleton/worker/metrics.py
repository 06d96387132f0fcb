"""Job metrics in the Prometheus text format, with a tiny built-in exporter (no client library needed).

| metric | type | meaning |
|---|---|---|
| `jobs_processed_total{kind, status}` | counter | processing attempts; `status` is `succeeded` or `failed` (the SLI) |
| `jobs_retried_total{kind}` / `jobs_dead_lettered_total{kind}` | counter | failed attempts retried / given up on |
| `job_duration_seconds{kind}` | summary (`_sum`, `_count`) | time spent in the handler |
| `job_last_success_timestamp_seconds` | gauge | last successful job, or last poll that found the queue empty |
| `jobs_in_progress` | gauge | jobs being handled right now |
| `job_queue_depth` | gauge | jobs waiting, when the queue can tell |

The SLO (slo.yaml) divides failed by all processed attempts; the freshness alert reads the last-success
timestamp, which an idle worker keeps fresh by finding its queue empty, so only a stuck worker goes stale.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class JobMetrics:
    def __init__(self, service: str, clock: Callable[[], float] = time.time) -> None:
        self.service = service
        self._clock = clock
        self._lock = threading.Lock()
        self.processed: Counter[tuple[str, str]] = Counter()
        self.retried: Counter[str] = Counter()
        self.dead_lettered: Counter[str] = Counter()
        self._duration_sum: Counter[str] = Counter()
        self._duration_count: Counter[str] = Counter()
        self.in_progress = 0
        # A worker that just started counts as fresh: the freshness alert measures from here.
        self.last_success = clock()
        self.last_loop = clock()
        self.queue_depth: Callable[[], int | None] = lambda: None

    def started(self) -> None:
        with self._lock:
            self.in_progress += 1

    def finished(self, kind: str, succeeded: bool, seconds: float) -> None:
        with self._lock:
            self.in_progress -= 1
            self.processed[(kind, "succeeded" if succeeded else "failed")] += 1
            self._duration_sum[kind] += seconds
            self._duration_count[kind] += 1
            if succeeded:
                self.last_success = self._clock()

    def retried_job(self, kind: str) -> None:
        with self._lock:
            self.retried[kind] += 1

    def dead_lettered_job(self, kind: str) -> None:
        with self._lock:
            self.dead_lettered[kind] += 1

    def queue_idle(self) -> None:
        """The queue was found empty: nothing is waiting, which is as good as a success."""
        with self._lock:
            self.last_success = self._clock()

    def loop_alive(self) -> None:
        with self._lock:
            self.last_loop = self._clock()

    def seconds_since_loop(self) -> float:
        with self._lock:
            return self._clock() - self.last_loop

    def render(self) -> str:
        service = f'service="{_escape(self.service)}"'
        try:
            depth = self.queue_depth()
        except Exception:  # a metrics scrape must not fail because the queue is unreachable
            depth = None
        with self._lock:
            lines = ["# HELP jobs_processed_total Job processing attempts by outcome.", "# TYPE jobs_processed_total counter"]
            lines += [
                f'jobs_processed_total{{{service},kind="{_escape(kind)}",status="{status}"}} {count}'
                for (kind, status), count in sorted(self.processed.items())
            ]
            lines += ["# HELP jobs_retried_total Failed attempts that will be retried.", "# TYPE jobs_retried_total counter"]
            lines += [f'jobs_retried_total{{{service},kind="{_escape(k)}"}} {n}' for k, n in sorted(self.retried.items())]
            lines += ["# HELP jobs_dead_lettered_total Jobs given up on.", "# TYPE jobs_dead_lettered_total counter"]
            lines += [f'jobs_dead_lettered_total{{{service},kind="{_escape(k)}"}} {n}' for k, n in sorted(self.dead_lettered.items())]
            lines += ["# HELP job_duration_seconds Time spent handling jobs.", "# TYPE job_duration_seconds summary"]
            for kind in sorted(self._duration_count):
                labels = f'{service},kind="{_escape(kind)}"'
                lines.append(f"job_duration_seconds_sum{{{labels}}} {self._duration_sum[kind]:.6f}")
                lines.append(f"job_duration_seconds_count{{{labels}}} {self._duration_count[kind]}")
            lines += [
                "# HELP job_last_success_timestamp_seconds Last successful job, or last poll that found the queue empty.",
                "# TYPE job_last_success_timestamp_seconds gauge",
                f"job_last_success_timestamp_seconds{{{service}}} {self.last_success:.3f}",
                "# HELP jobs_in_progress Jobs being handled right now.",
                "# TYPE jobs_in_progress gauge",
                f"jobs_in_progress{{{service}}} {self.in_progress}",
            ]
        if depth is not None:
            lines += ["# HELP job_queue_depth Jobs waiting in the queue.", "# TYPE job_queue_depth gauge", f"job_queue_depth{{{service}}} {depth}"]
        return "\n".join(lines) + "\n"


def serve_metrics(metrics: JobMetrics, port: int, host: str = "0.0.0.0", stale_after: float = 120.0) -> ThreadingHTTPServer:
    """Serve `/metrics` and `/healthz` (the main loop ran within `stale_after` seconds) from a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's naming
            if self.path == "/metrics":
                self._send(200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8")
            elif self.path == "/healthz":
                alive = metrics.seconds_since_loop() < stale_after
                self._send(200 if alive else 503, "ok\n" if alive else "main loop stalled\n", "text/plain; charset=utf-8")
            else:
                self._send(404, "not found\n", "text/plain; charset=utf-8")

        def _send(self, status: int, body: str, content_type: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # scrapes are not worth a log line
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server

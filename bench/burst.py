"""A burst of N full provisions (python-service + postgres) on the embedded default: throughput, API submit latency
under that load, time-to-environment and where the time goes per step. Usage:

    python bench/burst.py [--count 100] [--submitters 16] [--url URL --token-file FILE]

Starts `roadbed up` on a temporary data dir (or uses a running Roadbed with --url), provisions one environment
to warm up, then submits `count` requests from `submitters` threads at once. Progress is read once a second
from the list endpoint (one request, filtered by this run's team), so the bench adds almost no load of its own;
every figure comes from the server's own timestamps except the submit latency (the client's POST round trip).

Reported: throughput (environments per minute, first submit to last finish); submit latency p50/p99;
time-to-environment p50/p90/p99 (accepted -> finished); and per step the p50 of its own duration and of the
wait before it (previous step's end, or acceptance, to its start: queueing on its task queue, the workflow
task that schedules it, the step's first database write). With `roadbed up` it also reports the CPU seconds
the whole process tree (API, worker, Temporal dev server, Terraform workers) used per environment, the figure
a capacity model needs (docs/operations.md).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.harness import RoadbedUp  # noqa: E402
from bench.process_cpu import tree_cpu  # noqa: E402
from roadbed.metrics.percentiles import percentile  # noqa: E402

STEPS = ["validate", "repository", "infrastructure", "kubernetes", "monitoring", "catalog"]
FINAL = {"SUCCEEDED", "FAILED", "COMPENSATED", "CANCELLED"}


def body(service: str, team: str) -> dict[str, Any]:
    return {"service": service, "team": team, "golden_path": "python-service", "environment": "dev", "resources": [{"type": "postgres", "name": "main"}]}


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _seconds(start: str | None, end: str | None) -> float | None:
    return (_time(end) - _time(start)).total_seconds() if start and end else None


def wait_final(http: httpx.Client, team: str, count: int, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        environments = http.get("/v1/environments", params={"team": team, "limit": 1000}).json()
        if len(environments) >= count and all(e["status"] in FINAL for e in environments):
            return environments
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out: {sum(e['status'] in FINAL for e in environments)}/{count} finished")
        time.sleep(1.0)


def burst(http: httpx.Client, count: int, submitters: int, timeout: float) -> tuple[list[dict[str, Any]], list[float], float]:
    """(environments, submit latencies, seconds from the first submit to the last environment finished)."""
    team = f"burst-{uuid.uuid4().hex[:8]}"
    latencies: list[float] = []
    lock = threading.Lock()

    def submit(number: int) -> None:
        started = time.monotonic()
        response = http.post("/v1/environments", json=body(f"b{number}-{team[-8:]}", team))
        response.raise_for_status()
        with lock:
            latencies.append(time.monotonic() - started)

    started = time.time()
    with ThreadPoolExecutor(submitters) as pool:
        list(pool.map(submit, range(count)))
    environments = wait_final(http, team, count, timeout)
    last = max(_time(e["finished_at"]).timestamp() for e in environments)
    return environments, latencies, last - started


def step_figures(environments: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """{step: (p50 wait before it, p50 its duration)} over the environments that succeeded."""
    waits: dict[str, list[float]] = {name: [] for name in STEPS}
    durations: dict[str, list[float]] = {name: [] for name in STEPS}
    for environment in environments:
        if environment["status"] != "SUCCEEDED":
            continue
        previous = environment["created_at"]
        steps = {s["name"]: s for s in environment["steps"]}
        for name in STEPS:
            step = steps[name]
            waits[name].append(_seconds(previous, step["started_at"]) or 0.0)
            durations[name].append(step["duration_seconds"] or 0.0)
            previous = step["finished_at"] or previous
    return {name: (percentile(waits[name], 50), percentile(durations[name], 50)) for name in STEPS if durations[name]}


def report(environments: list[dict[str, Any]], latencies: list[float], wall: float, cpu: Counter[str] | None) -> None:
    ok = [e for e in environments if e["status"] == "SUCCEEDED"]
    tte = [_seconds(e["created_at"], e["finished_at"]) or 0.0 for e in ok]
    print(f"\n== burst of {len(environments)}: {len(ok)} succeeded in {wall:.2f} s")
    print(f"throughput           {len(ok) / wall * 60:.1f} environments/minute")
    print(f"submit latency       p50 {percentile(latencies, 50) * 1000:.0f} ms  p99 {percentile(latencies, 99) * 1000:.0f} ms")
    if tte:
        print(f"time-to-environment  p50 {percentile(tte, 50):.2f} s  p90 {percentile(tte, 90):.2f} s  p99 {percentile(tte, 99):.2f} s")
    print(f"  {'step':<15} {'wait p50':>9} {'run p50':>9}")
    for name, (wait, duration) in step_figures(environments).items():
        print(f"  {name:<15} {wait:>8.3f}s {duration:>8.3f}s")
    if tte:
        last_step = [_seconds(next(s for s in e["steps"] if s["name"] == STEPS[-1])["finished_at"], e["finished_at"]) or 0.0 for e in ok]
        print(f"  {'to finished':<15} {percentile(last_step, 50):>8.3f}s  (after the last step: status and outputs recorded)")
    if cpu is not None:
        total = sum(cpu.values())
        print(f"CPU of the process tree: {total:.1f} s, {total / max(len(ok), 1):.3f} s per environment")
        for role, seconds in cpu.most_common(6):
            print(f"  {seconds / max(len(ok), 1):.3f} s per environment  {role}")


@contextmanager
def roadbed_up() -> Iterator[tuple[httpx.Client, int | None]]:
    with tempfile.TemporaryDirectory(prefix="roadbed-burst-") as tmp:
        roadbed = RoadbedUp(Path(tmp) / "home")
        roadbed.start()
        try:
            with roadbed.http() as http:
                assert roadbed.process is not None
                yield http, roadbed.process.pid
        finally:
            roadbed.stop()


@contextmanager
def running(url: str, token_file: Path) -> Iterator[tuple[httpx.Client, int | None]]:
    token = token_file.read_text().strip()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        yield http, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--submitters", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--url", help="a running Roadbed instead of a temporary `roadbed up`")
    parser.add_argument("--token-file", type=Path, help="with --url: a file holding an admin token")
    args = parser.parse_args()
    target = running(args.url, args.token_file) if args.url else roadbed_up()
    with target as (http, pid):
        warm = http.post("/v1/environments", json=body(f"warm-{uuid.uuid4().hex[:6]}", "burst-warmup"))
        warm.raise_for_status()
        wait_final(http, "burst-warmup", 1, 120)
        before = tree_cpu(pid) if pid else None
        environments, latencies, wall = burst(http, args.count, args.submitters, args.timeout)
        cpu = tree_cpu(pid) - before if pid and before is not None else None
        report(environments, latencies, wall, cpu)


if __name__ == "__main__":
    main()

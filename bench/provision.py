"""Time-to-environment of the embedded default, per step: one request at a time, then a concurrent burst.

Starts `roadbed up` on a temporary data dir and free ports, provisions `python-service` with a
`postgres` resource over HTTP, and prints where the time goes. Usage:

    python bench/provision.py [--sequential 10] [--concurrent 24]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
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


def provision(http: httpx.Client, service: str) -> dict[str, Any]:
    body = {"service": service, "team": "bench", "golden_path": "python-service", "environment": "dev", "resources": [{"type": "postgres", "name": "main"}]}
    response = http.post("/v1/environments", json=body)
    response.raise_for_status()
    environment_id = response.json()["id"]
    while True:
        environment = http.get(f"/v1/environments/{environment_id}").json()
        if environment["status"] in FINAL:
            return environment
        time.sleep(0.05)


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def report(title: str, runs: list[dict[str, Any]], wall: float | None = None) -> None:
    ok = [r for r in runs if r["status"] == "SUCCEEDED"]
    tte = [_seconds(r["created_at"], r["finished_at"]) for r in ok]
    print(f"\n== {title}: {len(ok)}/{len(runs)} succeeded" + (f", wall {wall:.2f} s" if wall is not None else ""))
    if not tte:
        return
    print(f"time-to-environment  p50 {percentile(tte, 50):.3f} s  p90 {percentile(tte, 90):.3f} s  max {max(tte):.3f} s")
    step_total = []
    for name in STEPS:
        durations = [next(s for s in r["steps"] if s["name"] == name)["duration_seconds"] or 0.0 for r in ok]
        step_total.append(durations)
        print(f"  {name:<15} p50 {statistics.median(durations):.3f} s  mean {statistics.fmean(durations):.3f} s")
    in_steps = [sum(col[i] for col in step_total) for i in range(len(ok))]
    overhead = [t - s for t, s in zip(tte, in_steps, strict=True)]
    print(f"  {'in steps':<15} p50 {statistics.median(in_steps):.3f} s")
    print(f"  {'orchestration':<15} p50 {statistics.median(overhead):.3f} s  (queueing, workflow tasks, DB mirror, API acceptance)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=10)
    parser.add_argument("--concurrent", type=int, default=24)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="roadbed-bench-") as tmp:
        roadbed = RoadbedUp(Path(tmp) / "home")
        roadbed.start()
        try:
            with roadbed.http() as http:
                provision(http, "warmup")
                sequential = [provision(http, f"seq-{i}") for i in range(args.sequential)]
                report(f"sequential x{args.sequential}", sequential)
                assert roadbed.process is not None
                cpu_before = sum(tree_cpu(roadbed.process.pid).values())
                started = time.monotonic()
                with ThreadPoolExecutor(args.concurrent) as pool:
                    burst = list(pool.map(lambda i: provision(http, f"burst-{i}"), range(args.concurrent)))
                wall = time.monotonic() - started
                report(f"concurrent x{args.concurrent}", burst, wall)
                cpu = sum(tree_cpu(roadbed.process.pid).values()) - cpu_before
                single = statistics.median(_seconds(r["created_at"], r["finished_at"]) for r in sequential)
                print(f"\nconcurrency speed-up ({args.concurrent} x single p50 / burst wall): {args.concurrent * single / wall:.2f}")
                print(f"CPU of the process tree in the burst: {cpu / args.concurrent:.3f} s per environment")
        finally:
            roadbed.stop()


if __name__ == "__main__":
    main()

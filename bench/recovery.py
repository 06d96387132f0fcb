"""Recovery and compensation times of the embedded default, on temporary data dirs and free ports.

(a) Recovery: `roadbed up` with `infrastructure:hang:1`, N requests in flight (each stopped inside its
    infrastructure step), `kill -9` of the whole `up` process group, restart on the same data dir and ports;
    seconds from the restart command until all N are SUCCEEDED (split: until `up` is ready, then until done).
(b) Compensation: `roadbed up` with `catalog:permanent` (a fault at the last step), requests one at a time;
    p50/max of finished_at − the catalog step's started_at (fault → COMPENSATED) and of the whole run
    (request → COMPENSATED). Usage:

    python bench/recovery.py [--in-flight 6] [--rounds 1] [--compensations 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.harness import KillableRoadbedUp, hanging_in_infrastructure, request, wait_all  # noqa: E402
from roadbed.metrics.percentiles import percentile  # noqa: E402

FINAL = {"SUCCEEDED", "FAILED", "COMPENSATED", "CANCELLED"}


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def recovery_round(tmp: Path, in_flight: int) -> tuple[float, float, float]:
    """One kill -9 round: (restart → ready, ready → all done, restart → all done) in seconds."""
    roadbed = KillableRoadbedUp(tmp / "home")
    roadbed.start(ROADBED_FAILPOINTS="infrastructure:hang:1")
    try:
        with roadbed.http() as http:
            ids = [http.post("/v1/environments", json=request(f"recover-{i}")).raise_for_status().json()["id"] for i in range(in_flight)]
            wait_all(http, ids, hanging_in_infrastructure, timeout=60)
        roadbed.kill_tree()
        roadbed.wait_port_closed(roadbed.temporal_port)
        roadbed.wait_dev_server_gone()
        restarted = time.monotonic()
        roadbed.start()
        ready = time.monotonic() - restarted
        with roadbed.http() as http:
            done = wait_all(http, ids, lambda e: e["status"] in FINAL, timeout=300)
        total = time.monotonic() - restarted
        statuses = [e["status"] for e in done]
        if statuses != ["SUCCEEDED"] * in_flight:
            raise SystemExit(f"recovery did not succeed: {statuses}")
        roadbed.stop()
        return ready, total - ready, total
    except BaseException:
        if roadbed.process is not None and roadbed.process.poll() is None:
            roadbed.kill_tree()
        raise


def compensate_one(http: httpx.Client, service: str) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    environment_id = http.post("/v1/environments", json=request(service)).raise_for_status().json()["id"]
    while True:
        environment = http.get(f"/v1/environments/{environment_id}").json()
        if environment["status"] in FINAL:
            return environment, time.monotonic() - started
        time.sleep(0.02)


def compensation_runs(tmp: Path, count: int) -> None:
    roadbed = KillableRoadbedUp(tmp / "home")
    roadbed.start(ROADBED_FAILPOINTS="catalog:permanent")
    try:
        fault_to_done, request_to_done, client_wall = [], [], []
        with roadbed.http() as http:
            for i in range(count):
                environment, wall = compensate_one(http, f"undo-{i}")
                if environment["status"] != "COMPENSATED":
                    raise SystemExit(f"expected COMPENSATED, got {environment['status']}: {environment['error']}")
                catalog = next(s for s in environment["steps"] if s["name"] == "catalog")
                fault_to_done.append(_seconds(catalog["started_at"], environment["finished_at"]))
                request_to_done.append(_seconds(environment["created_at"], environment["finished_at"]))
                client_wall.append(wall)
        print(f"\n== (b) compensation after a fault at the last step (catalog:permanent), {count} runs one at a time")
        for title, values in (
            ("catalog started -> COMPENSATED", fault_to_done),
            ("request -> COMPENSATED (server)", request_to_done),
            ("request -> COMPENSATED (client)", client_wall),
        ):
            print(f"  {title:<33} p50 {percentile(values, 50):.3f} s  max {max(values):.3f} s")
        roadbed.stop()
    except BaseException:
        if roadbed.process is not None and roadbed.process.poll() is None:
            roadbed.kill_tree()
        raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--in-flight", type=int, default=6, help="requests in flight when `up` is killed")
    parser.add_argument("--rounds", type=int, default=1, help="kill -9 rounds, each on a fresh data dir")
    parser.add_argument("--compensations", type=int, default=5)
    args = parser.parse_args()

    rounds = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="roadbed-bench-") as tmp:
            rounds.append(recovery_round(Path(tmp), args.in_flight))
    print(f"\n== (a) recovery after kill -9 of `roadbed up` with {args.in_flight} runs in flight (step heartbeat timeout 10 s)")
    for i, (ready, done, total) in enumerate(rounds, 1):
        print(
            f"  round {i}: restart -> all {args.in_flight} SUCCEEDED {total:.2f} s  (restart -> up ready {ready:.2f} s, ready -> done {done:.2f} s)"
        )
    if len(rounds) > 1:
        totals = [r[2] for r in rounds]
        print(f"  p50 {percentile(totals, 50):.2f} s  max {max(totals):.2f} s")

    with tempfile.TemporaryDirectory(prefix="roadbed-bench-") as tmp:
        compensation_runs(Path(tmp), args.compensations)


if __name__ == "__main__":
    main()

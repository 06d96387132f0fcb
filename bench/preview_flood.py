"""Do previews stall the API? Latency of cheap reads while 24 previews (each a real `terraform plan`) arrive at once.

Starts `roadbed up` on a temporary data dir and free ports, measures `GET /healthz`, `GET /v1/golden-paths` and
`GET /v1/environments` while idle, then again during a flood of concurrent previews, and prints p50/p95 of each
with the flood/idle ratio, plus how the previews were answered (200 served, 429 refused with Retry-After).
Usage:

    python bench/preview_flood.py [--previews 24] [--concurrency 2] [--idle-samples 60]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.harness import RoadbedUp  # noqa: E402
from roadbed.metrics.percentiles import percentile  # noqa: E402

READS = ["/healthz", "/v1/golden-paths", "/v1/environments"]
PREVIEW = {
    "service": "flood",
    "team": "bench",
    "environment": "dev",
    "parameters": {"description": "preview flood"},
    "resources": [{"type": "postgres", "name": "main"}],
}


def _timed_get(http: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    http.get(path).raise_for_status()
    return time.perf_counter() - started


def sample_reads(http: httpx.Client, samples: dict[str, list[float]], stop: threading.Event | None, rounds: int) -> None:
    """Round-robin over the reads, `rounds` times, or until `stop` is set."""
    done = 0
    while (stop is None and done < rounds) or (stop is not None and not stop.is_set()):
        for path in READS:
            samples[path].append(_timed_get(http, path))
        done += 1


def preview(http: httpx.Client) -> tuple[int, float]:
    started = time.perf_counter()
    response = http.post("/v1/golden-paths/python-service/preview", json=PREVIEW, timeout=600)
    return response.status_code, time.perf_counter() - started


def _line(name: str, values: list[float]) -> str:
    return f"p50 {percentile(values, 50) * 1000:8.1f} ms  p95 {percentile(values, 95) * 1000:8.1f} ms  (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previews", type=int, default=24)
    parser.add_argument("--concurrency", type=int, default=2, help="ROADBED_PREVIEW_CONCURRENCY for the server")
    parser.add_argument("--idle-samples", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="roadbed-bench-") as tmp:
        roadbed = RoadbedUp(Path(tmp) / "home")
        roadbed.start(ROADBED_PREVIEW_CONCURRENCY=str(args.concurrency))
        try:
            with roadbed.http() as http, roadbed.http() as reader:
                status, warm = preview(http)  # terraform init, provider and module caches
                print(f"warm-up preview: {status} in {warm:.2f} s")
                idle: dict[str, list[float]] = {path: [] for path in READS}
                sample_reads(reader, idle, None, args.idle_samples)

                flood: dict[str, list[float]] = {path: [] for path in READS}
                stop = threading.Event()
                sampler = threading.Thread(target=sample_reads, args=(reader, flood, stop, 0))
                started = time.monotonic()
                sampler.start()
                with ThreadPoolExecutor(args.previews) as pool:
                    clients = [roadbed.http() for _ in range(args.previews)]
                    try:
                        results = list(pool.map(preview, clients))
                    finally:
                        for client in clients:
                            client.close()
                wall = time.monotonic() - started
                stop.set()
                sampler.join()
        finally:
            roadbed.stop()

    statuses = Counter(status for status, _ in results)
    served = [seconds for status, seconds in results if status == 200]
    print(f"\n== {args.previews} concurrent previews, ROADBED_PREVIEW_CONCURRENCY={args.concurrency}: wall {wall:.2f} s")
    print("answers: " + ", ".join(f"{status}x{count}" for status, count in sorted(statuses.items())))
    if served:
        print(f"served preview latency  {_line('preview', served)}")
    print("\nread latency           idle                                       during flood                               ratio p50 / p95")
    for path in READS:
        a, b = idle[path], flood[path]
        ratio50 = percentile(b, 50) / percentile(a, 50)
        ratio95 = percentile(b, 95) / percentile(a, 95)
        print(f"{path:<22} {_line(path, a)}   {_line(path, b)}   x{ratio50:.1f} / x{ratio95:.1f}")


if __name__ == "__main__":
    main()

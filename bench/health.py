"""The service health document: one service with every source configured, and the home page's 100 services.

Every upstream (Kubernetes API, Argo CD, GitHub, Prometheus, Grafana, SonarQube) is one local stub server of this
file answering healthy documents of the real shapes (bench/ never imports tests/, so not the test fakes), with
`--latency-ms` added to each answer to stand in for the network; incidents come from a SQLite engine database with
`--incidents` rows. The cache is off (`ttl=0`) for the cold figures, so every document calls every source; the warm
figure is the same document served from the 10 s cache. Usage:

    python bench/health.py [--repeat 200] [--services 100] [--latency-ms 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kubernetes.client import ApiClient, Configuration  # noqa: E402

from roadbed.domain.specs import SloTarget  # noqa: E402
from roadbed.health.aggregator import HealthAggregator  # noqa: E402
from roadbed.health.argocd import ArgoCdHealth  # noqa: E402
from roadbed.health.github import GitHubHealth  # noqa: E402
from roadbed.health.grafana import GrafanaHealth  # noqa: E402
from roadbed.health.incidents import IncidentsHealth  # noqa: E402
from roadbed.health.kubernetes import ClusterHealth  # noqa: E402
from roadbed.health.model import HealthStatus  # noqa: E402
from roadbed.health.port import HealthTarget  # noqa: E402
from roadbed.health.prometheus import PrometheusHealth  # noqa: E402
from roadbed.health.sonarqube import SonarQubeHealth  # noqa: E402
from roadbed.storage.database import Database  # noqa: E402
from roadbed.storage.events import IncidentEvent, record_incident  # noqa: E402

NOW = datetime.now(UTC)


def answer(path: str, query: str) -> Any:
    """A healthy answer of each upstream's shape for any service (names are read from the path)."""
    parts = path.strip("/").split("/")
    if path.startswith("/apis/apps/v1/"):
        return {"metadata": {"name": parts[-1], "generation": 2}, "spec": {"replicas": 2},
                "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}}
    if path.endswith("/pods"):
        pod = {"metadata": {"name": "p"}, "status": {"phase": "Running", "containerStatuses": [{"ready": True, "restartCount": 0, "state": {"running": {}}}]}}
        return {"items": [pod, pod]}
    if path.endswith("/events"):
        return {"items": [{"type": "Normal", "reason": "Pulled", "message": "ok", "involvedObject": {"kind": "Pod", "name": "p"},
                           "lastTimestamp": f"2026-12-01T10:0{i}:00Z"} for i in range(5)]}
    if path.startswith("/api/v1/applications/"):
        return {"metadata": {"name": parts[-1]}, "status": {"sync": {"status": "Synced", "revision": "a" * 40}, "health": {"status": "Healthy"},
                                                            "operationState": {"phase": "Succeeded", "finishedAt": "2026-12-01T10:00:00Z"}}}
    if path == "/api/v1/query":
        samples = [{"metric": {"slo_window": window}, "value": [0, ratio]} for window, ratio in (("1h", "0.0003"), ("6h", "0.0002"), ("30d", "0.0002"))]
        return {"status": "success", "data": {"resultType": "vector", "result": samples}}
    if path == "/api/qualitygates/project_status":
        return {"projectStatus": {"status": "OK", "conditions": []}}
    if path == "/api/measures/component":
        return {"component": {"measures": [{"metric": "coverage", "value": "81.2"}, {"metric": "bugs", "value": "0"}]}}
    if path.startswith("/api/dashboards/uid/"):
        return {"dashboard": {"uid": parts[-1], "title": "d", "panels": [{"id": i, "type": "stat", "title": f"p{i}"} for i in range(1, 7)]},
                "meta": {"url": f"/d/{parts[-1]}/d"}}
    if path.startswith("/repos/") and path.endswith("/pulls"):
        return [{"number": i, "title": f"PR {i}", "html_url": "u", "created_at": "2026-11-30T00:00:00Z"} for i in range(3)]
    if path.startswith("/repos/") and path.endswith("/actions/runs"):
        return {"total_count": 1, "workflow_runs": [{"name": "CI", "status": "completed", "conclusion": "success", "html_url": "u", "head_sha": "a" * 40}]}
    if path.startswith("/repos/") and len(parts) == 3:
        return {"default_branch": "main", "html_url": f"https://github.example/{parts[1]}/{parts[2]}"}
    return None


def serve(port: int, latency_seconds: float) -> None:
    """Every upstream on one local port, with a fixed latency per answer (run in its own process, so the figures
    are Roadbed's CPU, not the stub's)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler dispatches on this name
            split = urlsplit(self.path)
            payload = answer(split.path, split.query)
            if latency_seconds:
                time.sleep(latency_seconds)
            body = json.dumps(payload if payload is not None else {"message": "Not Found"}).encode()
            self.send_response(200 if payload is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024  # the listen backlog: 100 services' first connections arrive at once

    Server(("127.0.0.1", port), Handler).serve_forever()


class Upstreams:
    def __init__(self, latency: float) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.process = multiprocessing.get_context("spawn").Process(target=serve, args=(port, latency), daemon=True)
        self.process.start()
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)

    def close(self) -> None:
        self.process.terminate()
        self.process.join(5)


def sources(url: str, database: Database, timeout: float) -> list[Any]:
    return [
        ClusterHealth(timeout=timeout, api_client=ApiClient(Configuration(host=url))),
        ArgoCdHealth(url, "t", timeout=timeout),
        GitHubHealth(url, "t", "acme", timeout=timeout),
        IncidentsHealth(database),
        PrometheusHealth(url, timeout=timeout),
        GrafanaHealth(url, "t", timeout=timeout),
        SonarQubeHealth(url, "t", timeout=timeout),
    ]


def seed(database: Database, services: int, incidents: int) -> None:
    with database.transaction() as session:
        for i in range(incidents):
            opened = NOW - timedelta(hours=1 + i * 7)
            resolved = None if i % 50 == 0 else opened + timedelta(minutes=30 + i % 90)
            record_incident(session, IncidentEvent(key=f"inc-{i}", service=f"svc-{i % services:03d}", opened_at=opened, resolved_at=resolved,
                                                   environment="prod", source="pagerduty"), NOW, authoritative=True)


def target(i: int) -> HealthTarget:
    name = f"svc-{i:03d}"
    return HealthTarget(service=name, environment="prod", team="t", namespace=f"{name}-prod", slo=SloTarget())


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms (n={len(ordered)})"


async def run(args: argparse.Namespace) -> None:
    upstreams = Upstreams(args.latency_ms / 1000)
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite:///{tmp}/bench.db")
        database.migrate()
        seed(database, args.services, args.incidents)
        cold = HealthAggregator(sources(upstreams.url, database, args.timeout), timeout=args.timeout, ttl=0)
        first = await cold.document(target(0))
        statuses = {name: s.status.value for name, s in first.sources.items()}
        assert all(s.status is not HealthStatus.UNKNOWN for s in first.sources.values()), statuses
        print(f"sources: {statuses}; latency per upstream answer {args.latency_ms} ms")
        one = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            await cold.document(target(0))
            one.append(time.perf_counter() - started)
        print(f"one service, all 7 sources, cold: {percentiles(one)}")
        warm = HealthAggregator(sources(upstreams.url, database, args.timeout), timeout=args.timeout)
        await warm.document(target(0))
        hot = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            await warm.document(target(0))
            hot.append(time.perf_counter() - started)
        print(f"one service, from the 10 s cache: {percentiles(hot)}")
        many, unknown = [], {}
        for _ in range(args.rounds):
            started = time.perf_counter()
            documents = await asyncio.gather(*(cold.document(target(i)) for i in range(args.services)))
            many.append(time.perf_counter() - started)
            for d in documents:
                for name, s in d.sources.items():
                    if s.status is HealthStatus.UNKNOWN:
                        unknown[name] = unknown.get(name, 0) + 1
        print(f"{args.services} services at once (home page), cold: {percentiles(many)}; sections unknown (deadline {args.timeout:g} s): {unknown or 'none'}")
        database.dispose()
    upstreams.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--incidents", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=2.0)
    asyncio.run(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

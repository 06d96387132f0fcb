"""Portal page speed with data: 1,000 environments and 10,000 catalog entities, p50/p95 server time per page.

Builds a data dir (seeded: 1,000 environments of mixed statuses over several teams and golden paths, 6 step rows
each, 10,000 catalog entities — groups, systems, components, APIs, resources — plus a quarter of a year of
deployments and incidents for the reports), bulk-inserted with SQLAlchemy Core into the storage tables (refs and
owner columns computed by `roadbed.storage.catalog`, as the API stores them); generation is not timed. Then it
serves the API app (`create_app`, the same app `roadbed api` serves; no Temporal: no page read here calls it) with
uvicorn in a thread, signs in through the login form (a platform-admin token made in storage), and times every
portal page and `GET /v1/search`: wall time per request (the client is on the same machine, keep-alive) and, where
the app sends one, the `Server-Timing` header. Targets (issue 13): p95 ≤ 100 ms per page, ≤ 50 ms for search.

    python bench/portal.py [--requests 30] [--database-url postgresql+psycopg://...] [--keep DIR]

Exits 1 when a page misses its target.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

for _name in [n for n in os.environ if n.startswith("ROADBED_")]:  # the bench's data dir only, never the caller's
    del os.environ[_name]

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from roadbed.api.app import create_app  # noqa: E402
from roadbed.search import search_text  # noqa: E402
from roadbed.settings import load_settings  # noqa: E402
from roadbed.storage import catalog, rollups  # noqa: E402
from roadbed.storage.database import Database  # noqa: E402
from roadbed.storage.tables import CatalogEntityRow, DeploymentRow, EnvironmentRow, IncidentRow, StepRow  # noqa: E402
from roadbed.storage.tokens import create_token  # noqa: E402

NOW = datetime.now(UTC).replace(microsecond=0)
TEAMS = [f"team-{i:02d}" for i in range(12)]
GOLDEN_PATHS = ["python-service", "go-service", "static-site", "java-service"]
STEPS = ("validate", "repository", "infrastructure", "kubernetes", "monitoring", "catalog")
STATUSES = [("SUCCEEDED", 60), ("FAILED", 8), ("RUNNING", 6), ("PENDING_APPROVAL", 4), ("COMPENSATED", 5), ("CANCELLED", 5), ("DECOMMISSIONED", 12)]
WORDS = ["orders", "payments", "billing", "search", "ledger", "checkout", "invoices", "shipping", "catalog", "identity", "pricing", "inventory", "reports", "notifications", "analytics", "gateway", "accounts", "refunds", "fraud", "loyalty"]
ENVIRONMENTS = 1000
SERVICES = (ENVIRONMENTS + 2) // 3  # each service in dev, staging and prod: (service, environment) is unique
PAGE_TARGET_MS = 100.0
SEARCH_TARGET_MS = 50.0
CHUNK = 2000


def _service(i: int) -> str:
    return f"{WORDS[i % len(WORDS)]}-{i:04d}"


def _entity(kind: str, name: str, rng: random.Random, **spec: Any) -> dict[str, Any]:
    word = name.split("-")[0]
    metadata: dict[str, Any] = {"name": name, "namespace": "default", "title": f"{word.capitalize()} {kind.lower()} {name[-4:]}",
                                "description": f"The {word} {kind.lower()}: {' '.join(rng.sample(WORDS, 6))}.",
                                "tags": sorted(set(rng.sample(["python", "go", "java", "web", "pci", "internal", "beta", word], 3)))}
    if kind == "Component" and rng.random() < 0.6:
        metadata["annotations"] = {"roadbed.dev/golden-path": rng.choice(GOLDEN_PATHS), "roadbed.dev/golden-path-version": "1.0.0"}
    return {"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec}


def entities(rng: random.Random) -> list[tuple[dict[str, Any], str | None]]:
    """10,000 entities: 12 groups, 88 systems, 5,400 components, 3,000 APIs, 1,500 resources (body, environment id)."""
    found: list[tuple[dict[str, Any], str | None]] = []
    for team in TEAMS:
        found.append(({"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": team, "namespace": "default"},
                       "spec": {"type": "team", "children": []}}, None))
    for i in range(88):
        found.append((_entity("System", f"{WORDS[i % len(WORDS)]}-system-{i:04d}", rng, owner=TEAMS[i % len(TEAMS)]), None))
    for i in range(5400):
        name = _service(i)
        spec = {"type": "service", "lifecycle": rng.choice(["production", "production", "experimental", "deprecated"]),
                "owner": TEAMS[i % len(TEAMS)], "system": f"{WORDS[(i // 61) % len(WORDS)]}-system-{(i // 61):04d}",
                "providesApis": [f"{name}-api"] if i < 3000 else [], "consumesApis": [f"{_service((i * 7 + 3) % 3000)}-api"],
                "dependsOn": [f"resource:{_service(i % 1500)}-db"]}
        found.append((_entity("Component", name, rng, **spec), f"env-bench{3 * i:06d}" if i < SERVICES else None))
    for i in range(3000):
        found.append((_entity("API", f"{_service(i)}-api", rng, type="openapi", lifecycle="production", owner=TEAMS[i % len(TEAMS)],
                              definition="openapi: 3.0.0\ninfo: {title: x, version: '1'}\npaths: {}\n"), None))
    for i in range(1500):
        found.append((_entity("Resource", f"{_service(i)}-db", rng, type="database", owner=TEAMS[i % len(TEAMS)]), None))
    return found


def _weighted(rng: random.Random) -> str:
    return rng.choices([s for s, _ in STATUSES], weights=[w for _, w in STATUSES])[0]


def generate(database: Database, seed: int = 13) -> None:
    rng = random.Random(seed)
    environments, steps = [], []
    for i in range(ENVIRONMENTS):
        service, environment = _service(i // 3), ("dev", "staging", "prod")[i % 3]
        status = _weighted(rng)
        created = NOW - timedelta(minutes=(ENVIRONMENTS - i) * 90 + rng.randint(0, 60))
        ready = created + timedelta(seconds=rng.uniform(0.8, 40)) if status in ("SUCCEEDED", "DECOMMISSIONED") else None
        failed_at = rng.randrange(1, 6) if status in ("FAILED", "COMPENSATED") else None
        env_id = f"env-bench{i:06d}"
        live = status in ("SUCCEEDED", "FAILED", "RUNNING", "PENDING_APPROVAL")
        environments.append({
            "id": env_id, "request_id": None, "live_key": f"{service}/{environment}" if live else None, "service": service,
            "team": TEAMS[(i // 3) % len(TEAMS)], "golden_path": GOLDEN_PATHS[(i // 3) % len(GOLDEN_PATHS)], "golden_path_version": "1.0.0",
            "environment": environment, "status": status, "workflow_id": f"provision/{service}/{environment}/{env_id}",
            "parameters": {"description": f"{service} in {environment}"}, "resources": [{"type": "postgres", "name": "main"}],
            "outputs": {"repository_url": f"file:///srv/git/{service}.git", "catalog_ref": f"component:default/{service}", "namespace": f"{service}-{environment}"}
            if ready else {},
            "provision_input": {}, "error": {"step": STEPS[failed_at], "message": f"{STEPS[failed_at]} failed: quota exceeded"} if failed_at else None,
            "created_at": created, "ready_at": ready, "finished_at": (ready or created + timedelta(seconds=30)) if status not in ("RUNNING", "PENDING_APPROVAL") else None,
            "approved_at": created + timedelta(seconds=5) if environment == "prod" and status != "PENDING_APPROVAL" else None,
        })
        for position, name in enumerate(STEPS):
            if status == "PENDING_APPROVAL":
                step_status = "pending"
            elif failed_at is not None:
                step_status = "succeeded" if position < failed_at else "failed" if position == failed_at else "pending"
            elif status in ("RUNNING", "CANCELLED"):
                step_status = "succeeded" if position < 3 else "running" if position == 3 else "pending"
            else:
                step_status = "succeeded"
            begun = created + timedelta(seconds=position) if step_status != "pending" else None
            steps.append({"environment_id": env_id, "position": position, "name": name, "status": step_status, "attempts": 1 if begun else 0,
                          "started_at": begun, "finished_at": begun + timedelta(seconds=0.5) if begun and step_status != "running" else None,
                          "compensation_started_at": None, "compensation_finished_at": None, "detail": f"{name}: 2 resources" if begun else None})
    rows = [{"ref": catalog.entity_ref(body["kind"], "default", body["metadata"]["name"]), "kind": body["kind"].lower(), "namespace": "default",
             "name": body["metadata"]["name"], "owner": catalog.owner_of(body), "body": body,
             "search_text": search_text(body), "environment_id": env_id, "updated_at": NOW}
            for body, env_id in entities(rng)]
    deployments, incidents = [], []
    for n in range(20_000):
        service = _service(int(rng.paretovariate(1.1)) % SERVICES)
        at = NOW - timedelta(seconds=rng.uniform(0, 90 * 86400))
        roll = rng.random()
        deployments.append({"key": f"bench-{n}", "source": "bench", "service": service, "environment": "prod" if rng.random() < 0.8 else "staging",
                            "team": None, "version": None, "commit_sha": f"{rng.getrandbits(64):016x}",
                            "commit_time": at - timedelta(seconds=rng.lognormvariate(9.0, 1.3)), "started_at": None, "deployed_at": at,
                            "status": "failure" if roll < 0.08 else "rolled_back" if roll < 0.1 else "success", "received_at": NOW})
    for n in range(600):
        opened = NOW - timedelta(seconds=rng.uniform(0, 90 * 86400))
        incidents.append({"key": f"bench-incident-{n}", "source": "bench", "service": _service(rng.randrange(SERVICES)), "environment": None,
                          "title": "Elevated errors", "opened_at": opened, "resolved_at": opened + timedelta(minutes=rng.uniform(5, 600)) if n % 20 else None,
                          "caused_by_deployment": None, "received_at": NOW, "updated_at": NOW})
    with database.engine.begin() as connection:
        for table, values in ((EnvironmentRow, environments), (StepRow, steps), (CatalogEntityRow, rows), (DeploymentRow, deployments), (IncidentRow, incidents)):
            for start in range(0, len(values), CHUNK):
                connection.execute(insert(table), values[start : start + CHUNK])
    with database.transaction() as session:  # bulk rows skip record_deployment: roll them up as `roadbed report rebuild-rollups` does
        rollups.rebuild(session)


class Served:
    """The API app under uvicorn in a thread of this process."""

    def __init__(self, settings: Any, database: Database) -> None:
        self.server = uvicorn.Server(uvicorn.Config(create_app(settings, database, freeze_after_start=True), host="127.0.0.1", port=settings.api_port, log_level="warning",
                                                    access_log=False, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise SystemExit("the API did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def sign_in(client: httpx.Client, token: str) -> None:
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf, form.text[:500]
    answer = client.post("/login", data={"token": token, "csrf_token": csrf.group(1), "next": "/"})
    assert answer.status_code == 303, answer.text[:500]


def pages(entity: str) -> list[tuple[str, float]]:
    return [(path, PAGE_TARGET_MS) for path in (
        "/", "/golden-paths", "/golden-paths/python-service/create", "/environments", "/environments?page=5",
        "/environments?team=team-03&status=SUCCEEDED", "/environments/env-bench000300", "/catalog", "/catalog?page=200",
        "/catalog?q=ledger", "/catalog?kind=component&lifecycle=deprecated", "/catalog?tag=pci&page=3", f"/catalog/component/default/{entity}",
        "/reports", "/reports/dora", "/reports/time-to-environment", "/reports/adoption", "/reports/scorecards", "/reports/slo",
        "/search?q=ledger", "/search?q=pay+api",
    )] + [(path, SEARCH_TARGET_MS) for path in ("/v1/search?q=ledger", "/v1/search?q=pay+api&limit=20", "/v1/search?q=checkout-0006&kind=component")]


def measure(client: httpx.Client, path: str, count: int, headers: dict[str, str]) -> dict[str, Any]:
    walls, server = [], []
    for n in range(count + 3):
        started = time.perf_counter()
        answer = client.get(path, headers=headers)
        wall = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            raise SystemExit(f"GET {path} → {answer.status_code}: {answer.text[:300]}")
        if n >= 3:  # three warm-up requests first
            walls.append(wall)
            timing = re.search(r"dur=([\d.]+)", answer.headers.get("server-timing", ""))
            if timing:
                server.append(float(timing.group(1)))
    walls.sort()
    return {"p50": statistics.median(walls), "p95": walls[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))],
            "server_p95": sorted(server)[min(len(server) - 1, round(0.95 * (len(server) - 1)))] if server else None, "bytes": len(answer.content)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page (after 3 warm-up requests)")
    parser.add_argument("--database-url", help="engine database (default: SQLite in the data dir)")
    parser.add_argument("--keep", type=Path, help="use (and keep) this data dir instead of a temporary one")
    parser.add_argument("--only", default="", help="time only the paths containing this text")
    args = parser.parse_args()
    home = args.keep or Path(tempfile.mkdtemp(prefix="roadbed-portal-bench-"))
    from bench.harness import free_port

    overrides: dict[str, Any] = {"home": home, "api_port": free_port()}
    if args.database_url:
        overrides["database_url"] = args.database_url
    settings = load_settings(**overrides)
    database = Database(settings.resolved_database_url)
    database.migrate()
    started = time.perf_counter()
    with database.engine.connect() as connection:
        filled = connection.exec_driver_sql("SELECT count(*) FROM environments").scalar()
    if not filled:
        generate(database)
        print(f"generated 1,000 environments, 6,000 steps, 10,000 entities, 20,000 deployments, 600 incidents in {time.perf_counter() - started:.1f} s")
    with database.transaction() as session:
        _row, token = create_token(session, "platform-admin", [], NOW, "portal bench")
    entity = _service(3)  # has an environment, relations, APIs, deployments
    failures = []
    with Served(settings, database), httpx.Client(base_url=f"http://127.0.0.1:{settings.api_port}", timeout=60) as client:
        sign_in(client, token)
        print(f"{'page':<52} {'p50 ms':>8} {'p95 ms':>8} {'target':>7}  {'KiB':>6}")
        for path, target in pages(entity):
            if args.only not in path:
                continue
            headers = {"Authorization": f"Bearer {token}"} if path.startswith("/v1/") else {}
            found = measure(client, path, args.requests, headers)
            missed = found["p95"] > target
            failures += [path] if missed else []
            print(f"{path:<52} {found['p50']:>8.1f} {found['p95']:>8.1f} {target:>7.0f}  {found['bytes'] / 1024:>6.1f}{'  MISSED' if missed else ''}")
    database.dispose()
    print(f"data dir: {home} ({'kept' if args.keep else 'temporary'}); engine database: {settings.resolved_database_url.split(':', 1)[0]}")
    if failures:
        print("over target: " + ", ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

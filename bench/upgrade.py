"""Dry-run upgrade of one service, timed: render the recorded version and the target, read the repository's default
branch, merge three ways (roadbed.upgrades.plan_upgrade, what `POST /v1/services/{s}/upgrades` with `dry_run` runs),
and the same through the HTTP API in process.

Setup (not timed): the bundled `python-service` copied to a temporary folder as `bench-service`; its 1.0.0 makes a service's
repository through the real repository step (embedded git host, SQLite); the team edits three files; the template
becomes 1.1.0 with changes to four files and one new file. The base version then renders from the template store
(the folder holds 1.1.0), so the timing includes materialising a stored version.

    python bench/upgrade.py [--repeat 30]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402
from temporalio.testing import ActivityEnvironment  # noqa: E402

from roadbed.activities.contracts import StepInput  # noqa: E402
from roadbed.activities.provisioning import ProvisioningActivities  # noqa: E402
from roadbed.api.app import create_app  # noqa: E402
from roadbed.domain.models import EnvironmentOutputs, EnvironmentRequest, EnvironmentStatus, ProvisionInput  # noqa: E402
from roadbed.golden_paths import GoldenPathRegistry  # noqa: E402
from roadbed.settings import load_settings  # noqa: E402
from roadbed.storage import environments, services, tokens  # noqa: E402
from roadbed.storage.database import Database  # noqa: E402
from roadbed.upgrades import template_store  # noqa: E402
from roadbed.upgrades.plan import plan_upgrade  # noqa: E402
from roadbed.worker import build_ports  # noqa: E402

BUNDLED = Path(__file__).resolve().parent.parent / "golden_paths"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise SystemExit(f"bench setup: {old!r} not in {path}")
    path.write_text(text.replace(old, new, 1))


def setup(work: Path) -> tuple[object, Database]:
    templates = work / "golden_paths"
    shutil.copytree(BUNDLED / "python-service", templates / "bench-service")  # the built-in one keeps its name
    edit(templates / "bench-service" / "template.yaml", "name: python-service", "name: bench-service")
    settings = load_settings(home=work / "home", golden_paths_dirs=str(templates))
    database = Database(settings.resolved_database_url)
    database.migrate()
    template_store.store_all(database, GoldenPathRegistry(settings.golden_path_dirs))
    now = datetime.now(UTC)
    request = EnvironmentRequest(service="orders", team="payments", golden_path="bench-service", environment="dev")
    accepted = ProvisionInput(environment_id="env-bench", request=request, golden_path_version="1.0.0", requested_at=now)
    with database.transaction() as session:
        services.claim(session, "orders", "payments", now)
        environments.insert_environment(session, accepted, "provision/orders/env-bench", EnvironmentStatus.SUCCEEDED)
    ports = build_ports(settings, database)
    ActivityEnvironment().run(ProvisioningActivities(ports).repository, StepInput(provision=accepted, outputs=EnvironmentOutputs()))
    host = ports.repo_host
    team = {path: (host.read_file("orders", path) or b"") + b"\n# owned by payments\n" for path in ("README.md", "Dockerfile", "mkdocs.yml")}
    host.commit_files("orders", team, "team edits")
    skeleton = templates / "bench-service" / "skeleton"
    edit(templates / "bench-service" / "template.yaml", "version: 1.0.0", "version: 1.1.0")
    for name in ("README.md", "pyproject.toml", "slo.yaml", "openapi.yaml"):
        (skeleton / name).write_text("# upgraded by 1.1.0\n" + (skeleton / name).read_text())
    (skeleton / "CHANGELOG.md").write_text("# 1.1.0\n")
    return settings, database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="roadbed-bench-upgrade-") as folder:
        settings, database = setup(Path(folder))
        registry = GoldenPathRegistry(settings.golden_path_dirs)  # type: ignore[attr-defined]
        template_store.store_all(database, registry)
        host = build_ports(settings, database).repo_host  # type: ignore[arg-type]
        plan = plan_upgrade(database, registry, host, "orders")
        print(f"bench-service (python-service) {plan.service.version} -> {plan.to_version}: {plan.files()}")
        direct = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            plan_upgrade(database, registry, host, "orders")
            direct.append(time.perf_counter() - started)
        with database.transaction() as session:
            _row, token = tokens.create_token(session, "developer", ["payments"], datetime.now(UTC))
        over_http = []
        with TestClient(create_app(settings, database)) as http:  # type: ignore[arg-type]
            for _ in range(args.repeat):
                started = time.perf_counter()
                response = http.post("/v1/services/orders/upgrades", json={"dry_run": True}, headers={"Authorization": f"Bearer {token}"})
                over_http.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
        database.dispose()
    for label, samples in (("plan_upgrade", direct), ("POST dry_run (HTTP, in process)", over_http)):
        ordered = sorted(samples)
        print(f"{label}: p50 {statistics.median(ordered) * 1000:.1f} ms, p95 {ordered[int(len(ordered) * 0.95) - 1] * 1000:.1f} ms, n={len(ordered)}")


if __name__ == "__main__":
    main()

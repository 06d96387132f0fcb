"""DORA metrics at scale: 1,000,000 deployments and 100,000 incidents, timed per scope.

Generates a seeded year of events for `--services` services in `--teams` teams (80 % prod, 20 % staging;
~10 % of deployments fail; ~40 % of incidents name their deployment, the rest are linked by time) in a
SQLite file (or `--database-url`, e.g. PostgreSQL), bulk-inserted in chunks with SQLAlchemy Core —
generation is not timed — then times `dora_report` for one service, one team and the whole
organisation (30-day window, the API default) and, for scale, the organisation over the whole year.
Usage:

    python bench/dora.py [--deployments 1000000] [--incidents 100000] [--db /tmp/dora-bench.db] [--repeat 3]

`--db` keeps the generated file and reuses it on the next run (same seed and sizes).
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select  # noqa: E402

from roadbed.metrics.dora import DoraScope, dora_report  # noqa: E402
from roadbed.storage import rollups  # noqa: E402
from roadbed.storage.database import Database  # noqa: E402
from roadbed.storage.tables import DeploymentRow, EnvironmentRow, IncidentRow  # noqa: E402

NOW = datetime(2025, 7, 1, tzinfo=UTC)
CHUNK = 20_000


def generate(database: Database, deployments: int, incidents: int, services: int, teams: int, days: int, seed: int) -> None:
    rng = random.Random(seed)
    names = [f"svc-{i:04d}" for i in range(services)]
    team_of = {name: f"team-{i % teams:02d}" for i, name in enumerate(names)}
    start = NOW - timedelta(days=days)
    span = days * 86400.0
    with database.engine.begin() as connection:
        connection.execute(
            insert(EnvironmentRow),
            [
                {
                    "id": f"env_{i:05d}", "request_id": None, "live_key": f"{name}/prod", "service": name, "team": team_of[name],
                    "golden_path": "python-service", "golden_path_version": "1.0.0", "environment": "prod", "status": "SUCCEEDED",
                    "workflow_id": f"provision/{name}/prod/env_{i:05d}", "parameters": {}, "resources": [], "outputs": {}, "provision_input": {},
                    "error": None, "created_at": start, "ready_at": start + timedelta(seconds=2), "finished_at": start + timedelta(seconds=2),
                }
                for i, name in enumerate(names)
            ],
        )
    # Services deploy at different paces (a few very often, most now and then); events are inserted in
    # the order they happen, as a live system receives them.
    cumulative = list(itertools.accumulate(rng.paretovariate(1.2) for _ in names))
    keys_by_service: dict[str, list[tuple[str, float]]] = {name: [] for name in names}
    rows = []
    for n, at in enumerate(sorted(rng.random() * span for _ in range(deployments))):
        service = rng.choices(names, cum_weights=cumulative)[0] if n % 4 else rng.choice(names)
        environment = "prod" if rng.random() < 0.8 else "staging"
        roll = rng.random()
        status = "failure" if roll < 0.08 else "rolled_back" if roll < 0.10 else "success"
        commit = f"{rng.getrandbits(64):016x}"
        lead = rng.lognormvariate(9.0, 1.3)  # median ~2.25 h
        key = f"bench-{n}"
        if environment == "prod":
            keys_by_service[service].append((key, at))
        rows.append(
            {
                "key": key, "source": "bench", "service": service, "environment": environment, "team": None, "version": None,
                "commit_sha": commit, "commit_time": start + timedelta(seconds=at - lead), "started_at": None,
                "deployed_at": start + timedelta(seconds=at), "status": status, "received_at": NOW,
            }
        )
        if len(rows) == CHUNK:
            with database.engine.begin() as connection:
                connection.execute(insert(DeploymentRow), rows)
            rows = []
    if rows:
        with database.engine.begin() as connection:
            connection.execute(insert(DeploymentRow), rows)
    busy = [name for name in names if keys_by_service[name]]
    planned = []
    for n in range(incidents):
        service = rng.choice(busy)
        caused_by = None
        if rng.random() < 0.4:
            key, at = rng.choice(keys_by_service[service])
            caused_by = key
            opened = at + rng.expovariate(1 / 3600)
        else:
            opened = rng.random() * span
        duration = rng.lognormvariate(7.5, 1.2)  # median ~30 min
        resolved = start + timedelta(seconds=opened + duration) if rng.random() < 0.95 else None
        planned.append((opened, n, service, caused_by, resolved))
    rows = []
    for opened, n, service, caused_by, resolved in sorted(planned, key=lambda p: p[0]):
        rows.append(
            {
                "key": f"bench-incident-{n}", "source": "bench", "service": service, "environment": None, "title": None,
                "opened_at": start + timedelta(seconds=opened), "resolved_at": resolved, "caused_by_deployment": caused_by,
                "received_at": NOW, "updated_at": NOW,
            }
        )
        if len(rows) == CHUNK:
            with database.engine.begin() as connection:
                connection.execute(insert(IncidentRow), rows)
            rows = []
    if rows:
        with database.engine.begin() as connection:
            connection.execute(insert(IncidentRow), rows)
    with database.transaction() as session:  # bulk rows skip record_deployment: roll them up as `roadbed report rebuild-rollups` does
        rollups.rebuild(session)
    if not database.is_sqlite:
        # PostgreSQL's autovacuum analyses new tables soon anyway; do it now so the first timings are steady.
        # (SQLite is left as a live engine database is: without ANALYZE statistics.)
        with database.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE deployments")
            connection.exec_driver_sql("ANALYZE incidents")


def timed(database: Database, scope: DoraScope, repeat: int) -> tuple[float, dict]:
    durations = []
    report: dict = {}
    for _ in range(repeat):
        began = time.perf_counter()
        with database.transaction() as session:
            report = dora_report(session, scope, now=NOW)
        durations.append(time.perf_counter() - began)
    return statistics.median(durations), report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deployments", type=int, default=1_000_000)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--services", type=int, default=500)
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", type=Path, help="SQLite file to keep (reused when it exists)")
    parser.add_argument("--database-url", help="another engine database, e.g. postgresql+psycopg://... (must be empty)")
    args = parser.parse_args()

    scratch = None if args.db or args.database_url else Path(tempfile.mkdtemp(prefix="roadbed-dora-"))
    url = args.database_url or f"sqlite:///{args.db or scratch / 'bench.db'}"  # type: ignore[operator]
    database = Database(url)
    database.migrate()
    with database.transaction() as session:
        existing = session.scalar(select(func.count()).select_from(DeploymentRow)) or 0
    if existing == 0:
        began = time.perf_counter()
        generate(database, args.deployments, args.incidents, args.services, args.teams, args.days, args.seed)
        print(f"generated {args.deployments:,} deployments and {args.incidents:,} incidents in {time.perf_counter() - began:.1f} s (not timed below)")
    else:
        print(f"reusing {existing:,} deployments in {url}")
    print(f"engine database: {url.split(':', 1)[0]}; median of {args.repeat} runs each")

    with database.transaction() as session:
        busiest = session.scalar(
            select(DeploymentRow.service).where(DeploymentRow.environment == "prod").group_by(DeploymentRow.service).order_by(func.count().desc()).limit(1)
        )
        team = session.scalar(select(EnvironmentRow.team).where(EnvironmentRow.service == busiest).limit(1))
    scopes = [
        (f"one service ({busiest}), 30 d", DoraScope(service=busiest)),
        (f"one team ({team}), 30 d", DoraScope(team=team)),
        ("organisation, 30 d", DoraScope()),
        ("organisation, 365 d", DoraScope(window_days=365)),
    ]
    print(f"{'scope':<36} {'seconds':>8} {'deploys':>8} {'CFR':>6} {'lead time':>10} {'restore':>9} {'overall':>8}")
    for label, scope in scopes:
        seconds, report = timed(database, scope, args.repeat)
        cfr = report["change_failure_rate"]
        lead = report["lead_time_for_changes"]["median_seconds"]
        restore = report["time_to_restore"]["median_seconds"]
        print(
            f"{label:<36} {seconds:>8.3f} {cfr['deployments']:>8,} {cfr['value'] or 0:>6.1%} "
            f"{(lead or 0) / 3600:>9.2f}h {(restore or 0) / 60:>8.1f}m {report['overall_tier'] or '-':>8}"
        )
    database.dispose()
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

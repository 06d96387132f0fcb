"""Report timings at company scale (issue 15): DORA and the scorecards' DORA tiers on 1,000,000 deployments.

Builds an engine database (SQLite in a temporary data dir, or `--database-url`) with `--deployments` deployments
(default 1,000,000) of 2,000 services over two years — 80 % prod, a tenth failed or rolled back, one commit per
deployment with a redeploy now and then — and one incident per 500 deployments (a third naming the deployment that
caused it), bulk-inserted with SQLAlchemy Core, then rolled up (`roadbed.storage.rollups.rebuild`, as
`roadbed report rebuild-rollups` does; an existing database gets its rollups from migration 0021); neither is part of the
report timings. Then it times, wall clock, best of
`--repeat` runs each in its own transaction: the organisation's DORA report over 30 and 365 days, the portal's weekly
series (26 weeks), and the per-service tiers the scorecards use (30 days). Target (issue 15): every report <= 1 s.

    python bench/reports_scale.py [--deployments 1000000] [--database-url postgresql+psycopg://...] [--keep DIR]

Exits 1 when a report misses the target.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from roadbed.metrics.dora import DoraScope, dora_report, overall_tiers_by_service  # noqa: E402
from roadbed.metrics.dora_weekly import dora_weekly_and_overall  # noqa: E402
from roadbed.storage import rollups  # noqa: E402
from roadbed.storage.database import Database  # noqa: E402
from roadbed.storage.tables import DeploymentRow, IncidentRow  # noqa: E402

NOW = datetime.now(UTC).replace(microsecond=0)
SERVICES = 2000
SPAN_DAYS = 730
TARGET_SECONDS = 1.0
CHUNK = 5000


def generate(database: Database, count: int, seed: int = 15) -> None:
    rng = random.Random(seed)
    deployments: list[dict[str, Any]] = []
    incidents: list[dict[str, Any]] = []
    last_sha = "0"
    with database.engine.begin() as connection:
        for n in range(count):
            at = NOW - timedelta(seconds=rng.uniform(0, SPAN_DAYS * 86400))
            roll = rng.random()
            sha = last_sha = last_sha if rng.random() < 0.05 else f"{rng.getrandbits(64):016x}"  # now and then a redeploy
            deployments.append({"key": f"scale-{n}", "source": "bench", "service": f"svc-{int(rng.paretovariate(1.2)) % SERVICES:04d}",
                                "environment": "prod" if rng.random() < 0.8 else "staging", "team": None, "version": None, "commit_sha": sha,
                                "commit_time": at - timedelta(seconds=rng.lognormvariate(9.0, 1.3)), "started_at": None, "deployed_at": at,
                                "status": "failure" if roll < 0.08 else "rolled_back" if roll < 0.1 else "success", "received_at": NOW})
            if n % 500 == 0:
                opened = at + timedelta(minutes=rng.uniform(1, 120))
                incidents.append({"key": f"scale-incident-{n}", "source": "bench", "service": deployments[-1]["service"], "environment": None,
                                  "title": "Elevated errors", "opened_at": opened,
                                  "resolved_at": opened + timedelta(minutes=rng.uniform(5, 600)) if n % 7 else None,
                                  "caused_by_deployment": deployments[-1]["key"] if n % 3 == 0 else None, "received_at": NOW, "updated_at": NOW})
            if len(deployments) >= CHUNK:
                connection.execute(insert(DeploymentRow), deployments)
                deployments = []
        if deployments:
            connection.execute(insert(DeploymentRow), deployments)
        for start in range(0, len(incidents), CHUNK):
            connection.execute(insert(IncidentRow), incidents[start : start + CHUNK])


def timed(database: Database, work: Callable[[Any], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        with database.transaction() as session:
            started = time.perf_counter()
            work(session)
            best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deployments", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="engine database (default: SQLite in the data dir)")
    parser.add_argument("--keep", type=Path, help="use (and keep) this data dir instead of a temporary one")
    parser.add_argument("--repeat", type=int, default=3, help="runs per report (the best is printed)")
    args = parser.parse_args()
    home = args.keep or Path(tempfile.mkdtemp(prefix="roadbed-reports-scale-"))
    home.mkdir(parents=True, exist_ok=True)
    database = Database(args.database_url or f"sqlite:///{home / 'roadbed.db'}")
    database.migrate()
    with database.engine.connect() as connection:
        filled = connection.exec_driver_sql("SELECT count(*) FROM deployments").scalar()
    if not filled:
        started = time.perf_counter()
        generate(database, args.deployments)
        print(f"generated {args.deployments:,} deployments in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        with database.transaction() as session:  # bulk-inserted rows bypass record_deployment: roll them up as the CLI does
            days, commits = rollups.rebuild(session)
        print(f"rebuilt the rollups ({days:,} days, {commits:,} commits) in {time.perf_counter() - started:.1f} s")
    reports: list[tuple[str, Callable[[Any], object]]] = [
        ("DORA, organisation, 30 days", lambda s: dora_report(s, DoraScope(window_days=30), now=NOW)),
        ("DORA, organisation, 365 days", lambda s: dora_report(s, DoraScope(window_days=365), now=NOW)),
        ("DORA weekly series, 26 weeks (portal)", lambda s: dora_weekly_and_overall(s, DoraScope(window_days=7), now=NOW, weeks=26)),
        ("DORA tiers per service, 30 days (scorecards)", lambda s: overall_tiers_by_service(s, DoraScope(window_days=30), now=NOW)),
    ]
    failures = []
    print(f"{'report':<48} {'seconds':>8} {'target':>7}")
    for name, work in reports:
        seconds = timed(database, work, args.repeat)
        missed = seconds > TARGET_SECONDS
        failures += [name] if missed else []
        print(f"{name:<48} {seconds:>8.2f} {TARGET_SECONDS:>7.1f}{'  MISSED' if missed else ''}")
    database.dispose()
    print(f"data dir: {home} ({'kept' if args.keep else 'temporary'}); engine database: {database.engine.url.get_backend_name()}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

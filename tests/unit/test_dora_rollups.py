"""The DORA rollups (issue 15) give exactly the raw computation's reports, on randomised events recorded through
`record_deployment` / `record_incident` (re-deliveries, superseding re-runs, late incidents, commits deployed on several
days and to several environments, missing commit times, deployments on midnight and on window edges), on SQLite and
PostgreSQL; and `rebuild` reproduces the incrementally maintained rows."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from roadbed.metrics.dora import DoraScope, dora_report, overall_tiers_by_service
from roadbed.metrics.dora_weekly import WEEKLY_KEYS, dora_weekly_and_overall
from roadbed.storage import rollups
from roadbed.storage.database import Database
from roadbed.storage.events import DeploymentEvent, IncidentEvent, record_deployment, record_incident

NOW = datetime(2025, 6, 1, 12, 0, 30, 250000, tzinfo=UTC)
MIDNIGHT = datetime(2025, 6, 1, tzinfo=UTC)


def _events(rng: random.Random) -> tuple[list[DeploymentEvent], list[IncidentEvent]]:
    deployments: list[DeploymentEvent] = []
    shas: list[str] = []
    for n in range(700):
        if rng.random() < 0.1:
            at = MIDNIGHT - timedelta(days=rng.randrange(0, 50))  # exactly on midnight
        elif rng.random() < 0.05:
            at = NOW - timedelta(days=rng.choice([1, 7, 14, 30]))  # exactly on a window's start
        else:
            at = NOW - timedelta(seconds=rng.uniform(-86400, 50 * 86400))  # some after NOW
        sha = rng.choice(shas) if shas and rng.random() < 0.3 else f"sha{n}"  # commits deployed on several days
        shas.append(sha)
        commit_time = None if rng.random() < 0.15 else at - timedelta(seconds=rng.choice([rng.uniform(-600, 40 * 3600), 3600]))
        deployments.append(DeploymentEvent(
            service=f"svc-{rng.randrange(6)}", environment=rng.choice(["prod", "prod", "production", "staging"]), commit_sha=sha,
            deployed_at=at, status=rng.choice(["success"] * 7 + ["failure", "rolled_back"]), source="t", key=f"d{n}",
            commit_time=commit_time))
    # Superseding re-runs: the same key, later, another outcome (and at times another commit or day).
    for event in rng.sample(deployments, 60):
        later = event.deployed_at + timedelta(seconds=rng.choice([30, 3600, 2 * 86400]))
        deployments.append(DeploymentEvent(**{**event.__dict__, "deployed_at": later, "status": rng.choice(["success", "failure"]),
                                              "commit_sha": rng.choice([event.commit_sha, f"re-{event.key}"])}))
    deployments += rng.sample(deployments, 80)  # plain re-deliveries
    incidents = []
    for n in range(60):
        cause = rng.choice(deployments)
        opened = cause.deployed_at + timedelta(minutes=rng.uniform(-30, 30 * 60))
        resolved = opened + timedelta(minutes=rng.uniform(1, 600)) if rng.random() < 0.8 else None
        incidents.append(IncidentEvent(key=f"i{n}", service=cause.service, opened_at=opened, resolved_at=resolved, source="t",
                                       caused_by_deployment=cause.key if rng.random() < 0.4 else None,
                                       environment=rng.choice([None, "prod", "staging"])))
    return deployments, incidents


def _record(database: Database, seed: int) -> None:
    rng = random.Random(seed)
    deployments, incidents = _events(rng)
    events: list[Any] = deployments[: len(deployments) // 2] + incidents + deployments[len(deployments) // 2 :]  # incidents before later deployments
    for start in range(0, len(events), 50):
        with database.transaction() as session:
            for event in events[start : start + 50]:
                if isinstance(event, DeploymentEvent):
                    record_deployment(session, event, NOW)
                else:
                    record_incident(session, event, NOW, authoritative=rng.random() < 0.5)
    with database.transaction() as session:  # late incidents, re-delivered, naming earlier deployments
        for incident in incidents[:20]:
            record_incident(session, IncidentEvent(**{**incident.__dict__, "key": f"late-{incident.key}"}), NOW, authoritative=True)
            record_incident(session, IncidentEvent(**{**incident.__dict__, "key": f"late-{incident.key}"}), NOW, authoritative=False)


def _tables(database: Database) -> list[list[Any]]:
    with database.transaction() as session:
        return [sorted(tuple(row) for row in session.execute(select(table))) for table in (rollups.DEPLOYMENT_DAYS, rollups.DEPLOYMENT_COMMITS)]


SCOPES = [DoraScope(window_days=days) for days in (1, 2, 7, 30)] + [
    DoraScope(environment="staging", window_days=14), DoraScope(service="svc-0", window_days=30, link_gap_hours=3)]
ENDS = [NOW, MIDNIGHT, MIDNIGHT - timedelta(days=3, microseconds=1), NOW - timedelta(days=9, hours=5)]


def test_rollup_backed_reports_equal_the_raw_computation(any_database: Database) -> None:
    _record(any_database, 15)
    with any_database.transaction() as session:
        commits = rollups.DEPLOYMENT_COMMITS  # some lead times settle after the first deployment: the raw fallback is exercised
        assert session.scalar(select(commits.c.service).where(commits.c.settled_at > commits.c.first_at, commits.c.first_at < NOW - timedelta(days=9)))
        checked = 0
        for scope in SCOPES:
            for end in ENDS:
                fast = dora_report(session, scope, now=end, by_service=True)
                assert fast == dora_report(session, scope, now=end, by_service=True, raw=True), (scope, end)
                assert overall_tiers_by_service(session, scope, now=end) == overall_tiers_by_service(session, scope, now=end, raw=True)
                checked += fast["lead_time_for_changes"]["commits"] > 0 and fast["change_failure_rate"]["failed_deployments"] > 0
        assert checked >= 10


def test_weekly_series_from_rollups_equals_raw_reports(any_database: Database) -> None:
    _record(any_database, 16)
    with any_database.transaction() as session:
        for scope in (DoraScope(window_days=7), DoraScope(environment="staging", window_days=7, link_gap_hours=3)):
            for end in (NOW, MIDNIGHT - timedelta(days=2)):
                overall, weekly = dora_weekly_and_overall(session, scope, now=end, weeks=6)
                for start, report in weekly:
                    week = dora_report(session, DoraScope(scope.environment, 7, scope.service, scope.team, scope.link_gap_hours),
                                       now=start + timedelta(days=7), raw=True)
                    assert report == {key: week[key] for key in WEEKLY_KEYS}, (scope, end, start)
                whole = dora_report(session, DoraScope(scope.environment, 42, scope.service, scope.team, scope.link_gap_hours), now=end, raw=True)
                assert overall == {key: whole[key] for key in WEEKLY_KEYS}, (scope, end)


def test_rebuild_reproduces_the_incremental_rollups_and_redeliveries_change_nothing(any_database: Database) -> None:
    _record(any_database, 17)
    incremental = _tables(any_database)
    assert all(incremental)
    _record(any_database, 17)  # every event delivered again
    assert _tables(any_database) == incremental
    with any_database.transaction() as session:
        assert rollups.rebuild(session) == (len(incremental[0]), len(incremental[1]))
    assert _tables(any_database) == incremental


def test_the_rebuild_command_rolls_up_rows_written_some_other_way(database: Database, settings: Any, monkeypatch: Any) -> None:
    """Deployments bulk-inserted past `record_deployment` are missing from the rollups until `roadbed report rebuild-rollups`."""
    from sqlalchemy import insert
    from typer.testing import CliRunner

    from roadbed.cli.main import app
    from roadbed.storage.tables import DeploymentRow

    _record(database, 18)
    rows = [{"key": f"bulk-{n}", "source": "import", "service": "svc-bulk", "environment": "prod", "team": None, "version": None,
             "commit_sha": f"b{n % 7}", "commit_time": NOW - timedelta(days=n % 5, hours=3), "started_at": None,
             "deployed_at": NOW - timedelta(days=n % 5, hours=1), "status": "success", "received_at": NOW} for n in range(30)]
    with database.engine.begin() as connection:
        connection.execute(insert(DeploymentRow), rows)
    scope = DoraScope(window_days=7)
    with database.transaction() as session:
        assert dora_report(session, scope, now=NOW) != dora_report(session, scope, now=NOW, raw=True)
    monkeypatch.setenv("ROADBED_HOME", str(settings.home))
    result = CliRunner().invoke(app, ["report", "rebuild-rollups"])
    assert result.exit_code == 0, result.output
    assert "rebuilt the DORA rollups" in result.output
    with database.transaction() as session:
        assert dora_report(session, scope, now=NOW, by_service=True) == dora_report(session, scope, now=NOW, by_service=True, raw=True)

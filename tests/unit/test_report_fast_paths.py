"""The reports' fast paths give what the straightforward computations give, on randomised data and on both engine
databases: SQL epochs (SQLite's `unixepoch` and the `strftime` form it replaces; strictly increasing in the timestamp,
which the weekly DORA series relies on to place rows in weeks), `json_values` (one parse per row) against reading each
JSON path as a column, scorecards judged once per distinct set of facts against each service's own card, and the weekly
DORA series (commits placed in weeks in Python) against a report per week."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, String, Table, func, insert, literal_column, select

from roadbed.golden_paths import GoldenPathRegistry
from roadbed.metrics.dora import DoraScope, dora_report
from roadbed.metrics.dora_weekly import WEEKLY_KEYS, dora_weekly_and_overall
from roadbed.metrics.scorecards import CHECKS, _average, score_services, scorecards, service_scorecard, summary
from roadbed.metrics.sql import epoch, json_values, values_at
from roadbed.storage import catalog
from roadbed.storage.database import Database
from roadbed.storage.tables import CatalogEntityRow, DeploymentRow, EnvironmentRow, IncidentRow, UtcDateTime

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _moments(rng: random.Random) -> list[datetime]:
    """Random timestamps, whole seconds, and neighbours one microsecond apart."""
    found = [NOW - timedelta(seconds=rng.uniform(0, 400 * 86400)) for _ in range(300)]
    found += [NOW.replace(microsecond=0) - timedelta(days=n) for n in range(5)]
    found += [moment + timedelta(microseconds=step) for moment in found[:20] for step in (1, 2, 999_999)]
    return found


def test_epochs_are_exact_and_strictly_increasing(any_database: Database) -> None:
    rng = random.Random(11)
    moments = _moments(rng)
    table = Table("epoch_probe", MetaData(), Column("id", String(8), primary_key=True), Column("at", UtcDateTime()))
    table.create(any_database.engine)
    with any_database.engine.begin() as connection:
        connection.execute(insert(table), [{"id": str(n), "at": at} for n, at in enumerate(moments)])
        rows = connection.execute(select(table.c.id, epoch(table.c.at))).all()
        if any_database.is_sqlite:  # the form used before unixepoch(): the same value
            plain = "CAST(strftime('%s', at) AS INTEGER) + CAST(substr(at, 20) AS REAL)"
            assert dict(rows) == dict(connection.execute(select(table.c.id, literal_column(plain))).all())
    values = {moments[int(key)]: value for key, value in rows}
    ordered = sorted(values)
    assert all(values[a] < values[b] for a, b in zip(ordered, ordered[1:], strict=False))
    assert all(abs(value - at.timestamp()) < 1e-5 for at, value in values.items())


def test_json_values_equal_each_path_read_as_a_column(any_database: Database) -> None:
    rng = random.Random(3)
    texts = ['te"am, [x]', "ünï-team", "", "a\\b", "line\nbreak", "{}", "null"]
    values: list[Any] = [*texts, None, 7, 1.5, True, False, [], [1, None, "é"], {"deep": {"x": [texts[0]]}}, {}]
    rows = []
    for n in range(60):
        annotations = {key: rng.choice(values) for key in ("roadbed.dev/runbook", "a/b.c", "x") if rng.random() < 0.6}
        metadata: dict[str, Any] = {"name": f"c{n}"}
        if rng.random() < 0.8:
            metadata["annotations"] = annotations if rng.random() < 0.9 else rng.choice([None, [], "text"])
        if rng.random() < 0.5:
            metadata["links"] = [{"type": rng.choice(["runbook", "RunBook", "docs", None, 3]), "url": rng.choice(texts)} for _ in range(rng.randrange(3))]
        spec = {"owner": rng.choice(values)} if rng.random() < 0.9 else {}
        rows.append({"ref": f"component:default/c{n}", "kind": "component", "namespace": "default", "name": f"c{n}", "owner": None,
                     "body": {"kind": "Component", "metadata": metadata, "spec": spec}, "search_text": "", "environment_id": None, "updated_at": NOW})
    with any_database.engine.begin() as connection:
        connection.execute(insert(CatalogEntityRow), rows)
    paths = [("spec", "owner"), ("metadata", "links"), ("metadata", "annotations", "roadbed.dev/runbook"), ("metadata", "annotations", "a/b.c"),
             ("metadata", "annotations", "x"), ("metadata", "missing")]
    body = CatalogEntityRow.body
    with any_database.transaction() as session:
        combined = session.execute(select(CatalogEntityRow.name, json_values(body, *paths)).order_by(CatalogEntityRow.ref)).all()
        each = session.execute(select(CatalogEntityRow.name, *(body[path] for path in paths)).order_by(CatalogEntityRow.ref)).all()
        documents = session.execute(select(CatalogEntityRow.name, body).order_by(CatalogEntityRow.ref)).all()
    assert [(name, json.loads(text)) for name, text in combined] == [(name, list(parts)) for name, *parts in each]
    assert [(name, values_at(document, *paths)) for name, document in documents] == [(name, list(parts)) for name, *parts in each]
    with pytest.raises(ValueError):
        json_values(body, ("spec", "owner"))


# -- scorecards


@pytest.fixture
def registry(tmp_path: Path) -> GoldenPathRegistry:
    for name, version in (("path-a", "2.1.0"), ("path-b", "1.0.0")):
        root = tmp_path / "paths" / name
        root.mkdir(parents=True)
        (root / "template.yaml").write_text(
            f"apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {{name: {name}}}\n"
            f"spec:\n  roadbed: {{version: {version}}}\n  steps: [{{id: fetch, action: 'fetch:template', input: {{url: ./skeleton}}}}]\n"
        )
    return GoldenPathRegistry([tmp_path / "paths"])


def _seed_scorecards(database: Database, rng: random.Random) -> None:
    teams = ["payments", "search", "Search", "ops"]
    entities = []
    for n in range(70):
        annotations: dict[str, Any] = {}
        if rng.random() < 0.7:
            annotations["backstage.io/source-template"] = rng.choice(["template:default/path-a", "path-b", "template:default/gone", "component:x/y"])
        if rng.random() < 0.7:
            annotations["roadbed.dev/golden-path-version"] = rng.choice(["2.1.0", "2.0.9", "1.0.0", "2.1.0-rc1", "weird"])
        for key in ("roadbed.dev/runbook", "runbook_url", "roadbed.dev/slo", "sloth.slok.dev/slo", "unrelated/x"):
            if rng.random() < 0.15:
                annotations[key] = rng.choice(["https://r", "", f"unique-{n}"])
        metadata: dict[str, Any] = {"name": f"svc-{n % 60:02d}", "namespace": "other" if n >= 60 else "default", "annotations": annotations}
        if rng.random() < 0.4:
            metadata["links"] = [{"url": f"https://x/{n}", "type": rng.choice(["runbook", "RUNBOOK", "dashboard"])} for _ in range(rng.randrange(1, 3))]
        owner = rng.choice([f"group:default/{rng.choice(teams)}", rng.choice(teams), "user:default/alice", f"group:other/{rng.choice(teams)}"])
        entities.append({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": metadata,
                         "spec": {"type": "service", "lifecycle": "production", "owner": owner}})
    with database.transaction() as session:
        catalog.upsert_entities(session, entities, None, NOW)
    environments = []
    for n in range(50):
        service = f"svc-{rng.randrange(75):02d}"  # some have no Component
        for environment in rng.sample(["dev", "staging", "prod"], rng.randrange(1, 3)):
            status = rng.choice(["SUCCEEDED", "SUCCEEDED", "FAILED", "RUNNING"])
            files = rng.choice([[], ["a.yaml"], ["a.yaml", "b.yaml"]])
            environments.append({
                "id": f"env-{n}-{environment}", "request_id": None, "live_key": f"{service}/{environment}/{n}", "service": service,
                "team": rng.choice(teams), "golden_path": "path-a", "golden_path_version": "2.1.0", "environment": environment, "status": status,
                "workflow_id": f"provision/{service}/{environment}/{n}", "parameters": {}, "resources": [],
                "outputs": {"monitoring_files": files} if rng.random() < 0.8 else {}, "provision_input": {}, "error": None,
                "created_at": NOW - timedelta(days=3), "ready_at": None, "finished_at": None, "approved_at": None,
            })
    deployments = []
    for n in range(900):
        at = NOW - timedelta(seconds=rng.uniform(0, 45 * 86400))
        deployments.append({"key": f"d{n}", "source": "t", "service": f"svc-{rng.randrange(30):02d}", "environment": "prod", "team": None,
                            "version": None, "commit_sha": f"c{n}", "commit_time": at - timedelta(hours=rng.lognormvariate(1, 2)), "started_at": None,
                            "deployed_at": at, "status": rng.choice(["success"] * 8 + ["failure", "rolled_back"]), "received_at": NOW})
    with database.engine.begin() as connection:
        connection.execute(insert(EnvironmentRow), environments)
        connection.execute(insert(DeploymentRow), deployments)


@pytest.mark.parametrize("seed", [1, 2])
def test_scorecards_equal_each_services_own_card_on_random_data(any_database: Database, registry: GoldenPathRegistry, seed: int) -> None:
    """Verdicts shared between services with the same facts give every service the card `service_scorecard` (which reads
    that service's whole body, environments and DORA figures) gives it; the averages and per-check counts follow."""
    _seed_scorecards(any_database, random.Random(seed))
    with any_database.transaction() as session:
        for team in (None, "payments", "Search", "nobody"):
            report = scorecards(session, registry, now=NOW, team=team)
            cards = [service_scorecard(session, registry, card["service"], now=NOW) for card in report["services"]]
            assert report["services"] == cards, team
            by_team: dict[str, list[float]] = {}
            for card in cards:
                by_team.setdefault(card["team"] or "(none)", []).append(card["score"])
            assert report["average"] == _average([card["score"] for card in cards])
            assert report["by_team"] == {name: _average(scores) for name, scores in sorted(by_team.items())}
            figures = summary(score_services(session, registry, now=NOW, team=team))
            assert (figures["average"], figures["by_team"]) == (report["average"], report["by_team"])
            assert figures["passed"] == {check.id: sum(1 for card in cards for c in card["checks"] if c["id"] == check.id and c["passed"]) for check in CHECKS}
        everything = scorecards(session, registry, now=NOW)["services"]
        assert len(everything) > 60 and len({card["score"] for card in everything}) > 3  # the data exercises the checks
        assert {check["passed"] for card in everything for check in card["checks"]} == {True, False}


# -- DORA week by week


def _seed_dora(database: Database, rng: random.Random) -> None:
    """Deployments and incidents over 9 weeks: commits redeployed across weeks, rows exactly on week boundaries."""
    boundaries = [NOW - timedelta(days=7 * k) for k in range(10)]
    deployments, incidents = [], []
    for n in range(600):
        at = rng.choice(boundaries) if n % 9 == 0 else NOW - timedelta(seconds=rng.uniform(0, 66 * 86400))
        committed = None if n % 11 == 0 else at - timedelta(hours=rng.uniform(-2, 60) if n % 2 else rng.uniform(0, 1500))
        deployments.append({"key": f"d{n}", "source": "t", "service": f"s{rng.randrange(5)}", "environment": rng.choice(["prod", "prod", "staging"]),
                            "team": None, "version": None, "commit_sha": f"c{rng.randrange(60)}", "commit_time": committed, "started_at": None,
                            "deployed_at": at, "status": rng.choice(["success"] * 5 + ["failure", "rolled_back"]), "received_at": NOW})
    for n in range(80):
        opened = rng.choice(boundaries) if n % 5 == 0 else NOW - timedelta(seconds=rng.uniform(0, 66 * 86400))
        resolved = rng.choice([None, rng.choice(boundaries), opened + timedelta(hours=rng.uniform(0, 40))])
        incidents.append({"key": f"i{n}", "source": "t", "service": f"s{rng.randrange(5)}", "environment": rng.choice([None, "prod"]), "title": None,
                          "opened_at": opened, "resolved_at": resolved if resolved is None or resolved >= opened else None,
                          "caused_by_deployment": f"d{rng.randrange(600)}" if n % 4 == 0 else None, "received_at": NOW, "updated_at": NOW})
    with database.engine.begin() as connection:
        connection.execute(insert(DeploymentRow), deployments)
        connection.execute(insert(IncidentRow), incidents)
    with database.transaction() as session:  # bulk-inserted past record_deployment: roll them up (issue 15's rollups)
        from roadbed.storage import rollups

        rollups.rebuild(session)


@pytest.mark.parametrize("seed", [7, 8])
def test_dora_weekly_equals_a_report_per_week_on_random_data(any_database: Database, seed: int) -> None:
    _seed_dora(any_database, random.Random(seed))
    with any_database.transaction() as session:
        spread = session.execute(select(func.count()).select_from(
            select(DeploymentRow.service, DeploymentRow.commit_sha).where(DeploymentRow.status == "success")
            .group_by(DeploymentRow.service, DeploymentRow.commit_sha).having(func.count() > 1).subquery())).scalar_one()
        assert spread > 30  # commits deployed several times, so some fall in several weeks
        for scope in (DoraScope(), DoraScope(service="s2"), DoraScope(environment="staging", link_gap_hours=3)):
            for weeks in (1, 3, 9):
                overall, weekly = dora_weekly_and_overall(session, scope, now=NOW, weeks=weeks)
                for start, report in weekly:
                    week = dora_report(session, DoraScope(scope.environment, 7, scope.service, scope.team, scope.link_gap_hours), now=start + timedelta(days=7))
                    assert report == {key: week[key] for key in WEEKLY_KEYS}, (scope, weeks, start)
                whole = dora_report(session, DoraScope(scope.environment, 7 * weeks, scope.service, scope.team, scope.link_gap_hours), now=NOW)
                assert overall == {key: whole[key] for key in WEEKLY_KEYS}, (scope, weeks)




@pytest.mark.parametrize("seed", [7, 9])
def test_dora_key_figures_alone_equal_the_full_computation(any_database: Database, seed: int) -> None:
    """The scorecards' DORA tiers come from the four keys' figures alone (no successor lookups): per service they equal
    the full computation's, with failures by status and by incident (named and implicit links)."""
    from roadbed.metrics.dora import _collect, overall_tiers_by_service

    _seed_dora(any_database, random.Random(seed))
    with any_database.transaction() as session:
        for scope in (DoraScope(window_days=30), DoraScope(window_days=9, link_gap_hours=3), DoraScope(environment="staging", window_days=60)):
            full, keys = _collect(session, scope, NOW), _collect(session, scope, NOW, keys_only=True)
            assert set(full) == set(keys) and sum(f.failed for f in full.values()) > 0
            for service, figures in full.items():
                mine = keys[service]
                assert (mine.deployments, mine.successful, mine.failed, mine.open_incidents) == (
                    figures.deployments, figures.successful, figures.failed, figures.open_incidents), (scope, service)
                assert sorted(mine.lead_times) == sorted(figures.lead_times) and sorted(mine.restores) == sorted(figures.restores)
            report = dora_report(session, scope, now=NOW, by_service=True)["by_service"]
            assert overall_tiers_by_service(session, scope, now=NOW) == {service: report[service]["overall_tier"] for service in full}

"""DORA inputs and metrics: idempotent event storage, worked vectors, tier boundaries, and a seeded month
checked against a plain Python reference — on SQLite and PostgreSQL alike (`any_database`)."""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import func, select

from roadbed.domain.errors import ConfigurationError
from roadbed.domain.models import EnvironmentRequest, EnvironmentStatus, ProvisionInput
from roadbed.metrics.dora import DoraScope, dora_report, overall_tiers_by_service
from roadbed.metrics.thresholds import DAY, DEFAULT, DORA_2021, FOURKEYS_2019, HOUR, PROFILES, WEEK, Tier, get_profile, overall_tier
from roadbed.storage import environments
from roadbed.storage.database import Database
from roadbed.storage.events import DeploymentEvent, IncidentEvent, normalise_environment, record_deployment, record_incident
from roadbed.storage.tables import DeploymentRow, IncidentRow

T0 = datetime(2025, 3, 10, 10, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=2)


def deploy(
    database: Database,
    key: str,
    at: datetime,
    *,
    service: str = "orders",
    environment: str = "prod",
    status: str = "success",
    commit: str | None = None,
    commit_time: datetime | None = None,
    team: str | None = None,
) -> str:
    event = DeploymentEvent(
        key=key,
        service=service,
        environment=environment,
        commit_sha=commit or f"sha-{key}",
        commit_time=commit_time if commit_time is not None else at - timedelta(minutes=30),
        deployed_at=at,
        status=status,  # type: ignore[arg-type]
        team=team,
    )
    with database.transaction() as session:
        record_deployment(session, event, NOW)
    return key


def incident(
    database: Database,
    key: str,
    opened: datetime,
    resolved: datetime | None = None,
    *,
    service: str = "orders",
    caused_by: str | None = None,
    environment: str | None = None,
) -> None:
    event = IncidentEvent(key=key, service=service, opened_at=opened, resolved_at=resolved, caused_by_deployment=caused_by, environment=environment)
    with database.transaction() as session:
        record_incident(session, event, NOW, authoritative=True)


def report(database: Database, now: datetime = NOW, **scope: Any) -> dict[str, Any]:
    profile = scope.pop("profile", DEFAULT)
    with database.transaction() as session:
        return dora_report(session, DoraScope(**scope), now=now, profile=profile)


def count(database: Database, table: type) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


# -- storage: identity, replays, merges


def test_replayed_deployment_is_one_row_and_later_status_supersedes(any_database: Database) -> None:
    deploy(any_database, "d1", T0, status="failure")
    deploy(any_database, "d1", T0, status="failure")
    assert count(any_database, DeploymentRow) == 1
    # The same deployment reported again with the same time but another status: first write wins.
    with any_database.transaction() as session:
        row, outcome = record_deployment(session, DeploymentEvent("orders", "prod", "sha-d1", T0, "success", key="d1"), NOW)
        assert (outcome, row.status) == ("unchanged", "failure")
    # A later outcome of the same deployment (re-run to success) supersedes it.
    with any_database.transaction() as session:
        row, outcome = record_deployment(session, DeploymentEvent("orders", "prod", "sha-d1", T0 + timedelta(minutes=5), "success", key="d1"), NOW)
        assert (outcome, row.status) == ("updated", "success")
    assert count(any_database, DeploymentRow) == 1


def test_deployments_without_id_dedupe_on_their_fields(any_database: Database) -> None:
    for _ in range(2):
        with any_database.transaction() as session:
            record_deployment(session, DeploymentEvent("orders", "production", "abc", T0, "success", commit_time=T0 - timedelta(hours=1)), NOW)
    with any_database.transaction() as session:
        row = session.scalars(select(DeploymentRow)).one()
        assert row.environment == "prod" and row.key.startswith("api:sha256:")


def test_incident_merges(any_database: Database) -> None:
    opened = T0 + timedelta(minutes=20)
    with any_database.transaction() as session:
        _, outcome = record_incident(session, IncidentEvent("i1", "orders", opened), NOW, authoritative=False)
        assert outcome == "created"
    with any_database.transaction() as session:
        row, outcome = record_incident(session, IncidentEvent("i1", "orders", opened, resolved_at=opened + timedelta(minutes=40)), NOW, authoritative=False)
        assert outcome == "updated" and row.resolved_at == opened + timedelta(minutes=40)
    # A late "still firing" re-delivery cannot reopen it; a replay changes nothing.
    with any_database.transaction() as session:
        row, outcome = record_incident(session, IncidentEvent("i1", "orders", opened), NOW, authoritative=False)
        assert outcome == "unchanged" and row.resolved_at is not None
    # Our own API is authoritative for what it sends, keeps what it omits.
    with any_database.transaction() as session:
        row, outcome = record_incident(session, IncidentEvent("i1", "orders", opened, caused_by_deployment="d9"), NOW, authoritative=True)
        assert outcome == "updated" and row.caused_by_deployment == "d9" and row.resolved_at == opened + timedelta(minutes=40)
    assert count(any_database, IncidentRow) == 1


def test_environment_aliases() -> None:
    assert [normalise_environment(e) for e in ("production", "Prod", "stage", "development", "qa")] == ["prod", "prod", "staging", "dev", "qa"]


# -- worked vectors


def test_five_deployments_two_linked_to_incidents_is_forty_percent(any_database: Database) -> None:
    for n in range(5):
        deploy(any_database, f"d{n}", T0 + timedelta(hours=2 * n))
    incident(any_database, "explicit", T0 + timedelta(hours=9), T0 + timedelta(hours=10), caused_by="d1")  # names d1 (an earlier one)
    incident(any_database, "by-time", T0 + timedelta(hours=6, minutes=30), T0 + timedelta(hours=7))  # latest before it: d3
    result = report(any_database)
    assert result["change_failure_rate"]["value"] == pytest.approx(0.4)
    assert result["change_failure_rate"]["failed_deployments"] == 2
    assert result["change_failure_rate"]["deployments"] == 5
    assert result["change_failure_rate"]["tier"] == "low"


def test_time_to_restore_and_failed_deployment_recovery(any_database: Database) -> None:
    deploy(any_database, "d1", T0)  # 10:00
    incident(any_database, "i1", T0 + timedelta(minutes=20), T0 + timedelta(minutes=60))  # 10:20 → 11:00
    result = report(any_database)
    assert result["time_to_restore"]["median_seconds"] == pytest.approx(40 * 60)
    assert result["failed_deployment_recovery_time"]["median_seconds"] == pytest.approx(60 * 60)
    assert result["time_to_restore"]["tier"] == "elite"
    assert result["failed_deployment_recovery_time"]["tier"] == "high"  # 60 min is not < 1 hour
    assert result["change_failure_rate"]["value"] == 1.0


def test_recovery_of_a_failed_deployment_is_the_next_good_one(any_database: Database) -> None:
    deploy(any_database, "bad", T0, status="rolled_back")
    deploy(any_database, "also-bad", T0 + timedelta(minutes=10), status="failure")
    deploy(any_database, "good", T0 + timedelta(minutes=45))
    deploy(any_database, "unrecovered", T0 + timedelta(hours=5), status="failure")
    result = report(any_database)
    recovery = result["failed_deployment_recovery_time"]
    assert recovery["median_seconds"] == pytest.approx(statistics.median([45 * 60, 35 * 60]))
    assert (recovery["recovered"], recovery["unrecovered"]) == (2, 1)
    assert result["change_failure_rate"]["value"] == pytest.approx(3 / 4)
    # also-bad and good follow a failed deployment within the gap; bad and unrecovered do not.
    assert result["deployment_rework_rate"]["value"] == pytest.approx(2 / 4)


def test_nothing_to_compute_is_null_never_zero(any_database: Database) -> None:
    result = report(any_database)
    assert result["change_failure_rate"]["value"] is None and result["change_failure_rate"]["tier"] is None
    assert result["lead_time_for_changes"]["median_seconds"] is None
    assert result["time_to_restore"]["median_seconds"] is None
    assert result["failed_deployment_recovery_time"]["median_seconds"] is None
    assert result["deployment_rework_rate"]["value"] is None
    # A rate of no deployments is a true zero.
    assert result["deployment_frequency"]["value"] == 0 and result["deployment_frequency"]["tier"] == "low"
    assert result["overall_tier"] == "low"


def test_change_failure_rate_never_exceeds_one(any_database: Database) -> None:
    deploy(any_database, "d1", T0, status="failure")
    for n in range(3):
        incident(any_database, f"i{n}", T0 + timedelta(minutes=5 + n), T0 + timedelta(hours=1), caused_by="d1")
    incident(any_database, "by-time", T0 + timedelta(minutes=30))
    result = report(any_database)
    assert result["change_failure_rate"]["value"] == 1.0
    assert result["failed_deployment_recovery_time"]["unrecovered"] == 1  # one linked incident is still open
    assert result["time_to_restore"]["open_incidents"] == 1


def test_incident_links_respect_the_gap_and_the_environment(any_database: Database) -> None:
    deploy(any_database, "d1", T0)
    incident(any_database, "too-late", T0 + timedelta(hours=25), T0 + timedelta(hours=26))
    incident(any_database, "staging-only", T0 + timedelta(hours=1), T0 + timedelta(hours=2), environment="staging")
    assert report(any_database)["change_failure_rate"]["value"] == 0
    assert report(any_database, link_gap_hours=26)["change_failure_rate"]["value"] == 1
    # An explicit link to a deployment that finished long after the incident opened cannot be its cause.
    deploy(any_database, "d2", T0 + timedelta(hours=30))
    incident(any_database, "before-d2", T0 + timedelta(hours=2), T0 + timedelta(hours=3), caused_by="d2")
    assert report(any_database)["change_failure_rate"]["value"] == 0


def test_lead_time_counts_each_commit_once_at_its_first_deployment(any_database: Database) -> None:
    committed = T0 - timedelta(hours=2)
    deploy(any_database, "first", T0, commit="c1", commit_time=committed)
    deploy(any_database, "again", T0 + timedelta(hours=5), commit="c1", commit_time=committed)  # redeploy: not a new lead time
    deploy(any_database, "failed", T0 - timedelta(hours=1), commit="c2", commit_time=T0 - timedelta(hours=3), status="failure")
    deploy(any_database, "c2-ok", T0 + timedelta(hours=1), commit="c2", commit_time=T0 - timedelta(hours=3))  # first *successful*: 4 h
    deploy(any_database, "skewed", T0 + timedelta(hours=2), commit="c3", commit_time=T0 + timedelta(hours=3))  # ≤ 0: dropped
    deploy(any_database, "old", T0 - timedelta(days=40), commit="c4", commit_time=T0 - timedelta(days=41))
    deploy(any_database, "old-again", T0 + timedelta(hours=3), commit="c4", commit_time=T0 - timedelta(days=41))  # first deployed before the window
    result = report(any_database)["lead_time_for_changes"]
    assert result["commits"] == 2
    assert result["median_seconds"] == pytest.approx(statistics.median([2 * HOUR, 4 * HOUR]))


def test_filters_service_team_environment_and_window(any_database: Database, settings: Any) -> None:
    request = EnvironmentRequest(service="orders", team="payments", golden_path="python-service", environment="prod")
    accepted = ProvisionInput(environment_id="env_1", request=request, golden_path_version="1.0.0", requested_at=T0 - timedelta(days=60))
    with any_database.transaction() as session:
        environments.insert_environment(session, accepted, "provision/orders/prod/env_1", EnvironmentStatus.SUCCEEDED)
    deploy(any_database, "o1", T0)
    deploy(any_database, "o2", T0 + timedelta(hours=1), environment="staging")
    deploy(any_database, "b1", T0, service="billing", team="payments")  # team from the event
    deploy(any_database, "s1", T0, service="search")
    deploy(any_database, "ancient", T0 - timedelta(days=45))
    assert report(any_database)["change_failure_rate"]["deployments"] == 3
    assert report(any_database, service="orders")["change_failure_rate"]["deployments"] == 1
    assert report(any_database, team="payments")["change_failure_rate"]["deployments"] == 2
    assert report(any_database, team="payments", service="search")["change_failure_rate"]["deployments"] == 0
    assert report(any_database, environment="staging")["change_failure_rate"]["deployments"] == 1
    assert report(any_database, window_days=60)["change_failure_rate"]["deployments"] == 4
    frequency = report(any_database, service="orders", window_days=7)["deployment_frequency"]
    assert frequency["value"] == pytest.approx(1 / 7) and frequency["tier"] == "high"
    with any_database.transaction() as session:
        tiers = overall_tiers_by_service(session, DoraScope(), now=NOW)
    assert set(tiers) == {"orders", "billing", "search"}


# -- tiers


def _just(value: float, higher: bool) -> tuple[float, float]:
    """A value just on the better and just on the worse side of `value`."""
    step = max(abs(value) * 1e-9, 1e-12)
    return (value + step, value - step) if higher else (value - step, value + step)


@pytest.mark.parametrize("profile", list(PROFILES.values()), ids=list(PROFILES))
@pytest.mark.parametrize("metric", ["deployment_frequency", "lead_time_for_changes", "change_failure_rate", "time_to_restore"])
def test_tier_boundaries_just_below_and_above_every_threshold(profile: Any, metric: str) -> None:
    bands = getattr(profile, metric)
    tiers = [Tier.ELITE, Tier.HIGH, Tier.MEDIUM]
    for index, bound in enumerate(bands.bounds):
        limit = float(bound.limit)
        better, worse = _just(limit, bands.higher_is_better)
        assert bands.tier(better).rank >= tiers[index].rank, (metric, limit, "just better")
        # Just on the worse side falls below this tier, unless the next bound is the same value (e.g. 15 % twice).
        expected_worse = next((tiers[i] for i in range(index + 1, 3) if bands.bounds[i].met_by(Fraction(worse), bands.higher_is_better)), Tier.LOW)
        assert bands.tier(worse) == expected_worse, (metric, limit, "just worse")
        assert bands.tier(worse).rank < tiers[index].rank
        # Exactly on the bound: the bound's own inclusiveness decides.
        assert (bands.tier(bound.limit).rank >= tiers[index].rank) == bound.inclusive, (metric, limit, "exact")


def test_default_table_is_designs() -> None:
    assert DEFAULT.deployment_frequency.tier(Fraction(1)) == Tier.ELITE
    assert DEFAULT.deployment_frequency.tier(Fraction(1, 7)) == Tier.HIGH
    assert DEFAULT.deployment_frequency.tier(Fraction(1, 30)) == Tier.MEDIUM
    assert DEFAULT.deployment_frequency.tier(Fraction(1, 31)) == Tier.LOW
    assert DEFAULT.lead_time_for_changes.tier(HOUR - 1) == Tier.ELITE and DEFAULT.lead_time_for_changes.tier(HOUR) == Tier.HIGH
    assert DEFAULT.lead_time_for_changes.tier(DAY) == Tier.MEDIUM and DEFAULT.lead_time_for_changes.tier(WEEK) == Tier.LOW
    assert DEFAULT.change_failure_rate.tier(0.05) == Tier.ELITE and DEFAULT.change_failure_rate.tier(0.1) == Tier.HIGH
    assert DEFAULT.change_failure_rate.tier(0.15) == Tier.MEDIUM and DEFAULT.change_failure_rate.tier(0.1500001) == Tier.LOW
    assert DEFAULT.time_to_restore.tier(WEEK - 1) == Tier.MEDIUM and DEFAULT.time_to_restore.tier(None) is None
    assert DORA_2021.deployment_frequency.tier(Fraction(1, 7)) == Tier.HIGH  # weekly..monthly band
    assert DORA_2021.change_failure_rate.tier(0.31) == Tier.LOW
    assert FOURKEYS_2019.lead_time_for_changes.tier(20 * HOUR) == Tier.ELITE  # "One day"
    assert FOURKEYS_2019.change_failure_rate.tier(0.45) == Tier.MEDIUM and FOURKEYS_2019.change_failure_rate.tier(0.46) == Tier.LOW
    with pytest.raises(ConfigurationError):
        get_profile("nope")


def test_overall_tier_is_the_best_a_majority_reaches() -> None:
    e, h, m, low = Tier.ELITE, Tier.HIGH, Tier.MEDIUM, Tier.LOW
    assert overall_tier([e, e, e, low]) == e
    assert overall_tier([e, e, h, low]) == h
    assert overall_tier([e, h, low, low]) == low
    assert overall_tier([e, m, None, None]) == m
    assert overall_tier([h, None, None, None]) == h
    assert overall_tier([None, None, None, None]) is None


def test_profile_changes_tiers(any_database: Database) -> None:
    deploy(any_database, "d1", T0, commit_time=T0 - timedelta(hours=20))
    assert report(any_database)["lead_time_for_changes"]["tier"] == "high"
    assert report(any_database, profile=FOURKEYS_2019)["lead_time_for_changes"]["tier"] == "elite"
    assert report(any_database, profile=FOURKEYS_2019)["window"]["profile"] == "fourkeys-2019"


# -- a seeded month against a plain reference


@dataclass
class Dep:
    id: int
    key: str
    service: str
    environment: str
    at: datetime
    status: str
    commit: str
    commit_time: datetime


@dataclass
class Inc:
    key: str
    service: str
    environment: str | None
    opened: datetime
    resolved: datetime | None
    caused_by: str | None


def generate_month(seed: int) -> tuple[list[Dep], list[Inc], datetime]:
    rng = random.Random(seed)
    start = datetime(2025, 5, 1, tzinfo=UTC)
    now = start + timedelta(days=31)
    services = ["orders", "billing", "search", "checkout"]
    deployments: list[Dep] = []
    commits: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    for n in range(160):
        service = rng.choice(services)
        at = start + timedelta(minutes=rng.randrange(0, 31 * 24 * 60))  # minute grain: ties happen
        environment = rng.choice(["prod", "prod", "prod", "staging"])
        if commits[service] and rng.random() < 0.2:
            commit, commit_time = rng.choice(commits[service])  # a redeploy of a known commit
        else:
            commit, commit_time = f"c{n}", at - timedelta(minutes=rng.randrange(-30, 3000))
            commits[service].append((commit, commit_time))
        status = rng.choices(["success", "failure", "rolled_back"], [8, 1, 1])[0]
        deployments.append(Dep(n + 1, f"dep-{n}", service, environment, at, status, commit, commit_time))
    incidents: list[Inc] = []
    for n in range(45):
        service = rng.choice(services)
        opened = start + timedelta(minutes=rng.randrange(0, 31 * 24 * 60))
        caused_by = rng.choice([d.key for d in deployments if d.service == service]) if rng.random() < 0.3 else None
        resolved = opened + timedelta(minutes=rng.randrange(1, 3000)) if rng.random() < 0.85 else None
        incidents.append(Inc(f"inc-{n}", service, rng.choice([None, None, "prod", "staging"]), opened, resolved, caused_by))
    return deployments, incidents, now


def reference(deployments: list[Dep], incidents: list[Inc], now: datetime, window_days: int, environment: str, gap_hours: float) -> dict[str, Any]:
    """The definitions of `roadbed.metrics.dora`, computed the obvious way."""
    gap = timedelta(hours=gap_hours)
    since = now - timedelta(days=window_days)
    ordered = sorted((d for d in deployments if d.environment == environment and d.at <= now), key=lambda d: (d.at, d.id))
    window = [d for d in ordered if d.at >= since]
    by_key = {d.key: d for d in deployments}
    links: dict[int, list[Inc]] = defaultdict(list)
    for i in incidents:
        if i.opened > now:
            continue
        if i.caused_by is not None:
            target = by_key.get(i.caused_by)
            if target is not None and target.environment == environment and target.at - i.opened <= gap:
                links[target.id].append(i)
            continue
        if i.environment not in (None, environment):
            continue
        prior = [d for d in ordered if d.service == i.service and d.at <= i.opened]
        if prior and i.opened - prior[-1].at <= gap:
            links[prior[-1].id].append(i)

    def failed(d: Dep) -> bool:
        return d.status != "success" or bool(links[d.id])

    failed_in_window = [d for d in window if failed(d)]
    recoveries = []
    for d in failed_in_window:
        if links[d.id]:
            if all(i.resolved is not None for i in links[d.id]):
                recoveries.append((max(i.resolved for i in links[d.id]) - d.at).total_seconds())  # type: ignore[type-var]
        else:
            later = [n for n in ordered if n.service == d.service and (n.at, n.id) > (d.at, d.id) and n.status == "success"]
            if later:
                recoveries.append((later[0].at - d.at).total_seconds())
    rework = 0
    for d in window:
        before = [p for p in ordered if p.service == d.service and (p.at, p.id) < (d.at, d.id)]
        if before and failed(before[-1]) and d.at - before[-1].at <= gap:
            rework += 1
    first: dict[tuple[str, str], Dep] = {}
    for d in ordered:
        if d.status == "success":
            first.setdefault((d.service, d.commit), d)
    lead_times = [(d.at - d.commit_time).total_seconds() for d in first.values() if d.at >= since]
    lead_times = [v for v in lead_times if v > 0]
    restores = [
        (i.resolved - i.opened).total_seconds()
        for i in incidents
        if i.resolved is not None and since <= i.resolved <= now and i.environment in (None, environment)
    ]
    return {
        "deployments": len(window),
        "frequency": sum(d.status == "success" for d in window) / window_days,
        "cfr": len(failed_in_window) / len(window) if window else None,
        "lead": statistics.median(lead_times) if lead_times else None,
        "restore": statistics.median(restores) if restores else None,
        "recovery": statistics.median(recoveries) if recoveries else None,
        "rework": rework / len(window) if window else None,
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_a_seeded_month_matches_the_reference(any_database: Database, seed: int) -> None:
    deployments, incidents, now = generate_month(seed)
    with any_database.transaction() as session:
        for d in deployments:  # recorded in list order, so database ids follow `Dep.id`
            record_deployment(session, DeploymentEvent(d.service, d.environment, d.commit, d.at, d.status, key=d.key, commit_time=d.commit_time), now)  # type: ignore[arg-type]
        for i in incidents:
            record_incident(
                session,
                IncidentEvent(i.key, i.service, i.opened, resolved_at=i.resolved, caused_by_deployment=i.caused_by, environment=i.environment),
                now,
                authoritative=True,
            )
    for window_days, environment, gap in [(30, "prod", 24.0), (7, "prod", 6.0), (31, "staging", 48.0), (1, "prod", 24.0)]:
        expected = reference(deployments, incidents, now, window_days, environment, gap)
        got = report(any_database, now=now, window_days=window_days, environment=environment, link_gap_hours=gap)
        label = f"window={window_days} env={environment} gap={gap}"
        assert got["change_failure_rate"]["deployments"] == expected["deployments"], label
        assert got["deployment_frequency"]["value"] == pytest.approx(expected["frequency"]), label
        for key, path in [
            ("cfr", ("change_failure_rate", "value")),
            ("lead", ("lead_time_for_changes", "median_seconds")),
            ("restore", ("time_to_restore", "median_seconds")),
            ("recovery", ("failed_deployment_recovery_time", "median_seconds")),
            ("rework", ("deployment_rework_rate", "value")),
        ]:
            value = got[path[0]][path[1]]
            if expected[key] is None:
                assert value is None, (label, key)
            else:
                assert value == pytest.approx(expected[key], rel=1e-9, abs=1e-6), (label, key)

"""DORA metrics over recorded deployments and incidents (DESIGN.md, "Metrics definitions").

Scope: one environment (default `prod`), optionally one service and/or one team (a team's services are
those its provisioning requests name in the `environments` table, plus deployments reported with that
`team`), over the window `[now - window_days, now]`. `gap` is `incident_link_gap_hours` (default 24 h).

Definitions (every figure is null — never 0 — when there is nothing to compute it from):

- Deployment frequency: successful deployments in the window ÷ `window_days` (deployments/day). With
  no deployment at all it is 0/day (a rate that is truly zero), tier `low`.
- Lead time for changes: per commit (service + `commit_sha`), its first *successful* deployment to the
  environment minus its `commit_time`; a commit counts once, in the window that holds that first
  deployment (a commit already deployed before the window is not counted again when redeployed);
  values <= 0 (clock skew, automated commits) and commits without a known `commit_time` are dropped.
  Median over commits. (A deployment event names its head commit; earlier commits it carries are not
  known to Roadbed.)
- Change failure rate: distinct deployments in the window that failed (`failure`, `rolled_back`) or are
  linked to an incident, ÷ all deployments in the window. An incident is linked to the deployment it
  names (`caused_by_deployment`, whatever the incident's environment; ignored if that deployment finished
  more than `gap` after the incident opened — it cannot have caused it), else to the latest deployment
  of the same service (and environment, when the incident has one) at or before it opened, if that
  deployment is at most `gap` older (ties of equal timestamps: the one recorded last). Each
  deployment counts once however many incidents point at it, so the rate never exceeds 100 % (Four
  Keys' join over-counts; this does not).
- Time to restore: median of `resolved_at - opened_at` over incidents of the scope *resolved* within
  the window (incidents without an environment count for every environment).
- Failed-deployment recovery time: for each failed deployment in the window (as in the change failure
  rate), the time from that deployment until service was restored — the latest resolution of the
  incidents linked to it when it has any (all must be resolved), otherwise the next successful
  deployment of the same service+environment. Median; not-yet-recovered ones are counted apart
  (`unrecovered`). Example: deployed 10:00, incident opened 10:20 and resolved 11:00 → 60 min (and a
  time to restore of 40 min).
- Deployment rework rate: deployments in the window whose immediately preceding deployment of the same
  service+environment failed (as above) and happened at most `gap` before, ÷ all deployments in the
  window.
- Tiers: per metric from the threshold profile (`roadbed.metrics.thresholds`); `overall_tier` from the
  four keys by `thresholds.overall_tier` (the best tier a majority of the defined keys reach).

How it is computed: deployment counts and lead times from the daily and per-commit rollups
(`roadbed.metrics.dora_rollups`, exact: the same figures as the raw rows give, `raw=True`); other counts in SQL; the durations come back as one float column (computed in SQL with
`roadbed.metrics.sql.epoch`) and their medians are taken in Python with `statistics.median`
(interpolating, as DESIGN.md fixes). Incident links are one correlated, index-backed lookup per
incident (`ix_deployments_service_time`); "first deployment of a commit" is a GROUP BY over the window
plus an index probe (`ix_deployments_commit`) for an earlier deployment. `bench/dora.py` measures it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, true, union_all
from sqlalchemy.orm import Session

from roadbed.domain.models import FAILED_DEPLOYMENT_STATUSES, DeploymentStatus
from roadbed.metrics import dora_rollups
from roadbed.metrics.sql import epoch, seconds_between
from roadbed.metrics.thresholds import DEFAULT, Profile, Tier, overall_tier
from roadbed.storage.events import normalise_environment, services_of_team
from roadbed.storage.tables import DeploymentRow, IncidentRow, UtcDateTime

_DEPLOYMENTS = DeploymentRow.__table__
_INCIDENTS = IncidentRow.__table__


@dataclass(frozen=True)
class DoraScope:
    environment: str = "prod"
    window_days: int = 30
    service: str | None = None
    team: str | None = None
    link_gap_hours: float = 24.0


@dataclass
class _Figures:
    """The raw figures of one scope (the whole selection, or one service of it)."""

    deployments: int = 0
    successful: int = 0
    failed: int = 0
    rework: int = 0
    unrecovered: int = 0
    lead_times: list[float] = field(default_factory=list)
    restores: list[float] = field(default_factory=list)
    recoveries: list[float] = field(default_factory=list)
    open_incidents: int = 0


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _scope_services(session: Session, scope: DoraScope) -> list[str] | None:
    """The services of the scope, resolved once (None = the whole organisation)."""
    if scope.team is None:
        return [scope.service] if scope.service else None
    team = services_of_team(session, scope.team)
    return [service for service in team if service == scope.service] if scope.service else team


def _service_condition(column: Any, services: list[str] | None) -> ColumnElement[bool]:
    """No restriction for the organisation; else the listed services (one index range each)."""
    return true() if services is None else column.in_(services)


class _DoraQueries:
    """The SQL of one computation; every query is restricted to the scope and the window."""

    def __init__(self, session: Session, scope: DoraScope, now: datetime, *, raw: bool = False) -> None:
        self.session = session
        self.raw = raw  # True: every figure from the raw rows, never the rollups (the reference the rollups are tested against)
        self.scope = scope
        self.services = _scope_services(session, scope)
        self.environment = normalise_environment(scope.environment)
        self.now = now
        self.since = now - timedelta(days=scope.window_days)
        self.gap_seconds = scope.link_gap_hours * 3600
        # Links and "the deployment before" reach back one gap before the window.
        self.reach = self.since - timedelta(seconds=self.gap_seconds)

    def _in(self, table: Any, start: datetime) -> ColumnElement[bool]:
        return and_(
            table.c.environment == self.environment,
            table.c.deployed_at >= start,
            table.c.deployed_at <= self.now,
            _service_condition(table.c.service, self.services),
        )

    def epoch_of(self, moment: datetime) -> float:
        """`moment` as the database computes epochs, so comparisons with SQL-computed values are exact."""
        return float(self.session.scalar(select(epoch(literal(moment, UtcDateTime())))))

    # -- incident links
    def links(self) -> Any:
        """(dep_id, resolved_at) per incident linked to a deployment deployed in [reach, now]."""
        incident = _INCIDENTS.alias("i")
        deployment = _DEPLOYMENTS.alias("d")
        # An incident cannot have been caused by a deployment that finished more than a gap after it
        # opened; that rule also bounds `opened_at`, so the query starts from the incidents of the window
        # (`ix_incidents_opened`) instead of every link ever made.
        # The named deployment is one probe by its unique key per incident of the window: a join would let SQLite drive
        # from the deployments of the window (thousands) through the covering window index instead.
        named = (
            select(deployment.c.id)
            .where(
                deployment.c.key == incident.c.caused_by_deployment,
                seconds_between(deployment.c.deployed_at, incident.c.opened_at) <= self.gap_seconds,
                self._in(deployment, self.reach),
            )
            .scalar_subquery()
        )
        blamed = (
            select(named.label("dep_id"), incident.c.resolved_at.label("resolved_at"), incident.c.opened_at.label("opened_at"))
            .where(
                incident.c.caused_by_deployment.is_not(None),
                incident.c.opened_at >= self.reach - timedelta(seconds=self.gap_seconds),
                incident.c.opened_at <= self.now,
            )
            .subquery("b")
        )
        explicit = select(blamed.c.dep_id, blamed.c.resolved_at, blamed.c.opened_at).where(blamed.c.dep_id.is_not(None))

        def latest_prior(alias: str, column: str) -> Any:
            prior = _DEPLOYMENTS.alias(alias)
            value = prior.c.id if column == "id" else epoch(prior.c.deployed_at)
            return (
                select(value)
                .where(prior.c.service == incident.c.service, prior.c.environment == self.environment, prior.c.deployed_at <= incident.c.opened_at)
                .order_by(prior.c.deployed_at.desc(), prior.c.id.desc())
                .limit(1)
                .scalar_subquery()
            )

        # The latest prior deployment's id and time come from two index probes (no join back to the
        # table, which PostgreSQL would otherwise plan as a hash join over the whole table).
        candidates = (
            select(
                latest_prior("p1", "id").label("dep_id"),
                latest_prior("p2", "epoch").label("dep_epoch"),
                epoch(incident.c.opened_at).label("opened_epoch"),
                incident.c.resolved_at,
                incident.c.opened_at,
            )
            .where(
                incident.c.caused_by_deployment.is_(None),
                or_(incident.c.environment == self.environment, incident.c.environment.is_(None)),
                incident.c.opened_at >= self.reach,
                incident.c.opened_at <= self.now,
                _service_condition(incident.c.service, self.services),
            )
            .subquery("c")
        )
        implicit = select(candidates.c.dep_id, candidates.c.resolved_at, candidates.c.opened_at).where(
            candidates.c.opened_epoch - candidates.c.dep_epoch <= self.gap_seconds,
            candidates.c.dep_epoch >= epoch(literal(self.reach, UtcDateTime())),
        )
        return union_all(explicit, implicit).subquery("links")

    def linked(self) -> dict[int, tuple[float | None, int]]:
        """Per linked deployment: the latest resolution of its incidents and how many are still open."""
        links = self.links()
        query = select(
            links.c.dep_id, func.max(epoch(links.c.resolved_at)), func.sum(case((links.c.resolved_at.is_(None), 1), else_=0))
        ).group_by(links.c.dep_id)
        return {dep_id: (resolved, int(still_open)) for dep_id, resolved, still_open in self.session.execute(query)}

    # -- deployments
    def counts(self) -> list[tuple[str, int, int, int]]:
        """Per service: deployments in the window, successful ones, and failed ones (by status)."""
        if not self.raw:
            found = dora_rollups.counts(self.session, self.environment, self.services, self.since, self.now)
            return [(service, total, ok, failed) for service, (total, ok, failed) in found.items()]
        d = _DEPLOYMENTS.alias("d")
        query = (
            select(d.c.service, func.count(), func.sum(case((d.c.status == DeploymentStatus.SUCCESS, 1), else_=0)),
                   func.sum(case((d.c.status.in_(FAILED_DEPLOYMENT_STATUSES), 1), else_=0)))
            .where(self._in(d, self.since))
            .group_by(d.c.service)
        )
        return [(service, int(total), int(ok or 0), int(failed or 0)) for service, total, ok, failed in self.session.execute(query)]

    def linked_in_window(self, linked_ids: Iterable[int]) -> list[tuple[int, str]]:
        """(id, service) of the linked deployments in the window that did not fail by status (they fail by their incident)."""
        d = _DEPLOYMENTS.alias("d")
        ids, found = sorted(linked_ids), []
        for start in range(0, len(ids), 2000):  # bounded parameter lists
            query = select(d.c.id, d.c.service).where(
                d.c.id.in_(ids[start : start + 2000]), d.c.deployed_at >= self.since, d.c.status.not_in(FAILED_DEPLOYMENT_STATUSES))
            found.extend((dep_id, service) for dep_id, service in self.session.execute(query))
        return found

    def failed_candidates(self, linked_ids: Iterable[int]) -> list[Any]:
        """Deployments in [reach, now] that failed or are linked, with what came after them."""
        d = _DEPLOYMENTS.alias("d")

        def following(alias: str, *, successful: bool, column: str) -> Any:
            n = _DEPLOYMENTS.alias(alias)
            # The plain range first, so the index serves it; the OR only breaks ties of equal timestamps.
            after = and_(n.c.deployed_at >= d.c.deployed_at, or_(n.c.deployed_at > d.c.deployed_at, n.c.id > d.c.id))
            conditions = [n.c.service == d.c.service, n.c.environment == self.environment, after, n.c.deployed_at <= self.now]
            if successful:
                conditions.append(n.c.status == DeploymentStatus.SUCCESS)
            value = n.c.id if column == "id" else epoch(n.c.deployed_at)
            return select(value).where(*conditions).order_by(n.c.deployed_at, n.c.id).limit(1).scalar_subquery()

        columns = select(
            d.c.id,
            d.c.service,
            d.c.status,
            epoch(d.c.deployed_at),
            case((d.c.deployed_at >= self.since, 1), else_=0),
            following("n1", successful=False, column="id"),
            following("n2", successful=False, column="epoch"),
            following("n3", successful=True, column="epoch"),
        )
        rows = list(self.session.execute(columns.where(self._in(d, self.reach), d.c.status.in_(FAILED_DEPLOYMENT_STATUSES))))
        # Linked deployments that did not fail by status: by id, in chunks (bounded parameter lists).
        seen = {row[0] for row in rows}
        rest = sorted(set(linked_ids) - seen)
        for start in range(0, len(rest), 2000):
            rows.extend(self.session.execute(columns.where(d.c.id.in_(rest[start : start + 2000]))))
        return rows

    def lead_times(self) -> Iterable[tuple[str, float | None]]:
        if not self.raw:
            return dora_rollups.lead_times(self.session, self.environment, self.services, self.since, self.now)
        d = _DEPLOYMENTS.alias("d")
        earlier = _DEPLOYMENTS.alias("e")
        deployed_before = (
            select(earlier.c.id)
            .where(
                earlier.c.service == d.c.service,
                earlier.c.environment == self.environment,
                earlier.c.commit_sha == d.c.commit_sha,
                earlier.c.deployed_at < self.since,
                earlier.c.status == DeploymentStatus.SUCCESS,
            )
            .exists()
        )
        query = (
            select(d.c.service, func.min(epoch(d.c.deployed_at)) - func.min(epoch(d.c.commit_time)))
            .where(self._in(d, self.since), d.c.status == DeploymentStatus.SUCCESS, ~deployed_before)
            .group_by(d.c.service, d.c.commit_sha)
        )
        return self.session.execute(query)

    # -- incidents
    def resolved_in_window(self, i: Any) -> list[ColumnElement[bool]]:
        """Incidents of this scope resolved inside the window: what time to restore measures (per service, or per week)."""
        return [
            i.c.resolved_at >= self.since,
            i.c.resolved_at <= self.now,
            or_(i.c.environment == self.environment, i.c.environment.is_(None)),
            _service_condition(i.c.service, self.services),
        ]

    def restores(self) -> Iterable[tuple[str, float]]:
        i = _INCIDENTS.alias("i")
        query = select(i.c.service, seconds_between(i.c.resolved_at, i.c.opened_at)).where(*self.resolved_in_window(i))
        return self.session.execute(query)

    def open_incidents(self) -> Iterable[tuple[str, int]]:
        i = _INCIDENTS.alias("i")
        query = (
            select(i.c.service, func.count())
            .where(
                i.c.resolved_at.is_(None),
                i.c.opened_at <= self.now,
                or_(i.c.environment == self.environment, i.c.environment.is_(None)),
                _service_condition(i.c.service, self.services),
            )
            .group_by(i.c.service)
        )
        return self.session.execute(query)


def _collect(session: Session, scope: DoraScope, now: datetime, *, keys_only: bool = False, raw: bool = False) -> dict[str, _Figures]:
    """Raw figures per service of the scope; `keys_only`: only those of the four keys (no recovery or rework, which
    need each failed deployment's successors); `raw`: without the rollups."""
    queries = _DoraQueries(session, scope, now, raw=raw)
    figures: dict[str, _Figures] = defaultdict(_Figures)
    for service, total, successful, failed in queries.counts():
        figures[service].deployments = total
        figures[service].successful = successful
        if keys_only:
            figures[service].failed = failed

    linked = queries.linked()
    if keys_only:
        for _dep_id, service in queries.linked_in_window(linked):
            figures[service].failed += 1
        _add_durations(queries, figures)
        return figures
    # A rework deployment must itself be in the window (its failed predecessor may be just before it).
    since_epoch = queries.epoch_of(queries.since)
    rework_targets: dict[str, set[int]] = defaultdict(set)
    for dep_id, service, status, at, in_window, next_id, next_at, next_success_at in queries.failed_candidates(linked):
        if next_id is not None and next_at is not None and next_at >= since_epoch and next_at - at <= queries.gap_seconds:
            rework_targets[service].add(next_id)
        if not in_window:
            continue
        entry = figures[service]
        entry.failed += 1
        recovered: float | None = None
        if dep_id in linked:
            latest_resolution, still_open = linked[dep_id]
            if still_open == 0 and latest_resolution is not None:
                recovered = latest_resolution - at
        elif status in FAILED_DEPLOYMENT_STATUSES and next_success_at is not None:
            recovered = next_success_at - at
        if recovered is not None and recovered >= 0:
            entry.recoveries.append(recovered)
        else:
            entry.unrecovered += 1
    for service, ids in rework_targets.items():
        figures[service].rework = len(ids)

    _add_durations(queries, figures)
    return figures


def _add_durations(queries: _DoraQueries, figures: dict[str, _Figures]) -> None:
    """Lead times, restore times and open incidents per service."""
    for service, lead_time in queries.lead_times():
        if lead_time is not None and lead_time > 0:
            figures[service].lead_times.append(float(lead_time))
    for service, restore in queries.restores():
        if restore is not None and restore >= 0:
            figures[service].restores.append(float(restore))
    for service, count in queries.open_incidents():
        figures[service].open_incidents = int(count)


def _merge(parts: Iterable[_Figures]) -> _Figures:
    total = _Figures()
    for part in parts:
        total.deployments += part.deployments
        total.successful += part.successful
        total.failed += part.failed
        total.rework += part.rework
        total.unrecovered += part.unrecovered
        total.open_incidents += part.open_incidents
        total.lead_times.extend(part.lead_times)
        total.restores.extend(part.restores)
        total.recoveries.extend(part.recoveries)
    return total


def _tier(tier: Tier | None) -> str | None:
    return tier.value if tier is not None else None


def _key_tiers(frequency: Fraction, lead_time: float | None, cfr: Fraction | None, restore: float | None, profile: Profile) -> dict[str, Tier | None]:
    return {
        "deployment_frequency": profile.deployment_frequency.tier(frequency),
        "lead_time_for_changes": profile.lead_time_for_changes.tier(lead_time),
        "change_failure_rate": profile.change_failure_rate.tier(cfr),
        "time_to_restore": profile.time_to_restore.tier(restore),
    }


def _overall_tier(figures: _Figures, scope: DoraScope, profile: Profile) -> str | None:
    """`_report(figures, ...)["overall_tier"]` without the rest of the report."""
    cfr = Fraction(figures.failed, figures.deployments) if figures.deployments else None
    tiers = _key_tiers(Fraction(figures.successful, scope.window_days), _median(figures.lead_times), cfr, _median(figures.restores), profile)
    return _tier(overall_tier(list(tiers.values())))


def _report(figures: _Figures, scope: DoraScope, profile: Profile, services: int) -> dict[str, Any]:
    frequency = Fraction(figures.successful, scope.window_days)
    lead_time = _median(figures.lead_times)
    restore = _median(figures.restores)
    recovery = _median(figures.recoveries)
    cfr = Fraction(figures.failed, figures.deployments) if figures.deployments else None
    rework = Fraction(figures.rework, figures.deployments) if figures.deployments else None
    tiers = _key_tiers(frequency, lead_time, cfr, restore, profile)
    return {
        "deployment_frequency": {
            "value": float(frequency),
            "unit": "deployments/day",
            "tier": _tier(tiers["deployment_frequency"]),
            "per_week": float(frequency * 7),
            "successful_deployments": figures.successful,
            "services": services,
        },
        "lead_time_for_changes": {
            "median_seconds": lead_time,
            "tier": _tier(tiers["lead_time_for_changes"]),
            "commits": len(figures.lead_times),
        },
        "change_failure_rate": {
            "value": float(cfr) if cfr is not None else None,
            "tier": _tier(tiers["change_failure_rate"]),
            "failed_deployments": figures.failed,
            "deployments": figures.deployments,
        },
        "time_to_restore": {
            "median_seconds": restore,
            "tier": _tier(tiers["time_to_restore"]),
            "incidents": len(figures.restores),
            "open_incidents": figures.open_incidents,
        },
        "failed_deployment_recovery_time": {
            "median_seconds": recovery,
            "tier": _tier(profile.failed_deployment_recovery_time.tier(recovery)),
            "recovered": len(figures.recoveries),
            "unrecovered": figures.unrecovered,
        },
        "deployment_rework_rate": {
            "value": float(rework) if rework is not None else None,
            "tier": _tier(profile.deployment_rework_rate.tier(rework)),
            "rework_deployments": figures.rework,
            "deployments": figures.deployments,
        },
        "overall_tier": _tier(overall_tier(list(tiers.values()))),
    }


def _window(scope: DoraScope, now: datetime, profile: Profile) -> dict[str, Any]:
    return {
        "days": scope.window_days,
        "start": (now - timedelta(days=scope.window_days)).isoformat(),
        "end": now.isoformat(),
        "environment": normalise_environment(scope.environment),
        "service": scope.service,
        "team": scope.team,
        "incident_link_gap_hours": scope.link_gap_hours,
        "profile": profile.name,
        "profile_version": profile.version,
    }


def dora_report(
    session: Session, scope: DoraScope, *, now: datetime, profile: Profile = DEFAULT, by_service: bool = False, raw: bool = False
) -> dict[str, Any]:
    """The DORA report of `scope` (CONTRACT.md shape plus extras); `by_service` adds one report per service; `raw`: computed
    from the raw rows alone (the reference for the rollups, which give the same report)."""
    figures = _collect(session, scope, now, raw=raw)
    deploying = sum(1 for f in figures.values() if f.deployments)
    report = _report(_merge(figures.values()), scope, profile, deploying)
    report["window"] = _window(scope, now, profile)
    if by_service:
        report["by_service"] = {
            service: _report(f, scope, profile, 1 if f.deployments else 0) for service, f in sorted(figures.items())
        }
    return report


def overall_tiers_by_service(
    session: Session, scope: DoraScope, *, now: datetime, profile: Profile = DEFAULT, raw: bool = False
) -> dict[str, str | None]:
    """Each service's overall tier in one pass over the scope (for scorecards): only the four keys it is made of."""
    figures = _collect(session, scope, now, keys_only=True, raw=raw)
    return {service: _overall_tier(f, scope, profile) for service, f in figures.items()}

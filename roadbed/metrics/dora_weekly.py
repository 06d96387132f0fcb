"""DORA's four keys week by week (the portal's charts), from grouped queries over the same definitions as
`roadbed.metrics.dora` — and, for a window of whole weeks, the overall figures from those same queries, so the page
does not run a second full report. Kept apart from the report itself, which it builds on."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import Session

from roadbed.domain.models import FAILED_DEPLOYMENT_STATUSES, DeploymentStatus
from roadbed.metrics.dora import _DEPLOYMENTS, _INCIDENTS, DoraScope, _DoraQueries, _Figures, _report, _service_condition
from roadbed.metrics.sql import epoch, seconds_between
from roadbed.metrics.thresholds import DEFAULT, Profile

WEEKLY_KEYS = ("deployment_frequency", "lead_time_for_changes", "change_failure_rate", "time_to_restore", "overall_tier")


def dora_weekly(session: Session, scope: DoraScope, *, now: datetime, weeks: int, profile: Profile = DEFAULT) -> list[tuple[datetime, dict[str, Any]]]:
    """The four keys week by week, oldest first: (week start, report) where each report's four keys and overall tier
    equal `dora_report(session, scope with window_days=7, now=week end)`'s. Four grouped queries over the whole span
    instead of a report per week. Windows include both ends, as dora_report's do: a deployment (or resolution)
    exactly on a week boundary counts in both weeks."""
    return dora_weekly_and_overall(session, scope, now=now, weeks=weeks, profile=profile)[1]


def dora_weekly_and_overall(
    session: Session, scope: DoraScope, *, now: datetime, weeks: int, profile: Profile = DEFAULT
) -> tuple[dict[str, Any], list[tuple[datetime, dict[str, Any]]]]:
    """`dora_weekly` plus the whole span's four keys and overall tier from the same queries: the first equals
    `{key: dora_report(session, scope with window_days=7 * weeks, now=now)[key] for key in WEEKLY_KEYS}` (each row of
    the span counted once, a commit once at its first deployment in the span), the second is `dora_weekly`'s."""
    ends = [now - timedelta(days=7 * back) for back in range(weeks + 1)]  # ends[k]: the end of week k back; ends[weeks]: the span's start
    queries = _DoraQueries(session, DoraScope(scope.environment, 7 * weeks, scope.service, scope.team, scope.link_gap_hours), now)
    figures = [_Figures() for _ in range(weeks)]
    services: list[set[str]] = [set() for _ in range(weeks)]
    total, total_services = _Figures(), set()  # the whole span

    def weeks_of(at: datetime) -> list[int]:
        """The weeks whose window holds `at` (two on a boundary)."""
        return [k for k in range(weeks) if ends[k + 1] <= at <= ends[k]]

    def bucket(column: Any) -> tuple[Any, Any]:
        """SQL: the week of a timestamp in the span, and whether it sits on the start of that week (then the older week holds it too)."""
        return (case(*((column >= ends[k + 1], k) for k in range(weeks)), else_=None),
                case((column.in_(ends[1:weeks]), 1), else_=0) if weeks > 1 else literal(0))

    def both(week: int, edge: int) -> list[int]:
        return [week, week + 1] if edge else [week]

    d = _DEPLOYMENTS.alias("d")
    week, edge = bucket(d.c.deployed_at)
    counts = (
        select(week, edge, d.c.service, func.count(), func.sum(case((d.c.status == DeploymentStatus.SUCCESS, 1), else_=0)),
               func.sum(case((d.c.status.in_(FAILED_DEPLOYMENT_STATUSES), 1), else_=0)))
        .where(queries._in(d, queries.since))
        .group_by(week, edge, d.c.service)
    )
    for at_week, at_edge, service, total_count, successful, failed in session.execute(counts):
        for k in both(at_week, at_edge):
            figures[k].deployments += int(total_count)
            figures[k].successful += int(successful or 0)
            figures[k].failed += int(failed or 0)
            services[k].add(service)
        total.deployments += int(total_count)
        total.successful += int(successful or 0)
        total.failed += int(failed or 0)
        total_services.add(service)

    # Deployments failed only by an incident: linked in week k when the incident opened by the end of week k.
    links = queries.links()
    linked = (
        select(d.c.deployed_at, func.min(links.c.opened_at))
        .select_from(links.join(d, d.c.id == links.c.dep_id))
        .where(d.c.deployed_at >= queries.since, d.c.status.not_in(FAILED_DEPLOYMENT_STATUSES))
        .group_by(d.c.id, d.c.deployed_at)
    )
    for deployed_at, first_opened in session.execute(linked):
        total.failed += 1  # linked at all: every link's incident opened by `now`
        for k in weeks_of(deployed_at):
            if first_opened <= ends[k]:
                figures[k].failed += 1

    # Lead times: a commit counts in the week of its first successful deployment (and the older week too when that is on its start).
    week, edge = bucket(d.c.deployed_at)
    earlier = _DEPLOYMENTS.alias("e")
    deployed_before = select(earlier.c.id).where(
        earlier.c.service == d.c.service, earlier.c.environment == queries.environment, earlier.c.commit_sha == d.c.commit_sha,
        earlier.c.deployed_at < queries.since, earlier.c.status == DeploymentStatus.SUCCESS,
    ).exists()
    leads = (
        select(d.c.service, d.c.commit_sha, week, edge, func.min(epoch(d.c.deployed_at)), func.min(epoch(d.c.commit_time)))
        .where(queries._in(d, queries.since), d.c.status == DeploymentStatus.SUCCESS, ~deployed_before)
        .group_by(d.c.service, d.c.commit_sha, week, edge)
    )
    commits: dict[tuple[str, str], list[tuple[int, int, float, float | None]]] = {}
    for service, sha, at_week, at_edge, deployed, committed in session.execute(leads).all():
        if (found := commits.get((service, sha))) is None:
            commits[(service, sha)] = [(at_week, at_edge, deployed, committed)]
        else:
            found.append((at_week, at_edge, deployed, committed))
    for rows in commits.values():
        if len(rows) == 1:  # most commits: deployed in one week only (the general case below gives the same)
            at_week, at_edge, deployed, committed = rows[0]
            if committed is not None and (lead_time := float(deployed - committed)) > 0:
                total.lead_times.append(lead_time)
                figures[at_week].lead_times.append(lead_time)
                if at_edge and at_week + 1 < weeks:
                    figures[at_week + 1].lead_times.append(lead_time)
            continue
        groups = {(at_week, at_edge): (deployed, committed) for at_week, at_edge, deployed, committed in rows}
        # The span: the first deployment of all the commit's groups, minus the earliest known commit time (SQL's min ignores NULLs).
        known = [v[1] for v in groups.values() if v[1] is not None]
        if known and (span_lead := min(v[0] for v in groups.values()) - min(known)) > 0:
            total.lead_times.append(float(span_lead))
        first = max(k for k, _ in groups)
        inside = [groups[key] for key in ((first, 0), (first, 1)) if key in groups]
        values = [(first, min(v[0] for v in inside), [v[1] for v in inside])]
        if (first, 1) in groups and first + 1 < weeks:
            deployed, committed = groups[(first, 1)]
            values.append((first + 1, deployed, [committed]))
        for k, deployed, committed_times in values:
            if any(c is None for c in committed_times):
                continue
            lead_time = deployed - min(c for c in committed_times if c is not None)
            if lead_time > 0:
                figures[k].lead_times.append(float(lead_time))

    for resolved_at, restore in _restores_with_time(queries):
        if restore is not None and restore >= 0:
            total.restores.append(float(restore))
            for k in weeks_of(resolved_at):
                figures[k].restores.append(float(restore))

    i = _INCIDENTS.alias("i")
    still_open = select(i.c.opened_at).where(
        i.c.resolved_at.is_(None), i.c.opened_at <= now, or_(i.c.environment == queries.environment, i.c.environment.is_(None)),
        _service_condition(i.c.service, queries.services),
    )
    for (opened_at,) in session.execute(still_open):
        total.open_incidents += 1
        for k in range(weeks):
            figures[k].open_incidents += 1 if opened_at <= ends[k] else 0

    found = []
    for k in range(weeks - 1, -1, -1):
        report = _report(figures[k], DoraScope(scope.environment, 7, scope.service, scope.team, scope.link_gap_hours), profile, len(services[k]))
        found.append((ends[k + 1], {key: report[key] for key in WEEKLY_KEYS}))
    overall = _report(total, DoraScope(scope.environment, 7 * weeks, scope.service, scope.team, scope.link_gap_hours), profile, len(total_services))
    return {key: overall[key] for key in WEEKLY_KEYS}, found


def _restores_with_time(queries: _DoraQueries) -> Iterable[tuple[datetime, float]]:
    i = _INCIDENTS.alias("i")
    query = select(i.c.resolved_at, seconds_between(i.c.resolved_at, i.c.opened_at)).where(*queries.resolved_in_window(i))
    return queries.session.execute(query)

"""DORA's four keys week by week (the portal's charts), from grouped queries over the same definitions as
`roadbed.metrics.dora` — and, for a window of whole weeks, the overall figures from those same queries, so the page
does not run a second full report. Kept apart from the report itself, which it builds on."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from roadbed.domain.models import FAILED_DEPLOYMENT_STATUSES, DeploymentStatus
from roadbed.metrics.dora import _DEPLOYMENTS, _INCIDENTS, DoraScope, _DoraQueries, _Figures, _report, _service_condition
from roadbed.metrics.sql import epoch, seconds_between
from roadbed.metrics.thresholds import DEFAULT, Profile
from roadbed.storage.tables import UtcDateTime

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
    for at_week, at_edge, service, total_count, successful, failed in session.execute(counts).all():
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
    # One row per commit (service, sha), weeks placed here from epochs (the epoch is strictly increasing in the timestamp, so comparing
    # epochs is comparing timestamps); only a commit whose deployments fall in more than one (week, edge) group is read row by row.
    bounds = [float(value) for value in session.execute(select(*(epoch(literal(end, UtcDateTime())) for end in ends))).one()]
    ascending = bounds[::-1]  # ascending[j] = bounds[weeks - j]
    edges = set(bounds[1:weeks])

    def placed(at: float) -> tuple[int, int]:
        """(week, edge) as `bucket` gives them: the newest week whose start is at or before `at`."""
        return weeks - bisect_right(ascending, at, 1, weeks), 1 if at in edges else 0

    earlier = _DEPLOYMENTS.alias("e")
    deployed_before = select(earlier.c.id).where(
        earlier.c.service == d.c.service, earlier.c.environment == queries.environment, earlier.c.commit_sha == d.c.commit_sha,
        earlier.c.deployed_at < queries.since, earlier.c.status == DeploymentStatus.SUCCESS,
    ).exists()
    first_deployments = (
        select(d.c.service, d.c.commit_sha, epoch(func.min(d.c.deployed_at)), epoch(func.max(d.c.deployed_at)), func.min(epoch(d.c.commit_time)))
        .where(queries._in(d, queries.since), d.c.status == DeploymentStatus.SUCCESS, ~deployed_before)
        .group_by(d.c.service, d.c.commit_sha)
    )
    commits: dict[tuple[str, str], list[tuple[int, int, float, float | None]]] = {}
    spread: list[tuple[str, str]] = []
    week_leads = [entry.lead_times for entry in figures]
    for service, sha, first_at, last_at, committed in session.execute(first_deployments).all():
        at_week, at_edge = placed(first_at)
        if first_at == last_at or (not at_edge and placed(last_at) == (at_week, 0)):
            # Most commits: every deployment in one (week, edge) group, so the week's lead time is the span's.
            if committed is not None and (lead_time := float(first_at - committed)) > 0:
                total.lead_times.append(lead_time)
                week_leads[at_week].append(lead_time)
                if at_edge and at_week + 1 < weeks:
                    week_leads[at_week + 1].append(lead_time)
        else:
            spread.append((service, sha))
    for start in range(0, len(spread), 500):  # commits deployed in several (week, edge) groups: row by row
        detail = select(d.c.service, d.c.commit_sha, epoch(d.c.deployed_at), epoch(d.c.commit_time)).where(
            queries._in(d, queries.since), d.c.status == DeploymentStatus.SUCCESS, tuple_(d.c.service, d.c.commit_sha).in_(spread[start : start + 500]))
        groups: dict[tuple[str, str], dict[tuple[int, int], tuple[float, float | None]]] = {}
        for service, sha, at, committed in session.execute(detail):
            group = groups.setdefault((service, sha), {})
            key = placed(at)
            if (found := group.get(key)) is None:
                group[key] = (at, committed)
            else:
                known = [c for c in (found[1], committed) if c is not None]
                group[key] = (min(found[0], at), min(known) if known else None)
        for commit, group in groups.items():
            commits[commit] = [(at_week, at_edge, at, committed) for (at_week, at_edge), (at, committed) in group.items()]
    for rows in commits.values():
        groups = {(at_week, at_edge): (deployed, committed) for at_week, at_edge, deployed, committed in rows}
        # The span: the first deployment of all the commit's groups, minus the earliest known commit time (SQL's min ignores NULLs).
        known = [v[1] for v in groups.values() if v[1] is not None]
        if known and (span_lead := min(v[0] for v in groups.values()) - min(known)) > 0:
            total.lead_times.append(float(span_lead))
        # The oldest week holding a deployment counts the commit, with every deployment that week's window holds: its own rows
        # and those exactly at its end (the next week's edge rows). A commit whose oldest rows sit exactly on a week's start
        # also counts in the week before, with those rows alone (none of its rows is before that week's window).
        first = max(k for k, _ in groups)
        counted = [first, first + 1] if (first, 1) in groups and first + 1 < weeks else [first]
        for k in counted:
            inside = [groups[key] for key in ((k, 0), (k, 1), (k - 1, 1)) if key in groups]
            known = [v[1] for v in inside if v[1] is not None]  # as SQL's min, which ignores NULLs
            if known and (lead_time := min(v[0] for v in inside) - min(known)) > 0:
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

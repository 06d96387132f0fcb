"""DORA's four keys week by week (the portal's charts), from grouped queries over the same definitions as
`roadbed.metrics.dora` — and, for a window of whole weeks, the overall figures from those same queries, so the page
does not run a second full report. Kept apart from the report itself, which it builds on."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, or_, select
from sqlalchemy.orm import Session

from roadbed.domain.models import FAILED_DEPLOYMENT_STATUSES
from roadbed.metrics import dora_rollups
from roadbed.metrics.dora import _DEPLOYMENTS, _INCIDENTS, DoraScope, _DoraQueries, _Figures, _report, _service_condition
from roadbed.metrics.sql import epoch, seconds_between
from roadbed.metrics.thresholds import DEFAULT, Profile
from roadbed.storage.tables import UtcDateTime

WEEKLY_KEYS = ("deployment_frequency", "lead_time_for_changes", "change_failure_rate", "time_to_restore", "overall_tier")


def dora_weekly(session: Session, scope: DoraScope, *, now: datetime, weeks: int, profile: Profile = DEFAULT) -> list[tuple[datetime, dict[str, Any]]]:
    """The four keys week by week, oldest first: (week start, report) where each report's four keys and overall tier
    equal `dora_report(session, scope with window_days=7, now=week end)`'s. Four grouped queries over the whole span
    instead of a report per week. Windows include both ends, as dora_report's do: a deployment (or resolution)
    exactly on a week boundary counts in both weeks. Deployment counts and lead times come from the rollups
    (`roadbed.metrics.dora_rollups`), incidents from grouped queries over the whole span."""
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

    d = _DEPLOYMENTS.alias("d")
    # Counts: per week (windows include both ends, so a deployment on a boundary counts in both weeks) and over the span,
    # each from the daily rollups plus the raw rows of its partial edge days.
    for k in range(weeks):
        for service, (total_count, successful, failed) in dora_rollups.counts(session, queries.environment, queries.services, ends[k + 1], ends[k]).items():
            figures[k].deployments += total_count
            figures[k].successful += successful
            figures[k].failed += failed
            services[k].add(service)
    for service, (total_count, successful, failed) in dora_rollups.counts(session, queries.environment, queries.services, queries.since, now).items():
        total.deployments += total_count
        total.successful += successful
        total.failed += failed
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

    # Lead times: a commit counts in the week of its first successful deployment (and in the older week too when that is
    # on its start, with the deployments at that instant alone), from the per-commit rollup; its stored lead time is the
    # week's when the week holds all its successful deployments, else it is recomputed from its raw rows for that week.
    # Placed by epochs (the database's, so comparisons are exact; the epoch is strictly increasing in the timestamp).
    bounds = [float(value) for value in session.execute(select(*(epoch(literal(end, UtcDateTime())) for end in ends))).one()]
    starts = bounds[1:][::-1]  # ascending: starts[j] is the start of week weeks - 1 - j

    def add(values: list[float], lead_time: float | None) -> None:
        if lead_time is not None and lead_time > 0:
            values.append(float(lead_time))

    def place(first: float) -> tuple[int, bool]:
        """The week holding a first deployment, and whether it is on that week's start (then week k + 1 ends there)."""
        index = bisect_right(starts, first) - 1
        return weeks - 1 - index, index > 0 and first == starts[index]

    settled, later = dora_rollups.commits(session, queries.environment, queries.services, queries.since, now)
    total_leads, week_leads = total.lead_times, [entry.lead_times for entry in figures]
    for _service, first, lead_time in settled:
        if lead_time is not None and lead_time > 0:
            lead_time = float(lead_time)
            total_leads.append(lead_time)
            k, edge = place(first)
            week_leads[k].append(lead_time)
            if edge:
                week_leads[k + 1].append(lead_time)
    for service, sha, first, settled_epoch, stored in later:
        def lead_in(k: int, stored: float | None = stored, settled_epoch: float = settled_epoch, service: str = service, sha: str = sha) -> float | None:
            """The lead time in the window ending at ends[k] (k = -1: the whole span)."""
            start, end, end_epoch = (queries.since, now, bounds[0]) if k < 0 else (ends[k + 1], ends[k], bounds[k])
            return stored if settled_epoch <= end_epoch else dora_rollups.commit_lead(session, queries.environment, service, sha, start, end)

        add(total_leads, lead_in(-1))
        k, edge = place(first)
        add(week_leads[k], lead_in(k))
        if edge:
            add(week_leads[k + 1], lead_in(k + 1))

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

"""DORA's deployment counts and lead times read from the rollups (`roadbed.storage.rollups`) instead of the raw rows,
giving exactly what the raw queries of `roadbed.metrics.dora` give (tests/unit/test_dora_rollups.py compares them).

- Counts over a window `[start, end]` (both ends included): the whole UTC days inside it from `deployment_days`, the
  two partial edge days from the raw rows. A window shorter than a whole day is read raw.
- Lead times: a commit counts in the window holding its first successful deployment, i.e. the `deployment_commits`
  rows with `first_at` in the window. Its lead time there is `first - min(commit time of its deployments in the
  window)`; the stored value is that when the window ends at or after the commit's `settled_at` (always for a window
  ending now), otherwise the commit is recomputed from its raw rows (one index probe per such commit).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select, true
from sqlalchemy.orm import Session

from roadbed.domain.models import FAILED_DEPLOYMENT_STATUSES, DeploymentStatus
from roadbed.metrics.sql import epoch
from roadbed.storage.rollups import DEPLOYMENT_COMMITS, DEPLOYMENT_DAYS, day_of
from roadbed.storage.tables import DeploymentRow

_DEPLOYMENTS = DeploymentRow.__table__
Counts = dict[str, tuple[int, int, int]]


def _services(column: Any, services: list[str] | None) -> ColumnElement[bool]:
    return true() if services is None else column.in_(services)


def whole_days(start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
    """The whole UTC days `[first, last)` inside `[start, end]`, or None when there is none."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    first = midnight if midnight == start else midnight + timedelta(days=1)
    last = end.replace(hour=0, minute=0, second=0, microsecond=0)
    return (first, last) if first < last else None


def _raw_counts(session: Session, environment: str, services: list[str] | None, conditions: list[Any]) -> Iterable[Any]:
    d = _DEPLOYMENTS.alias("d")
    query = (
        select(d.c.service, func.count(), func.sum(case((d.c.status == DeploymentStatus.SUCCESS, 1), else_=0)),
               func.sum(case((d.c.status.in_(FAILED_DEPLOYMENT_STATUSES), 1), else_=0)))
        .where(d.c.environment == environment, _services(d.c.service, services), *(condition(d) for condition in conditions))
        .group_by(d.c.service)
    )
    return session.execute(query)


def counts(session: Session, environment: str, services: list[str] | None, start: datetime, end: datetime) -> Counts:
    """Per service: (deployments, successful, failed by status) deployed in `[start, end]`."""
    found: dict[str, list[int]] = {}

    def add(rows: Iterable[Any]) -> None:
        for service, total, ok, failed in rows:
            entry = found.setdefault(service, [0, 0, 0])
            entry[0] += int(total)
            entry[1] += int(ok or 0)
            entry[2] += int(failed or 0)

    days = whole_days(start, end)
    if days is None:
        add(_raw_counts(session, environment, services, [lambda d: d.c.deployed_at >= start, lambda d: d.c.deployed_at <= end]))
    else:
        first, last = days
        r = DEPLOYMENT_DAYS
        add(session.execute(
            select(r.c.service, func.sum(r.c.deployments), func.sum(r.c.successful), func.sum(r.c.failed))
            .where(r.c.environment == environment, r.c.day >= day_of(first), r.c.day < day_of(last), _services(r.c.service, services))
            .group_by(r.c.service)
        ))
        add(_raw_counts(session, environment, services, [lambda d: d.c.deployed_at >= start, lambda d: d.c.deployed_at < first]))
        add(_raw_counts(session, environment, services, [lambda d: d.c.deployed_at >= last, lambda d: d.c.deployed_at <= end]))
    return {service: (total, ok, failed) for service, (total, ok, failed) in found.items() if total}


def commit_lead(session: Session, environment: str, service: str, sha: str, start: datetime, end: datetime) -> float | None:
    """One commit's lead time in the window `[start, end]`, from its raw rows (the raw report's expression)."""
    d = _DEPLOYMENTS.alias("d")
    query = select(func.min(epoch(d.c.deployed_at)) - func.min(epoch(d.c.commit_time))).where(
        d.c.service == service, d.c.environment == environment, d.c.commit_sha == sha, d.c.status == DeploymentStatus.SUCCESS,
        d.c.deployed_at >= start, d.c.deployed_at <= end)
    return session.scalar(query)


def lead_times(session: Session, environment: str, services: list[str] | None, start: datetime, end: datetime) -> list[tuple[str, float | None]]:
    """(service, lead time) per commit first deployed successfully in `[start, end]`, as the raw query gives them."""
    c = DEPLOYMENT_COMMITS
    scope = [c.c.environment == environment, c.c.first_at >= start, c.c.first_at <= end, _services(c.c.service, services)]
    stored = session.execute(select(c.c.service, c.c.lead_seconds).where(*scope, c.c.settled_at <= end))
    found: list[tuple[str, float | None]] = [(service, lead) for service, lead in stored]
    for service, sha in session.execute(select(c.c.service, c.c.commit_sha).where(*scope, c.c.settled_at > end)):
        found.append((service, commit_lead(session, environment, service, sha, start, end)))
    return found


def commits(session: Session, environment: str, services: list[str] | None, start: datetime, end: datetime) -> tuple[list[Any], list[Any]]:
    """The commits first deployed successfully in `[start, end]` (the weekly series): (service, first_epoch, lead_seconds) of
    those whose lead time is settled at their first deployment, and (service, sha, first_epoch, settled_epoch, lead_seconds)
    of the others (a window ending before `settled_epoch` needs `commit_lead`)."""
    c = DEPLOYMENT_COMMITS
    scope = [c.c.environment == environment, c.c.first_at >= start, c.c.first_at <= end, _services(c.c.service, services)]
    settled = list(session.execute(select(c.c.service, c.c.first_epoch, c.c.lead_seconds).where(*scope, c.c.settled_at == c.c.first_at)))
    later = list(session.execute(select(c.c.service, c.c.commit_sha, c.c.first_epoch, c.c.settled_epoch, c.c.lead_seconds)
                                 .where(*scope, c.c.settled_at > c.c.first_at)))
    return settled, later

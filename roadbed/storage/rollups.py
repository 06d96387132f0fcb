"""DORA rollups (issue 15): what the reports need from a year of deployments without reading a year of deployments.

Two tables, both pure functions of the `deployments` table (migration 0019), so each row is *recomputed* from the raw rows
it summarises rather than adjusted by deltas — a re-delivered event recomputes the same row (idempotent), and
`rebuild` (`roadbed report rebuild-rollups`) is the same aggregate over everything (identical by construction):

- `deployment_days` (environment, day, service): deployments, successful ones, failed ones by status, per UTC day
  (`day` is `YYYY-MM-DD`). Counts are additive, so a window's counts are the sum over its whole days plus the raw rows
  of its two partial edge days (`roadbed.metrics.dora`).
- `deployment_commits` (environment, service, commit_sha): per commit with a successful deployment, its first successful
  deployment (`first_at`, and as `first_epoch`), `settled_at` (see `_commits`) and `lead_seconds` =
  `min(epoch(deployed_at)) - min(epoch(commit_time))` over them — the very SQL expression the raw lead-time query
  evaluates, so the float is the same bit for bit. Lead time is a median, which is not additive; one row per commit keeps
  it exact (a window reads its commits' values and takes the median; a per-day histogram would not be exact), and a
  commit counts in the window holding its first successful deployment, which is exactly the rows with `first_at` in it.
  The stored value is the window's when the window ends at or after `settled_at`; otherwise the report recomputes that
  commit from its raw rows. Epochs are stored beside the timestamps so the weekly series places commits in weeks
  without decoding timestamps (the epoch is strictly increasing in the timestamp).

Incident links (change failure rate by incident, recovery, rework) are not rolled up: incidents are few (one per
hundreds of deployments) and the link gap is a query parameter, so they are looked up raw per report.

Concurrency: on PostgreSQL the recomputation of one (service, environment) takes a transaction-scoped advisory lock
first, so two concurrent writers serialise and the second one's statements (READ COMMITTED) see the first's rows.
SQLite has one writer at a time anyway.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    case,
    delete,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement

from roadbed.domain.models import FAILED_DEPLOYMENT_STATUSES, DeploymentStatus
from roadbed.metrics.sql import epoch
from roadbed.storage.tables import DeploymentRow, UtcDateTime

metadata = MetaData()

DEPLOYMENT_DAYS = Table(
    "deployment_days",
    metadata,
    Column("environment", String(63), nullable=False),
    Column("day", String(10), nullable=False),
    Column("service", String(255), nullable=False),
    Column("deployments", Integer, nullable=False),
    Column("successful", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    PrimaryKeyConstraint("environment", "day", "service", name="pk_deployment_days"),
)

#: The commits' covering index: a window's commits are one range of it, every column the reports read included.
COMMIT_INDEX = ("environment", "first_at", "settled_at", "service", "lead_seconds", "first_epoch", "settled_epoch")

DEPLOYMENT_COMMITS = Table(
    "deployment_commits",
    metadata,
    Column("environment", String(63), nullable=False),
    Column("service", String(255), nullable=False),
    Column("commit_sha", String(100), nullable=False),
    Column("first_at", UtcDateTime(), nullable=False),
    Column("settled_at", UtcDateTime(), nullable=False),
    Column("first_epoch", Float, nullable=False),
    Column("settled_epoch", Float, nullable=False),
    Column("lead_seconds", Float, nullable=True),
    PrimaryKeyConstraint("environment", "service", "commit_sha", name="pk_deployment_commits"),
)
Index("ix_deployment_commits_first", *(DEPLOYMENT_COMMITS.c[name] for name in COMMIT_INDEX))

_D = DeploymentRow.__table__


class utc_day(FunctionElement[str]):  # noqa: N801 - reads like the SQL function it stands for
    """`utc_day(timestamp)`: its UTC date as `YYYY-MM-DD` text (the rollups' day key), as `day_of` gives it in Python."""

    type = String()
    inherit_cache = True
    name = "utc_day"


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: Any, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"  # stored as UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: utc_day, compiler: Any, **kw: Any) -> str:
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def day_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def _day_columns() -> list[Any]:
    return [func.count(), func.sum(case((_D.c.status == DeploymentStatus.SUCCESS, 1), else_=0)),
            func.sum(case((_D.c.status.in_(FAILED_DEPLOYMENT_STATUSES), 1), else_=0))]


def _commits(*conditions: Any) -> Any:
    """Per commit with a successful deployment: its row of `deployment_commits`. `settled_at` is the first successful deployment
    carrying the commit's earliest commit time (its first deployment when no commit time is known): from then on the minimum
    commit time of its deployments is the final one, so `lead_seconds` is a window's lead time when the window ends at or
    after `settled_at` (nearly always `first_at`: redeploys carry the same commit time)."""
    keys = (_D.c.service, _D.c.environment, _D.c.commit_sha)  # the order of ix_deployments_commit_status
    # One pass: each row knows its commit's earliest commit time (a window function), so no join back to the table.
    rows = (
        select(*keys, _D.c.deployed_at, _D.c.commit_time, func.min(_D.c.commit_time).over(partition_by=keys).label("committed"))
        .where(_D.c.status == DeploymentStatus.SUCCESS, *conditions)
        .subquery("r")
    )
    first = func.min(rows.c.deployed_at)
    settled = func.coalesce(func.min(case((rows.c.commit_time == rows.c.committed, rows.c.deployed_at))), first)
    return (
        select(rows.c.environment, rows.c.service, rows.c.commit_sha, first, settled, func.min(epoch(rows.c.deployed_at)), epoch(settled),
               func.min(epoch(rows.c.deployed_at)) - func.min(epoch(rows.c.commit_time)))
        .group_by(rows.c.service, rows.c.environment, rows.c.commit_sha)
    )


def _lock(session: Session, service: str, environment: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(f"deployment-rollups\x1f{service}\x1f{environment}".encode()).digest()
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int.from_bytes(digest[:8], "big", signed=True)})


def refresh(session: Session, service: str, environment: str, days: Iterable[str], shas: Iterable[str]) -> None:
    """Recompute the rollup rows of these days and commits of one service+environment from the raw deployments."""
    _lock(session, service, environment)
    days_table, commits = DEPLOYMENT_DAYS, DEPLOYMENT_COMMITS
    for day in sorted(set(days)):
        start = datetime.fromisoformat(day).replace(tzinfo=UTC)
        session.execute(delete(days_table).where(days_table.c.environment == environment, days_table.c.day == day, days_table.c.service == service))
        query = (
            select(literal(environment), literal(day), literal(service), *_day_columns())
            .where(_D.c.service == service, _D.c.environment == environment, _D.c.deployed_at >= start, _D.c.deployed_at < start + timedelta(days=1))
            .having(func.count() > 0)
        )
        session.execute(days_table.insert().from_select([c.name for c in days_table.columns], query))
    for sha in sorted(set(shas)):
        session.execute(delete(commits).where(commits.c.environment == environment, commits.c.service == service, commits.c.commit_sha == sha))
        query = _commits(_D.c.service == service, _D.c.environment == environment, _D.c.commit_sha == sha)
        session.execute(commits.insert().from_select([c.name for c in commits.columns], query))


def rebuild(session: Session) -> tuple[int, int]:
    """Recompute both tables from every deployment (migration, `roadbed report rebuild-rollups`); returns their row counts."""
    session.execute(delete(DEPLOYMENT_DAYS))
    session.execute(delete(DEPLOYMENT_COMMITS))
    day = utc_day(_D.c.deployed_at)
    days = select(_D.c.environment, day, _D.c.service, *_day_columns()).group_by(_D.c.environment, day, _D.c.service)
    session.execute(DEPLOYMENT_DAYS.insert().from_select([c.name for c in DEPLOYMENT_DAYS.columns], days))
    session.execute(DEPLOYMENT_COMMITS.insert().from_select([c.name for c in DEPLOYMENT_COMMITS.columns], _commits()))
    session.flush()
    counted = [session.scalar(select(func.count()).select_from(table)) or 0 for table in (DEPLOYMENT_DAYS, DEPLOYMENT_COMMITS)]
    return counted[0], counted[1]

"""Deployments and incidents (DORA inputs) in the engine database. Functions flush; callers commit.

Every event has an identity (`key`) with a unique constraint, and is written with an
`INSERT ... ON CONFLICT DO NOTHING` followed, when the row already existed, by a merge under a row
lock: a replayed or re-delivered event changes nothing, and two concurrent deliveries of the same event
cannot create two rows. How an existing row is merged:

- deployment: a report with a *later* `deployed_at` supersedes the stored one (a deployment that failed
  and was then re-run to success under the same id, as GitHub deployment statuses do); an equal or
  older one changes nothing (first write wins).
  Either way the DORA rollups of the deployment's day(s) and commit(s) are recomputed in the same transaction
  (`roadbed.storage.rollups`); an unchanged re-delivery leaves them as they are.
- incident, `authoritative` (our own events API): given fields replace stored ones, omitted optional
  fields (`resolved_at`, `caused_by_deployment`) are kept.
- incident, not authoritative (webhooks): only fills gaps: `opened_at` keeps the earliest, `resolved_at`
  once set is never cleared nor moved, so a late "firing" re-delivery cannot reopen a resolved incident.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from roadbed.domain.models import DeploymentStatus
from roadbed.storage import rollups
from roadbed.storage.tables import DeploymentRow, EnvironmentRow, IncidentRow

Outcome = Literal["created", "updated", "unchanged"]

#: Common spellings of environment names, mapped onto Roadbed's (`dev`, `staging`, `prod`), so that a
#: GitHub deployment to `production` counts in the default `environment=prod` report.
ENVIRONMENT_ALIASES = {
    "production": "prod",
    "prd": "prod",
    "live": "prod",
    "stage": "staging",
    "stg": "staging",
    "development": "dev",
}


def normalise_environment(name: str) -> str:
    value = name.strip().lower()
    return ENVIRONMENT_ALIASES.get(value, value)


@dataclass(frozen=True)
class DeploymentEvent:
    service: str
    environment: str
    commit_sha: str
    deployed_at: datetime
    status: DeploymentStatus
    source: str = "api"
    key: str | None = None
    commit_time: datetime | None = None
    started_at: datetime | None = None
    team: str | None = None
    version: str | None = None

    def identity(self) -> str:
        """The given id, else a digest of what makes the event itself (so id-less replays dedupe too)."""
        if self.key:
            return self.key
        basis = "\x1f".join([self.source, self.service, normalise_environment(self.environment), self.commit_sha, self.deployed_at.isoformat()])
        return f"{self.source}:sha256:{hashlib.sha256(basis.encode()).hexdigest()[:40]}"


@dataclass(frozen=True)
class IncidentEvent:
    key: str
    service: str
    opened_at: datetime
    source: str = "api"
    resolved_at: datetime | None = None
    caused_by_deployment: str | None = None
    environment: str | None = None
    title: str | None = None


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"engine database dialect {dialect!r}")


def _locked(session: Session, query: Select[Any]) -> Select[Any]:
    return query.with_for_update() if session.get_bind().dialect.name == "postgresql" else query


def record_deployment(session: Session, event: DeploymentEvent, now: datetime) -> tuple[DeploymentRow, Outcome]:
    key = event.identity()
    values = {
        "key": key,
        "source": event.source,
        "service": event.service,
        "environment": normalise_environment(event.environment),
        "team": event.team,
        "version": event.version,
        "commit_sha": event.commit_sha,
        "commit_time": event.commit_time,
        "started_at": event.started_at,
        "deployed_at": event.deployed_at,
        "status": event.status,
        "received_at": now,
    }
    inserted = session.execute(_insert(session, DeploymentRow).values(**values).on_conflict_do_nothing(index_elements=["key"]).returning(DeploymentRow.id))
    created = inserted.scalar() is not None
    row = session.scalars(_locked(session, select(DeploymentRow).where(DeploymentRow.key == key))).one()
    if created:
        rollups.refresh(session, row.service, row.environment, [rollups.day_of(row.deployed_at)], [row.commit_sha])
        return row, "created"
    if event.deployed_at <= row.deployed_at:
        return row, "unchanged"
    before_day, before_sha = rollups.day_of(row.deployed_at), row.commit_sha
    row.status = event.status
    row.deployed_at = event.deployed_at
    row.commit_sha = event.commit_sha
    row.commit_time = event.commit_time or row.commit_time
    row.started_at = event.started_at or row.started_at
    row.version = event.version or row.version
    row.team = event.team or row.team
    session.flush()
    rollups.refresh(session, row.service, row.environment, [before_day, rollups.day_of(row.deployed_at)], [before_sha, row.commit_sha])
    return row, "updated"


def record_incident(session: Session, event: IncidentEvent, now: datetime, *, authoritative: bool) -> tuple[IncidentRow, Outcome]:
    environment = normalise_environment(event.environment) if event.environment else None
    values = {
        "key": event.key,
        "source": event.source,
        "service": event.service,
        "environment": environment,
        "title": event.title,
        "opened_at": event.opened_at,
        "resolved_at": event.resolved_at,
        "caused_by_deployment": event.caused_by_deployment,
        "received_at": now,
        "updated_at": now,
    }
    inserted = session.execute(_insert(session, IncidentRow).values(**values).on_conflict_do_nothing(index_elements=["key"]).returning(IncidentRow.id))
    created = inserted.scalar() is not None
    row = session.scalars(_locked(session, select(IncidentRow).where(IncidentRow.key == event.key))).one()
    if created:
        return row, "created"
    if authoritative:
        merged = {
            "service": event.service,
            "environment": environment if environment is not None else row.environment,
            "title": event.title if event.title is not None else row.title,
            "opened_at": event.opened_at,
            "resolved_at": event.resolved_at if event.resolved_at is not None else row.resolved_at,
            "caused_by_deployment": event.caused_by_deployment if event.caused_by_deployment is not None else row.caused_by_deployment,
        }
    else:
        merged = {
            "service": row.service,
            "environment": row.environment if row.environment is not None else environment,
            "title": row.title if row.title is not None else event.title,
            "opened_at": min(row.opened_at, event.opened_at),
            "resolved_at": row.resolved_at if row.resolved_at is not None else event.resolved_at,
            "caused_by_deployment": row.caused_by_deployment if row.caused_by_deployment is not None else event.caused_by_deployment,
        }
    changed = {name: value for name, value in merged.items() if getattr(row, name) != value}
    if not changed:
        return row, "unchanged"
    for name, value in changed.items():
        setattr(row, name, value)
    row.updated_at = now
    session.flush()
    return row, "updated"


def find_incident(session: Session, key: str) -> IncidentRow | None:
    return session.scalar(select(IncidentRow).where(IncidentRow.key == key))


def find_deployment(session: Session, key: str) -> DeploymentRow | None:
    return session.scalar(select(DeploymentRow).where(DeploymentRow.key == key))


def team_services(team: str) -> Select[Any]:
    """The services of a team, as a subquery: from provisioning requests (the engine's `service` → `team`)."""
    return select(EnvironmentRow.service).where(EnvironmentRow.team == team).distinct()


def services_of_team(session: Session, team: str) -> list[str]:
    query = select(DeploymentRow.service).where(DeploymentRow.team == team).distinct()
    return sorted(set(session.scalars(team_services(team))) | set(session.scalars(query)))

"""Service ownership: a service belongs to the team that first provisioned it, until it is transferred.

Functions flush; the caller owns the transaction. A claim made by a request whose every attempt was undone
(all its environments COMPENSATED or CANCELLED) left nothing behind, so it does not keep the name from the
next team that asks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from roadbed.domain.errors import Conflict, Forbidden, NotFound
from roadbed.domain.models import EnvironmentStatus
from roadbed.rendering.catalog_entities import owner_ref
from roadbed.storage.catalog import owner_of
from roadbed.storage.tables import CatalogEntityRow, EnvironmentRow, ServiceRow

# Statuses after which nothing of an environment is left: its claim on the service name lapses.
UNDONE = (EnvironmentStatus.COMPENSATED.value, EnvironmentStatus.CANCELLED.value)
# Statuses in which a workflow is still acting on the environment: a transfer would race with it.
IN_FLIGHT = (EnvironmentStatus.PENDING_APPROVAL.value, EnvironmentStatus.RUNNING.value, EnvironmentStatus.COMPENSATING.value)


def get_service(session: Session, name: str) -> ServiceRow | None:
    return session.get(ServiceRow, name)


def require_service(session: Session, name: str) -> ServiceRow:
    row = get_service(session, name)
    if row is None:
        raise NotFound(f"service {name!r} not found")
    return row


def list_services(session: Session, team: str | None = None) -> list[ServiceRow]:
    query = select(ServiceRow).order_by(ServiceRow.name)
    if team:
        query = query.where(ServiceRow.team == team)
    return list(session.scalars(query))


def _has_lasting_environment(session: Session, service: str) -> bool:
    return bool(session.scalar(select(exists().where(EnvironmentRow.service == service, EnvironmentRow.status.not_in(UNDONE)))))


def claim(session: Session, service: str, team: str, now: datetime) -> ServiceRow:
    """Make `team` the owner of a new service, or confirm it already is; `Forbidden` when another team owns it."""
    row = get_service(session, service)
    if row is None:
        try:
            with session.begin_nested():
                row = ServiceRow(name=service, team=team, former_teams=[], created_at=now, updated_at=now)
                session.add(row)
                session.flush()
            return row
        except IntegrityError:
            row = require_service(session, service)  # another request claimed it first: judge that claim below
    if row.team == team:
        return row
    if _has_lasting_environment(session, service):
        raise Forbidden(
            f"service {service!r} belongs to team {row.team!r}: only that team (or a platform-admin acting for it) may provision "
            f"environments for it; a platform-admin can transfer it (roadbed services transfer {service} --to {team})"
        )
    row.team, row.updated_at = team, now  # the earlier claim left nothing behind
    session.flush()
    return row


def transfer(session: Session, service: str, to_team: str, now: datetime) -> ServiceRow:
    """Hand a service, its environments and its catalog entities to `to_team`; refused while a workflow is acting on it."""
    row = require_service(session, service)
    if row.team == to_team:
        return row
    busy = session.scalars(select(EnvironmentRow.id).where(EnvironmentRow.service == service, EnvironmentRow.status.in_(IN_FLIGHT))).all()
    if busy:
        raise Conflict(f"service {service!r} cannot be transferred while environments are in flight: {', '.join(busy)}")
    row.former_teams = sorted({*row.former_teams, row.team} - {to_team})
    row.team, row.updated_at = to_team, now
    session.execute(update(EnvironmentRow).where(EnvironmentRow.service == service).values(team=to_team))
    environment_ids = select(EnvironmentRow.id).where(EnvironmentRow.service == service)
    for entity in session.scalars(select(CatalogEntityRow).where(CatalogEntityRow.environment_id.in_(environment_ids))):
        body = dict(entity.body)
        body["spec"] = {**(body.get("spec") or {}), "owner": owner_ref(to_team)}
        entity.body, entity.owner, entity.updated_at = body, owner_of(body), now
    session.flush()
    return row


def teams_allowed_to_adopt(session: Session, service: str, team: str) -> frozenset[str]:
    """Teams whose repository marker `team` may adopt for `service`: its own, and the owners it took the service over from."""
    row = get_service(session, service)
    if row is None or row.team != team:
        return frozenset({team})
    return frozenset({team, *row.former_teams})

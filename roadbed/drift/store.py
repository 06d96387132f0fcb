"""Drift storage: one row per environment with its last check and its ignore rules (migration 0019)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from roadbed.drift.model import DriftStatus
from roadbed.storage.tables import Base, EnvironmentRow


class DriftRow(Base):
    __tablename__ = "environment_drift"

    environment_id: Mapped[str] = mapped_column(String(40), ForeignKey("environments.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    checked_at: Mapped[datetime | None]
    items: Mapped[list[Any]] = mapped_column(default=list)
    ignore_rules: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(String(2000))


def row_of(session: Session, environment_id: str) -> DriftRow:
    """The environment's drift row, created `unknown` (never checked) on first use."""
    row = session.get(DriftRow, environment_id)
    if row is None:
        row = DriftRow(environment_id=environment_id, status=DriftStatus.UNKNOWN.value, checked_at=None, items=[], ignore_rules=[])
        session.add(row)
        session.flush()
    return row


def view(row: DriftRow | None) -> dict[str, Any]:
    """`{"status", "checked_at", "items"}` as the API shows it (`unknown`, never checked, without a row)."""
    if row is None:
        return {"status": DriftStatus.UNKNOWN.value, "checked_at": None, "items": []}
    drift: dict[str, Any] = {"status": row.status, "checked_at": row.checked_at.isoformat() if row.checked_at else None, "items": list(row.items or [])}
    if row.error:
        drift["error"] = row.error
    return drift


def view_of(session: Session, environment_id: str) -> dict[str, Any]:
    return view(session.get(DriftRow, environment_id))


@dataclass(frozen=True)
class Listed:
    environment: EnvironmentRow
    drift: dict[str, Any]


def list_drift(session: Session, *, team: str | None, status: str | None, live: str, limit: int = 1000) -> list[Listed]:
    """Live environments (status `live`) with their drift, filtered by team and drift status; never checked = unknown."""
    query = select(EnvironmentRow, DriftRow).outerjoin(DriftRow, DriftRow.environment_id == EnvironmentRow.id).where(EnvironmentRow.status == live)
    if team is not None:
        query = query.where(EnvironmentRow.team == team)
    if status == DriftStatus.UNKNOWN.value:
        query = query.where((DriftRow.status == status) | DriftRow.status.is_(None))
    elif status is not None:
        query = query.where(DriftRow.status == status)
    rows = session.execute(query.order_by(EnvironmentRow.service, EnvironmentRow.environment).limit(limit)).all()
    return [Listed(environment, view(drift)) for environment, drift in rows]


def live_environment_ids(session: Session, *, live: str, after: str | None, limit: int) -> list[str]:
    """One page of live environment ids, in id order (the sweep pages with `after`)."""
    query = select(EnvironmentRow.id).where(EnvironmentRow.status == live)
    if after is not None:
        query = query.where(EnvironmentRow.id > after)
    return list(session.scalars(query.order_by(EnvironmentRow.id).limit(limit)))

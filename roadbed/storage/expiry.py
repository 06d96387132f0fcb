"""Ephemeral environments in the engine database: `environments.expires_at` and the environment's events.

Each write is idempotent (an activity may run twice): an event is stored once per (environment, type, time).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from roadbed.storage.tables import Base, EnvironmentRow


class EnvironmentEventRow(Base):
    """Something that happened to a live environment that is not a status change (an expiry warning, an extension)."""

    __tablename__ = "environment_events"
    __table_args__ = (
        UniqueConstraint("environment_id", "type", "at", name="uq_environment_events_once"),
        Index("ix_environment_events_environment_id", "environment_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    environment_id: Mapped[str] = mapped_column(String(40), ForeignKey("environments.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    type: Mapped[str] = mapped_column(String(24))
    message: Mapped[str] = mapped_column(Text)


def set_expires_at(session: Session, environment_id: str, expires_at: datetime) -> None:
    row = session.get(EnvironmentRow, environment_id)
    if row is not None:
        row.expires_at = expires_at


def add_event(session: Session, environment_id: str, at: datetime, event_type: str, message: str) -> None:
    """Append the event unless this exact one (same type and time) is already there."""
    exists = session.scalar(
        select(EnvironmentEventRow.id).where(
            EnvironmentEventRow.environment_id == environment_id, EnvironmentEventRow.type == event_type, EnvironmentEventRow.at == at
        )
    )
    if exists is None:
        session.add(EnvironmentEventRow(environment_id=environment_id, at=at, type=event_type, message=message))


def has_event(session: Session, environment_id: str, event_type: str) -> bool:
    query = select(EnvironmentEventRow.id).where(EnvironmentEventRow.environment_id == environment_id, EnvironmentEventRow.type == event_type)
    return session.scalar(query.limit(1)) is not None


def events_of(session: Session, environment_id: str) -> list[EnvironmentEventRow]:
    query = select(EnvironmentEventRow).where(EnvironmentEventRow.environment_id == environment_id)
    return list(session.scalars(query.order_by(EnvironmentEventRow.at, EnvironmentEventRow.id)))

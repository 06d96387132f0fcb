"""The audit log: append-only records of API mutations. Functions flush; callers commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from roadbed.storage.tables import AuditRow


def outcome_of(status: int) -> str:
    if status < 400:
        return "success"
    if status in (401, 403):
        return "denied"
    if status < 500:
        return "rejected"
    return "error"


def record(session: Session, *, at: datetime, request_id: str, actor: str | None, role: str | None, method: str, path: str, status: int) -> None:
    session.add(AuditRow(at=at, request_id=request_id, actor=actor, role=role, method=method, path=path[:500], status=status, outcome=outcome_of(status)))
    session.flush()


def entries(session: Session, *, actor: str | None = None, since: datetime | None = None, limit: int = 200) -> list[AuditRow]:
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if actor:
        query = query.where(AuditRow.actor == actor)
    if since:
        query = query.where(AuditRow.at >= since)
    return list(session.scalars(query))

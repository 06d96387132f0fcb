"""Portal storage: server-side sessions (the cookie holds only a signed session id) and the portal's list queries.

A session row names the API token it was opened with; a session is alive while the row is not ended and the
token is not revoked, so `POST /logout` and `roadbed tokens revoke` both end it on the server. Only a SHA-256 of
the session id is stored, like tokens: a copy of the database opens no browser session.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from roadbed.storage.tables import ApiTokenRow, Base, EnvironmentRow


class PortalSessionRow(Base):
    __tablename__ = "portal_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[str] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(session: Session, token_id: str, now: datetime) -> tuple[str, str]:
    """(session id for the cookie, its CSRF token)."""
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(PortalSessionRow(id_hash=_hash(session_id), token_id=token_id, csrf_token=csrf, created_at=now))
    session.flush()
    return session_id, csrf


def live_session(session: Session, session_id: str, not_before: datetime) -> tuple[PortalSessionRow, ApiTokenRow] | None:
    """The session and its token, if neither has ended (logout, revocation, age)."""
    row = session.execute(
        select(PortalSessionRow, ApiTokenRow)
        .join(ApiTokenRow, ApiTokenRow.id == PortalSessionRow.token_id)
        .where(PortalSessionRow.id_hash == _hash(session_id), PortalSessionRow.ended_at.is_(None), ApiTokenRow.revoked_at.is_(None))
    ).first()
    if row is None or row[0].created_at < not_before:
        return None
    return row[0], row[1]


def end_session(session: Session, session_id: str, now: datetime) -> bool:
    row = session.get(PortalSessionRow, _hash(session_id))
    if row is None or row.ended_at is not None:
        return False
    row.ended_at = now
    session.flush()
    return True


def page_environments(
    session: Session,
    *,
    teams: list[str] | None = None,
    team: str | None = None,
    status: list[str] | None = None,
    golden_path: str | None = None,
    environment: str | None = None,
    q: str | None = None,
    offset: int = 0,
    limit: int = 25,
) -> tuple[list[EnvironmentRow], int]:
    """One page of environments, newest first, and how many match in all (paginated in SQL)."""
    conditions: list[Any] = []
    if teams is not None:
        conditions.append(EnvironmentRow.team.in_(teams))
    if team:
        conditions.append(EnvironmentRow.team == team)
    if status:
        conditions.append(EnvironmentRow.status.in_(status))
    if golden_path:
        conditions.append(EnvironmentRow.golden_path == golden_path)
    if environment:
        conditions.append(EnvironmentRow.environment == environment)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(or_(EnvironmentRow.service.ilike(pattern, escape="\\"), EnvironmentRow.id.ilike(pattern, escape="\\")))
    total = session.scalar(select(func.count()).select_from(EnvironmentRow).where(*conditions)) or 0
    rows = session.scalars(
        select(EnvironmentRow).where(*conditions).order_by(EnvironmentRow.created_at.desc(), EnvironmentRow.id.desc()).offset(offset).limit(limit)
    )
    return list(rows), total


def services_per_golden_path(session: Session) -> dict[str, int]:
    """How many services have an environment on each golden path that is not gone."""
    gone = ("CANCELLED", "COMPENSATED", "DECOMMISSIONED")
    query = (
        select(EnvironmentRow.golden_path, func.count(func.distinct(EnvironmentRow.service)))
        .where(EnvironmentRow.status.not_in(gone))
        .group_by(EnvironmentRow.golden_path)
    )
    return {name: count for name, count in session.execute(query)}

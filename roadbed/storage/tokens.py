"""API tokens: only a SHA-256 hash is stored; the token itself is shown once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from roadbed.domain.models import Role
from roadbed.storage.tables import ApiTokenRow

TOKEN_PREFIX = "rbd_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, role: str, teams: list[str], now: datetime, description: str | None = None) -> tuple[ApiTokenRow, str]:
    """Store a new token's hash and return the row with the plain token (never stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiTokenRow(
        id="tok_" + secrets.token_hex(6),
        token_hash=hash_token(token),
        role=role,
        teams=sorted(set(teams)),
        description=description,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row, token


def find_active_token(session: Session, token: str) -> ApiTokenRow | None:
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        return None
    return row


def list_tokens(session: Session) -> list[ApiTokenRow]:
    return list(session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.created_at)))


def revoke_token(session: Session, token_id: str, now: datetime) -> bool:
    """Revoke an active token; False when there is none with that id."""
    row = session.get(ApiTokenRow, token_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    session.flush()
    return True


def get_token(session: Session, token_id: str) -> ApiTokenRow | None:
    return session.get(ApiTokenRow, token_id)


def active_admin_tokens(session: Session) -> list[ApiTokenRow]:
    """Active platform-admin tokens: bootstrapping refuses while one exists, and the last one cannot be revoked."""
    return list(session.scalars(select(ApiTokenRow).where(ApiTokenRow.role == Role.PLATFORM_ADMIN, ApiTokenRow.revoked_at.is_(None))))

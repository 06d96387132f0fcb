"""API tokens: only a SHA-256 hash is stored; the token itself is shown once."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from roadbed.domain.models import Role
from roadbed.storage.tables import ApiTokenRow

TOKEN_PREFIX = "rbd_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session,
    role: str,
    teams: list[str],
    now: datetime,
    description: str | None = None,
    service: str | None = None,
    seal: Callable[[str], str] | None = None,
) -> tuple[ApiTokenRow, str]:
    """Store a new token's hash and return the row with the plain token (never stored in clear). `service`: a deployer's
    one service; `seal`: keep the token sealed too (a pipeline token, see `create_pipeline_token`)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiTokenRow(
        id="tok_" + secrets.token_hex(6),
        token_hash=hash_token(token),
        role=role,
        teams=sorted(set(teams)),
        description=description,
        created_at=now,
        service=service,
        sealed_token=seal(token) if seal else None,
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
    row.sealed_token = None
    session.flush()
    return True


def get_token(session: Session, token_id: str) -> ApiTokenRow | None:
    return session.get(ApiTokenRow, token_id)


def active_admin_tokens(session: Session) -> list[ApiTokenRow]:
    """Active platform-admin tokens: bootstrapping refuses while one exists, and the last one cannot be revoked."""
    return list(session.scalars(select(ApiTokenRow).where(ApiTokenRow.role == Role.PLATFORM_ADMIN, ApiTokenRow.revoked_at.is_(None))))


def live_pipeline_token(session: Session, service: str) -> ApiTokenRow | None:
    """The service's live deployer token that provisioning handed to its pipeline (one at most: a partial unique index)."""
    return session.scalar(
        select(ApiTokenRow).where(
            ApiTokenRow.role == Role.DEPLOYER, ApiTokenRow.service == service, ApiTokenRow.sealed_token.is_not(None), ApiTokenRow.revoked_at.is_(None)
        )
    )


def create_pipeline_token(session: Session, service: str, now: datetime, description: str, seal: Callable[[str], str]) -> tuple[ApiTokenRow, str]:
    """Mint the service's pipeline token and keep it sealed (`seal`), so it can be set again; a concurrent mint of the
    same service fails at flush on the unique index (`IntegrityError`): the caller then reads the winner's."""
    return create_token(session, Role.DEPLOYER.value, [], now, description, service=service, seal=seal)


def revoke_deploy_tokens(session: Session, service: str, now: datetime) -> list[str]:
    """Revoke every live deployer token of `service` (its pipeline can no longer deploy); returns their ids."""
    rows = list(
        session.scalars(
            select(ApiTokenRow).where(ApiTokenRow.role == Role.DEPLOYER, ApiTokenRow.service == service, ApiTokenRow.revoked_at.is_(None))
        )
    )
    for row in rows:
        row.revoked_at = now
        row.sealed_token = None  # a revoked token's sealed copy has no use left
    session.flush()
    return [row.id for row in rows]


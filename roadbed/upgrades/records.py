"""The upgrades table: one row per service and target version until it is merged or closed.

Asking for the same upgrade again (same service, same version) while it is neither MERGED nor CLOSED hands back
the same row, and so the same id and branch: the unique `open_key` decides, so two replicas asking at once agree.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from roadbed.domain.errors import Conflict, NotFound
from roadbed.storage.database import Database
from roadbed.upgrades.tables import UpgradeRow

PENDING, OPEN, MERGED, CLOSED, FAILED = "PENDING", "OPEN", "MERGED", "CLOSED", "FAILED"
FINISHED = frozenset({MERGED, CLOSED})


def open_key(service: str, to_version: str) -> str:
    return f"{service}/{to_version}"


def open_or_existing(database: Database, values: dict[str, Any], now: datetime) -> tuple[UpgradeRow, bool]:
    """The open upgrade of `service` to `to_version`, created when there is none; (row, created)."""
    key = open_key(values["service"], values["to_version"])
    with database.transaction() as session:
        existing = session.scalar(select(UpgradeRow).where(UpgradeRow.open_key == key))
        if existing is not None:
            return existing, False
    try:
        with database.transaction() as session:
            row = UpgradeRow(id=f"upg_{uuid.uuid4().hex[:20]}", open_key=key, status=PENDING, created_at=now, updated_at=now, **values)
            session.add(row)
        return row, True
    except IntegrityError:  # another replica created it meanwhile
        with database.transaction() as session:
            return session.scalars(select(UpgradeRow).where(UpgradeRow.open_key == key)).one(), False


def require(session: Session, upgrade_id: str) -> UpgradeRow:
    row = session.get(UpgradeRow, upgrade_id)
    if row is None:
        raise NotFound(f"upgrade {upgrade_id!r} not found")
    return row


def record_branch(
    database: Database, upgrade_id: str, files: list[dict[str, str]], parameters: dict[str, Any], now: datetime, *, pull_request_url: str | None = None
) -> None:
    with database.transaction() as session:
        row = require(session, upgrade_id)
        if row.status not in FINISHED:
            row.status, row.files, row.parameters, row.error, row.updated_at = OPEN, files, parameters, None, now
            row.pull_request_url = pull_request_url or row.pull_request_url


def record_failure(database: Database, upgrade_id: str, error: str, now: datetime) -> None:
    with database.transaction() as session:
        row = require(session, upgrade_id)
        if row.status not in FINISHED:
            row.status, row.error, row.updated_at = FAILED, error[:2000], now


def mark_merged(session: Session, upgrade_id: str, now: datetime) -> UpgradeRow:
    """MERGED: the service is on `to_version` from now on (the next upgrade's base). Only an OPEN upgrade merges;
    asked again once merged, the same answer."""
    row = require(session, upgrade_id)
    if row.status == MERGED:
        return row
    if row.status != OPEN:
        raise Conflict(f"upgrade {upgrade_id} is {row.status}; only an OPEN upgrade (its branch written) can be merged")
    row.status, row.open_key, row.updated_at = MERGED, None, now
    return row

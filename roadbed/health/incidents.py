"""Incidents: Roadbed's own records (PagerDuty and Alertmanager webhooks, the events API) for the environment.

An incident names its environment, or none ("whichever is being reported", as most incident tools know only the
service): both count here, like in the DORA report. Any open incident is failing; otherwise ok, with the recent
ones (resolved within `RECENT_DAYS`) and their median time to restore as figures. Always configured: the
records are in the engine database.
"""

from __future__ import annotations

import asyncio
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from roadbed.health.model import HealthStatus, SourceSection
from roadbed.health.port import HealthTarget, section
from roadbed.storage.database import Database
from roadbed.storage.tables import IncidentRow

RECENT_DAYS = 30
SHOWN = 5


class IncidentsHealth:
    name = "incidents"

    def __init__(self, database: Database) -> None:
        self.database = database

    @property
    def configured(self) -> bool:
        return True

    async def check(self, target: HealthTarget) -> SourceSection:
        return await asyncio.to_thread(self._read, target, datetime.now(UTC))

    def _read(self, target: HealthTarget, now: datetime) -> SourceSection:
        since = now - timedelta(days=RECENT_DAYS)
        query = (
            select(IncidentRow)
            .where(IncidentRow.service == target.service)
            .where(or_(IncidentRow.environment == target.environment, IncidentRow.environment.is_(None)))
            .where(or_(IncidentRow.resolved_at.is_(None), IncidentRow.resolved_at >= since))
            .order_by(IncidentRow.opened_at.desc())
        )
        with self.database.transaction() as session:
            rows = list(session.scalars(query))
        open_rows = [row for row in rows if row.resolved_at is None]
        resolved = [row for row in rows if row.resolved_at is not None]
        restores = [(_utc(row.resolved_at) - _utc(row.opened_at)).total_seconds() / 3600 for row in resolved if row.resolved_at]
        figures: dict[str, Any] = {
            "open": len(open_rows),
            "resolved_recently": len(resolved),
            "recent_days": RECENT_DAYS,
            "median_time_to_restore_hours": round(statistics.median(restores), 2) if restores else None,
            "open_incidents": [_view(row, now) for row in open_rows[:SHOWN]],
            "recent_incidents": [_view(row, now) for row in resolved[:SHOWN]],
        }
        if open_rows:
            oldest = max(open_rows, key=lambda row: now - _utc(row.opened_at))
            age = (now - _utc(oldest.opened_at)).total_seconds() / 3600
            plural = "s" if len(open_rows) > 1 else ""
            return section(HealthStatus.FAILING, reason=f"{len(open_rows)} open incident{plural}, the oldest opened {age:.1f} h ago", **figures)
        return section(HealthStatus.OK, **figures)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _view(row: IncidentRow, now: datetime) -> dict[str, Any]:
    opened = _utc(row.opened_at)
    restore = (_utc(row.resolved_at) - opened).total_seconds() / 3600 if row.resolved_at else None
    return {
        "key": row.key, "source": row.source, "title": row.title, "opened_at": opened.isoformat(),
        "resolved_at": _utc(row.resolved_at).isoformat() if row.resolved_at else None,
        "age_hours": round((now - opened).total_seconds() / 3600, 2), "time_to_restore_hours": None if restore is None else round(restore, 2),
    }

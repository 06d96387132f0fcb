"""Time-to-environment: ready − requested, over successful runs only; failures counted apart.

`ready_at` is kept when an environment is later decommissioned, so its provisioning still counts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from roadbed.domain.models import EnvironmentStatus
from roadbed.metrics.percentiles import percentile
from roadbed.storage.tables import EnvironmentRow

FAILED_STATUSES = (EnvironmentStatus.FAILED.value, EnvironmentStatus.COMPENSATED.value)
_READY = EnvironmentRow.ready_at.is_not(None)


def _summary(durations: list[float], failures: int) -> dict[str, Any]:
    return {
        "count": len(durations),
        "failed": failures,
        "p50_seconds": percentile(durations, 50),
        "p90_seconds": percentile(durations, 90),
        "p99_seconds": percentile(durations, 99),
    }


def time_to_environment(session: Session, *, now: datetime, window_days: int, golden_path: str | None = None, environment: str | None = None) -> dict[str, Any]:
    since = now - timedelta(days=window_days)
    query = select(
        EnvironmentRow.golden_path, EnvironmentRow.environment, EnvironmentRow.created_at, EnvironmentRow.ready_at
    ).where(
        or_(
            and_(_READY, EnvironmentRow.ready_at >= since),
            and_(~_READY, EnvironmentRow.finished_at >= since, EnvironmentRow.status.in_(FAILED_STATUSES)),
        )
    )
    if golden_path:
        query = query.where(EnvironmentRow.golden_path == golden_path)
    if environment:
        query = query.where(EnvironmentRow.environment == environment)
    durations: list[float] = []
    failures = 0
    by_path: dict[str, list[float]] = defaultdict(list)
    by_env: dict[str, list[float]] = defaultdict(list)
    failed_by_path: dict[str, int] = defaultdict(int)
    failed_by_env: dict[str, int] = defaultdict(int)
    for path, env, created, ready in session.execute(query):
        if ready is None:
            failures += 1
            failed_by_path[path] += 1
            failed_by_env[env] += 1
            continue
        seconds = (ready - created).total_seconds()
        durations.append(seconds)
        by_path[path].append(seconds)
        by_env[env].append(seconds)
    return {
        **_summary(durations, failures),
        "window_days": window_days,
        "by_golden_path": {p: _summary(by_path[p], failed_by_path[p]) for p in sorted(set(by_path) | set(failed_by_path))},
        "by_environment": {e: _summary(by_env[e], failed_by_env[e]) for e in sorted(set(by_env) | set(failed_by_env))},
    }

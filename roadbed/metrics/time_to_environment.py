"""Time-to-environment: ready − requested, over successful runs only; failures counted apart."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from roadbed.domain.models import EnvironmentStatus
from roadbed.metrics.percentiles import percentile
from roadbed.storage.tables import EnvironmentRow

FAILED_STATUSES = (EnvironmentStatus.FAILED.value, EnvironmentStatus.COMPENSATED.value)


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
        EnvironmentRow.golden_path, EnvironmentRow.environment, EnvironmentRow.status, EnvironmentRow.created_at, EnvironmentRow.finished_at
    ).where(EnvironmentRow.finished_at >= since, EnvironmentRow.status.in_([EnvironmentStatus.SUCCEEDED.value, *FAILED_STATUSES]))
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
    for path, env, status, created, finished in session.execute(query):
        if status != EnvironmentStatus.SUCCEEDED.value:
            failures += 1
            failed_by_path[path] += 1
            failed_by_env[env] += 1
            continue
        seconds = (finished - created).total_seconds()
        durations.append(seconds)
        by_path[path].append(seconds)
        by_env[env].append(seconds)
    return {
        **_summary(durations, failures),
        "window_days": window_days,
        "by_golden_path": {p: _summary(by_path[p], failed_by_path[p]) for p in sorted(set(by_path) | set(failed_by_path))},
        "by_environment": {e: _summary(by_env[e], failed_by_env[e]) for e in sorted(set(by_env) | set(failed_by_env))},
    }

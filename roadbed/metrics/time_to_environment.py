"""Time-to-environment over successful runs, with failures counted apart, split into what the platform and a human spent.

A production request waits for a platform-admin's approval before any step runs. Counting that wait as
time-to-environment made the platform look hours slow whenever an approver was at lunch, so each run is split:

- provisioning (the headline `p50_seconds`/`p90_seconds`/`p99_seconds`, `"measures": "provisioning"`):
  ready − approved for runs that waited for approval, ready − requested for the others;
- `approval_wait`: approved − requested, over the runs that waited (its own `count`);
- `total`: ready − requested, over every successful run (DESIGN.md's original definition).

"Approved" is `approved_at` (set when the status left PENDING_APPROVAL for RUNNING); rows from before that column
fall back to their validate step's start, which the workflow reaches right after the approval. The same split is
made per golden path and per environment. `ready_at` is kept when an environment is later decommissioned, so its
provisioning still counts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from roadbed.domain.models import EnvironmentStatus, StepName
from roadbed.metrics.percentiles import percentile
from roadbed.storage.tables import EnvironmentRow, StepRow

FAILED_STATUSES = (EnvironmentStatus.FAILED.value, EnvironmentStatus.COMPENSATED.value)
_READY = EnvironmentRow.ready_at.is_not(None)


def _percentiles(durations: list[float]) -> dict[str, Any]:
    return {
        "count": len(durations),
        "sum_seconds": sum(durations),
        "p50_seconds": percentile(durations, 50),
        "p90_seconds": percentile(durations, 90),
        "p99_seconds": percentile(durations, 99),
    }


@dataclass
class _Group:
    provisioning: list[float] = field(default_factory=list)
    approval_wait: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    failed: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            **_percentiles(self.provisioning),
            "failed": self.failed,
            "approval_wait": _percentiles(self.approval_wait),
            "total": _percentiles(self.total),
        }


def approval_time(
    created: datetime, ready: datetime, approved_at: datetime | None, provision_input: dict[str, Any] | None, validate_started: datetime | None
) -> datetime | None:
    """When the run's approval took effect, None for runs that needed none; kept within [requested, ready]."""
    approved = approved_at
    if approved is None and (provision_input or {}).get("requires_approval"):
        approved = validate_started
    if approved is None:
        return None
    return min(max(approved, created), ready)


def time_to_environment(session: Session, *, now: datetime, window_days: int, golden_path: str | None = None, environment: str | None = None) -> dict[str, Any]:
    since = now - timedelta(days=window_days)
    validate = StepRow.__table__.alias("validate_step")
    query = (
        select(
            EnvironmentRow.golden_path,
            EnvironmentRow.environment,
            EnvironmentRow.created_at,
            EnvironmentRow.ready_at,
            EnvironmentRow.approved_at,
            EnvironmentRow.provision_input,
            validate.c.started_at,
        )
        .select_from(
            EnvironmentRow.__table__.outerjoin(validate, and_(validate.c.environment_id == EnvironmentRow.id, validate.c.name == StepName.VALIDATE.value))
        )
        .where(
            or_(
                and_(_READY, EnvironmentRow.ready_at >= since),
                and_(~_READY, EnvironmentRow.finished_at >= since, EnvironmentRow.status.in_(FAILED_STATUSES)),
            )
        )
    )
    if golden_path:
        query = query.where(EnvironmentRow.golden_path == golden_path)
    if environment:
        query = query.where(EnvironmentRow.environment == environment)
    overall = _Group()
    by_path: dict[str, _Group] = defaultdict(_Group)
    by_env: dict[str, _Group] = defaultdict(_Group)
    for path, env, created, ready, approved_at, provision_input, validate_started in session.execute(query):
        groups = (overall, by_path[path], by_env[env])
        if ready is None:
            for group in groups:
                group.failed += 1
            continue
        approved = approval_time(created, ready, approved_at, provision_input, validate_started)
        for group in groups:
            group.total.append((ready - created).total_seconds())
            group.provisioning.append((ready - (approved or created)).total_seconds())
            if approved is not None:
                group.approval_wait.append((approved - created).total_seconds())
    return {
        **overall.summary(),
        "measures": "provisioning",
        "window_days": window_days,
        "by_golden_path": {p: by_path[p].summary() for p in sorted(by_path)},
        "by_environment": {e: by_env[e].summary() for e in sorted(by_env)},
    }

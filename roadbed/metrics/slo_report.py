"""The platform's own SLOs, from recorded provisioning runs (DESIGN.md, "Platform SLO").

SLOs are data (`PLATFORM_SLOS`):

- `provisioning-success`, objective 99.9 %: a run is *good* when its environment became ready
  (`ready_at` set, kept after a later decommission) and *bad* when it ended `COMPENSATED` or `FAILED`
  without becoming ready for a platform reason. Excluded: user errors — `error_class` in
  `USER_ERROR_CLASSES` (invalid requests, unknown golden path, conflicts, approvals that timed out) —
  cancellations (`CANCELLED`), and runs still in progress. A broken golden path (`ConfigurationError`)
  or a failing step is the platform's fault and counts.
- `time-to-environment`, objective 99 %: of the successful runs, those ready within 60 s of the request
  are good. For runs that waited for a production approval the clock starts when the `validate` step
  started (after the approval), so a human's wait does not burn the platform's budget.

Per SLO over `window_days` (default 28): `sli` = good ÷ (good + bad) (null without events); error
budget B = 1 − objective; observed error rate E = 1 − sli; `error_budget_remaining` = 1 − E/B (negative
once overspent); `burn_rate` over 1h, 6h, 1d and 3d = E(w)/B (null for a window without events), each
compared with Sloth's multi-window factor for the period (`roadbed.rendering.monitoring.burn_rate_windows`:
14.4/6/3/1 for 30 days, 13.44/5.6/2.8/0.933 for 28 days).

`status`: `exhausted` when the remaining budget is <= 0; `at_risk` when less than 25 % of the budget
remains or any window burns at or above its factor (an alert would fire); `ok` otherwise.
Events are bucketed by when the run ended (ready or failed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, Literal

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from roadbed.domain.models import EnvironmentStatus, StepName
from roadbed.metrics.time_to_environment import approval_time
from roadbed.rendering.monitoring import burn_rate_windows
from roadbed.storage.tables import EnvironmentRow, StepRow

USER_ERROR_CLASSES = frozenset({"InvalidRequest", "ValidationError", "NotFound", "Conflict", "ApprovalTimedOut", "Cancelled"})
AT_RISK_BUDGET_REMAINING = 0.25
_FAILED = (EnvironmentStatus.COMPENSATED.value, EnvironmentStatus.FAILED.value)
_WINDOW_HOURS = {"1h": 1, "6h": 6, "1d": 24, "3d": 72}


@dataclass(frozen=True)
class PlatformSlo:
    name: str
    description: str
    objective: Fraction
    sli: Literal["provisioning_success", "time_to_environment"]
    threshold_seconds: float | None = None


PLATFORM_SLOS: tuple[PlatformSlo, ...] = (
    PlatformSlo(
        "provisioning-success",
        "provisioning runs that do not fail for a platform reason (user errors and cancellations excluded)",
        Fraction(999, 1000),
        "provisioning_success",
    ),
    PlatformSlo(
        "time-to-environment",
        "successful provisioning runs ready within 60 s of the request (approval waits excluded)",
        Fraction(99, 100),
        "time_to_environment",
        threshold_seconds=60.0,
    ),
)


@dataclass(frozen=True)
class _Run:
    ended_at: datetime
    ready: bool
    latency_seconds: float | None


def is_user_error(error: dict[str, Any] | None) -> bool:
    return bool(error) and str(error.get("error_class")) in USER_ERROR_CLASSES  # type: ignore[union-attr]


def _runs(session: Session, since: datetime, now: datetime) -> list[_Run]:
    validate = StepRow.__table__.alias("validate_step")
    query = (
        select(
            EnvironmentRow.status,
            EnvironmentRow.created_at,
            EnvironmentRow.ready_at,
            EnvironmentRow.finished_at,
            EnvironmentRow.approved_at,
            EnvironmentRow.error,
            EnvironmentRow.provision_input,
            validate.c.started_at,
        )
        .select_from(
            EnvironmentRow.__table__.outerjoin(validate, and_(validate.c.environment_id == EnvironmentRow.id, validate.c.name == StepName.VALIDATE.value))
        )
        .where(
            or_(
                and_(EnvironmentRow.ready_at.is_not(None), EnvironmentRow.ready_at >= since, EnvironmentRow.ready_at <= now),
                and_(
                    EnvironmentRow.ready_at.is_(None),
                    EnvironmentRow.status.in_(_FAILED),
                    EnvironmentRow.finished_at >= since,
                    EnvironmentRow.finished_at <= now,
                ),
            )
        )
    )
    runs = []
    for status, created_at, ready_at, finished_at, approved_at, error, provision_input, validate_started in session.execute(query):
        if ready_at is not None:
            start = approval_time(created_at, ready_at, approved_at, provision_input, validate_started) or created_at  # the TTE report's rule
            runs.append(_Run(ready_at, True, (ready_at - start).total_seconds()))
        elif status in _FAILED and finished_at is not None and not is_user_error(error):
            runs.append(_Run(finished_at, False, None))
    return runs


def _ratio(good: int, bad: int) -> Fraction | None:
    return Fraction(good, good + bad) if good + bad else None


def _evaluate(slo: PlatformSlo, runs: list[_Run], now: datetime, window_days: int) -> dict[str, Any]:
    def counts(since: datetime) -> tuple[int, int]:
        good = bad = 0
        for run in runs:
            if run.ended_at < since:
                continue
            if slo.sli == "provisioning_success":
                good, bad = (good + 1, bad) if run.ready else (good, bad + 1)
            elif run.ready and run.latency_seconds is not None:
                within = run.latency_seconds <= (slo.threshold_seconds or 0)
                good, bad = (good + 1, bad) if within else (good, bad + 1)
        return good, bad

    budget = 1 - slo.objective
    good, bad = counts(now - timedelta(days=window_days))
    sli = _ratio(good, bad)
    remaining = 1 - (1 - sli) / budget if sli is not None else None
    factors = {window.long_window: window.factor for window in burn_rate_windows(window_days)}
    burn_rates: dict[str, float | None] = {}
    alerting = []
    for label, hours in _WINDOW_HOURS.items():
        window_sli = _ratio(*counts(now - timedelta(hours=hours)))
        rate = (1 - window_sli) / budget if window_sli is not None else None
        burn_rates[label] = float(rate) if rate is not None else None
        if rate is not None and rate >= Fraction(factors[label]).limit_denominator(10_000):
            alerting.append(label)
    if remaining is not None and remaining <= 0:
        status = "exhausted"
    elif (remaining is not None and remaining < AT_RISK_BUDGET_REMAINING) or alerting:
        status = "at_risk"
    else:
        status = "ok"
    result: dict[str, Any] = {
        "name": slo.name,
        "description": slo.description,
        "objective": float(slo.objective),
        "sli": float(sli) if sli is not None else None,
        "error_budget": float(budget),
        "error_budget_remaining": float(remaining) if remaining is not None else None,
        "burn_rate": burn_rates,
        "burn_rate_thresholds": {label: factors[label] for label in _WINDOW_HOURS},
        "alerting_windows": alerting,
        "status": status,
        "good_events": good,
        "bad_events": bad,
    }
    if slo.threshold_seconds is not None:
        result["threshold_seconds"] = slo.threshold_seconds
    return result


def slo_report(session: Session, *, now: datetime, window_days: int = 28) -> dict[str, Any]:
    runs = _runs(session, now - timedelta(days=window_days), now)
    return {
        "window_days": window_days,
        "generated_at": now.isoformat(),
        "slos": [_evaluate(slo, runs, now, window_days) for slo in PLATFORM_SLOS],
    }

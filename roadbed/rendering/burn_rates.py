"""Sloth's multi-window multi-burn-rate maths: which windows an SLO alert reads and at what factor.

An alert fires only when the error ratio is above `factor * error_budget` over a long window *and* a short
window (Google SRE workbook, "Alerting on SLOs") — the long window proves the burn is significant, the short
one that it is still going on, so alerts both fire fast and reset fast. The factors are derived from the
fraction of the budget each alert may consume, never tabulated per SLO period, so 7..90-day periods all come
out right. Pure numbers: the rule, dashboard and SLO-report code all read them from here.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict

from roadbed.domain.specs import SLO_WINDOW_DAYS_MAX, SLO_WINDOW_DAYS_MIN, SloTarget

Severity = Literal["page", "ticket"]


class BurnRateWindow(BaseModel):
    """One multi-window alert condition: error ratio above `factor * budget` over both windows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    severity: Severity
    long_window: str
    short_window: str
    factor: float


# Sloth's (and the SRE workbook's) recommended windows: the share of the whole period's error budget that
# may be consumed within the long window before the alert fires. Exact fractions keep 14.4 exactly 14.4.
_BUDGET_CONSUMPTION: tuple[tuple[Severity, str, str, Fraction], ...] = (
    ("page", "1h", "5m", Fraction(2, 100)),
    ("page", "6h", "30m", Fraction(5, 100)),
    ("ticket", "1d", "2h", Fraction(10, 100)),
    ("ticket", "3d", "6h", Fraction(10, 100)),
)

_DURATION_HOURS = {"m": Fraction(1, 60), "h": Fraction(1), "d": Fraction(24)}


def hours(duration: str) -> Fraction:
    """Hours in a Prometheus duration of one unit (`5m`, `6h`, `3d`) — all the monitoring renderers use."""
    return int(duration[:-1]) * _DURATION_HOURS[duration[-1]]


def exact_windows(window_days: int) -> list[tuple[Severity, str, str, Fraction]]:
    """Burn-rate factors as exact fractions, so thresholds are computed without float drift."""
    if not SLO_WINDOW_DAYS_MIN <= window_days <= SLO_WINDOW_DAYS_MAX:
        raise ValueError(f"window_days must be within {SLO_WINDOW_DAYS_MIN}..{SLO_WINDOW_DAYS_MAX}, got {window_days}")
    period_hours = Fraction(window_days * 24)
    return [
        (severity, long_window, short_window, consumed * period_hours / hours(long_window))
        for severity, long_window, short_window, consumed in _BUDGET_CONSUMPTION
    ]


def burn_rate_windows(window_days: int) -> list[BurnRateWindow]:
    """The four multi-window alert conditions for an SLO period of `window_days`.

    factor = budget fraction consumed x period / long window: burning at that rate for the whole long
    window spends exactly that fraction of the period's budget (30 d: 14.4, 6, 3, 1; 28 d: 13.44, 5.6, 2.8, 0.93).
    """
    return [
        BurnRateWindow(severity=severity, long_window=long_window, short_window=short_window, factor=float(factor))
        for severity, long_window, short_window, factor in exact_windows(window_days)
    ]


def sli_windows(windows: list[BurnRateWindow]) -> list[str]:
    """Every window an alert reads, shortest first (5m, 30m, 1h, 2h, 6h, 1d, 3d)."""
    seen = {w for window in windows for w in (window.short_window, window.long_window)}
    return sorted(seen, key=hours)


def error_budget(slo: SloTarget) -> Fraction:
    """1 - objective as a ratio; via the decimal text so 99.9 gives exactly 1/1000."""
    return objective_budget(slo.availability)


def objective_budget(objective_percent: float) -> Fraction:
    """1 - objective for an objective in percent (a `SloTarget.availability` or a Sloth `objective`)."""
    return (100 - Fraction(repr(objective_percent))) / 100


def promql_number(value: Fraction) -> str:
    """A PromQL number literal: the shortest float text (e.g. `0.0144`, `1e-05`), both valid PromQL."""
    return repr(float(value))

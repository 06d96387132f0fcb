"""Prometheus: the SLO's error budget left and its 1 h / 6 h burn rates, from the rules Roadbed generated.

Reads the recorded error ratios (`slo:sli_error:ratio_rate<window>` with the SLO's `slo_*` labels, named in
`roadbed.rendering.slo_queries`) through the HTTP query API and divides by the SLO's error budget, so the figures
are the ones the dashboard and the burn-rate alerts see. Failing when a page alert's threshold is crossed
(1 h at its factor, 14.4 for 30 days; 6 h at its, 6) or the budget is spent; degraded when the 6 h burn is at or
above 1 (the budget would not last the period) or less than a quarter of it is left.
"""

from __future__ import annotations

import math
from urllib.parse import urlencode

from roadbed.domain.specs import SloTarget
from roadbed.health.http import JsonHttp, field
from roadbed.health.model import HealthStatus, SourceSection
from roadbed.health.port import HealthTarget, SourceError, section
from roadbed.rendering.burn_rates import burn_rate_windows, error_budget
from roadbed.rendering.slo_queries import JOBS_SLO_NAME, SLO_NAME, error_ratio_record, selector, slo_labels, window_days_text

SYSTEM = "Prometheus"
LOW_BUDGET = 0.25


def recorded_ratio(service: str, environment: str, slo: SloTarget, window: str) -> str:
    """The PromQL of one recorded error ratio of the service environment's SLO."""
    labels = slo_labels(service, environment, JOBS_SLO_NAME if slo.sli == "jobs" else SLO_NAME)
    return f"{error_ratio_record(window)}{{{selector(labels)}}}"


class PrometheusHealth:
    name = "prometheus"

    def __init__(self, url: str | None, *, timeout: float) -> None:
        self.url = (url or "").rstrip("/")
        self.http = JsonHttp(SYSTEM, self.url, timeout=timeout) if url else None

    @property
    def configured(self) -> bool:
        return self.http is not None

    async def check(self, target: HealthTarget) -> SourceSection:
        assert self.http is not None
        slo = target.slo
        if slo is None:
            return section(HealthStatus.NOT_CONFIGURED, reason="the environment's golden path declares no SLO")
        period = window_days_text(slo.window_days)
        windows = ("1h", "6h", period)
        # One round trip: the three recorded series differ in `slo_window`, so `or` keeps all three.
        query = " or ".join(recorded_ratio(target.service, target.environment, slo, window) for window in windows)
        link = f"{self.url}/graph?{urlencode({'g0.expr': recorded_ratio(target.service, target.environment, slo, period), 'g0.tab': '1'})}"
        ratios = await self._ratios(query, windows)
        budget = float(error_budget(slo))
        burn_1h = None if ratios["1h"] is None else ratios["1h"] / budget
        burn_6h = None if ratios["6h"] is None else ratios["6h"] / budget
        remaining = None if ratios[period] is None else 1 - ratios[period] / budget
        figures = {
            "slo_objective": slo.availability,
            "slo_window_days": slo.window_days,
            "error_budget_remaining": _rounded(remaining),
            "burn_rate_1h": _rounded(burn_1h),
            "burn_rate_6h": _rounded(burn_6h),
        }
        if burn_1h is None and burn_6h is None and remaining is None:
            return section(HealthStatus.UNKNOWN, url=link, reason=f"no recorded series {error_ratio_record(period)} for this SLO yet", **figures)
        factors = {w.long_window: w.factor for w in burn_rate_windows(slo.window_days) if w.severity == "page"}
        problems: list[str] = []
        if burn_1h is not None and burn_1h >= factors["1h"]:
            problems.append(f"1 h burn rate {burn_1h:.1f} at or above {factors['1h']:g}")
        if burn_6h is not None and burn_6h >= factors["6h"]:
            problems.append(f"6 h burn rate {burn_6h:.1f} at or above {factors['6h']:g}")
        if remaining is not None and remaining <= 0:
            problems.append("error budget spent")
        if problems:
            return section(HealthStatus.FAILING, url=link, reason="; ".join(problems), **figures)
        if burn_6h is not None and burn_6h >= 1:
            problems.append(f"6 h burn rate {burn_6h:.2f}: the budget would not last the period")
        if remaining is not None and remaining < LOW_BUDGET:
            problems.append(f"{remaining:.0%} of the error budget left")
        return section(HealthStatus.DEGRADED if problems else HealthStatus.OK, url=link, reason="; ".join(problems) or None, **figures)

    async def _ratios(self, query: str, windows: tuple[str, ...]) -> dict[str, float | None]:
        """Each window's ratio from an instant vector query; None when absent or NaN (no traffic: 0/0)."""
        assert self.http is not None
        data = await self.http.get("/api/v1/query", {"query": query})
        if field(data, "status", kind=str, system=SYSTEM) != "success":
            raise SourceError(f"Prometheus answered status {data['status']!r}: {data.get('error', '')}")
        if field(data, "data", "resultType", kind=str, system=SYSTEM) != "vector":
            raise SourceError(f"Prometheus answered a {data['data']['resultType']}, not a vector")
        ratios: dict[str, float | None] = dict.fromkeys(windows)
        for sample in field(data, "data", "result", kind=list, system=SYSTEM):
            window = field(sample, "metric", kind=dict, system=SYSTEM).get("slo_window")
            raw = field(sample, "value", 1, kind=str, system=SYSTEM)
            try:
                value = float(raw)
            except ValueError:
                raise SourceError(f"Prometheus answered a sample that is not a number: {raw[:40]!r}") from None
            if window in ratios:
                ratios[window] = None if math.isnan(value) else value
        return ratios


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)

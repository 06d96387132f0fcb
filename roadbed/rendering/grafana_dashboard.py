"""Grafana dashboard of a service environment's SLO: SLI, error budget left, burn rate, traffic and latency.

Grafana's dashboard JSON (schemaVersion 39), built as plain data and written with `json.dumps`. Every query
reads the series the rule file records (`slo_queries`), so the panels show exactly what the alerts judge.
The uid is stable per service and environment: re-rendering updates the same dashboard instead of adding one.
"""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from typing import Any, Literal

from roadbed.domain.specs import MonitoringSpec
from roadbed.rendering.burn_rates import burn_rate_windows, error_budget, promql_number
from roadbed.rendering.slo_queries import RATE_WINDOW, SloQueries, window_days_text


def dashboard_uid(service: str, environment: str) -> str:
    """A stable Grafana uid (<= 40 chars): re-rendering updates the same dashboard instead of adding one.

    Hashing the JSON pair, not `service-environment`, keeps `a-b`/`c` and `a`/`b-c` apart.
    """
    digest = hashlib.sha256(json.dumps([service, environment]).encode()).hexdigest()
    return f"rb-{digest[:32]}"


_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def _panel(
    panel_id: int,
    title: str,
    panel_type: Literal["stat", "timeseries"],
    grid: tuple[int, int, int, int],
    targets: list[tuple[str, str]],
    unit: str,
    thresholds: list[dict[str, Any]] | None = None,
    description: str = "",
) -> dict[str, Any]:
    x, y, w, h = grid
    defaults: dict[str, Any] = {"unit": unit}
    if thresholds is not None:
        defaults["thresholds"] = {"mode": "absolute", "steps": thresholds}
        if panel_type == "timeseries":
            defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    return {
        "id": panel_id,
        "type": panel_type,
        "title": title,
        "description": description,
        "datasource": _DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
        if panel_type == "stat"
        else {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}, "tooltip": {"mode": "multi"}},
        "targets": [
            {"refId": chr(ord("A") + index), "datasource": _DATASOURCE, "expr": expr, "legendFormat": legend}
            for index, (expr, legend) in enumerate(targets)
        ],
    }


def _jobs_panels(spec: MonitoringSpec, queries: SloQueries) -> list[dict[str, Any]]:
    """SLI, budget, burn rate, last success age; then throughput and failure ratio (no HTTP panels)."""
    budget = promql_number(error_budget(spec.slo))
    objective = promql_number(Fraction(repr(spec.slo.availability)) / 100)
    period = window_days_text(spec.slo.window_days)
    period_ratio = queries.error_ratio(period)
    long_windows = [w.long_window for w in burn_rate_windows(spec.slo.window_days)]
    age_thresholds = None
    if spec.slo.max_job_age_seconds is not None:
        age_thresholds = [{"color": "green", "value": None}, {"color": "red", "value": spec.slo.max_job_age_seconds}]
    return [
        _panel(
            1,
            f"Job success SLI ({period})",
            "stat",
            (0, 0, 6, 6),
            [(f"1 - {period_ratio}", "job success")],
            "percentunit",
            [{"color": "red", "value": None}, {"color": "green", "value": float(objective)}],
            f"Share of processed jobs that did not fail over the SLO period; objective {spec.slo.availability}%.",
        ),
        _panel(
            2,
            "Error budget remaining",
            "stat",
            (6, 0, 6, 6),
            [(f"1 - ({period_ratio} / {budget})", "budget remaining")],
            "percentunit",
            [{"color": "red", "value": None}, {"color": "orange", "value": 0}, {"color": "green", "value": 0.25}],
            "1 - E/B: share of the period's error budget still unspent (negative = SLO missed).",
        ),
        _panel(
            3,
            "Last success age",
            "stat",
            (12, 0, 6, 6),
            [(queries.last_success_age(), "age")],
            "s",
            age_thresholds,
            "Seconds since the newest successful job (an idle, drained queue counts as success).",
        ),
        _panel(
            4,
            "Burn rate",
            "timeseries",
            (18, 0, 6, 6),
            [(f"{queries.error_ratio(window)} / {budget}", window) for window in long_windows],
            "none",
            [{"color": "green", "value": None}, {"color": "red", "value": 1}],
            "E(w)/B per alert window; 1 spends the budget exactly over the period.",
        ),
        _panel(
            5,
            "Job throughput",
            "timeseries",
            (0, 6, 12, 8),
            [
                (f"sum(rate({queries.requests}[{RATE_WINDOW}]))", "processed"),
                (f"sum(rate({queries.errors}[{RATE_WINDOW}]))", "failed"),
            ],
            "ops",
        ),
        _panel(
            6,
            "Job failure ratio",
            "timeseries",
            (12, 6, 12, 8),
            [(queries.error_ratio(RATE_WINDOW), "failed / processed")],
            "percentunit",
            [{"color": "green", "value": None}, {"color": "red", "value": float(error_budget(spec.slo))}],
            "Failed share of processed jobs over 5 minutes; the line is the error budget (1 - objective).",
        ),
    ]


def dashboard(spec: MonitoringSpec, queries: SloQueries) -> dict[str, Any]:
    if queries.jobs:
        return _dashboard_document(spec, _jobs_panels(spec, queries))
    budget = promql_number(error_budget(spec.slo))
    objective = promql_number(Fraction(repr(spec.slo.availability)) / 100)
    period = window_days_text(spec.slo.window_days)
    period_ratio = queries.error_ratio(period)
    windows = burn_rate_windows(spec.slo.window_days)
    long_windows = [w.long_window for w in windows]
    latency_thresholds = None
    if spec.slo.latency_p99_ms is not None:
        latency_thresholds = [
            {"color": "green", "value": None},
            {"color": "red", "value": float(Fraction(spec.slo.latency_p99_ms, 1000))},
        ]
    panels = [
        _panel(
            1,
            f"Availability SLI ({period})",
            "stat",
            (0, 0, 8, 6),
            [(f"1 - {period_ratio}", "availability")],
            "percentunit",
            [{"color": "red", "value": None}, {"color": "green", "value": float(objective)}],
            f"Share of non-5xx requests over the SLO period; objective {spec.slo.availability}%.",
        ),
        _panel(
            2,
            "Error budget remaining",
            "stat",
            (8, 0, 8, 6),
            [(f"1 - ({period_ratio} / {budget})", "budget remaining")],
            "percentunit",
            [{"color": "red", "value": None}, {"color": "orange", "value": 0}, {"color": "green", "value": 0.25}],
            "1 - E/B: share of the period's error budget still unspent (negative = SLO missed).",
        ),
        _panel(
            3,
            "Burn rate",
            "timeseries",
            (16, 0, 8, 6),
            [(f"{queries.error_ratio(window)} / {budget}", window) for window in long_windows],
            "none",
            [{"color": "green", "value": None}, {"color": "red", "value": 1}],
            "E(w)/B per alert window; 1 spends the budget exactly over the period.",
        ),
        _panel(
            4,
            "Request rate",
            "timeseries",
            (0, 6, 12, 8),
            [
                (f"sum(rate({queries.requests}[{RATE_WINDOW}]))", "all"),
                (f"sum(rate({queries.errors}[{RATE_WINDOW}]))", "5xx"),
            ],
            "reqps",
        ),
        _panel(
            5,
            "p99 latency",
            "timeseries",
            (12, 6, 12, 8),
            [(queries.p99_latency(), "p99")],
            "s",
            latency_thresholds,
        ),
    ]
    return _dashboard_document(spec, panels)


def _dashboard_document(spec: MonitoringSpec, panels: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "uid": dashboard_uid(spec.service, spec.environment),
        "title": f"{spec.service} ({spec.environment})",
        "tags": list(dict.fromkeys(["roadbed", spec.team])),
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "timezone": "browser",
        "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "annotations": {"list": []},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                }
            ]
        },
        "panels": panels,
    }

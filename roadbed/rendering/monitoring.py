"""Monitoring-as-code for a service environment: SLO alert rules, a Grafana dashboard and a Sloth spec.

The monitoring step of `ProvisionEnvironmentWorkflow` writes these files into the service's repository
(embedded target) or pushes them to Prometheus/Grafana (real target); both start from the same rendered
text so what a reviewer sees in git is what runs.

Alerting follows Sloth's multi-window multi-burn-rate scheme (Google SRE workbook, "Alerting on SLOs"):
an alert fires only when the error ratio is above `factor * error_budget` over a long window *and* a
short window — the long window proves the burn is significant, the short one that it is still going on,
so alerts both fire fast and reset fast. The factors are derived from the fraction of the budget each
alert may consume, never tabulated per SLO period, so 7..90-day periods all come out right.

Two kinds of service level indicator (`SloTarget.sli`): `http` services promise non-5xx requests (and
optionally a p99 latency); `jobs` workloads (queue consumers, scheduled jobs) promise jobs that do not fail
(from `jobs_processed_total{status="failed"}`) and optionally a freshness bound on the last successful job.
Both share the burn-rate machinery; only the selectors, alert names and dashboard panels differ.

Every document is built as plain data and serialised by PyYAML's safe dumper or `json.dumps`; no
document is ever assembled by string concatenation, so a hostile value could at worst be a bad label
value, never a new YAML key. Label values are in any case DNS labels, validated below.
"""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from roadbed.domain.specs import SLO_WINDOW_DAYS_MAX, SLO_WINDOW_DAYS_MIN, MonitoringSpec, SloTarget
from roadbed.rendering import plain_yaml
from roadbed.rendering.plain_yaml import PlainSafeDumper

#: Short window used by the latency alert and the request-rate panels.
_RATE_WINDOW = "5m"
_RUNBOOK_URL = "docs/runbook.md"
_SLO_NAME = "availability"
_JOBS_SLO_NAME = "job-success"
#: How long a freshness breach must last before its alert fires (same filter as the latency alert).
_THRESHOLD_FOR = "10m"


class BurnRateWindow(BaseModel):
    """One multi-window alert condition: error ratio above `factor * budget` over both windows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    severity: Literal["page", "ticket"]
    long_window: str
    short_window: str
    factor: float


# Sloth's (and the SRE workbook's) recommended windows: the share of the whole period's error budget that
# may be consumed within the long window before the alert fires. Exact fractions keep 14.4 exactly 14.4.
_BUDGET_CONSUMPTION: tuple[tuple[Literal["page", "ticket"], str, str, Fraction], ...] = (
    ("page", "1h", "5m", Fraction(2, 100)),
    ("page", "6h", "30m", Fraction(5, 100)),
    ("ticket", "1d", "2h", Fraction(10, 100)),
    ("ticket", "3d", "6h", Fraction(10, 100)),
)

_DURATION_HOURS = {"m": Fraction(1, 60), "h": Fraction(1), "d": Fraction(24)}


def _hours(duration: str) -> Fraction:
    """Hours in a Prometheus duration of one unit (`5m`, `6h`, `3d`) — all this module ever uses."""
    return int(duration[:-1]) * _DURATION_HOURS[duration[-1]]


def _exact_windows(window_days: int) -> list[tuple[Literal["page", "ticket"], str, str, Fraction]]:
    """Burn-rate factors as exact fractions, so thresholds are computed without float drift."""
    if not SLO_WINDOW_DAYS_MIN <= window_days <= SLO_WINDOW_DAYS_MAX:
        raise ValueError(f"window_days must be within {SLO_WINDOW_DAYS_MIN}..{SLO_WINDOW_DAYS_MAX}, got {window_days}")
    period_hours = Fraction(window_days * 24)
    return [
        (severity, long_window, short_window, consumed * period_hours / _hours(long_window))
        for severity, long_window, short_window, consumed in _BUDGET_CONSUMPTION
    ]


def burn_rate_windows(window_days: int) -> list[BurnRateWindow]:
    """The four multi-window alert conditions for an SLO period of `window_days`.

    factor = budget fraction consumed x period / long window: burning at that rate for the whole long
    window spends exactly that fraction of the period's budget (30 d: 14.4, 6, 3, 1; 28 d: 13.44, 5.6, 2.8, 0.93).
    """
    return [
        BurnRateWindow(severity=severity, long_window=long_window, short_window=short_window, factor=float(factor))
        for severity, long_window, short_window, factor in _exact_windows(window_days)
    ]


def _error_budget(slo: SloTarget) -> Fraction:
    """1 - objective as a ratio; via the decimal text so 99.9 gives exactly 1/1000."""
    return (100 - Fraction(repr(slo.availability))) / 100


def _number(value: Fraction) -> str:
    """A PromQL number literal: the shortest float text (e.g. `0.0144`, `1e-05`), both valid PromQL."""
    return repr(float(value))


def _alert_prefix(service: str) -> str:
    """`checkout-api` -> `CheckoutApi`, the conventional CamelCase start of alert names."""
    return "".join(part[:1].upper() + part[1:] for part in service.split("-"))


def _window_days_text(window_days: int) -> str:
    return f"{window_days}d"


class _Names:
    """Metric selectors and record names shared by rules, dashboard and SLO spec, so they cannot drift."""

    def __init__(self, spec: MonitoringSpec) -> None:
        self.spec = spec
        self.jobs = spec.slo.sli == "jobs"
        if self.jobs:
            # `requests`/`errors` are the SLI's total and bad events: processed and failed jobs here.
            self.requests = f'jobs_processed_total{{namespace="{spec.namespace}"}}'
            self.errors = f'jobs_processed_total{{namespace="{spec.namespace}", status="failed"}}'
        else:
            self.requests = f'http_requests_total{{namespace="{spec.namespace}"}}'
            self.errors = f'http_requests_total{{namespace="{spec.namespace}", code=~"5.."}}'
        self.buckets = f'http_request_duration_seconds_bucket{{namespace="{spec.namespace}"}}'
        self.last_success = f'job_last_success_timestamp_seconds{{namespace="{spec.namespace}"}}'
        self.slo_name = _JOBS_SLO_NAME if self.jobs else _SLO_NAME
        # Alert names: `<Service>AvailabilityBurnRate...` for HTTP, `<Service>JobSuccessBurnRate...` for jobs.
        self.objective_title = "JobSuccess" if self.jobs else "Availability"
        self.slo_labels = {"slo_service": spec.service, "slo_environment": spec.environment, "slo_name": self.slo_name}
        self.slo_selector = ", ".join(f'{key}="{value}"' for key, value in self.slo_labels.items())

    @staticmethod
    def error_ratio_record(window: str) -> str:
        return f"slo:sli_error:ratio_rate{window}"

    def error_ratio(self, window: str) -> str:
        """The recorded error ratio of this SLO over `window`."""
        return f"{self.error_ratio_record(window)}{{{self.slo_selector}}}"

    def p99_latency(self, window: str = _RATE_WINDOW) -> str:
        return f"histogram_quantile(0.99, sum by (le) (rate({self.buckets}[{window}])))"

    def last_success_age(self) -> str:
        """Seconds since the newest successful job of any replica."""
        return f"time() - max({self.last_success})"


def _sli_windows(windows: list[BurnRateWindow]) -> list[str]:
    """Every window an alert reads, shortest first (5m, 30m, 1h, 2h, 6h, 1d, 3d)."""
    seen = {w for window in windows for w in (window.short_window, window.long_window)}
    return sorted(seen, key=_hours)


def _recording_rules(names: _Names, windows: list[BurnRateWindow], window_days: int) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [
        {
            "record": names.error_ratio_record(window),
            "expr": f"(sum(rate({names.errors}[{window}])))\n/\n(sum(rate({names.requests}[{window}])))\n",
            "labels": {**names.slo_labels, "slo_window": window},
        }
        for window in _sli_windows(windows)
    ]
    # The whole-period ratio feeds the dashboard (SLI, budget remaining). Like Sloth, it averages the 5m
    # ratio instead of rating raw counters over 30 days, which would be expensive on every evaluation.
    period = _window_days_text(window_days)
    five_minutes = names.error_ratio(_RATE_WINDOW)
    rules.append(
        {
            "record": names.error_ratio_record(period),
            "expr": f"avg_over_time({five_minutes}[{period}])\n",
            "labels": {**names.slo_labels, "slo_window": period},
        }
    )
    return rules


def _burn_condition(names: _Names, long_window: str, short_window: str, threshold: str) -> str:
    # `without (slo_window)` drops the only label that differs between the two recorded series, so `and`
    # matches them one to one; the alert's value is the long window's error ratio.
    return (
        f"(\n  max without (slo_window) ({names.error_ratio(long_window)} > {threshold})\n"
        f"  and\n  max without (slo_window) ({names.error_ratio(short_window)} > {threshold})\n)"
    )


def _common_labels(spec: MonitoringSpec) -> dict[str, str]:
    return {"team": spec.team, "service": spec.service, "environment": spec.environment}


def _burn_rate_alerts(spec: MonitoringSpec, names: _Names) -> list[dict[str, Any]]:
    """The page and ticket multi-window burn-rate alerts on the SLI's error ratio (requests or jobs)."""
    budget = _error_budget(spec.slo)
    prefix = _alert_prefix(spec.service)
    period = _window_days_text(spec.slo.window_days)
    if names.jobs:
        summary = f"{spec.service} ({spec.environment}) is failing jobs fast enough to burn its error budget"
        slo_text, ratio_text = "job success", "Failed-job ratio"
    else:
        summary = f"{spec.service} ({spec.environment}) is burning its availability error budget too fast"
        slo_text, ratio_text = "availability", "Error ratio"
    rules: list[dict[str, Any]] = []
    for severity, kind in (("page", "Page"), ("ticket", "Ticket")):
        conditions = [
            (long_window, short_window, factor)
            for sev, long_window, short_window, factor in _exact_windows(spec.slo.window_days)
            if sev == severity
        ]
        expr = "\nor\n".join(
            _burn_condition(names, long_window, short_window, _number(factor * budget))
            for long_window, short_window, factor in conditions
        )
        pairs = ", ".join(f"{float(factor):g}x over {long_w}/{short_w}" for long_w, short_w, factor in conditions)
        rules.append(
            {
                "alert": f"{prefix}{names.objective_title}BurnRate{kind}",
                "expr": expr + "\n",
                "labels": {"severity": severity, **_common_labels(spec)},
                "annotations": {
                    "summary": summary,
                    "description": (
                        f"The {spec.slo.availability}% {slo_text} SLO of {spec.service} in {spec.environment} "
                        f"({period} period) is burning its error budget at {pairs}. "
                        f"{ratio_text} over the long window: {{{{ $value | humanizePercentage }}}}."
                    ),
                    "runbook_url": _RUNBOOK_URL,
                },
            }
        )
    return rules


def _alert_rules(spec: MonitoringSpec, names: _Names) -> list[dict[str, Any]]:
    rules = _burn_rate_alerts(spec, names)
    prefix = _alert_prefix(spec.service)
    if spec.slo.latency_p99_ms is not None and not names.jobs:
        seconds = _number(Fraction(spec.slo.latency_p99_ms, 1000))
        rules.append(
            {
                "alert": f"{prefix}LatencyP99High",
                "expr": f"{names.p99_latency()} > {seconds}\n",
                # Ten minutes filters single slow scrapes; a threshold alert is noisier than a burn rate,
                # so it opens a ticket rather than waking someone up.
                "for": _THRESHOLD_FOR,
                "labels": {"severity": "ticket", **_common_labels(spec)},
                "annotations": {
                    "summary": f"{spec.service} ({spec.environment}) p99 latency is above {spec.slo.latency_p99_ms} ms",
                    "description": (
                        f"p99 request latency of {spec.service} in {spec.environment} has been above "
                        f"{spec.slo.latency_p99_ms} ms for 10 minutes. Current p99: {{{{ $value | humanizeDuration }}}}."
                    ),
                    "runbook_url": _RUNBOOK_URL,
                },
            }
        )
    if spec.slo.max_job_age_seconds is not None and names.jobs:
        limit = spec.slo.max_job_age_seconds
        rules.append(
            {
                "alert": f"{prefix}JobsStale",
                "expr": f"{names.last_success_age()} > {limit}\n",
                # No success for longer than the bound, still so ten minutes later: the consumer is stuck,
                # crash-looping or failing every job. It pages: nothing is being processed.
                "for": _THRESHOLD_FOR,
                "labels": {"severity": "page", **_common_labels(spec)},
                "annotations": {
                    "summary": f"{spec.service} ({spec.environment}) has not completed a job for over {limit} s",
                    "description": (
                        f"The last successful job of {spec.service} in {spec.environment} has been older than "
                        f"{limit} s for 10 minutes. Age: {{{{ $value | humanizeDuration }}}}."
                    ),
                    "runbook_url": _RUNBOOK_URL,
                },
            }
        )
    return rules


def _prometheus_rules(spec: MonitoringSpec, names: _Names) -> dict[str, Any]:
    group = f"roadbed-{spec.service}-{spec.environment}"
    windows = burn_rate_windows(spec.slo.window_days)
    return {
        "groups": [
            # Recording rules form their own group: a group evaluates its rules in order, and the period
            # rule reads the 5m record written just before it.
            {"name": f"{group}-sli-recordings", "rules": _recording_rules(names, windows, spec.slo.window_days)},
            {"name": f"{group}-slo-alerts", "rules": _alert_rules(spec, names)},
        ]
    }


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


def _jobs_panels(spec: MonitoringSpec, names: _Names) -> list[dict[str, Any]]:
    """SLI, budget, burn rate, last success age; then throughput and failure ratio (no HTTP panels)."""
    budget = _number(_error_budget(spec.slo))
    objective = _number(Fraction(repr(spec.slo.availability)) / 100)
    period = _window_days_text(spec.slo.window_days)
    period_ratio = names.error_ratio(period)
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
            [(names.last_success_age(), "age")],
            "s",
            age_thresholds,
            "Seconds since the newest successful job (an idle, drained queue counts as success).",
        ),
        _panel(
            4,
            "Burn rate",
            "timeseries",
            (18, 0, 6, 6),
            [(f"{names.error_ratio(window)} / {budget}", window) for window in long_windows],
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
                (f"sum(rate({names.requests}[{_RATE_WINDOW}]))", "processed"),
                (f"sum(rate({names.errors}[{_RATE_WINDOW}]))", "failed"),
            ],
            "ops",
        ),
        _panel(
            6,
            "Job failure ratio",
            "timeseries",
            (12, 6, 12, 8),
            [(names.error_ratio(_RATE_WINDOW), "failed / processed")],
            "percentunit",
            [{"color": "green", "value": None}, {"color": "red", "value": float(_error_budget(spec.slo))}],
            "Failed share of processed jobs over 5 minutes; the line is the error budget (1 - objective).",
        ),
    ]


def _dashboard(spec: MonitoringSpec, names: _Names) -> dict[str, Any]:
    if names.jobs:
        return _dashboard_document(spec, _jobs_panels(spec, names))
    budget = _number(_error_budget(spec.slo))
    objective = _number(Fraction(repr(spec.slo.availability)) / 100)
    period = _window_days_text(spec.slo.window_days)
    period_ratio = names.error_ratio(period)
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
            [(f"{names.error_ratio(window)} / {budget}", window) for window in long_windows],
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
                (f"sum(rate({names.requests}[{_RATE_WINDOW}]))", "all"),
                (f"sum(rate({names.errors}[{_RATE_WINDOW}]))", "5xx"),
            ],
            "reqps",
        ),
        _panel(
            5,
            "p99 latency",
            "timeseries",
            (12, 6, 12, 8),
            [(names.p99_latency(), "p99")],
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


def _sloth_spec(spec: MonitoringSpec, names: _Names) -> dict[str, Any]:
    """Sloth `prometheus/v1` spec of the same SLO, for teams that generate their rules with Sloth.

    Field names follow Sloth's `prometheus/v1` schema (`error_query`, `page_alert`, ...); the camelCase
    spelling belongs to its Kubernetes CRD, not to this file format.
    """
    prefix = _alert_prefix(spec.service)
    window = "{{.window}}"
    if names.jobs:
        description = f"{spec.slo.availability}% of jobs processed in {spec.namespace} do not fail."
    else:
        description = f"{spec.slo.availability}% of HTTP requests in {spec.namespace} are not 5xx."
    return {
        "version": "prometheus/v1",
        "service": spec.service,
        "labels": {"owner": spec.team, "environment": spec.environment},
        "slos": [
            {
                "name": names.slo_name,
                "objective": spec.slo.availability,
                "description": description,
                "sli": {
                    "events": {
                        "error_query": f"sum(rate({names.errors}[{window}]))",
                        "total_query": f"sum(rate({names.requests}[{window}]))",
                    }
                },
                "alerting": {
                    "name": f"{prefix}{names.objective_title}BurnRate",
                    "labels": {"team": spec.team, "service": spec.service, "environment": spec.environment},
                    "annotations": {"runbook_url": _RUNBOOK_URL},
                    "page_alert": {"labels": {"severity": "page"}},
                    "ticket_alert": {"labels": {"severity": "ticket"}},
                },
            }
        ],
    }


class _BlockStyleSafeDumper(PlainSafeDumper):
    """The plain (alias-free) safe dumper, printing multi-line PromQL as `|` blocks so rule files stay reviewable."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockStyleSafeDumper.add_representer(str, _represent_str)


def _yaml(document: dict[str, Any]) -> str:
    # The wide line keeps one-line PromQL and annotations unfolded, as people write them.
    return plain_yaml.dump(document, dumper=_BlockStyleSafeDumper, allow_unicode=True, width=4096)


def render_monitoring(spec: MonitoringSpec) -> dict[str, str]:
    """Repository path -> content for the environment's Prometheus rules, Grafana dashboard and Sloth spec."""
    names = _Names(spec)
    base = f"monitoring/{spec.environment}"
    return {
        f"{base}/prometheus-rules.yaml": _yaml(_prometheus_rules(spec, names)),
        f"{base}/grafana-dashboard.json": json.dumps(_dashboard(spec, names), indent=2) + "\n",
        f"{base}/slo.yaml": _yaml(_sloth_spec(spec, names)),
    }

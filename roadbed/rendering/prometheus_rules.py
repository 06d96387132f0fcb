"""Prometheus rule file of a service environment: SLI recording rules, burn-rate alerts, threshold alerts.

The recording rules and the multi-window burn-rate alerts are generated from the Sloth spec Roadbed writes
next to them (`sloth.sloth_spec`), as Sloth itself would generate them: its SLI queries with the window
filled in, its objective for the error budget, its alert name, labels and annotations. That spec is the one
source of truth of the SLO. Two things are not in a Sloth spec and come from the `MonitoringSpec` instead:
the SLO period (Sloth takes it from a command-line flag), and the threshold alerts Sloth does not model — the
p99 latency alert of an `http` SLI and the freshness alert of a `jobs` SLI.

Every document is plain data, serialised by the safe dumper; no rule is assembled by concatenating YAML.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from roadbed.domain.specs import MonitoringSpec
from roadbed.rendering.burn_rates import burn_rate_windows, exact_windows, objective_budget, promql_number, sli_windows
from roadbed.rendering.slo_queries import (
    RATE_WINDOW,
    RUNBOOK_URL,
    THRESHOLD_FOR,
    SloQueries,
    alert_prefix,
    common_labels,
    error_ratio_record,
    selector,
    slo_labels,
    window_days_text,
)
from roadbed.rendering.sloth import at_window


class _SlothSlo:
    """The one SLO of a Sloth spec, read the way Sloth's generator reads it."""

    def __init__(self, sloth: dict[str, Any]) -> None:
        (slo,) = sloth["slos"]
        self.slo = slo
        self.objective: float = slo["objective"]
        self.alerting: dict[str, Any] = slo["alerting"]
        self.events: dict[str, str] = slo["sli"]["events"]
        self.labels = slo_labels(sloth["service"], sloth["labels"]["environment"], slo["name"])

    def error_ratio(self, window: str) -> str:
        return f"{error_ratio_record(window)}{{{selector(self.labels)}}}"


def _recording_rules(slo: _SlothSlo, window_days: int) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [
        {
            "record": error_ratio_record(window),
            "expr": f"({at_window(slo.events['error_query'], window)})\n/\n({at_window(slo.events['total_query'], window)})\n",
            "labels": {**slo.labels, "slo_window": window},
        }
        for window in sli_windows(burn_rate_windows(window_days))
    ]
    # The whole-period ratio feeds the dashboard (SLI, budget remaining). Like Sloth, it averages the 5m
    # ratio instead of rating raw counters over 30 days, which would be expensive on every evaluation.
    period = window_days_text(window_days)
    rules.append(
        {
            "record": error_ratio_record(period),
            "expr": f"avg_over_time({slo.error_ratio(RATE_WINDOW)}[{period}])\n",
            "labels": {**slo.labels, "slo_window": period},
        }
    )
    return rules


def _burn_condition(slo: _SlothSlo, long_window: str, short_window: str, threshold: str) -> str:
    # `without (slo_window)` drops the only label that differs between the two recorded series, so `and`
    # matches them one to one; the alert's value is the long window's error ratio.
    return (
        f"(\n  max without (slo_window) ({slo.error_ratio(long_window)} > {threshold})\n"
        f"  and\n  max without (slo_window) ({slo.error_ratio(short_window)} > {threshold})\n)"
    )


def _burn_rate_alerts(spec: MonitoringSpec, queries: SloQueries, slo: _SlothSlo) -> list[dict[str, Any]]:
    """The page and ticket multi-window burn-rate alerts on the SLI's error ratio (requests or jobs)."""
    budget = objective_budget(slo.objective)
    period = window_days_text(spec.slo.window_days)
    if queries.jobs:
        summary = f"{spec.service} ({spec.environment}) is failing jobs fast enough to burn its error budget"
        slo_text, ratio_text = "job success", "Failed-job ratio"
    else:
        summary = f"{spec.service} ({spec.environment}) is burning its availability error budget too fast"
        slo_text, ratio_text = "availability", "Error ratio"
    rules: list[dict[str, Any]] = []
    for severity, kind in (("page", "Page"), ("ticket", "Ticket")):
        conditions = [
            (long_window, short_window, factor)
            for sev, long_window, short_window, factor in exact_windows(spec.slo.window_days)
            if sev == severity
        ]
        expr = "\nor\n".join(
            _burn_condition(slo, long_window, short_window, promql_number(factor * budget))
            for long_window, short_window, factor in conditions
        )
        pairs = ", ".join(f"{float(factor):g}x over {long_w}/{short_w}" for long_w, short_w, factor in conditions)
        rules.append(
            {
                "alert": f"{slo.alerting['name']}{kind}",
                "expr": expr + "\n",
                "labels": {**slo.alerting[f"{severity}_alert"]["labels"], **slo.alerting["labels"]},
                "annotations": {
                    "summary": summary,
                    "description": (
                        f"The {slo.objective}% {slo_text} SLO of {spec.service} in {spec.environment} "
                        f"({period} period) is burning its error budget at {pairs}. "
                        f"{ratio_text} over the long window: {{{{ $value | humanizePercentage }}}}."
                    ),
                    **slo.alerting["annotations"],
                },
            }
        )
    return rules


def _threshold_alerts(spec: MonitoringSpec, queries: SloQueries) -> list[dict[str, Any]]:
    """What a Sloth spec cannot express: the p99 latency bound (http) and the freshness bound (jobs)."""
    rules: list[dict[str, Any]] = []
    prefix = alert_prefix(spec.service)
    if spec.slo.latency_p99_ms is not None and not queries.jobs:
        seconds = promql_number(Fraction(spec.slo.latency_p99_ms, 1000))
        rules.append(
            {
                "alert": f"{prefix}LatencyP99High",
                "expr": f"{queries.p99_latency()} > {seconds}\n",
                # Ten minutes filters single slow scrapes; a threshold alert is noisier than a burn rate,
                # so it opens a ticket rather than waking someone up.
                "for": THRESHOLD_FOR,
                "labels": {"severity": "ticket", **common_labels(spec)},
                "annotations": {
                    "summary": f"{spec.service} ({spec.environment}) p99 latency is above {spec.slo.latency_p99_ms} ms",
                    "description": (
                        f"p99 request latency of {spec.service} in {spec.environment} has been above "
                        f"{spec.slo.latency_p99_ms} ms for 10 minutes. Current p99: {{{{ $value | humanizeDuration }}}}."
                    ),
                    "runbook_url": RUNBOOK_URL,
                },
            }
        )
    if spec.slo.max_job_age_seconds is not None and queries.jobs:
        limit = spec.slo.max_job_age_seconds
        rules.append(
            {
                "alert": f"{prefix}JobsStale",
                "expr": f"{queries.last_success_age()} > {limit}\n",
                # No success for longer than the bound, still so ten minutes later: the consumer is stuck,
                # crash-looping or failing every job. It pages: nothing is being processed.
                "for": THRESHOLD_FOR,
                "labels": {"severity": "page", **common_labels(spec)},
                "annotations": {
                    "summary": f"{spec.service} ({spec.environment}) has not completed a job for over {limit} s",
                    "description": (
                        f"The last successful job of {spec.service} in {spec.environment} has been older than "
                        f"{limit} s for 10 minutes. Age: {{{{ $value | humanizeDuration }}}}."
                    ),
                    "runbook_url": RUNBOOK_URL,
                },
            }
        )
    return rules


def prometheus_rules(spec: MonitoringSpec, queries: SloQueries, sloth: dict[str, Any]) -> dict[str, Any]:
    """The rule file (`groups:`) of the environment, its SLO part generated from `sloth` (see the module docstring)."""
    slo = _SlothSlo(sloth)
    group = f"roadbed-{spec.service}-{spec.environment}"
    return {
        "groups": [
            # Recording rules form their own group: a group evaluates its rules in order, and the period
            # rule reads the 5m record written just before it.
            {"name": f"{group}-sli-recordings", "rules": _recording_rules(slo, spec.slo.window_days)},
            {"name": f"{group}-slo-alerts", "rules": _burn_rate_alerts(spec, queries, slo) + _threshold_alerts(spec, queries)},
        ]
    }

"""`GET /metrics`: the reports' figures as Prometheus gauges, computed at scrape time.

A custom collector (no global registry, nothing computed at import or registration) runs the same
functions as the JSON reports — DORA (prod, 30 days, organisation and per service), time-to-environment
(30 days; provisioning, approval wait and total apart), golden-path adoption, scorecards and the platform SLOs (28 days) — so a dashboard and the API
can never disagree. Undefined figures (null in the API) are *omitted*, not exported as 0 or NaN.
A section that fails is logged and counted in `roadbed_metrics_collect_errors_total{section}`; the
others are still exported. Tiers are exported as numbers: 4 elite, 3 high, 2 medium, 1 low.

The endpoint is unauthenticated, like most exporters: Prometheus scrapes it without credentials, and
it carries aggregates only (no request bodies, tokens or error messages). Expose it only on the
network your Prometheus uses (or put the API behind an ingress that restricts `/metrics`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.samples import Sample

from roadbed.golden_paths import GoldenPathRegistry
from roadbed.metrics.adoption import adoption_report
from roadbed.metrics.dora import DoraScope, dora_report
from roadbed.metrics.scorecards import scorecards
from roadbed.metrics.slo_report import slo_report
from roadbed.metrics.thresholds import Profile, Tier
from roadbed.metrics.time_to_environment import time_to_environment
from roadbed.storage.database import Database

log = logging.getLogger("roadbed.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DORA_METRICS = {
    "deployment_frequency": ("value", "roadbed_dora_deployment_frequency_per_day", "Successful deployments per day over the window."),
    "lead_time_for_changes": ("median_seconds", "roadbed_dora_lead_time_seconds", "Median lead time for changes (commit to first deployment)."),
    "change_failure_rate": ("value", "roadbed_dora_change_failure_rate", "Share of deployments that failed or caused an incident."),
    "time_to_restore": ("median_seconds", "roadbed_dora_time_to_restore_seconds", "Median time to restore (incident opened to resolved)."),
    "failed_deployment_recovery_time": ("median_seconds", "roadbed_dora_failed_deployment_recovery_seconds", "Median failed-deployment recovery time."),
    "deployment_rework_rate": ("value", "roadbed_dora_deployment_rework_rate", "Share of deployments that follow a failed one within the link gap."),
}


def _tier_value(tier: str | None) -> int | None:
    return Tier(tier).rank if tier else None


class RoadbedCollector:
    def __init__(
        self, database: Database, golden_paths: GoldenPathRegistry, profile: Profile, link_gap_hours: float, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.database = database
        self.golden_paths = golden_paths
        self.profile = profile
        self.link_gap_hours = link_gap_hours
        self.clock = clock or (lambda: datetime.now(UTC))
        self._tiers: dict[str, str | None] | None = None  # the DORA section's, reused by the scorecards section

    def describe(self) -> list[Metric]:
        return []  # nothing to compute at registration

    def collect(self) -> Iterator[Metric]:
        began = time.perf_counter()
        now = self.clock()
        self._tiers = None
        errors = CounterMetricFamily("roadbed_metrics_collect_errors", "Report sections that failed during this scrape.", labels=["section"])
        for section, produce in (
            ("dora", self._dora),
            ("time_to_environment", self._time_to_environment),
            ("adoption", self._adoption),
            ("scorecards", self._scorecards),
            ("slo", self._slo),
        ):
            try:
                with self.database.transaction() as session:
                    metrics = list(produce(session, now))
            except Exception:  # noqa: BLE001 - one broken section must not hide the others
                log.exception("metrics section %s failed", section)
                errors.add_metric([section], 1)
                continue
            yield from metrics
        yield errors
        yield GaugeMetricFamily("roadbed_metrics_collect_seconds", "Time this scrape spent computing the reports.", value=time.perf_counter() - began)

    def _dora(self, session: Any, now: datetime) -> Iterator[Metric]:
        scope = DoraScope(environment="prod", window_days=30, link_gap_hours=self.link_gap_hours)
        report = dora_report(session, scope, now=now, profile=self.profile, by_service=True)
        self._tiers = {service: part["overall_tier"] for service, part in report["by_service"].items()}
        labels = ["environment", "service"]
        for key, (field, name, documentation) in DORA_METRICS.items():
            gauge = GaugeMetricFamily(name, documentation + " Prod, 30 days; service=\"\" is the organisation.", labels=labels)
            for service, part in [("", report), *report["by_service"].items()]:
                value = part[key][field]
                if value is not None:
                    gauge.add_metric(["prod", service], value)
            yield gauge
        tiers = GaugeMetricFamily("roadbed_dora_tier", "DORA tier (4 elite, 3 high, 2 medium, 1 low); metric=overall for the overall tier.", labels=[*labels, "metric"])
        for service, part in [("", report), *report["by_service"].items()]:
            for key in [*DORA_METRICS, "overall"]:
                value = _tier_value(part["overall_tier"] if key == "overall" else part[key]["tier"])
                if value is not None:
                    tiers.add_metric(["prod", service, key], value)
        yield tiers
        deployments = GaugeMetricFamily("roadbed_dora_deployments", "Deployments in the window (prod, 30 days).", labels=labels)
        for service, part in [("", report), *report["by_service"].items()]:
            deployments.add_metric(["prod", service], part["change_failure_rate"]["deployments"])
        yield deployments

    def _time_to_environment(self, session: Any, now: datetime) -> Iterator[Metric]:
        report = time_to_environment(session, now=now, window_days=30)
        for name, part, documentation in (
            ("roadbed_time_to_environment_seconds", report, "Provisioning time of successful runs (approval wait excluded), last 30 days."),
            ("roadbed_time_to_environment_approval_wait_seconds", report["approval_wait"], "Request to approval, runs that waited for one, last 30 days."),
            ("roadbed_time_to_environment_total_seconds", report["total"], "Request to ready (approval wait included), last 30 days."),
        ):
            quantiles = SummaryMetricFamily(name, documentation, count_value=part["count"], sum_value=part["sum_seconds"])
            for quantile, key in (("0.5", "p50_seconds"), ("0.9", "p90_seconds"), ("0.99", "p99_seconds")):
                if part[key] is not None:
                    quantiles.samples.append(Sample(name, {"quantile": quantile}, part[key]))
            yield quantiles
        yield GaugeMetricFamily(
            "roadbed_time_to_environment_approval_waits", "Successful runs that waited for an approval, last 30 days.", value=report["approval_wait"]["count"]
        )
        runs = GaugeMetricFamily("roadbed_provisioning_runs", "Provisioning runs finished in the last 30 days.", labels=["outcome"])
        runs.add_metric(["succeeded"], report["count"])
        runs.add_metric(["failed"], report["failed"])
        yield runs

    def _adoption(self, session: Any, now: datetime) -> Iterator[Metric]:
        report = adoption_report(session, self.golden_paths)
        yield GaugeMetricFamily("roadbed_catalog_services", "Component entities in the catalog.", value=report["services"])
        if report["ratio"] is not None:
            yield GaugeMetricFamily("roadbed_golden_path_adoption_ratio", "Catalog services created from a golden path.", value=report["ratio"])
        per_path = GaugeMetricFamily("roadbed_golden_path_services", "Catalog services per golden path.", labels=["golden_path"])
        outdated = GaugeMetricFamily(
            "roadbed_golden_path_outdated_services", "Services on an outdated version, per golden path (sum() for all of them).", labels=["golden_path"]
        )
        for name, entry in report["by_golden_path"].items():
            per_path.add_metric([name], entry["services"])
            outdated.add_metric([name], entry["outdated"])
        yield per_path
        yield outdated

    def _scorecards(self, session: Any, now: datetime) -> Iterator[Metric]:
        report = scorecards(
            session, self.golden_paths, now=now, profile=self.profile, link_gap_hours=self.link_gap_hours, dora_tiers=self._tiers
        )
        if report["average"] is not None:
            yield GaugeMetricFamily("roadbed_scorecard_average", "Mean scorecard score (0-100) of all services.", value=report["average"])
        scores = GaugeMetricFamily("roadbed_scorecard_score", "Scorecard score (0-100) per service.", labels=["service", "team"])
        for card in report["services"]:
            scores.add_metric([card["service"], card["team"] or ""], card["score"])
        yield scores
        teams = GaugeMetricFamily("roadbed_scorecard_team_average", "Mean scorecard score per team.", labels=["team"])
        for team, average in report["by_team"].items():
            if average is not None:
                teams.add_metric([team], average)
        yield teams

    def _slo(self, session: Any, now: datetime) -> Iterator[Metric]:
        report = slo_report(session, now=now, window_days=28)
        objective = GaugeMetricFamily("roadbed_slo_objective", "Platform SLO objective (ratio), 28-day window.", labels=["slo"])
        sli = GaugeMetricFamily("roadbed_slo_sli", "Platform SLO indicator over 28 days (good / valid events).", labels=["slo"])
        remaining = GaugeMetricFamily("roadbed_slo_error_budget_remaining", "1 - E/B over 28 days (negative when overspent).", labels=["slo"])
        burn = GaugeMetricFamily("roadbed_slo_burn_rate", "E(w)/B per window.", labels=["slo", "window"])
        status = GaugeMetricFamily("roadbed_slo_status", "1 for the SLO's current status (ok, at_risk, exhausted).", labels=["slo", "status"])
        for slo in report["slos"]:
            objective.add_metric([slo["name"]], slo["objective"])
            if slo["sli"] is not None:
                sli.add_metric([slo["name"]], slo["sli"])
            if slo["error_budget_remaining"] is not None:
                remaining.add_metric([slo["name"]], slo["error_budget_remaining"])
            for window, rate in slo["burn_rate"].items():
                if rate is not None:
                    burn.add_metric([slo["name"], window], rate)
            for state in ("ok", "at_risk", "exhausted"):
                status.add_metric([slo["name"], state], 1 if slo["status"] == state else 0)
        yield from (objective, sli, remaining, burn, status)


def render(collector: RoadbedCollector) -> bytes:
    """The exposition text of one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)

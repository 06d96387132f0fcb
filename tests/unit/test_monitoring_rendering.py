"""Monitoring rendering: Sloth burn-rate factors, rule thresholds, and documents that real tools accept.

The structural assertions always run. Where `promtool` is installed (CI installs the Debian package
`prometheus`) the rule file is also checked by it and its alerts are exercised with `promtool test rules`
on synthetic traffic, so the PromQL is proven to fire — and stay quiet — as intended, not only to parse.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from roadbed.rendering.monitoring import (
    BurnRateWindow,
    MonitoringSpec,
    SloTarget,
    burn_rate_windows,
    dashboard_uid,
    render_monitoring,
)

PROMTOOL = shutil.which("promtool")
RULES = "monitoring/{env}/prometheus-rules.yaml"
DASHBOARD = "monitoring/{env}/grafana-dashboard.json"
SLO = "monitoring/{env}/slo.yaml"
SLI_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
_CONDITION = re.compile(r"slo:sli_error:ratio_rate(?P<window>\w+)\{(?P<labels>[^}]*)\}\s*>\s*(?P<threshold>[0-9.eE+-]+)")


def make_spec(
    availability: float = 99.9,
    latency_p99_ms: int | None = 300,
    window_days: int = 30,
    environment: str = "prod",
) -> MonitoringSpec:
    return MonitoringSpec(
        service="checkout-api",
        environment=environment,
        team="payments",
        namespace=f"checkout-api-{environment}",
        slo=SloTarget(availability=availability, latency_p99_ms=latency_p99_ms, window_days=window_days),
    )


def rules_of(spec: MonitoringSpec) -> dict[str, Any]:
    return yaml.safe_load(render_monitoring(spec)[RULES.format(env=spec.environment)])


def all_rules(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for group in document["groups"] for rule in group["rules"]]


def alert(document: dict[str, Any], name: str) -> dict[str, Any]:
    matches = [rule for rule in all_rules(document) if rule.get("alert") == name]
    assert len(matches) == 1, f"expected exactly one alert {name}"
    return matches[0]


def conditions(expr: str) -> list[tuple[str, float]]:
    """(window, threshold) of every `ratio > threshold` comparison in an alert expression, in order."""
    return [(m["window"], float(m["threshold"])) for m in _CONDITION.finditer(expr)]


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False)


# --- burn-rate factors ---------------------------------------------------------------------------------


def test_factors_for_30_days_are_sloths() -> None:
    windows = burn_rate_windows(30)
    assert [(w.severity, w.long_window, w.short_window) for w in windows] == [
        ("page", "1h", "5m"),
        ("page", "6h", "30m"),
        ("ticket", "1d", "2h"),
        ("ticket", "3d", "6h"),
    ]
    assert [w.factor for w in windows] == [14.4, 6.0, 3.0, 1.0]


def test_factors_for_28_days_are_derived_from_budget_fractions() -> None:
    assert [round(w.factor, 3) for w in burn_rate_windows(28)] == [13.44, 5.6, 2.8, 0.933]


@pytest.mark.parametrize("window_days", [6, 91, 0])
def test_factors_reject_periods_outside_the_supported_range(window_days: int) -> None:
    with pytest.raises(ValueError):
        burn_rate_windows(window_days)


# --- Prometheus rules: structure (always) --------------------------------------------------------------


@pytest.mark.parametrize("availability", [99.9, 99.5])
def test_alert_thresholds_are_factor_times_error_budget(availability: float) -> None:
    document = rules_of(make_spec(availability=availability))
    budget = 1 - availability / 100
    windows = burn_rate_windows(30)
    for severity, name in (("page", "CheckoutApiAvailabilityBurnRatePage"), ("ticket", "CheckoutApiAvailabilityBurnRateTicket")):
        rule = alert(document, name)
        expected: list[tuple[str, float]] = []
        for window in (w for w in windows if w.severity == severity):
            expected += [(window.long_window, window.factor * budget), (window.short_window, window.factor * budget)]
        found = conditions(rule["expr"])
        assert [w for w, _ in found] == [w for w, _ in expected]
        for (_, got), (_, want) in zip(found, expected, strict=True):
            assert got == pytest.approx(want, rel=1e-9)
        # Both windows of a pair must hold ("and"); either pair may fire ("or").
        assert rule["expr"].count(" and") == 2 and rule["expr"].count("\nor\n") == 1
        assert rule["labels"] == {"severity": severity, "team": "payments", "service": "checkout-api", "environment": "prod"}
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
        assert rule["annotations"]["runbook_url"] == "docs/runbook.md"


def test_99_9_objective_renders_the_canonical_thresholds() -> None:
    document = rules_of(make_spec(availability=99.9))
    page = conditions(alert(document, "CheckoutApiAvailabilityBurnRatePage")["expr"])
    ticket = conditions(alert(document, "CheckoutApiAvailabilityBurnRateTicket")["expr"])
    assert page == [("1h", 0.0144), ("5m", 0.0144), ("6h", 0.006), ("30m", 0.006)]
    assert ticket == [("1d", 0.003), ("2h", 0.003), ("3d", 0.001), ("6h", 0.001)]


def test_recording_rules_cover_every_alert_window_with_sloth_like_labels() -> None:
    document = rules_of(make_spec())
    records = {rule["record"]: rule for rule in all_rules(document) if "record" in rule}
    for window in SLI_WINDOWS:
        rule = records[f"slo:sli_error:ratio_rate{window}"]
        assert rule["labels"]["slo_service"] == "checkout-api"
        assert rule["labels"]["slo_environment"] == "prod"
        assert 'http_requests_total{namespace="checkout-api-prod", code=~"5.."}' in rule["expr"]
        assert f'http_requests_total{{namespace="checkout-api-prod"}}[{window}]' in rule["expr"]
    # Every window an alert reads is recorded.
    for rule in all_rules(document):
        if "alert" in rule:
            for window, _ in conditions(rule["expr"]):
                assert f"slo:sli_error:ratio_rate{window}" in records


def test_latency_alert_uses_p99_histogram_for_ten_minutes() -> None:
    rule = alert(rules_of(make_spec(latency_p99_ms=250)), "CheckoutApiLatencyP99High")
    assert rule["expr"].strip() == (
        "histogram_quantile(0.99, sum by (le) "
        '(rate(http_request_duration_seconds_bucket{namespace="checkout-api-prod"}[5m]))) > 0.25'
    )
    assert rule["for"] == "10m"
    assert rule["labels"]["team"] == "payments"


def test_no_latency_rule_without_a_latency_slo() -> None:
    rendered = render_monitoring(make_spec(latency_p99_ms=None))
    document = yaml.safe_load(rendered[RULES.format(env="prod")])
    assert [rule["alert"] for rule in all_rules(document) if "alert" in rule] == [
        "CheckoutApiAvailabilityBurnRatePage",
        "CheckoutApiAvailabilityBurnRateTicket",
    ]
    assert "histogram_quantile" not in rendered[RULES.format(env="prod")]


def test_files_live_under_the_environment_directory() -> None:
    assert sorted(render_monitoring(make_spec(environment="staging"))) == sorted(
        [RULES.format(env="staging"), DASHBOARD.format(env="staging"), SLO.format(env="staging")]
    )


# --- Prometheus rules: promtool (when installed) -------------------------------------------------------


def _write_rules(tmp_path: Path, spec: MonitoringSpec) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(render_monitoring(spec)[RULES.format(env=spec.environment)])
    return path


@pytest.mark.parametrize(
    "spec",
    [make_spec(), make_spec(availability=99.5, window_days=28), make_spec(availability=99.99, latency_p99_ms=None, window_days=7)],
    ids=["99.9-30d", "99.5-28d", "99.99-7d-no-latency"],
)
def test_promtool_accepts_the_rules(tmp_path: Path, spec: MonitoringSpec) -> None:
    document = yaml.safe_load(_write_rules(tmp_path, spec).read_text())
    assert all(("record" in rule) != ("alert" in rule) and rule["expr"].strip() for rule in all_rules(document))
    if PROMTOOL is None:
        return  # structure checked above; CI has promtool and checks the PromQL itself
    result = run_promtool("check", "rules", str(tmp_path / "rules.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr


def _expected_alert(rule: dict[str, Any], value_text: str, slo_labels: bool = True) -> dict[str, Any]:
    """What promtool reports for a firing alert: rule labels (over the recorded SLO labels), templated annotations."""
    annotations = dict(rule["annotations"])
    annotations["description"] = re.sub(r"\{\{ \$value \| \w+ \}\}", value_text, annotations["description"])
    labels = {"slo_service": "checkout-api", "slo_environment": "prod", "slo_name": "availability"} if slo_labels else {}
    labels.update(rule["labels"])
    return {"exp_labels": labels, "exp_annotations": annotations}


@pytest.mark.parametrize("availability", [99.9, 99.5])
def test_promtool_alerts_fire_on_burn_and_stay_quiet_when_healthy(tmp_path: Path, availability: float) -> None:
    """2 % errors burns a 99.9 % budget at 20x (page and ticket) but a 99.5 % one at 4x (ticket only)."""
    spec = make_spec(availability=availability)
    rules_path = _write_rules(tmp_path, spec)
    document = yaml.safe_load(rules_path.read_text())
    page = alert(document, "CheckoutApiAvailabilityBurnRatePage")
    ticket = alert(document, "CheckoutApiAvailabilityBurnRateTicket")
    latency = alert(document, "CheckoutApiLatencyP99High")
    ns = 'namespace="checkout-api-prod"'
    burning = {
        "interval": "1m",
        "input_series": [
            {"series": f'http_requests_total{{{ns}, code="200"}}', "values": "0+98x120"},
            {"series": f'http_requests_total{{{ns}, code="500"}}', "values": "0+2x120"},
            # Every request between 0.5 s and 1 s: p99 interpolates to 0.995 s, above the 0.3 s bound.
            {"series": f'http_request_duration_seconds_bucket{{{ns}, le="0.5"}}', "values": "0+0x120"},
            {"series": f'http_request_duration_seconds_bucket{{{ns}, le="1"}}', "values": "0+100x120"},
            {"series": f'http_request_duration_seconds_bucket{{{ns}, le="+Inf"}}', "values": "0+100x120"},
        ],
        "alert_rule_test": [
            {
                "eval_time": "30m",
                "alertname": page["alert"],
                "exp_alerts": [_expected_alert(page, "2%")] if availability == 99.9 else [],
            },
            {"eval_time": "30m", "alertname": ticket["alert"], "exp_alerts": [_expected_alert(ticket, "2%")]},
            {"eval_time": "30m", "alertname": latency["alert"], "exp_alerts": [_expected_alert(latency, "995ms", slo_labels=False)]},
        ],
    }
    healthy = {
        "interval": "1m",
        "input_series": [
            {"series": f'http_requests_total{{{ns}, code="200"}}', "values": "0+100x120"},
            {"series": f'http_requests_total{{{ns}, code="500"}}', "values": "0+0x120"},
            {"series": f'http_request_duration_seconds_bucket{{{ns}, le="0.1"}}', "values": "0+100x120"},
            {"series": f'http_request_duration_seconds_bucket{{{ns}, le="+Inf"}}', "values": "0+100x120"},
        ],
        "alert_rule_test": [
            {"eval_time": "30m", "alertname": name, "exp_alerts": []}
            for name in (page["alert"], ticket["alert"], latency["alert"])
        ],
    }
    test_path = tmp_path / "rules_test.yaml"
    test_path.write_text(yaml.safe_dump({"rule_files": [rules_path.name], "evaluation_interval": "1m", "tests": [burning, healthy]}))
    assert len(burning["alert_rule_test"]) == 3  # structure is exercised even without promtool
    if PROMTOOL is None:
        return
    result = run_promtool("test", "rules", str(test_path))
    assert result.returncode == 0, result.stdout + result.stderr


# --- Grafana dashboard ---------------------------------------------------------------------------------


def dashboard_of(spec: MonitoringSpec) -> dict[str, Any]:
    return json.loads(render_monitoring(spec)[DASHBOARD.format(env=spec.environment)])


def test_dashboard_is_valid_grafana_json() -> None:
    dashboard = dashboard_of(make_spec())
    assert dashboard["schemaVersion"] == 39
    assert dashboard["title"] == "checkout-api (prod)"
    assert dashboard["tags"] == ["roadbed", "payments"]
    panels = dashboard["panels"]
    assert [p["title"] for p in panels] == [
        "Availability SLI (30d)",
        "Error budget remaining",
        "Burn rate",
        "Request rate",
        "p99 latency",
    ]
    assert {p["type"] for p in panels} <= {"stat", "timeseries"}
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"] and target["refId"]
    exprs = "\n".join(t["expr"] for p in panels for t in p["targets"])
    assert 'http_requests_total{namespace="checkout-api-prod"}' in exprs
    assert "slo:sli_error:ratio_rate30d" in exprs
    assert "http_request_duration_seconds_bucket" in exprs


def test_dashboard_uid_is_stable_short_and_per_environment() -> None:
    prod = dashboard_of(make_spec(environment="prod"))["uid"]
    assert prod == dashboard_of(make_spec(environment="prod", availability=99.5))["uid"]
    assert prod != dashboard_of(make_spec(environment="staging"))["uid"]
    assert len(prod) <= 40 and re.fullmatch(r"[a-zA-Z0-9_-]+", prod)


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """Dashboard expressions use the same metrics as the rules; promtool parses them as recording rules."""
    panels = dashboard_of(make_spec())["panels"]
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    assert all(isinstance(e, str) and "{{" not in e for e in exprs)
    if PROMTOOL is None:
        return
    wrapper = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:q{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump(wrapper))
    result = run_promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


# --- Sloth spec ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("availability", [99.9, 99.5])
def test_slo_spec_is_a_sloth_prometheus_v1_document(availability: float) -> None:
    spec = make_spec(availability=availability)
    document = yaml.safe_load(render_monitoring(spec)[SLO.format(env="prod")])
    assert document["version"] == "prometheus/v1"
    assert document["service"] == "checkout-api"
    assert document["labels"]["owner"] == "payments"
    (slo,) = document["slos"]
    assert slo["objective"] == availability
    events = slo["sli"]["events"]
    assert "{{.window}}" in events["error_query"] and "{{.window}}" in events["total_query"]
    assert 'code=~"5.."' in events["error_query"]
    assert slo["alerting"]["name"] == "CheckoutApiAvailabilityBurnRate"
    assert slo["alerting"]["page_alert"]["labels"]["severity"] == "page"
    assert slo["alerting"]["ticket_alert"]["labels"]["severity"] == "ticket"


# --- input validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [("service", "Checkout"), ("environment", "prod/../x"), ("team", 'a"b'), ("namespace", "ns\nevil: 1"), ("service", "")],
)
def test_names_must_be_dns_labels(field: str, value: str) -> None:
    values = {"service": "checkout-api", "environment": "prod", "team": "payments", "namespace": "checkout-api-prod"}
    with pytest.raises(ValidationError):
        MonitoringSpec(**{**values, field: value})


@pytest.mark.parametrize(
    "kwargs",
    [{"availability": 100}, {"availability": 89.9}, {"availability": float("nan")}, {"window_days": 6}, {"window_days": 91}, {"latency_p99_ms": 0}],
)
def test_slo_target_bounds(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SloTarget(**kwargs)


def test_models_are_frozen() -> None:
    spec = make_spec()
    with pytest.raises(ValidationError):
        spec.service = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        BurnRateWindow(severity="page", long_window="1h", short_window="5m", factor=14.4).factor = 1.0  # type: ignore[misc]
    assert SloTarget() == SloTarget(availability=99.9, latency_p99_ms=300, window_days=30)


# --- jobs SLI (queue consumers, scheduled jobs) --------------------------------------------------------

JOBS_NS = 'namespace="checkout-worker-prod"'


def make_jobs_spec(availability: float = 99.5, max_job_age_seconds: int | None = 1800, window_days: int = 30) -> MonitoringSpec:
    return MonitoringSpec(
        service="checkout-worker",
        environment="prod",
        team="payments",
        namespace="checkout-worker-prod",
        slo=SloTarget(sli="jobs", availability=availability, max_job_age_seconds=max_job_age_seconds, window_days=window_days),
    )


def test_http_is_the_default_sli() -> None:
    assert SloTarget().sli == "http"
    assert SloTarget().max_job_age_seconds is None
    assert make_spec().slo == SloTarget(sli="http", availability=99.9, latency_p99_ms=300, window_days=30)


def test_a_jobs_slo_has_no_latency_bound() -> None:
    assert SloTarget(sli="jobs").latency_p99_ms is None
    assert SloTarget.model_validate({"sli": "jobs", "availability": 99.5}).latency_p99_ms is None
    with pytest.raises(ValidationError, match="latency_p99_ms"):
        SloTarget(sli="jobs", latency_p99_ms=300)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_job_age_seconds": 600}, {"sli": "http", "max_job_age_seconds": 600}, {"sli": "jobs", "max_job_age_seconds": 0}, {"sli": "cron"}],
)
def test_jobs_only_fields_and_bounds(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SloTarget(**kwargs)


def test_jobs_recording_rules_divide_failed_by_processed_jobs() -> None:
    document = rules_of(make_jobs_spec())
    records = {rule["record"]: rule for rule in all_rules(document) if "record" in rule}
    for window in SLI_WINDOWS:
        rule = records[f"slo:sli_error:ratio_rate{window}"]
        assert rule["labels"] == {
            "slo_service": "checkout-worker",
            "slo_environment": "prod",
            "slo_name": "job-success",
            "slo_window": window,
        }
        assert rule["expr"] == (
            f'(sum(rate(jobs_processed_total{{{JOBS_NS}, status="failed"}}[{window}])))\n/\n'
            f"(sum(rate(jobs_processed_total{{{JOBS_NS}}}[{window}])))\n"
        )
    assert "slo:sli_error:ratio_rate30d" in records
    assert "http_requests_total" not in render_monitoring(make_jobs_spec())[RULES.format(env="prod")]


def test_jobs_burn_rate_alerts_use_the_same_factors() -> None:
    document = rules_of(make_jobs_spec(availability=99.5))
    page = alert(document, "CheckoutWorkerJobSuccessBurnRatePage")
    ticket = alert(document, "CheckoutWorkerJobSuccessBurnRateTicket")
    for (_, got), want in zip(conditions(page["expr"]), [0.072, 0.072, 0.03, 0.03], strict=True):
        assert got == pytest.approx(want, rel=1e-9)
    for (_, got), want in zip(conditions(ticket["expr"]), [0.015, 0.015, 0.005, 0.005], strict=True):
        assert got == pytest.approx(want, rel=1e-9)
    assert 'slo_name="job-success"' in page["expr"]
    assert page["labels"] == {"severity": "page", "team": "payments", "service": "checkout-worker", "environment": "prod"}
    assert "job success SLO" in page["annotations"]["description"]
    assert page["annotations"]["runbook_url"] == "docs/runbook.md"


def test_jobs_freshness_alert_replaces_the_latency_alert() -> None:
    document = rules_of(make_jobs_spec(max_job_age_seconds=900))
    names = [rule["alert"] for rule in all_rules(document) if "alert" in rule]
    assert names == ["CheckoutWorkerJobSuccessBurnRatePage", "CheckoutWorkerJobSuccessBurnRateTicket", "CheckoutWorkerJobsStale"]
    stale = alert(document, "CheckoutWorkerJobsStale")
    assert stale["expr"] == f"time() - max(job_last_success_timestamp_seconds{{{JOBS_NS}}}) > 900\n"
    assert stale["for"] == "10m"
    assert stale["labels"]["severity"] == "page"
    assert "{{ $value | humanizeDuration }}" in stale["annotations"]["description"]
    without = rules_of(make_jobs_spec(max_job_age_seconds=None))
    assert [rule["alert"] for rule in all_rules(without) if "alert" in rule] == names[:2]
    assert "histogram_quantile" not in render_monitoring(make_jobs_spec())[RULES.format(env="prod")]


def test_jobs_dashboard_has_job_panels_instead_of_http_ones() -> None:
    dashboard = dashboard_of(make_jobs_spec())
    panels = dashboard["panels"]
    assert [p["title"] for p in panels] == [
        "Job success SLI (30d)",
        "Error budget remaining",
        "Last success age",
        "Burn rate",
        "Job throughput",
        "Job failure ratio",
    ]
    assert len({p["id"] for p in panels}) == len(panels)
    exprs = "\n".join(t["expr"] for p in panels for t in p["targets"])
    assert "http_" not in exprs and "histogram_quantile" not in exprs
    assert f'sum(rate(jobs_processed_total{{{JOBS_NS}, status="failed"}}[5m]))' in exprs
    assert f"time() - max(job_last_success_timestamp_seconds{{{JOBS_NS}}})" in exprs
    age = next(p for p in panels if p["title"] == "Last success age")
    assert age["fieldConfig"]["defaults"]["thresholds"]["steps"][-1] == {"color": "red", "value": 1800}
    assert dashboard["uid"] == dashboard_uid("checkout-worker", "prod")  # the same dashboard whatever the SLI


def test_jobs_sloth_spec() -> None:
    document = yaml.safe_load(render_monitoring(make_jobs_spec())[SLO.format(env="prod")])
    (slo,) = document["slos"]
    assert slo["name"] == "job-success"
    assert slo["objective"] == 99.5
    assert slo["sli"]["events"] == {
        "error_query": f'sum(rate(jobs_processed_total{{{JOBS_NS}, status="failed"}}[{{{{.window}}}}]))',
        "total_query": f"sum(rate(jobs_processed_total{{{JOBS_NS}}}[{{{{.window}}}}]))",
    }
    assert slo["alerting"]["name"] == "CheckoutWorkerJobSuccessBurnRate"


@pytest.mark.parametrize(
    "spec",
    [make_jobs_spec(), make_jobs_spec(availability=99.9, max_job_age_seconds=None, window_days=28)],
    ids=["99.5-30d-stale", "99.9-28d"],
)
def test_promtool_accepts_the_jobs_rules_and_dashboard(tmp_path: Path, spec: MonitoringSpec) -> None:
    rules_path = _write_rules(tmp_path, spec)
    exprs = [t["expr"] for p in dashboard_of(spec)["panels"] for t in p["targets"]]
    wrapper = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:q{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    dashboard_path = tmp_path / "dashboard-queries.yaml"
    dashboard_path.write_text(yaml.safe_dump(wrapper))
    assert all(rule["expr"].strip() for rule in all_rules(yaml.safe_load(rules_path.read_text())))
    if PROMTOOL is None:
        return
    for path in (rules_path, dashboard_path):
        result = run_promtool("check", "rules", str(path))
        assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_jobs_alerts_fire_on_failures_and_staleness(tmp_path: Path) -> None:
    """99.5 %: 2 % failed jobs burn at 4x (ticket only), 10 % at 20x (page too); a last success frozen at t=0
    is older than 1800 s from 30m on and fires after 10 more minutes; steady successes stay quiet."""
    spec = make_jobs_spec(availability=99.5, max_job_age_seconds=1800)
    rules_path = _write_rules(tmp_path, spec)
    document = yaml.safe_load(rules_path.read_text())
    page = alert(document, "CheckoutWorkerJobSuccessBurnRatePage")
    ticket = alert(document, "CheckoutWorkerJobSuccessBurnRateTicket")
    stale = alert(document, "CheckoutWorkerJobsStale")
    slo_labels = {"slo_service": "checkout-worker", "slo_environment": "prod", "slo_name": "job-success"}

    def expected(rule: dict[str, Any], value_text: str, with_slo_labels: bool = True) -> dict[str, Any]:
        annotations = dict(rule["annotations"])
        annotations["description"] = re.sub(r"\{\{ \$value \| \w+ \}\}", value_text, annotations["description"])
        return {"exp_labels": {**(slo_labels if with_slo_labels else {}), **rule["labels"]}, "exp_annotations": annotations}

    def series(failed_per_minute: int, last_success: str) -> list[dict[str, str]]:
        return [
            {"series": f'jobs_processed_total{{{JOBS_NS}, status="succeeded"}}', "values": f"0+{100 - failed_per_minute}x120"},
            {"series": f'jobs_processed_total{{{JOBS_NS}, status="failed"}}', "values": f"0+{failed_per_minute}x120"},
            {"series": f"job_last_success_timestamp_seconds{{{JOBS_NS}}}", "values": last_success},
        ]

    fresh = "0+60x120"  # a success every minute: value == evaluation time
    tests = [
        {
            "interval": "1m",
            "input_series": series(2, fresh),
            "alert_rule_test": [
                {"eval_time": "30m", "alertname": page["alert"], "exp_alerts": []},
                {"eval_time": "30m", "alertname": ticket["alert"], "exp_alerts": [expected(ticket, "2%")]},
                {"eval_time": "45m", "alertname": stale["alert"], "exp_alerts": []},
            ],
        },
        {
            "interval": "1m",
            "input_series": series(10, fresh),
            "alert_rule_test": [
                {"eval_time": "30m", "alertname": page["alert"], "exp_alerts": [expected(page, "10%")]},
                {"eval_time": "30m", "alertname": ticket["alert"], "exp_alerts": [expected(ticket, "10%")]},
            ],
        },
        {
            "interval": "1m",
            "input_series": series(0, "0+0x120"),
            "alert_rule_test": [
                {"eval_time": "35m", "alertname": stale["alert"], "exp_alerts": []},  # pending: for 10m
                {"eval_time": "45m", "alertname": stale["alert"], "exp_alerts": [expected(stale, "45m 0s", with_slo_labels=False)]},
                {"eval_time": "45m", "alertname": page["alert"], "exp_alerts": []},
            ],
        },
        {
            "interval": "1m",
            "input_series": series(0, fresh),
            "alert_rule_test": [
                {"eval_time": "45m", "alertname": name, "exp_alerts": []} for name in (page["alert"], ticket["alert"], stale["alert"])
            ],
        },
    ]
    test_path = tmp_path / "jobs_rules_test.yaml"
    test_path.write_text(yaml.safe_dump({"rule_files": [rules_path.name], "evaluation_interval": "1m", "tests": tests}))
    assert len(tests) == 4  # structure is exercised even without promtool
    if PROMTOOL is None:
        return
    result = run_promtool("test", "rules", str(test_path))
    assert result.returncode == 0, result.stdout + result.stderr

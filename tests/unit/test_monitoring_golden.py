"""The exact bytes `render_monitoring` writes, pinned by golden files (tests/fixtures/monitoring/<case>/).

The structural and promtool tests in test_monitoring_rendering.py say the documents are right; these say
they do not change by accident (a refactor of the renderer must leave every byte where it was). After an
intended change of the output, regenerate with `UPDATE_GOLDEN=1 pytest tests/unit/test_monitoring_golden.py`
and review the diff of the fixtures.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from roadbed.domain.specs import MonitoringSpec, SloTarget
from roadbed.rendering.monitoring import render_monitoring

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "monitoring"

CASES: dict[str, MonitoringSpec] = {
    "http-default": MonitoringSpec(service="checkout-api", environment="prod", team="payments", namespace="checkout-api-prod"),
    "http-no-latency-28d": MonitoringSpec(
        service="checkout-api",
        environment="staging",
        team="payments",
        namespace="checkout-api-staging",
        slo=SloTarget(availability=99.5, latency_p99_ms=None, window_days=28),
    ),
    "http-7d": MonitoringSpec(
        service="a", environment="dev", team="core", namespace="a-dev", slo=SloTarget(availability=90, latency_p99_ms=1250, window_days=7)
    ),
    "jobs-freshness-90d": MonitoringSpec(
        service="billing-worker",
        environment="prod",
        team="billing",
        namespace="billing-worker-prod",
        slo=SloTarget(sli="jobs", availability=99.95, window_days=90, max_job_age_seconds=900),
    ),
    "jobs-team-is-service": MonitoringSpec(
        service="queue", environment="qa", team="queue", namespace="queue-qa", slo=SloTarget(sli="jobs", availability=99.0)
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_bytes_match_the_golden_files(case: str) -> None:
    rendered = render_monitoring(CASES[case])
    root = GOLDEN / case
    if os.environ.get("UPDATE_GOLDEN") == "1":
        for path, content in rendered.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(content.encode())
    expected = {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}
    assert sorted(rendered) == sorted(expected)
    for path, content in rendered.items():
        assert content.encode() == expected[path], f"{case}: {path} differs from its golden file"


def test_burn_rate_rules_are_generated_from_the_sloth_spec() -> None:
    """One source of truth: what the Sloth spec says (queries, objective, alert name, labels) is what the rules do."""
    from roadbed.rendering.prometheus_rules import prometheus_rules
    from roadbed.rendering.slo_queries import SloQueries
    from roadbed.rendering.sloth import sloth_spec

    spec = CASES["http-default"]
    queries = SloQueries(spec)
    sloth = sloth_spec(spec, queries)
    slo = sloth["slos"][0]
    slo["objective"] = 99.0
    slo["sli"]["events"]["error_query"] = "sum(rate(errors_total[{{.window}}]))"
    slo["alerting"]["name"] = "Renamed"
    slo["alerting"]["labels"] = {"team": "other"}
    slo["alerting"]["annotations"] = {"runbook_url": "https://runbooks.example/x"}
    recordings, alerts = prometheus_rules(spec, queries, sloth)["groups"]
    assert recordings["rules"][0]["expr"].startswith("(sum(rate(errors_total[5m])))\n/\n")
    page, ticket = alerts["rules"][:2]
    assert (page["alert"], ticket["alert"]) == ("RenamedPage", "RenamedTicket")
    assert page["labels"] == {"severity": "page", "team": "other"}
    assert page["annotations"]["runbook_url"] == "https://runbooks.example/x"
    assert "> 0.144)" in page["expr"]  # 14.4 x (1 - 99.0 %)

"""Monitoring-as-code for a service environment: SLO alert rules, a Grafana dashboard and a Sloth spec.

The monitoring step of `ProvisionEnvironmentWorkflow` writes these files into the service's repository
(embedded target) or pushes them to Prometheus/Grafana (real target); both start from the same rendered
text so what a reviewer sees in git is what runs.

This module only assembles the three files; each concept lives in a module of its own:

- `burn_rates`: Sloth's multi-window multi-burn-rate factors and the error-budget arithmetic;
- `slo_queries`: the metric selectors, recorded series, labels and alert names every document shares;
- `sloth`: the Sloth `prometheus/v1` spec — the SLO's one source of truth;
- `prometheus_rules`: recording rules and burn-rate alerts generated from that spec, plus threshold alerts;
- `grafana_dashboard`: the dashboard JSON and its stable uid;
- `monitoring_yaml`: the YAML writer (plain, PromQL as `|` blocks).

Every document is built as plain data and serialised by PyYAML's safe dumper or `json.dumps`; no
document is ever assembled by string concatenation, so a hostile value could at worst be a bad label
value, never a new YAML key. Label values are in any case DNS labels, validated by `MonitoringSpec`.
"""

from __future__ import annotations

import json

from roadbed.domain.specs import MonitoringSpec, SloTarget
from roadbed.rendering import monitoring_yaml
from roadbed.rendering.burn_rates import BurnRateWindow, burn_rate_windows
from roadbed.rendering.grafana_dashboard import dashboard, dashboard_uid
from roadbed.rendering.prometheus_rules import prometheus_rules
from roadbed.rendering.slo_queries import SloQueries
from roadbed.rendering.sloth import sloth_spec

__all__ = ["BurnRateWindow", "MonitoringSpec", "SloTarget", "burn_rate_windows", "dashboard_uid", "render_monitoring"]


def render_monitoring(spec: MonitoringSpec) -> dict[str, str]:
    """Repository path -> content for the environment's Prometheus rules, Grafana dashboard and Sloth spec."""
    queries = SloQueries(spec)
    sloth = sloth_spec(spec, queries)
    base = f"monitoring/{spec.environment}"
    return {
        f"{base}/prometheus-rules.yaml": monitoring_yaml.dump(prometheus_rules(spec, queries, sloth)),
        f"{base}/grafana-dashboard.json": json.dumps(dashboard(spec, queries), indent=2) + "\n",
        f"{base}/slo.yaml": monitoring_yaml.dump(sloth),
    }

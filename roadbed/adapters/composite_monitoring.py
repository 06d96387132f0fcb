"""`MonitoringPublisher` that composes the monitoring targets: the repository always, Grafana and the cluster when configured.

`publish(spec, files)` takes the environment's `MonitoringSpec` and the files `rendering.monitoring.render_monitoring(spec)`
produced (`monitoring/<env>/prometheus-rules.yaml`, `grafana-dashboard.json`, `slo.yaml`) and, in this order:

1. commits them to the service repository (the wrapped publisher, `RepositoryMonitoring`): what a reviewer
   sees in git is what runs, and it is the part that always exists;
2. with Grafana configured (`ROADBED_GRAFANA_URL`), pushes the environment's `grafana-dashboard.json` into
   the team's folder (`GrafanaDashboards`), under the dashboard's stable uid;
3. with the `cluster` Kubernetes target, applies the environment's `prometheus-rules.yaml` as a
   `monitoring.coreos.com/v1` `PrometheusRule` named `<service>-slo` in the environment's namespace
   (`adapters.prometheus_rules.PrometheusRules`).

`remove(spec, paths)` undoes the same in reverse order (cluster, Grafana, repository). Every part is
idempotent, so a retried step converges: the commit of unchanged files commits nothing, the dashboard is
overwritten by uid, the rule is server-side applied; removal treats "already gone" as done.

The service (the repository's name), environment, namespace and team come from the typed spec, the same
one the renderer read, never from the rendered text; the rendered files are only what gets shipped (the
dashboard JSON, the rule groups). The dashboard's uid must be `rendering.monitoring.dashboard_uid(service,
environment)`, what the renderer puts there, because removal gets paths only and derives it.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from roadbed.adapters.grafana import GrafanaDashboards
from roadbed.adapters.prometheus_rules import PROMETHEUS_RULE_KIND, PrometheusRules, prometheus_rule_name
from roadbed.domain.errors import PermanentError
from roadbed.domain.specs import MonitoringSpec
from roadbed.ports import MonitoringPublisher
from roadbed.rendering.monitoring import dashboard_uid

MONITORING_DIR = "monitoring"
RULES_FILE = "prometheus-rules.yaml"
DASHBOARD_FILE = "grafana-dashboard.json"
SLO_FILE = "slo.yaml"


def monitoring_path(spec: MonitoringSpec, name: str) -> str:
    """Where the renderer puts the environment's file `name`: `monitoring/<env>/<name>`."""
    return f"{MONITORING_DIR}/{spec.environment}/{name}"


def _document(spec: MonitoringSpec, path: str, text: str) -> Any:
    try:
        return json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise PermanentError(f"{path} of {spec.service} is not valid: {exc}") from exc


def _rule_groups(spec: MonitoringSpec, path: str, text: str) -> list[dict[str, Any]]:
    document = _document(spec, path, text)
    groups = document.get("groups") if isinstance(document, dict) else None
    if not isinstance(groups, list) or not groups:
        raise PermanentError(f"{path} of {spec.service} holds no rule groups")
    return groups


class CompositeMonitoring:
    """`MonitoringPublisher`: the repository's files, plus Grafana and the cluster's PrometheusRule when given."""

    def __init__(
        self,
        repository: MonitoringPublisher,
        *,
        grafana: GrafanaDashboards | None = None,
        prometheus_rules: PrometheusRules | None = None,
    ) -> None:
        self.repository = repository
        self.grafana = grafana
        self.prometheus_rules = prometheus_rules

    def describe(self) -> str:
        """Where monitoring goes, for the start-up banner."""
        parts = ["files in the service repository"]
        if self.grafana is not None:
            parts.append(f"Grafana {self.grafana.url}")
        if self.prometheus_rules is not None:
            parts.append(f"{PROMETHEUS_RULE_KIND} in the cluster")
        return " + ".join(parts)

    def publish(self, spec: MonitoringSpec, files: dict[str, str]) -> list[str]:
        published = self.repository.publish(spec, files)
        dashboard_path = monitoring_path(spec, DASHBOARD_FILE)
        if self.grafana is not None and dashboard_path in files:
            dashboard = _document(spec, dashboard_path, files[dashboard_path])
            expected = dashboard_uid(spec.service, spec.environment)
            if not isinstance(dashboard, dict) or dashboard.get("uid") != expected:
                # removal gets paths only and derives the uid: a dashboard under another uid could never be removed
                raise PermanentError(
                    f"{dashboard_path} of {spec.service} must have uid {expected} (dashboard_uid of the service and environment)"
                )
            self.grafana.push(dashboard, spec.team)
        rules_path = monitoring_path(spec, RULES_FILE)
        if self.prometheus_rules is not None and rules_path in files:
            labels = {
                "app.kubernetes.io/name": spec.service,
                "app.kubernetes.io/part-of": spec.service,
                "roadbed.dev/environment": spec.environment,
                "roadbed.dev/team": spec.team,
            }
            self.prometheus_rules.apply(
                spec.namespace,
                prometheus_rule_name(spec.service),
                _rule_groups(spec, rules_path, files[rules_path]),
                labels=labels,
                annotations={"roadbed.dev/source": rules_path},
            )
        return published

    def remove(self, spec: MonitoringSpec, paths: list[str]) -> None:
        if self.prometheus_rules is not None and monitoring_path(spec, RULES_FILE) in paths:
            self.prometheus_rules.delete(spec.namespace, prometheus_rule_name(spec.service))
        if self.grafana is not None and monitoring_path(spec, DASHBOARD_FILE) in paths:
            self.grafana.remove(dashboard_uid(spec.service, spec.environment))
        self.repository.remove(spec, paths)

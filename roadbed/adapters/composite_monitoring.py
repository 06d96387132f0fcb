"""`MonitoringPublisher` that composes the monitoring targets: the repository always, Grafana and the cluster when configured.

`publish(repository, files)` takes the files `rendering.monitoring.render_monitoring` produced
(`monitoring/<env>/prometheus-rules.yaml`, `grafana-dashboard.json`, `slo.yaml`) and, in this order:

1. commits them to the service repository (the wrapped publisher, `RepositoryMonitoring`): what a reviewer
   sees in git is what runs, and it is the part that always exists;
2. with Grafana configured (`ROADBED_GRAFANA_URL`), pushes each `grafana-dashboard.json` into the team's
   folder (`GrafanaDashboards`), under the dashboard's stable uid;
3. with the `cluster` Kubernetes target, applies each `prometheus-rules.yaml` as a `monitoring.coreos.com/v1`
   `PrometheusRule` named `<service>-slo` in the environment's namespace (`PrometheusRules`).

`remove(repository, paths)` undoes the same in reverse order (cluster, Grafana, repository). Every part is
idempotent, so a retried step converges: the commit of unchanged files commits nothing, the dashboard is
overwritten by uid, the rule is server-side applied; removal treats "already gone" as done.

The port passes only the repository and the files, so what the targets need is derived, not passed in:

- the service is the repository's name (every `RepoHost` names the repository after the service, and the
  activities call the port with `request.service`);
- the environment is the `<env>` of `monitoring/<env>/` (the renderer's layout);
- the namespace is `domain.naming.namespace_for(service, environment)`, the function the activities use
  for the Kubernetes step, so the rule lands where the workload runs;
- the dashboard uid is the one in the rendered JSON on publish, and `rendering.monitoring.dashboard_uid(
  service, environment)` (what the renderer put there) on removal, which gets paths only;
- the team (Grafana folder, rule labels) is the Sloth spec's `labels.owner`, else the alert rules'
  `team` label: the rendered documents already carry it.

`PrometheusRules` talks to the API server with the `kubernetes` client's `ApiClient` (the cluster
deployer's, so one kubeconfig, one connection pool), the same way `KubernetesClusterDeployer` does: raw
JSON through `param_serialize` + `call_api`, server-side apply (`application/apply-patch+yaml`,
`fieldManager`, `force=true`), errors translated by `kubernetes_cluster.translate_api_exception`.
A cluster that does not serve `monitoring.coreos.com/v1` (no Prometheus Operator CRDs) is a
`PermanentError` naming what is missing on publish, and nothing to remove on removal. A `PrometheusRule`
of that name without Roadbed's `app.kubernetes.io/managed-by` label is someone else's: publish refuses to
take it over (`PermanentError`), removal leaves it alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from kubernetes.client import ApiClient

from roadbed.adapters.grafana import GrafanaDashboards
from roadbed.adapters.kubernetes_cluster import APPLY_PATCH, DEFAULT_FIELD_MANAGER, DEFAULT_REQUEST_TIMEOUT_SECONDS, call_api, is_managed
from roadbed.domain.errors import PermanentError
from roadbed.domain.naming import namespace_for
from roadbed.ports import MonitoringPublisher
from roadbed.rendering.manifests import MANAGED_BY
from roadbed.rendering.monitoring import dashboard_uid

log = logging.getLogger(__name__)

MONITORING_DIR = "monitoring"
RULES_FILE = "prometheus-rules.yaml"
DASHBOARD_FILE = "grafana-dashboard.json"
SLO_FILE = "slo.yaml"

PROMETHEUS_RULE_API_VERSION = "monitoring.coreos.com/v1"
PROMETHEUS_RULE_KIND = "PrometheusRule"
PROMETHEUS_RULE_PLURAL = "prometheusrules"
_MANAGED_SELECTOR = ",".join(f"{key}={value}" for key, value in MANAGED_BY.items())


def prometheus_rule_name(service: str) -> str:
    return f"{service}-slo"


def environments_of(paths: Iterable[str]) -> dict[str, dict[str, str]]:
    """`monitoring/<env>/<file>` paths grouped by environment: env -> file name -> path (other paths ignored)."""
    grouped: dict[str, dict[str, str]] = {}
    for path in paths:
        parts = path.split("/")
        if len(parts) == 3 and parts[0] == MONITORING_DIR and parts[1] and parts[2]:
            grouped.setdefault(parts[1], {})[parts[2]] = path
    return grouped


# ---------------------------------------------------------------- PrometheusRule in the cluster


class PrometheusRules:
    """`PrometheusRule` objects through the API server (see the module docstring)."""

    def __init__(
        self,
        api_client: ApiClient,
        *,
        field_manager: str = DEFAULT_FIELD_MANAGER,
        labels: Mapping[str, str] | None = None,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        """`labels` are added to every rule, e.g. what the Prometheus resource's `ruleSelector` matches
        (`release: kube-prometheus-stack`); Roadbed's own labels win over them."""
        self.api_client = api_client
        self.field_manager = field_manager
        self.labels = dict(labels or {})
        self.request_timeout = request_timeout
        self._served = False

    @property
    def server(self) -> str:
        return str(self.api_client.configuration.host)

    def apply(
        self, namespace: str, name: str, groups: list[dict[str, Any]], *, labels: Mapping[str, str], annotations: Mapping[str, str]
    ) -> None:
        """Create or update the rule by server-side apply; Roadbed's field manager owns exactly these fields."""
        what = f"apply {PROMETHEUS_RULE_KIND} {namespace}/{name}"
        if not self._serves_rules(what):
            raise PermanentError(
                f"{what}: the cluster does not serve {PROMETHEUS_RULE_API_VERSION} {PROMETHEUS_RULE_PLURAL}; "
                "install the Prometheus Operator (its CRDs) to get SLO alerts in the cluster"
            )
        live = self._call("GET", self._item(namespace, name), what=f"read {PROMETHEUS_RULE_KIND} {namespace}/{name}", tolerate={404})
        if live is not None and not is_managed(live):
            raise PermanentError(
                f"{what}: a {PROMETHEUS_RULE_KIND} of that name exists and is not managed by Roadbed (no {_MANAGED_SELECTOR} label); "
                "refusing to take it over"
            )
        manifest = {
            "apiVersion": PROMETHEUS_RULE_API_VERSION,
            "kind": PROMETHEUS_RULE_KIND,
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {**self.labels, **labels, **MANAGED_BY},
                "annotations": dict(annotations),
            },
            "spec": {"groups": groups},
        }
        self._call(
            "PATCH",
            self._item(namespace, name),
            query=[("fieldManager", self.field_manager), ("force", True)],
            body=manifest,
            content_type=APPLY_PATCH,
            what=what,
        )

    def delete(self, namespace: str, name: str) -> None:
        """Delete Roadbed's rule; gone already (or never servable) is done, someone else's is left alone."""
        what = f"delete {PROMETHEUS_RULE_KIND} {namespace}/{name}"
        if not self._serves_rules(what):
            return
        live = self._call("GET", self._item(namespace, name), what=f"read {PROMETHEUS_RULE_KIND} {namespace}/{name}", tolerate={404})
        if live is None:
            return
        if not is_managed(live):
            log.warning(
                "%s %s/%s is not managed by Roadbed (no %s label); leaving it alone",
                PROMETHEUS_RULE_KIND,
                namespace,
                name,
                _MANAGED_SELECTOR,
            )
            return
        self._call("DELETE", self._item(namespace, name), what=what, tolerate={404})

    # -- helpers
    @staticmethod
    def _item(namespace: str, name: str) -> str:
        return f"/apis/{PROMETHEUS_RULE_API_VERSION}/namespaces/{namespace}/{PROMETHEUS_RULE_PLURAL}/{name}"

    def _serves_rules(self, what: str) -> bool:
        """Whether the discovery document of monitoring.coreos.com/v1 lists prometheusrules (a yes is cached)."""
        if not self._served:
            listing = self._call(
                "GET", f"/apis/{PROMETHEUS_RULE_API_VERSION}", what=f"{what}: discover {PROMETHEUS_RULE_API_VERSION}", tolerate={404}
            )
            resources = (listing or {}).get("resources") or []
            self._served = any(entry.get("name") == PROMETHEUS_RULE_PLURAL for entry in resources if isinstance(entry, dict))
        return self._served

    def _call(self, method: str, path: str, *, what: str, **options: Any) -> dict[str, Any] | None:
        return call_api(self.api_client, method, path, what=what, request_timeout=self.request_timeout, **options)


# ---------------------------------------------------------------- the composite


@dataclass(frozen=True)
class _Environment:
    """One `monitoring/<env>/` directory of a publish: what the targets need, read from the rendered files."""

    service: str
    environment: str
    files: dict[str, str]  # file name -> content

    @property
    def namespace(self) -> str:
        return namespace_for(self.service, self.environment)

    def document(self, name: str) -> Any:
        text = self.files.get(name)
        if text is None:
            return None
        try:
            return json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise PermanentError(f"{MONITORING_DIR}/{self.environment}/{name} of {self.service} is not valid: {exc}") from exc

    def team(self) -> str | None:
        slo = self.document(SLO_FILE)
        owner = ((slo or {}).get("labels") or {}).get("owner") if isinstance(slo, dict) else None
        if isinstance(owner, str) and owner:
            return owner
        for rule in _rules(self.document(RULES_FILE)):
            team = (rule.get("labels") or {}).get("team")
            if isinstance(team, str) and team:
                return team
        return None

    def rule_groups(self) -> list[dict[str, Any]]:
        document = self.document(RULES_FILE)
        groups = document.get("groups") if isinstance(document, dict) else None
        if not isinstance(groups, list) or not groups:
            raise PermanentError(f"{MONITORING_DIR}/{self.environment}/{RULES_FILE} of {self.service} holds no rule groups")
        return groups


def _rules(document: Any) -> Iterable[dict[str, Any]]:
    if not isinstance(document, dict):
        return []
    return [
        rule
        for group in document.get("groups") or []
        if isinstance(group, dict)
        for rule in group.get("rules") or []
        if isinstance(rule, dict)
    ]


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

    def publish(self, repository: str, files: dict[str, str]) -> list[str]:
        published = self.repository.publish(repository, files)
        for environment, names in sorted(environments_of(files).items()):
            env = _Environment(repository, environment, {name: files[path] for name, path in names.items()})
            if self.grafana is not None and DASHBOARD_FILE in env.files:
                team = env.team()
                if team is None:
                    raise PermanentError(f"no team in the monitoring files of {repository} ({environment}): cannot pick its Grafana folder")
                dashboard = env.document(DASHBOARD_FILE)
                expected = dashboard_uid(repository, environment)
                if not isinstance(dashboard, dict) or dashboard.get("uid") != expected:
                    # removal gets paths only and derives the uid: a dashboard under another uid could never be removed
                    raise PermanentError(
                        f"{names[DASHBOARD_FILE]} of {repository} must have uid {expected} (dashboard_uid of the service and environment)"
                    )
                self.grafana.push(dashboard, team)
            if self.prometheus_rules is not None and RULES_FILE in env.files:
                labels = {
                    "app.kubernetes.io/name": repository,
                    "app.kubernetes.io/part-of": repository,
                    "roadbed.dev/environment": environment,
                }
                team = env.team()
                if team:
                    labels["roadbed.dev/team"] = team
                self.prometheus_rules.apply(
                    env.namespace,
                    prometheus_rule_name(repository),
                    env.rule_groups(),
                    labels=labels,
                    annotations={"roadbed.dev/source": names[RULES_FILE]},
                )
        return published

    def remove(self, repository: str, paths: list[str]) -> None:
        for environment, names in sorted(environments_of(paths).items()):
            if self.prometheus_rules is not None and RULES_FILE in names:
                self.prometheus_rules.delete(namespace_for(repository, environment), prometheus_rule_name(repository))
            if self.grafana is not None and DASHBOARD_FILE in names:
                self.grafana.remove(dashboard_uid(repository, environment))
        self.repository.remove(repository, paths)

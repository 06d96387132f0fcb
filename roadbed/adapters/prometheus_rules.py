"""`PrometheusRule` objects (Prometheus Operator, `monitoring.coreos.com/v1`) through the API server.

`PrometheusRules` talks to the API server with the `kubernetes` client's `ApiClient` (the cluster
deployer's, so one kubeconfig, one connection pool), the same way `KubernetesClusterDeployer` does: raw
JSON through `param_serialize` + `call_api`, server-side apply (`application/apply-patch+yaml`,
`fieldManager`, `force=true`), errors translated by `kubernetes_cluster.translate_api_exception`.
A cluster that does not serve `monitoring.coreos.com/v1` (no Prometheus Operator CRDs) is a
`PermanentError` naming what is missing on apply, and nothing to remove on delete. A `PrometheusRule`
of that name without Roadbed's `app.kubernetes.io/managed-by` label is someone else's: apply refuses to
take it over (`PermanentError`), delete leaves it alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kubernetes.client import ApiClient

from roadbed.adapters.kubernetes_cluster import APPLY_PATCH, DEFAULT_FIELD_MANAGER, DEFAULT_REQUEST_TIMEOUT_SECONDS, call_api, is_managed
from roadbed.domain.errors import PermanentError
from roadbed.rendering.manifests import MANAGED_BY

log = logging.getLogger(__name__)

PROMETHEUS_RULE_API_VERSION = "monitoring.coreos.com/v1"
PROMETHEUS_RULE_KIND = "PrometheusRule"
PROMETHEUS_RULE_PLURAL = "prometheusrules"
_MANAGED_SELECTOR = ",".join(f"{key}={value}" for key, value in MANAGED_BY.items())


def prometheus_rule_name(service: str) -> str:
    return f"{service}-slo"


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

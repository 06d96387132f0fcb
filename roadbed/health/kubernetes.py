"""Kubernetes: the environment's Deployment as the cluster runs it, or (embedded target) as the gitops repo wants it.

Cluster target: the Deployment (`<service>` in the environment's namespace) judged like `kubectl rollout status`
(`rollout_state`), its pods' readiness and restarts, and the namespace's latest events, read with the same
`kubernetes` client and kubeconfig as the deployer. A failed rollout, or no ready pod of a wanted one, is
failing; a rollout under way, fewer ready than desired, or a pod in CrashLoopBackOff is degraded.

Embedded default (`gitops`): no cluster to ask, so the section shows the desired state committed to the gitops
repository, marked `"desired_only": true` — ok when the Deployment is there, unknown when it is missing.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import yaml
from kubernetes.client import ApiClient

from roadbed.adapters.gitops import environment_path
from roadbed.adapters.kubernetes_cluster import call_api, load_configuration, rollout_state
from roadbed.domain.naming import GITOPS_REPOSITORY
from roadbed.health.model import HealthStatus, SourceSection
from roadbed.health.port import HealthTarget, SourceError, section
from roadbed.ports import RepoHost

SHOWN_EVENTS = 5
SHOWN_PODS = 10


class ClusterHealth:
    """The `cluster` target: live state through the API server."""

    name = "kubernetes"

    def __init__(self, *, timeout: float, api_client: ApiClient | None = None, kubeconfig: str | None = None, context: str | None = None) -> None:
        self.timeout = timeout
        self._api_client = api_client
        self._kubeconfig, self._context = kubeconfig, context
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return True

    async def check(self, target: HealthTarget) -> SourceSection:
        return await asyncio.to_thread(self._read, target)

    def _client(self) -> ApiClient:
        with self._lock:  # the kubeconfig is read once, on first use (a bad one is this section's `unknown`)
            if self._api_client is None:
                self._api_client = ApiClient(load_configuration(self._kubeconfig, context=self._context))
            return self._api_client

    def _get(self, path: str, *, query: tuple[tuple[str, str], ...] = (), tolerate: tuple[int, ...] = ()) -> dict[str, Any] | None:
        return call_api(self._client(), "GET", path, what=f"GET {path}", request_timeout=self.timeout, query=query, tolerate=tolerate)

    def _read(self, target: HealthTarget) -> SourceSection:
        ns, name = target.namespace, target.service
        deployment = self._get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}", tolerate=(404,))
        if deployment is None:
            return section(HealthStatus.UNKNOWN, reason=f"no Deployment {ns}/{name} in the cluster", namespace=ns, desired_only=False)
        pods_doc = self._get(f"/api/v1/namespaces/{ns}/pods", query=(("labelSelector", f"app.kubernetes.io/name={name}"),)) or {}
        events_doc = self._get(f"/api/v1/namespaces/{ns}/events") or {}
        pods = [_pod(item) for item in _items(pods_doc, "pods")]
        events = sorted((_event(item) for item in _items(events_doc, "events")), key=lambda e: e["last_seen"] or "", reverse=True)
        state, detail = rollout_state(deployment)
        spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
        desired, ready = int(spec.get("replicas", 1)), int(status.get("readyReplicas", 0))
        crashing = [pod["name"] for pod in pods if pod["waiting_reason"] == "CrashLoopBackOff"]
        figures = {
            "desired_only": False, "namespace": ns, "deployment": name, "rollout": state, "rollout_detail": detail,
            "desired": desired, "ready": ready, "updated": int(status.get("updatedReplicas", 0)), "available": int(status.get("availableReplicas", 0)),
            "restarts": sum(pod["restarts"] for pod in pods), "pods": pods[:SHOWN_PODS], "events": events[:SHOWN_EVENTS],
        }
        if state == "failed":
            return section(HealthStatus.FAILING, reason=f"rollout failed: {detail}", **figures)
        if desired > 0 and ready == 0:
            why = f"no ready pod of {desired}" + (f" ({', '.join(crashing)} in CrashLoopBackOff)" if crashing else "")
            return section(HealthStatus.FAILING, reason=why, **figures)
        if state == "waiting" or ready < desired or crashing:
            why = detail if state == "waiting" else f"{ready} of {desired} pods ready"
            if crashing:
                why += f"; {', '.join(crashing)} in CrashLoopBackOff"
            return section(HealthStatus.DEGRADED, reason=why, **figures)
        return section(HealthStatus.OK, **figures)


class DesiredStateHealth:
    """The embedded `gitops` target: what the gitops repository asks for, never what runs."""

    name = "kubernetes"

    def __init__(self, repo_host: RepoHost) -> None:
        self.repo_host = repo_host

    @property
    def configured(self) -> bool:
        return True

    async def check(self, target: HealthTarget) -> SourceSection:
        return await asyncio.to_thread(self._read, target)

    def _read(self, target: HealthTarget) -> SourceSection:
        directory = environment_path(target.namespace)
        url = f"{self.repo_host.repository_url(GITOPS_REPOSITORY)}#{directory}"
        try:
            paths = [p for p in self.repo_host.list_files(GITOPS_REPOSITORY) if p.startswith(directory + "/") and p.endswith(".yaml")]
        except Exception as exc:  # noqa: BLE001 - no gitops repository yet reads as "nothing desired"
            raise SourceError(f"cannot read the gitops repository: {exc}") from exc
        for path in paths:
            raw = self.repo_host.read_file(GITOPS_REPOSITORY, path) or b""
            try:
                documents = [d for d in yaml.safe_load_all(raw) if isinstance(d, dict)]
            except yaml.YAMLError as exc:
                raise SourceError(f"{path} in the gitops repository is not YAML") from exc
            for doc in documents:
                if doc.get("kind") == "Deployment" and (doc.get("metadata") or {}).get("name") == target.service:
                    spec = doc.get("spec") or {}
                    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or [{}]
                    return section(
                        HealthStatus.OK, url=url, reason="desired state from the gitops repository; no cluster is observed",
                        desired_only=True, namespace=target.namespace, deployment=target.service, desired=spec.get("replicas", 1),
                        image=containers[0].get("image") if isinstance(containers[0], dict) else None, manifest=path,
                    )
        return section(
            HealthStatus.UNKNOWN, url=url, reason=f"no Deployment {target.service} under {directory} in the gitops repository",
            desired_only=True, namespace=target.namespace,
        )


def _items(document: dict[str, Any], what: str) -> list[dict[str, Any]]:
    items = document.get("items")
    if not isinstance(items, list):
        raise SourceError(f"the Kubernetes API answered a {what} list without items")
    return [item for item in items if isinstance(item, dict)]


def _pod(pod: dict[str, Any]) -> dict[str, Any]:
    status = pod.get("status") or {}
    containers = [c for c in status.get("containerStatuses") or [] if isinstance(c, dict)]
    waiting = next((((c.get("state") or {}).get("waiting") or {}).get("reason") for c in containers if (c.get("state") or {}).get("waiting")), None)
    return {
        "name": (pod.get("metadata") or {}).get("name"),
        "phase": status.get("phase"),
        "ready": bool(containers) and all(c.get("ready") for c in containers),
        "restarts": sum(int(c.get("restartCount") or 0) for c in containers),
        "waiting_reason": waiting,
    }


def _event(event: dict[str, Any]) -> dict[str, Any]:
    involved = event.get("involvedObject") or {}
    last = event.get("lastTimestamp") or event.get("eventTime") or (event.get("metadata") or {}).get("creationTimestamp")
    return {
        "type": event.get("type"), "reason": event.get("reason"), "message": event.get("message"), "count": event.get("count"),
        "object": f"{involved.get('kind', '?')}/{involved.get('name', '?')}", "last_seen": last,
    }

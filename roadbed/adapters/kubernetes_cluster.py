"""Kubernetes adapter for the `cluster` target: server-side apply into a real cluster, then a rollout wait.

Talks to the API server with the official `kubernetes` client's `ApiClient` (its transport, auth,
TLS and kubeconfig handling) but sends raw JSON through `param_serialize` + `call_api` instead of the
typed API classes or `DynamicClient`: server-side apply is one PATCH with
`Content-Type: application/apply-patch+yaml` (the client sends the dict as JSON, which is YAML),
`fieldManager=roadbed` and `force=true`, so no generated model has to round-trip the manifests. The
resource path of each manifest comes from the server's discovery document for its apiVersion
(`/api/v1`, `/apis/<group>/<version>`), cached per deployer, so any kind the cluster serves works.

- `deploy` applies every manifest in order, deletes Roadbed-labelled objects of the namespace that
  the manifests no longer hold (ConfigMaps, Services, Deployments and any kind applied), then waits for
  every Deployment's rollout like `kubectl rollout status`: observedGeneration >= generation,
  updatedReplicas == replicas, no old replicas left, availableReplicas == updatedReplicas. A `Progressing`
  condition with reason `ProgressDeadlineExceeded` is a `PermanentError` ("rollout failed"); so is a
  rollout not done within `rollout_timeout` (a change that does not roll out is a failed change; keep
  the timeout below the step's 10-minute start-to-close timeout). A namespace that exists without the
  `app.kubernetes.io/managed-by=roadbed` label is someone else's: `PermanentError`, nothing applied.
  A namespace still terminating from an earlier removal is a `TransientError` (retry once it is gone).
- `remove` deletes the namespace (the cluster deletes what is in it) and waits until it is gone, up
  to `removal_timeout` (0 = do not wait), then `TransientError`; already gone is fine (404, or 409
  "already terminating"); a namespace without Roadbed's label is left alone (never ours to undo).
- `namespaces` lists namespaces labelled `app.kubernetes.io/managed-by=roadbed`.

Errors: 409, 429, 5xx, connection/protocol errors and timeouts are `TransientError`; 400, 401, 403,
404, 422 (and any other 4xx) are `PermanentError` (except 403 for a terminating namespace, which is
transient); the client's exception is chained as `__cause__`.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import urllib3
from kubernetes import config as kube_config
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from roadbed.domain.errors import ConfigurationError, PermanentError, RoadbedError, TransientError
from roadbed.domain.specs import WorkloadSpec
from roadbed.rendering.manifests import MANAGED_BY
from roadbed.settings import Settings

log = logging.getLogger(__name__)

APPLY_PATCH = "application/apply-patch+yaml"
MANAGED_SELECTOR = ",".join(f"{key}={value}" for key, value in MANAGED_BY.items())
# Kinds Roadbed renders: a redeploy deletes the ones the manifests no longer hold.
PRUNABLE_KINDS = (("v1", "ConfigMap"), ("v1", "Service"), ("apps/v1", "Deployment"))

DEFAULT_FIELD_MANAGER = "roadbed"
DEFAULT_ROLLOUT_TIMEOUT_SECONDS = 300.0
DEFAULT_REMOVAL_TIMEOUT_SECONDS = 120.0
DEFAULT_POLL_INTERVAL_SECONDS = 2.0
DEFAULT_REQUEST_TIMEOUT_SECONDS = 30.0


def load_configuration(kubeconfig: str | os.PathLike[str] | None = None, *, context: str | None = None) -> Configuration:
    """Client configuration the way kubectl finds it: `kubeconfig`, else `$KUBECONFIG` (read now, may list
    several files), else `~/.kube/config` when present, else the in-cluster service account."""
    configuration = Configuration()
    path = str(kubeconfig) if kubeconfig else os.environ.get("KUBECONFIG", "")
    if not path and Path("~/.kube/config").expanduser().exists():
        path = str(Path("~/.kube/config").expanduser())
    try:
        if path:
            kube_config.load_kube_config(config_file=path, context=context, client_configuration=configuration, persist_config=False)
        elif os.environ.get("KUBERNETES_SERVICE_HOST"):
            kube_config.load_incluster_config(client_configuration=configuration)
        else:
            raise ConfigurationError(
                "no Kubernetes cluster configured for ROADBED_KUBERNETES_TARGET=cluster: set KUBECONFIG, "
                "create ~/.kube/config, or run in a pod with a service account"
            )
    except (ConfigException, OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot load the Kubernetes client configuration ({path or 'in-cluster'}): {exc}") from exc
    return configuration


@dataclass(frozen=True)
class _Resource:
    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def _base(self) -> str:
        return "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"

    def collection(self, namespace: str | None) -> str:
        if self.namespaced:
            return f"{self._base()}/namespaces/{namespace}/{self.plural}"
        return f"{self._base()}/{self.plural}"

    def item(self, name: str, namespace: str | None) -> str:
        return f"{self.collection(namespace)}/{name}"


_NAMESPACES = _Resource("v1", "Namespace", "namespaces", False)
_DEPLOYMENTS = _Resource("apps/v1", "Deployment", "deployments", True)


def translate_api_exception(exc: ApiException, what: str) -> RoadbedError:
    """The domain error for an answer of the API server (`exc` to be chained by the caller)."""
    status = exc.status or 0
    message, reason, causes = str(exc.reason or "").strip(), exc.reason, []
    try:
        body = json.loads(exc.body) if exc.body else {}
    except ValueError:
        body = {}
    if isinstance(body, dict) and body.get("kind") == "Status":
        message = body.get("message") or message
        reason = body.get("reason") or reason
        causes = (body.get("details") or {}).get("causes") or []
    text = f"{what}: Kubernetes API answered {status} {reason}: {message}"
    if status == 403 and any(c.get("reason") == "NamespaceTerminating" for c in causes):
        return TransientError(text)
    if status in {0, 408, 409, 429} or status >= 500:
        return TransientError(text)
    return PermanentError(text)


def rollout_state(deployment: Mapping[str, Any]) -> tuple[str, str]:
    """(`done` | `waiting` | `failed`, why) for a Deployment, judged like `kubectl rollout status`."""
    meta, spec, status = deployment.get("metadata") or {}, deployment.get("spec") or {}, deployment.get("status") or {}
    generation, observed = meta.get("generation", 0), status.get("observedGeneration", 0)
    if observed < generation:
        return "waiting", f"waiting for the controller to observe generation {generation} (observed {observed})"
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            return "failed", condition.get("message") or "progress deadline exceeded"
    replicas = spec.get("replicas", 1)
    updated, total, available = status.get("updatedReplicas", 0), status.get("replicas", 0), status.get("availableReplicas", 0)
    if updated < replicas:
        return "waiting", f"{updated} of {replicas} new replicas have been updated"
    if total > updated:
        return "waiting", f"{total - updated} old replicas are pending termination"
    if available < updated:
        return "waiting", f"{available} of {updated} updated replicas are available"
    return "done", f"{available} of {replicas} replicas available"


class KubernetesClusterDeployer:
    """`KubernetesDeployer` for a real cluster (see the module docstring)."""

    def __init__(
        self,
        api_client: ApiClient,
        *,
        field_manager: str = DEFAULT_FIELD_MANAGER,
        rollout_timeout: float = DEFAULT_ROLLOUT_TIMEOUT_SECONDS,
        removal_timeout: float = DEFAULT_REMOVAL_TIMEOUT_SECONDS,
        poll_interval: float = DEFAULT_POLL_INTERVAL_SECONDS,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_client = api_client
        self.field_manager = field_manager
        self.rollout_timeout = rollout_timeout
        self.removal_timeout = removal_timeout
        self.poll_interval = poll_interval
        self.request_timeout = request_timeout
        self._sleep = sleep
        self._clock = clock
        self._discovered: dict[str, dict[str, _Resource]] = {}

    @classmethod
    def from_kubeconfig(
        cls, kubeconfig: str | os.PathLike[str] | None = None, *, context: str | None = None, **options: Any
    ) -> KubernetesClusterDeployer:
        """A deployer for the cluster `load_configuration` finds (`KUBECONFIG`, `~/.kube/config`, in-cluster)."""
        return cls(ApiClient(load_configuration(kubeconfig, context=context)), **options)

    @classmethod
    def from_settings(cls, settings: Settings) -> KubernetesClusterDeployer:
        """From Roadbed's settings; every `kubernetes_*` setting is optional and defaults as in the constructor."""
        return cls.from_kubeconfig(
            settings.kubernetes_kubeconfig,
            context=settings.kubernetes_context,
            field_manager=settings.kubernetes_field_manager,
            rollout_timeout=settings.kubernetes_rollout_timeout_seconds,
            removal_timeout=settings.kubernetes_removal_timeout_seconds,
            poll_interval=settings.kubernetes_poll_interval_seconds,
        )

    @property
    def server(self) -> str:
        """`host:port` of the API server (what `deploy` reports)."""
        return urlsplit(self.api_client.configuration.host).netloc

    def close(self) -> None:
        self.api_client.close()

    # -- the port
    def deploy(self, spec: WorkloadSpec, manifests: list[dict[str, Any]]) -> str:
        if not manifests:
            raise PermanentError(f"nothing to deploy to namespace {spec.namespace}")
        self._check_namespace(spec.namespace)
        applied: dict[tuple[_Resource, str | None], set[str]] = {}
        deployments: list[tuple[str, str]] = []
        for manifest in manifests:
            resource, name, namespace = self._identify(manifest, spec.namespace)
            self._call(
                "PATCH",
                resource.item(name, namespace),
                query=[("fieldManager", self.field_manager), ("force", True)],
                body=manifest,
                content_type=APPLY_PATCH,
                what=f"apply {resource.kind} {_qualified(namespace, name)}",
            )
            applied.setdefault((resource, namespace), set()).add(name)
            if resource == _DEPLOYMENTS:
                deployments.append((namespace or spec.namespace, name))
        self._prune(applied)
        deadline = self._clock() + self.rollout_timeout
        for namespace, name in deployments:
            self._wait_for_rollout(namespace, name, deadline)
        return f"cluster://{self.server}/{spec.namespace}"

    def remove(self, namespace: str) -> None:
        path = _NAMESPACES.item(namespace, None)
        live = self._call("GET", path, what=f"read namespace {namespace}", tolerate={404})
        if live is None:
            return
        if not is_managed(live):
            log.warning("namespace %s is not managed by Roadbed (no %s label); leaving it alone", namespace, MANAGED_SELECTOR)
            return
        if (live.get("status") or {}).get("phase") != "Terminating":
            # 404: gone meanwhile; 409: already terminating (a second DELETE of a terminating namespace is a Conflict)
            self._call("DELETE", path, what=f"delete namespace {namespace}", tolerate={404, 409})
        if self.removal_timeout <= 0:
            return
        deadline = self._clock() + self.removal_timeout
        while True:
            live = self._call("GET", path, what=f"read namespace {namespace}", tolerate={404})
            if live is None:
                return
            if self._clock() >= deadline:
                raise TransientError(f"namespace {namespace} is still terminating after {self.removal_timeout:g}s")
            self._sleep(self._pause(deadline))

    def namespaces(self) -> list[str]:
        listing = self._call("GET", _NAMESPACES.collection(None), query=[("labelSelector", MANAGED_SELECTOR)], what="list namespaces") or {}
        return sorted(item["metadata"]["name"] for item in listing.get("items") or [])

    # -- steps of deploy
    def _check_namespace(self, namespace: str) -> None:
        live = self._call("GET", _NAMESPACES.item(namespace, None), what=f"read namespace {namespace}", tolerate={404})
        if live is None:
            return
        if not is_managed(live):
            raise PermanentError(
                f"namespace {namespace} exists and is not managed by Roadbed (no {MANAGED_SELECTOR} label); refusing to take it over"
            )
        if (live.get("status") or {}).get("phase") == "Terminating":
            raise TransientError(f"namespace {namespace} is still being deleted; deploy again once it is gone")

    def _identify(self, manifest: Mapping[str, Any], default_namespace: str) -> tuple[_Resource, str, str | None]:
        metadata = manifest.get("metadata") or {}
        api_version, kind, name = manifest.get("apiVersion"), manifest.get("kind"), metadata.get("name")
        if not (api_version and kind and name):
            raise PermanentError(f"manifest without apiVersion, kind or metadata.name: {dict(manifest)!r:.200}")
        resource = self._resource(str(api_version), str(kind))
        return resource, str(name), (metadata.get("namespace") or default_namespace) if resource.namespaced else None

    def _resource(self, api_version: str, kind: str) -> _Resource:
        """Where the cluster serves `kind` of `api_version`, from its discovery document (cached)."""
        if api_version not in self._discovered:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            listing = self._call("GET", base, what=f"discover {api_version}", tolerate={404})
            if listing is None:
                raise PermanentError(f"the cluster does not serve {api_version}")
            self._discovered[api_version] = {
                entry["kind"]: _Resource(api_version, entry["kind"], entry["name"], bool(entry.get("namespaced")))
                for entry in listing.get("resources") or []
                if "/" not in entry["name"]
            }
        resource = self._discovered[api_version].get(kind)
        if resource is None:
            raise PermanentError(f"the cluster does not serve {kind} in {api_version}")
        return resource

    def _prune(self, applied: Mapping[tuple[_Resource, str | None], set[str]]) -> None:
        """Delete Roadbed's objects in the deployed namespaces that the manifests no longer hold."""
        namespaces = {ns for (resource, ns) in applied if resource.namespaced and ns}
        kinds = {self._resource(api_version, kind) for api_version, kind in PRUNABLE_KINDS}
        kinds |= {resource for (resource, _) in applied if resource.namespaced}
        for namespace in sorted(namespaces):
            for resource in sorted(kinds, key=lambda r: (r.api_version, r.kind)):
                keep = applied.get((resource, namespace), set())
                listing = self._call(
                    "GET",
                    resource.collection(namespace),
                    query=[("labelSelector", MANAGED_SELECTOR)],
                    what=f"list {resource.plural} in {namespace}",
                )
                for item in (listing or {}).get("items") or []:
                    name = item["metadata"]["name"]
                    if name not in keep:
                        log.info("pruning %s %s/%s: no longer rendered", resource.kind, namespace, name)
                        self._call(
                            "DELETE", resource.item(name, namespace), what=f"delete {resource.kind} {namespace}/{name}", tolerate={404}
                        )

    def _wait_for_rollout(self, namespace: str, name: str, deadline: float) -> None:
        what = f"Deployment {namespace}/{name}"
        detail = "not read yet"
        while True:
            try:
                live = self._call("GET", _DEPLOYMENTS.item(name, namespace), what=f"read {what}")
            except TransientError as exc:  # a blip while waiting: keep waiting until the deadline
                if self._clock() >= deadline:
                    raise
                detail = str(exc)
            else:
                state, detail = rollout_state(live or {})
                if state == "done":
                    return
                if state == "failed":
                    raise PermanentError(f"rollout failed: {what}: {detail}")
                if self._clock() >= deadline:
                    raise PermanentError(f"rollout of {what} did not complete within {self.rollout_timeout:g}s: {detail}")
            self._sleep(self._pause(deadline))

    def _pause(self, deadline: float) -> float:
        return max(0.0, min(self.poll_interval, deadline - self._clock()))

    # -- transport
    def _call(self, method: str, path: str, *, what: str, **options: Any) -> dict[str, Any] | None:
        return call_api(self.api_client, method, path, what=what, request_timeout=self.request_timeout, **options)

def call_api(
    api_client: ApiClient,
    method: str,
    path: str,
    *,
    what: str,
    request_timeout: float,
    query: Iterable[tuple[str, Any]] = (),
    body: Any = None,
    content_type: str | None = None,
    tolerate: Iterable[int] = (),
) -> dict[str, Any] | None:
    """One request to the API server; the decoded JSON answer, None for a `tolerate`d status; domain errors otherwise.

    Shared by everything Roadbed applies to a cluster (workloads, PrometheusRules)."""
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = content_type or "application/json"
    try:
        request = api_client.param_serialize(method, path, query_params=list(query), header_params=headers, body=body, auth_settings=["BearerToken"])
        response = api_client.call_api(*request, _request_timeout=request_timeout)
        data = response.read()
        if response.status in set(tolerate):
            return None
        if not 200 <= response.status <= 299:
            ApiException.from_response(http_resp=response, body=data.decode("utf-8", "replace") if data else None, data=None)
    except ApiException as exc:
        raise translate_api_exception(exc, what) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        server = urlsplit(api_client.configuration.host).netloc
        raise TransientError(f"{what}: cannot reach the Kubernetes API at {server}: {exc}") from exc
    try:
        return json.loads(data) if data else {}
    except ValueError as exc:
        raise TransientError(f"{what}: the Kubernetes API answered something that is not JSON: {data[:200]!r}") from exc


def is_managed(obj: Mapping[str, Any]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(labels.get(key) == value for key, value in MANAGED_BY.items())


def _qualified(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name

"""Kubernetes manifests of an environment, as plain dicts (the same for the GitOps and cluster targets).

Resource connection details reach the workload as a ConfigMap; credentials only ever as
`secretKeyRef`s naming the Secret a resource module reported (`secret_ref`), never as values.
"""

from __future__ import annotations

import re
from typing import Any

from roadbed.domain.specs import WorkloadSpec

MANAGED_BY = {"app.kubernetes.io/managed-by": "roadbed"}
# `runAsNonRoot` alone makes the kubelet refuse any image whose USER is a name (`nonroot`, `node`): it cannot prove
# a name is not root. A numeric user and group (65532, distroless' `nonroot`) let every image start as non-root.
NON_ROOT_ID = 65532
POD_SECURITY_CONTEXT = {"runAsNonRoot": True, "runAsUser": NON_ROOT_ID, "runAsGroup": NON_ROOT_ID, "fsGroup": NON_ROOT_ID}
_ENV_KEY = re.compile(r"[^A-Z0-9_]")


def env_key(*parts: str) -> str:
    return _ENV_KEY.sub("_", "_".join(parts).upper())


KUBERNETES_ID_LABEL = "backstage.io/kubernetes-id"
"""Backstage's Kubernetes plugin finds a Component's objects by this label (the entity's annotation of the same name)."""


def _labels(spec: WorkloadSpec) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": spec.service,
        KUBERNETES_ID_LABEL: spec.service,
        "app.kubernetes.io/part-of": spec.service,
        "roadbed.dev/team": spec.team,
        "roadbed.dev/environment": spec.environment,
        **MANAGED_BY,
    }


def _annotations(spec: WorkloadSpec) -> dict[str, str]:
    return {
        "roadbed.dev/environment-id": spec.environment_id,
        "roadbed.dev/golden-path": f"{spec.golden_path}@{spec.golden_path_version}",
    }


def _config_data(spec: WorkloadSpec) -> dict[str, str]:
    data = {"SERVICE_NAME": spec.service, "ENVIRONMENT": spec.environment}
    if spec.kubernetes.workload == "service":
        data["PORT"] = str(spec.kubernetes.port)
    for resource in spec.resources.values():
        for key, value in sorted(resource.outputs.items()):
            if key in {"secret_ref", "type"} or isinstance(value, dict | list):
                continue
            data[env_key(resource.type, resource.name, key)] = str(value)
    return data


def _secret_env(spec: WorkloadSpec) -> list[dict[str, Any]]:
    env = []
    for resource in spec.resources.values():
        secret = resource.outputs.get("secret_ref")
        if secret:
            env.append(
                {
                    "name": env_key(resource.type, resource.name, "password"),
                    "valueFrom": {"secretKeyRef": {"name": str(secret), "key": "password", "optional": True}},
                }
            )
    return env


def render_manifests(spec: WorkloadSpec) -> list[dict[str, Any]]:
    """Namespace, ConfigMap, Deployment and (for HTTP services) Service, in apply order."""
    labels = _labels(spec)
    meta = {"namespace": spec.namespace, "labels": labels, "annotations": _annotations(spec)}
    selector = {"app.kubernetes.io/name": spec.service}
    k8s = spec.kubernetes
    container: dict[str, Any] = {
        "name": spec.service,
        "image": spec.image,
        "envFrom": [{"configMapRef": {"name": f"{spec.service}-config"}}],
        "env": _secret_env(spec),
        "resources": {"requests": {"cpu": k8s.cpu, "memory": k8s.memory}, "limits": {"memory": k8s.memory}},
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
    }
    if k8s.workload == "service":
        probe = {"httpGet": {"path": k8s.health_path, "port": "http"}, "periodSeconds": 10}
        container |= {"ports": [{"name": "http", "containerPort": k8s.port}], "readinessProbe": probe, "livenessProbe": probe}
    manifests: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": spec.namespace, "labels": labels, "annotations": _annotations(spec)}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{spec.service}-config", **meta}, "data": _config_data(spec)},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": spec.service, **meta},
            "spec": {
                "replicas": k8s.replicas,
                "selector": {"matchLabels": selector},
                "template": {"metadata": {"labels": labels}, "spec": {"securityContext": dict(POD_SECURITY_CONTEXT), "containers": [container]}},
            },
        },
    ]
    if k8s.workload == "service":
        manifests.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": spec.service, **meta},
                "spec": {"selector": selector, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
            }
        )
    return manifests


def render_argocd_application(spec: WorkloadSpec, repo_url: str, path: str) -> dict[str, Any]:
    """The Argo CD Application that syncs the environment's GitOps directory into its namespace."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": spec.namespace, "namespace": "argocd", "labels": _labels(spec), "annotations": _annotations(spec)},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "targetRevision": "main", "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": spec.namespace},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "syncOptions": ["CreateNamespace=true"]},
        },
    }

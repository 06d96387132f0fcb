"""Name rules shared by validation, rendering and every adapter.

Services become DNS labels (Kubernetes namespaces and Service objects, hostnames), repository
names and Backstage entity names, so they must satisfy the strictest of those: a DNS-1123 label
that also starts with a letter (RFC 1035, as Kubernetes requires for Service names).
"""

from __future__ import annotations

import hashlib
import re

DNS_LABEL_MAX = 63
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")

GITOPS_REPOSITORY = "gitops"

# Names Roadbed (or the platform under it) uses for itself. A service of that name would share a repository,
# a namespace or an Argo CD object with the platform, and its undo would then remove the platform's own: the
# shared GitOps repository is the one that was actually deleted this way.
RESERVED_SERVICE_NAMES: dict[str, str] = {
    GITOPS_REPOSITORY: "Roadbed's shared GitOps repository, which holds every team's manifests",
    "roadbed": "Roadbed itself",
    "argocd": "Argo CD, which syncs the GitOps repository",
    "kube": "Kubernetes' own namespaces",
    "default": "Kubernetes' default namespace",
    "archive": "the archive of decommissioned repositories",
}
RESERVED_SERVICE_PREFIXES: dict[str, str] = {
    "kube-": "Kubernetes reserves kube-* namespaces",
    "roadbed-": "Roadbed's own branches and objects are named roadbed-*",
}


def dns_label_problem(value: str) -> str | None:
    """Why `value` is not an RFC 1123 label, or None when it is one."""
    if not value:
        return "must not be empty"
    if len(value) > DNS_LABEL_MAX:
        return f"must be at most {DNS_LABEL_MAX} characters (got {len(value)})"
    if not _DNS_LABEL.match(value):
        return "must be a DNS-1123 label: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit"
    return None


def reserved_name_problem(service: str) -> str | None:
    """Why `service` may not be used because Roadbed uses that name itself, or None."""
    if service in RESERVED_SERVICE_NAMES:
        return f"{service!r} is reserved: Roadbed uses that name for {RESERVED_SERVICE_NAMES[service]}"
    for prefix, why in RESERVED_SERVICE_PREFIXES.items():
        if service.startswith(prefix):
            return f"names starting with {prefix!r} are reserved ({why})"
    return None


def namespace_for(service: str, environment: str) -> str:
    """The Kubernetes namespace of a service's environment, always a valid label.

    A long service name is cut and given a short hash so two long names never collide.
    """
    name = f"{service}-{environment}"
    if len(name) <= DNS_LABEL_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    keep = DNS_LABEL_MAX - len(environment) - len(digest) - 2
    return f"{service[:keep].rstrip('-')}-{digest}-{environment}"


def workflow_id_for(service: str, environment: str, environment_id: str) -> str:
    """Business-keyed workflow id: readable in the Temporal UI, unique per request."""
    return f"provision/{service}/{environment}/{environment_id}"


def resource_entity_name(service: str, environment: str, resource_name: str) -> str:
    return f"{service}-{environment}-{resource_name}"[:DNS_LABEL_MAX].rstrip("-")

"""Name rules shared by validation, rendering and every adapter: one rule, checked at submission.

Services become DNS labels (Kubernetes namespaces and Service objects, hostnames), repository
names and Backstage entity names, so they must satisfy the strictest of those: a DNS-1123 label
that also starts with a letter (RFC 1035, as Kubernetes requires for Service names).

Every step derives the same names from them and none shortens one: the namespace (and the modules'
Terraform names) `<service>-<environment>`, the Terraform resource and catalog entity names
`<service>-<environment>-<resource>`, all at most 63 characters (Kubernetes and Backstage names; the
modules' own preconditions say the same). A shortened name in one step and a refusal in another is how
a long service used to fail halfway, so a name that cannot fit is refused at submission instead
(`service_name_problem`, `resource_name_problem`), counted with the longest environment so a service
accepted for dev is accepted for prod and staging too.
"""

from __future__ import annotations

import re

from roadbed.domain.models import EnvironmentName

DNS_LABEL_MAX = 63
#: The longest environment name: a service's names must fit in every environment it may get.
LONGEST_ENVIRONMENT = max((e.value for e in EnvironmentName), key=len)
#: `<service>-<environment>` fits a DNS label in every environment.
SERVICE_NAME_MAX = DNS_LABEL_MAX - len(f"-{LONGEST_ENVIRONMENT}")
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


def service_name_problem(service: str) -> str | None:
    """Why `service` cannot name a service (label rule, then the room its derived names need), or None."""
    if len(service) > SERVICE_NAME_MAX:
        return (
            f"must be at most {SERVICE_NAME_MAX} characters (got {len(service)}): '<service>-<environment>' names the "
            f"Kubernetes namespace and Terraform resources, which allow {DNS_LABEL_MAX} characters, and "
            f"'-{LONGEST_ENVIRONMENT}' is the longest environment suffix"
        )
    return dns_label_problem(service)


def resource_name_problem(service: str, name: str) -> str | None:
    """Why `<service>-<environment>-<name>` cannot name a resource of `service` in every environment, or None."""
    longest = f"{service}-{LONGEST_ENVIRONMENT}-{name}"
    if len(longest) <= DNS_LABEL_MAX:
        return None
    room = DNS_LABEL_MAX - len(f"{service}-{LONGEST_ENVIRONMENT}-")
    allowed = f"use at most {room} characters" if room > 0 else "shorten the service name to give it room"
    return (
        f"too long for service {service!r}: '<service>-<environment>-<name>' names its Terraform resources and catalog "
        f"entity, at most {DNS_LABEL_MAX} characters in every environment ({longest!r} has {len(longest)}); {allowed}"
    )


def _derived(name: str) -> str:
    if problem := dns_label_problem(name):
        raise ValueError(f"{name!r} {problem}: names are checked at submission and never shortened")
    return name


def namespace_for(service: str, environment: str) -> str:
    """The Kubernetes namespace of a service's environment, `<service>-<environment>` as every step names it."""
    return _derived(f"{service}-{environment}")


def workflow_id_for(service: str, environment: str, environment_id: str) -> str:
    """Business-keyed workflow id: readable in the Temporal UI, unique per request."""
    return f"provision/{service}/{environment}/{environment_id}"


def resource_entity_name(service: str, environment: str, resource_name: str) -> str:
    """The catalog entity of a resource: `<service>-<environment>-<name>`, as its Terraform resources are named."""
    return _derived(f"{service}-{environment}-{resource_name}")

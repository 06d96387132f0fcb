"""The orphan audit behind `roadbed doctor`: what the targets hold that no live environment owns,
and what a live environment should have but lacks. Reads the targets and the engine DB; changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sqlalchemy import select

from roadbed.adapters.backstage import catalog_info_target_of
from roadbed.adapters.gitops import GITOPS_REPOSITORY
from roadbed.domain.models import EnvironmentStatus
from roadbed.domain.naming import namespace_for
from roadbed.ports import CatalogRegistry, InfrastructureRunner, KubernetesDeployer, RepoHost
from roadbed.storage.database import Database
from roadbed.storage.tables import CatalogEntityRow, EnvironmentRow


@runtime_checkable
class CatalogLocations(Protocol):
    """An external catalog (Backstage) that holds locations Roadbed registered."""

    def location_targets(self) -> list[str]: ...


def namespace_of(row: EnvironmentRow) -> str:
    """The namespace the environment recorded (older environments were named by rules since retired), else the rule's."""
    return str((row.outputs or {}).get("kubernetes_namespace") or namespace_for(row.service, row.environment))


@dataclass(frozen=True)
class Finding:
    kind: str  # "orphan", "missing" or "foreign" (a live environment points at something that is not its own)
    target: str  # repository, terraform, kubernetes, catalog, backstage
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.kind:<8} {self.target:<10} {self.name}  ({self.detail})"


def audit(
    database: Database, repo_host: RepoHost, infrastructure: InfrastructureRunner, kubernetes: KubernetesDeployer,
    catalog: CatalogRegistry | None = None,
) -> list[Finding]:
    with database.transaction() as session:
        live = list(session.scalars(select(EnvironmentRow).where(EnvironmentRow.live_key.is_not(None))))
        entities = list(session.execute(select(CatalogEntityRow.ref, CatalogEntityRow.environment_id)))
        holders = {row.ref: (row.environment_id, row.owner) for row in session.execute(select(CatalogEntityRow.ref, CatalogEntityRow.environment_id, CatalogEntityRow.owner))}
        services = {env_id: service for env_id, service in session.execute(select(EnvironmentRow.id, EnvironmentRow.service))}
        repository_urls = {
            row.id: str(row.outputs["repository_url"]) for row in session.scalars(select(EnvironmentRow)) if (row.outputs or {}).get("repository_url")
        }
    live_ids = {row.id for row in live}
    ready = [row for row in live if row.status == EnvironmentStatus.SUCCEEDED.value]
    findings: list[Finding] = []

    repositories = set(repo_host.list_repositories()) - {GITOPS_REPOSITORY}
    live_services = {row.service for row in live}
    findings += [Finding("orphan", "repository", name, "no live environment of this service") for name in sorted(repositories - live_services)]
    findings += [Finding("missing", "repository", row.service, f"environment {row.id}") for row in ready if row.service not in repositories]

    workspaces = set(infrastructure.list_workspaces())
    findings += [Finding("orphan", "terraform", name, "workspace of no live environment") for name in sorted(workspaces - live_ids)]
    findings += [Finding("missing", "terraform", row.id, f"{row.service}/{row.environment} has resources but no workspace") for row in ready if row.resources and row.id not in workspaces]

    namespaces = set(kubernetes.namespaces())
    live_namespaces = {namespace_of(row): row for row in live}
    findings += [Finding("orphan", "kubernetes", ns, "manifests of no live environment") for ns in sorted(namespaces - set(live_namespaces))]
    findings += [Finding("missing", "kubernetes", namespace_of(r), f"environment {r.id}") for r in ready if namespace_of(r) not in namespaces]

    owned = {environment_id for _ref, environment_id in entities if environment_id}
    findings += [Finding("orphan", "catalog", ref, f"registered by {env_id}, which is not live") for ref, env_id in sorted(entities) if env_id and env_id not in live_ids]
    findings += [Finding("missing", "catalog", f"component:default/{row.service}", f"environment {row.id}") for row in ready if row.id not in owned and not _component_of(entities, row.service)]
    findings += _foreign(live, holders, services)
    if isinstance(catalog, CatalogLocations):
        findings += _backstage(catalog.location_targets(), live, ready, repository_urls)
    return findings


def _backstage(held: list[str], live: list[EnvironmentRow], ready: list[EnvironmentRow], repository_urls: dict[str, str]) -> list[Finding]:
    """Locations Roadbed registered (the target of any environment it ever recorded) that no live environment owns,
    and ready environments whose location is missing. Locations of repositories Roadbed never made are not ours."""
    ours = {catalog_info_target_of(url) for url in repository_urls.values()}
    owned = {catalog_info_target_of(repository_urls[row.id]) for row in live if row.id in repository_urls}
    findings = [Finding("orphan", "backstage", target, "location of no live environment") for target in sorted(set(held) & ours - owned)]
    findings += [
        Finding("missing", "backstage", catalog_info_target_of(repository_urls[row.id]), f"environment {row.id}")
        for row in ready if row.id in repository_urls and catalog_info_target_of(repository_urls[row.id]) not in held
    ]
    return findings


def _foreign(live: list[EnvironmentRow], holders: dict[str, tuple[str | None, str | None]], services: dict[str, str]) -> list[Finding]:
    """Live environments whose `catalog_ref` names an entity that is not theirs: registered by hand (no environment),
    by an environment of another service, or owned by another team. Environments of one service share its Component,
    so the one that registered it last owns it for all of them."""
    findings = []
    for row in live:
        ref = str((row.outputs or {}).get("catalog_ref") or "").lower()
        if ref not in holders:
            continue  # nothing there: the "missing" finding above covers it
        holder, owner = holders[ref]
        team = f"group:default/{row.team}".lower()
        if holder is None:
            why = f"registered by hand, owner {owner}"
        elif services.get(holder) != row.service:
            why = f"registered by {holder} of service {services.get(holder, '?')}"
        elif owner != team:
            why = f"owned by {owner}, not {team}"
        else:
            continue
        findings.append(Finding("foreign", "catalog", ref, f"environment {row.id} points at it, but it is not its own: {why}"))
    return findings


def _component_of(entities: list[tuple[str, str | None]], service: str) -> bool:
    return any(ref == f"component:default/{service}" for ref, _env in entities)

"""The orphan audit behind `roadbed doctor`: what the targets hold that no live environment owns,
and what a live environment should have but lacks. Reads the targets and the engine DB; changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from roadbed.adapters.gitops import GITOPS_REPOSITORY
from roadbed.domain.models import EnvironmentStatus
from roadbed.domain.naming import namespace_for
from roadbed.ports import InfrastructureRunner, KubernetesDeployer, RepoHost
from roadbed.storage.database import Database
from roadbed.storage.tables import CatalogEntityRow, EnvironmentRow


@dataclass(frozen=True)
class Finding:
    kind: str  # "orphan" or "missing"
    target: str  # repository, terraform, gitops, catalog
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.kind:<8} {self.target:<10} {self.name}  ({self.detail})"


def audit(database: Database, repo_host: RepoHost, infrastructure: InfrastructureRunner, kubernetes: KubernetesDeployer) -> list[Finding]:
    with database.transaction() as session:
        live = list(session.scalars(select(EnvironmentRow).where(EnvironmentRow.live_key.is_not(None))))
        entities = list(session.execute(select(CatalogEntityRow.ref, CatalogEntityRow.environment_id)))
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
    live_namespaces = {namespace_for(row.service, row.environment): row for row in live}
    findings += [Finding("orphan", "kubernetes", ns, "manifests of no live environment") for ns in sorted(namespaces - set(live_namespaces))]
    findings += [Finding("missing", "kubernetes", namespace_for(r.service, r.environment), f"environment {r.id}") for r in ready if namespace_for(r.service, r.environment) not in namespaces]

    owned = {environment_id for _ref, environment_id in entities if environment_id}
    findings += [Finding("orphan", "catalog", ref, f"registered by {env_id}, which is not live") for ref, env_id in sorted(entities) if env_id and env_id not in live_ids]
    findings += [Finding("missing", "catalog", f"component:default/{row.service}", f"environment {row.id}") for row in ready if row.id not in owned and not _component_of(entities, row.service)]
    return findings


def _component_of(entities: list[tuple[str, str | None]], service: str) -> bool:
    return any(ref == f"component:default/{service}" for ref, _env in entities)

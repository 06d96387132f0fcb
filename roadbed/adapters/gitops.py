"""Kubernetes adapter for the `gitops` target: manifests committed to a GitOps repository.

Layout of the GitOps repository: `clusters/local/<namespace>/*.yaml` per environment and
`argocd/<namespace>.yaml` with the Argo CD Application that syncs it. Deploying rewrites the
environment's directory in one commit (removing files it no longer has); removal deletes both.
"""

from __future__ import annotations

from typing import Any

from roadbed.domain.naming import GITOPS_REPOSITORY
from roadbed.domain.specs import RepositoryMarker, WorkloadSpec
from roadbed.ports import RepoHost
from roadbed.rendering import plain_yaml
from roadbed.rendering.manifests import render_argocd_application

GITOPS_MARKER = RepositoryMarker(service=GITOPS_REPOSITORY, team="platform", golden_path="gitops", golden_path_version="1")


def environment_path(namespace: str) -> str:
    return f"clusters/local/{namespace}"


def application_path(namespace: str) -> str:
    return f"argocd/{namespace}.yaml"


class GitOpsDeployer:
    def __init__(self, repo_host: RepoHost) -> None:
        self.repo_host = repo_host

    def _ensure_repo(self) -> None:
        readme = b"# GitOps\n\nManaged by Roadbed: one directory per environment under clusters/, one Argo CD Application per environment under argocd/.\n"
        self.repo_host.ensure_repository(GITOPS_REPOSITORY, GITOPS_MARKER, {"README.md": readme}, "Initialise GitOps repository")

    def deploy(self, spec: WorkloadSpec, manifests: list[dict[str, Any]]) -> str:
        self._ensure_repo()
        directory = environment_path(spec.namespace)
        changes: dict[str, bytes | None] = {
            f"{directory}/{i:02d}-{m['kind'].lower()}.yaml": plain_yaml.dump(m).encode() for i, m in enumerate(manifests)
        }
        changes |= {path: None for path in self._files_under(directory) if path not in changes}
        application = render_argocd_application(spec, self.repo_host.repository_url(GITOPS_REPOSITORY), directory)
        changes[application_path(spec.namespace)] = plain_yaml.dump(application).encode()
        self.repo_host.commit_files(GITOPS_REPOSITORY, changes, f"Deploy {spec.service} to {spec.namespace}")
        return f"{self.repo_host.repository_url(GITOPS_REPOSITORY)}#{directory}"

    def remove(self, namespace: str) -> None:
        if GITOPS_REPOSITORY not in self.repo_host.list_repositories():
            return
        changes: dict[str, bytes | None] = {path: None for path in self._files_under(environment_path(namespace))}
        changes[application_path(namespace)] = None
        self.repo_host.commit_files(GITOPS_REPOSITORY, changes, f"Remove {namespace}")

    def namespaces(self) -> list[str]:
        """Namespaces that have manifests in the GitOps repository (for orphan audits)."""
        if GITOPS_REPOSITORY not in self.repo_host.list_repositories():
            return []
        prefix = environment_path("")
        return sorted({p[len(prefix) :].split("/")[0] for p in self.repo_host.list_files(GITOPS_REPOSITORY) if p.startswith(prefix)})

    def _files_under(self, directory: str) -> list[str]:
        return [p for p in self.repo_host.list_files(GITOPS_REPOSITORY) if p.startswith(directory + "/")]

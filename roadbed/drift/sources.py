"""What a drift check reads, picked from the settings like the worker's ports (roadbed.worker.build_ports): the
repository host, the Terraform runner, the golden paths and the secret box. Built in the API process (a check on
demand) and in the worker (the scheduled sweep); it only ever reads through them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from roadbed.adapters.github_repo_host import GitHubRepoHost
from roadbed.adapters.local_git import LocalGitRepoHost
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.ports import InfrastructureRunner, RepoHost
from roadbed.sealing import SecretBox, secret_key_file
from roadbed.settings import KubernetesTarget, RepoHostTarget, Settings
from roadbed.storage.database import Database


@dataclass(frozen=True)
class DriftSources:
    database: Database
    golden_paths: GoldenPathRegistry
    repo_host: RepoHost
    runner: InfrastructureRunner
    terraform_modules_dir: Path
    secrets: SecretBox | None
    image_registry: str
    gitops: bool
    """The kubernetes target is `gitops` (manifests compared with the GitOps repository); `cluster`: not compared yet."""


def repo_host_for(settings: Settings) -> RepoHost:
    if settings.repo_host is RepoHostTarget.GITHUB:
        return GitHubRepoHost(
            settings.github_url,
            settings.github_token.get_secret_value() if settings.github_token else "",
            settings.github_org or "",
            private=settings.github_private,
            branch_protection=settings.github_branch_protection,
            seconds_between_requests=settings.github_seconds_between_requests,
            seconds_between_writes=settings.github_seconds_between_writes,
        )
    return LocalGitRepoHost(settings.git_dir / "repos")


def sources_for(settings: Settings, database: Database, golden_paths: GoldenPathRegistry, runner: InfrastructureRunner) -> DriftSources:
    return DriftSources(
        database=database,
        golden_paths=golden_paths,
        repo_host=repo_host_for(settings),
        runner=runner,
        terraform_modules_dir=settings.terraform_modules_dir,
        secrets=SecretBox(secret_key_file(settings.home)),
        image_registry=settings.image_registry,
        gitops=settings.kubernetes_target is KubernetesTarget.GITOPS,
    )

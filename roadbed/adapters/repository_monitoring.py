"""Monitoring adapter for the embedded default: rules, dashboard and SLO spec committed to the service repo."""

from __future__ import annotations

from roadbed.ports import RepoHost


class RepositoryMonitoring:
    def __init__(self, repo_host: RepoHost) -> None:
        self.repo_host = repo_host

    def publish(self, repository: str, files: dict[str, str]) -> list[str]:
        self.repo_host.commit_files(repository, {path: content.encode() for path, content in files.items()}, "Add monitoring: SLO alerts, dashboard")
        return sorted(files)

    def remove(self, repository: str, paths: list[str]) -> None:
        if repository in self.repo_host.list_repositories():
            self.repo_host.commit_files(repository, dict.fromkeys(paths), "Remove monitoring")

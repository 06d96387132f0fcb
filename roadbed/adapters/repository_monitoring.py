"""Monitoring adapter for the embedded default: rules, dashboard and SLO spec committed to the service repo."""

from __future__ import annotations

from roadbed.domain.specs import MonitoringSpec
from roadbed.ports import RepoHost


class RepositoryMonitoring:
    def __init__(self, repo_host: RepoHost) -> None:
        self.repo_host = repo_host

    def publish(self, spec: MonitoringSpec, files: dict[str, str]) -> list[str]:
        self.repo_host.commit_files(
            spec.service, {path: content.encode() for path, content in files.items()}, "Add monitoring: SLO alerts, dashboard"
        )
        return sorted(files)

    def remove(self, spec: MonitoringSpec, paths: list[str]) -> None:
        # every repo host names the service's repository after the service
        if spec.service in self.repo_host.list_repositories():
            self.repo_host.commit_files(spec.service, dict.fromkeys(paths), "Remove monitoring")

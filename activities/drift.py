"""The drift sweep's activities: a page of live environment ids, and one environment's check (roadbed.drift)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from roadbed.activities.base import ProvisioningPorts
from roadbed.adapters.gitops import GitOpsDeployer
from roadbed.domain.errors import NotFound
from roadbed.domain.models import EnvironmentStatus
from roadbed.drift.contracts import DRIFT_CHECK, DRIFT_PAGE, PageInput
from roadbed.drift.service import NotLive, check_environment
from roadbed.drift.sources import DriftSources
from roadbed.drift.store import live_environment_ids


def sources_of(ports: ProvisioningPorts) -> DriftSources:
    """The drift check's readers: the worker's own adapters."""
    return DriftSources(
        database=ports.database, golden_paths=ports.golden_paths, repo_host=ports.repo_host, runner=ports.infrastructure,
        terraform_modules_dir=ports.terraform_modules_dir, secrets=ports.secrets, image_registry=ports.image_registry,
        gitops=isinstance(ports.kubernetes, GitOpsDeployer),
    )


class DriftActivities:
    def __init__(self, ports: ProvisioningPorts) -> None:
        self.sources = sources_of(ports)

    @activity.defn(name=DRIFT_PAGE)
    def page(self, data: PageInput) -> list[str]:
        with self.sources.database.transaction() as session:
            return live_environment_ids(session, live=EnvironmentStatus.SUCCEEDED.value, after=data.after, limit=data.limit)

    @activity.defn(name=DRIFT_CHECK)
    def check(self, environment_id: str) -> str:
        """The environment's new drift status; one decommissioned or gone since the page was read is skipped."""
        try:
            return str(check_environment(self.sources, environment_id)["status"])
        except (NotLive, NotFound):
            return "skipped"

    def all(self) -> list[Callable[..., Any]]:
        return [self.page, self.check]

"""The action workflow's activities: write an action template's rendered files to its branch, or record why not.

The plan is made again from the template version recorded at the request (not the folder as it is now), onto the
default branch as it is now; only the action's branch is written, one commit on the default branch's head (asked
again: replaced), and on GitHub a pull request is opened (or updated) with the publish step's title and description.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from roadbed.activities.base import ProvisioningPorts
from roadbed.adapters.github_repo_host import GitHubRepoHost
from roadbed.adapters.github_upgrade_branches import GitHubUpgradeBranches
from roadbed.domain.errors import PermanentError
from roadbed.upgrades import actions
from roadbed.upgrades.contracts import ACTION_BRANCH_ACTIVITY, ACTION_FAILED_ACTIVITY, ActionFailure, ActionInput


class ActionActivities:
    def __init__(self, ports: ProvisioningPorts) -> None:
        self.ports = ports

    @activity.defn(name=ACTION_BRANCH_ACTIVITY)
    def write_branch(self, data: ActionInput) -> str:
        """Returns the branch's commit."""
        row = actions.require(self.ports.database, data.action_id)
        host = self.ports.repo_host
        github = GitHubUpgradeBranches(host) if isinstance(host, GitHubRepoHost) else None
        if github is None and "branch" not in inspect.signature(host.commit_files).parameters:
            return self._failed(data.action_id, "this repo host cannot write branches")
        try:
            plan = actions.plan_action(self.ports.database, self.ports.golden_paths, row.service, row.template, row.parameters, row.template_version)
        except PermanentError as exc:
            return self._failed(data.action_id, str(exc))
        files = []
        for path, content in sorted(plan.files.items()):
            existing = host.read_file(row.service, path)
            if existing != content:
                files.append({"path": path, "result": "added" if existing is None else "changed"})
        message = f"{plan.title}\n\n{plan.description}\n\nRoadbed action {plan.template} {plan.version}.\n"
        pull_request: str | None = None
        if github is not None:
            commit = github.write_branch(row.service, plan.branch, dict(plan.files), message, plan.executable)
            pull_request = github.pull_request(row.service, plan.branch, plan.title, plan.description)
        else:
            commit = host.commit_files(row.service, dict(plan.files), message, branch=plan.branch, executable=plan.executable)  # type: ignore[call-arg]
        actions.record_branch(self.ports.database, data.action_id, files, datetime.now(UTC), pull_request)
        return str(commit)

    @activity.defn(name=ACTION_FAILED_ACTIVITY)
    def record_failure(self, data: ActionFailure) -> None:
        actions.record_failure(self.ports.database, data.action_id, data.error, datetime.now(UTC))

    def _failed(self, action_id: str, reason: str) -> str:
        actions.record_failure(self.ports.database, action_id, reason, datetime.now(UTC))
        raise ApplicationError(reason, type="PermanentError", non_retryable=True)

    def all(self) -> list[Callable[..., Any]]:
        return [self.write_branch, self.record_failure]

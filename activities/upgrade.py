"""The upgrade workflow's activities: write the merged upgrade to its branch, or record why it failed.

The plan is made again here (not carried from the API): the default branch may have moved since the request, and
the branch must hold the merge onto the branch as it is now. Only the upgrade branch is written, with one commit
on top of the default branch's head; conflicts keep their markers there and nowhere else.
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
from roadbed.upgrades import records
from roadbed.upgrades.contracts import UPGRADE_BRANCH_ACTIVITY, UPGRADE_FAILED_ACTIVITY, UpgradeFailure, UpgradeInput, UpgradeOutcome
from roadbed.upgrades.merge import FileResult
from roadbed.upgrades.plan import plan_upgrade


def commit_message(golden_path: str, from_version: str, to_version: str, files: list[dict[str, str]]) -> str:
    """The upgrade commit's message: what changed and what needs a human (the pull request body says the same)."""
    lines = [f"Upgrade {golden_path} {from_version} -> {to_version}", ""]
    for result in FileResult:
        paths = [f["path"] for f in files if f["result"] == result]
        if paths:
            lines.append(f"{result}: {', '.join(paths)}")
    return "\n".join(lines) + "\n"


def pull_request_body(golden_path: str, files: list[dict[str, str]]) -> str:
    """What a reviewer needs first: the files that changed, the team's edits kept, and the conflicts to resolve."""
    groups = (
        ("Changed from upstream", ("clean", "added", "deleted")),
        ("Merged with your edits (kept)", ("merged",)),
        ("Conflicts: resolve the markers on this branch before merging", ("conflict",)),
        ("Deleted by you, changed upstream (left deleted)", ("kept-deleted",)),
    )
    lines = [f"Roadbed upgrade of this repository's golden path `{golden_path}`.", ""]
    for heading, results in groups:
        entries = [f"- `{f['path']}` ({f['result']})" for f in files if f["result"] in results]
        if entries:
            lines += [f"### {heading}", *entries, ""]
    return "\n".join(lines) + "\n"


class UpgradeActivities:
    def __init__(self, ports: ProvisioningPorts) -> None:
        self.ports = ports

    @activity.defn(name=UPGRADE_BRANCH_ACTIVITY)
    def write_branch(self, data: UpgradeInput) -> UpgradeOutcome:
        host = self.ports.repo_host
        github = GitHubUpgradeBranches(host) if isinstance(host, GitHubRepoHost) else None
        if github is None and "branch" not in inspect.signature(host.commit_files).parameters:
            return self._failed(data, "this repo host cannot write upgrade branches")
        try:
            plan = plan_upgrade(self.ports.database, self.ports.golden_paths, host, data.service, data.to_version, data.parameters)
        except PermanentError as exc:
            return self._failed(data, str(exc))
        files = plan.files()
        changes = {merge.path: merge.content for merge in plan.merges}
        message = commit_message(plan.service.golden_path, plan.service.version, plan.to_version, files)
        pull_request: str | None = None
        if github is not None:
            commit = github.write_branch(data.service, plan.branch, changes, message, plan.executable)
            title, _, body = message.partition("\n")
            pull_request = github.pull_request(data.service, plan.branch, title, pull_request_body(plan.service.golden_path, files) + body)
        else:
            commit = host.commit_files(data.service, changes, message, branch=plan.branch, executable=plan.executable)  # type: ignore[call-arg]
        records.record_branch(self.ports.database, data.upgrade_id, files, plan.parameters, datetime.now(UTC), pull_request_url=pull_request)
        return UpgradeOutcome(upgrade_id=data.upgrade_id, status=records.OPEN, branch=plan.branch, commit=str(commit), files=files)

    @activity.defn(name=UPGRADE_FAILED_ACTIVITY)
    def record_failure(self, data: UpgradeFailure) -> None:
        records.record_failure(self.ports.database, data.upgrade_id, data.error, datetime.now(UTC))

    def _failed(self, data: UpgradeInput, reason: str) -> UpgradeOutcome:
        records.record_failure(self.ports.database, data.upgrade_id, reason, datetime.now(UTC))
        raise ApplicationError(reason, type="PermanentError", non_retryable=True)

    def all(self) -> list[Callable[..., Any]]:
        return [self.write_branch, self.record_failure]

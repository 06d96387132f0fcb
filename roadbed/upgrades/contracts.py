"""What the API, the upgrade workflow and its activities hand each other: plain data (the workflow imports this)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

UPGRADE_WORKFLOW = "UpgradeServiceWorkflow"
UPGRADE_BRANCH_ACTIVITY = "upgrade.write_branch"
UPGRADE_FAILED_ACTIVITY = "upgrade.record_failure"


class UpgradeInput(BaseModel):
    """One upgrade as accepted: its row, the service, the target version and the request's new parameters."""

    model_config = ConfigDict(frozen=True)

    upgrade_id: str
    service: str
    to_version: str
    parameters: dict[str, Any] = Field(default_factory=dict)


class UpgradeFailure(BaseModel):
    model_config = ConfigDict(frozen=True)

    upgrade_id: str
    error: str


class UpgradeOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    upgrade_id: str
    status: str
    branch: str
    commit: str | None = None
    files: list[dict[str, str]] = Field(default_factory=list)

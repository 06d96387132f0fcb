"""What the API, the upgrade, campaign and action workflows and their activities hand each other: plain data (the workflows import this)."""

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


CAMPAIGN_WORKFLOW = "UpgradeCampaignWorkflow"
CAMPAIGN_START_ACTIVITY = "campaign.start_upgrade"
CAMPAIGN_RECORD_ACTIVITY = "campaign.record"
CAMPAIGN_FINISH_ACTIVITY = "campaign.finish"


class CampaignInput(BaseModel):
    """A campaign as accepted: its row, the services found on the golden path then, the version, the cap."""

    model_config = ConfigDict(frozen=True)

    campaign_id: str
    services: list[str]
    to_version: str
    max_concurrent: int


class CampaignService(BaseModel):
    model_config = ConfigDict(frozen=True)

    campaign_id: str
    service: str
    to_version: str


class CampaignStart(BaseModel):
    """The upgrade started for a service (`upgrade_id`), or why none was: SKIPPED (already on it), FAILED."""

    model_config = ConfigDict(frozen=True)

    status: str
    upgrade_id: str | None = None
    error: str | None = None


class CampaignProgress(BaseModel):
    model_config = ConfigDict(frozen=True)

    campaign_id: str
    service: str
    status: str
    upgrade_id: str | None = None
    error: str | None = None
    max_in_flight: int = 0


ACTION_WORKFLOW = "ServiceActionWorkflow"
ACTION_BRANCH_ACTIVITY = "action.write_branch"
ACTION_FAILED_ACTIVITY = "action.record_failure"


class ActionInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    action_id: str


class ActionFailure(BaseModel):
    model_config = ConfigDict(frozen=True)

    action_id: str
    error: str

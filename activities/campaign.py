"""The campaign workflow's activities: plan and open one service's upgrade, record progress, finish."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from temporalio import activity

from roadbed.activities.base import ProvisioningPorts
from roadbed.upgrades import campaigns
from roadbed.upgrades.contracts import (
    CAMPAIGN_FINISH_ACTIVITY,
    CAMPAIGN_RECORD_ACTIVITY,
    CAMPAIGN_START_ACTIVITY,
    CampaignProgress,
    CampaignService,
    CampaignStart,
)


class CampaignActivities:
    def __init__(self, ports: ProvisioningPorts) -> None:
        self.ports = ports

    @activity.defn(name=CAMPAIGN_START_ACTIVITY)
    def start_upgrade(self, data: CampaignService) -> CampaignStart:
        status, upgrade_id, error = campaigns.start_upgrade(
            self.ports.database, self.ports.golden_paths, self.ports.repo_host, data.service, data.to_version, datetime.now(UTC)
        )
        return CampaignStart(status=status, upgrade_id=upgrade_id, error=error)

    @activity.defn(name=CAMPAIGN_RECORD_ACTIVITY)
    def record(self, data: CampaignProgress) -> None:
        campaigns.record(
            self.ports.database, data.campaign_id, data.service, data.status, datetime.now(UTC),
            upgrade_id=data.upgrade_id, error=data.error, max_in_flight=data.max_in_flight,
        )

    @activity.defn(name=CAMPAIGN_FINISH_ACTIVITY)
    def finish(self, campaign_id: str) -> None:
        campaigns.finish(self.ports.database, campaign_id, datetime.now(UTC))

    def all(self) -> list[Callable[..., Any]]:
        return [self.start_upgrade, self.record, self.finish]

"""The activities of `EnvironmentExpiryWorkflow`: store `expires_at` and its events; decommission at expiry.

Expiry decommissions through `EnvironmentLifecycle.decommission`, the very path `DELETE /v1/environments/{id}`
takes (claim SUCCEEDED → COMPENSATING, start `DecommissionEnvironmentWorkflow`), so an expired environment is
undone exactly like a manual decommission. That activity is `async` because it needs the worker's Temporal client.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio import activity

from roadbed.domain.errors import Conflict
from roadbed.domain.expiry import EXPIRE_ENVIRONMENT, EXPIRY_ACTOR, RECORD_EXPIRY, EventType, ExpiryRecord
from roadbed.domain.models import EnvironmentStatus
from roadbed.lifecycle import EnvironmentLifecycle
from roadbed.storage import expiry
from roadbed.storage.database import Database


class ExpiryActivities:
    def __init__(self, database: Database, task_queue: str) -> None:
        self.database = database
        self.task_queue = task_queue  # where decommission workflows start (the general queue)

    @activity.defn(name=RECORD_EXPIRY)
    def record_expiry(self, record: ExpiryRecord) -> None:
        with self.database.transaction() as session:
            expiry.set_expires_at(session, record.environment_id, record.expires_at)
            if record.event is not None:
                expiry.add_event(session, record.environment_id, record.at or datetime.now(UTC), record.event.value, record.message)

    def _mark_expired(self, record: ExpiryRecord) -> None:
        with self.database.transaction() as session:
            if not expiry.has_event(session, record.environment_id, EventType.EXPIRED.value):  # a retried attempt records it once
                expiry.add_event(session, record.environment_id, record.at or datetime.now(UTC), EventType.EXPIRED.value, record.message)

    @activity.defn(name=EXPIRE_ENVIRONMENT)
    async def expire_environment(self, record: ExpiryRecord) -> str:
        """Decommission the environment if it is still SUCCEEDED (recording `expired`); says what happened."""
        environment_id = record.environment_id
        lifecycle = EnvironmentLifecycle(self.database, activity.client(), self.task_queue)
        row = await lifecycle.load(environment_id)
        if row.status != EnvironmentStatus.SUCCEEDED.value:
            return f"nothing to decommission: the environment is {row.status}"
        await asyncio.to_thread(self._mark_expired, record)
        try:
            workflow_id = await lifecycle.decommission(row, requested_by=EXPIRY_ACTOR, purge=False, end_expiry=False)
        except Conflict as exc:  # decommissioned by hand in the meantime
            return f"nothing to decommission: {exc}"
        return f"expired: decommissioning ({workflow_id})"

    def all(self) -> list[object]:
        return [self.record_expiry, self.expire_environment]


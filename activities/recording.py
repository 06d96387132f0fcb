"""The `record` step: status changes and the final outcome of an environment, stored in the engine DB."""

from __future__ import annotations

from temporalio import activity

from roadbed.activities.contracts import RECORD_STATUS, StatusUpdate
from roadbed.domain.models import StepProgress, StepStatus
from roadbed.storage import environments
from roadbed.storage.database import Database


class RecordingActivities:
    def __init__(self, database: Database) -> None:
        self.database = database

    @activity.defn(name=RECORD_STATUS)
    def record_status(self, update: StatusUpdate) -> None:
        with self.database.transaction() as session:
            if update.failed_step is not None and update.error is not None:
                row = next(s for s in environments.steps_of(session, update.environment_id) if s.name == update.failed_step.value)
                if row.status not in {StepStatus.SUCCEEDED.value, StepStatus.COMPENSATED.value}:
                    environments.record_step(
                        session,
                        update.environment_id,
                        StepProgress(
                            name=update.failed_step, status=StepStatus.FAILED, attempts=row.attempts, started_at=row.started_at,
                            finished_at=update.finished_at, detail=f"{update.error.error_class}: {update.error.message}",
                        ),
                    )
            environments.record_status(
                session,
                update.environment_id,
                update.status,
                outputs=update.outputs.model_dump(mode="json") if update.outputs is not None else None,
                error=update.error.model_dump(mode="json") if update.error else None,
                finished_at=update.finished_at,
            )

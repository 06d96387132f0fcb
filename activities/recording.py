"""The `record` steps: status changes and the final outcome of an environment, and the operator
actions a workflow accepted, stored in the engine DB.

Audit entries written here come from the workflow, not from an HTTP request: an approval or a
compensation retry can be sent straight to Temporal, bypassing the API and its audit middleware. They
are told apart from the API's rows by `method` = `WORKFLOW` and a `path` of `<action> <environment id>`
(e.g. `environment.approved env-…`); the API keeps auditing its requests (`POST …/approve`), so an
approval through the API leaves two distinct rows — the request that asked for it, and the workflow
that took it — and one sent to Temporal directly leaves the second.
"""

from __future__ import annotations

from sqlalchemy import select
from temporalio import activity

from roadbed.activities.contracts import RECORD_AUDIT, RECORD_STATUS, AuditEntry, StatusUpdate
from roadbed.domain.models import StepProgress, StepStatus
from roadbed.storage import audit, environments
from roadbed.storage.database import Database
from roadbed.storage.tables import AuditRow

AUDIT_SOURCE = "WORKFLOW"  # in the `method` column, where the API writes the HTTP method


def audit_path(action: str, target: str) -> str:
    return f"{action} {target}"


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

    @activity.defn(name=RECORD_AUDIT)
    def record_audit(self, entry: AuditEntry) -> None:
        """Append the entry once: a retried activity finds its own row (same update id and action) and stops."""
        path = audit_path(entry.action, entry.target)
        request_id = entry.request_id[:64]
        with self.database.transaction() as session:
            written = session.scalar(
                select(AuditRow.id).where(AuditRow.request_id == request_id, AuditRow.method == AUDIT_SOURCE, AuditRow.path == path)
            )
            if written is None:
                audit.record(session, at=entry.at, request_id=request_id, actor=entry.actor[:40], role=None, method=AUDIT_SOURCE, path=path, status=200)

    def all(self) -> list[object]:
        return [self.record_status, self.record_audit]

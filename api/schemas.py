"""Response bodies of the API (CONTRACT.md fixes the listed fields; extra ones are ours)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from roadbed.sealing import redact_sealed
from roadbed.storage.tables import EnvironmentRow, StepRow


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


class StepView(BaseModel):
    name: str
    status: str
    attempts: int
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = None
    compensation_started_at: datetime | None = None
    compensation_finished_at: datetime | None = None
    compensation_duration_seconds: float | None = None
    detail: str | None = None


class EnvironmentView(BaseModel):
    id: str
    request_id: str | None
    service: str
    team: str
    golden_path: str
    golden_path_version: str
    environment: str
    status: str
    workflow_id: str
    steps: list[StepView]
    outputs: dict[str, Any]
    error: dict[str, Any] | None = None
    parameters: dict[str, Any]
    resources: list[dict[str, Any]]
    created_at: datetime
    finished_at: datetime | None = None

    @classmethod
    def of(cls, row: EnvironmentRow, steps: list[StepRow]) -> EnvironmentView:
        return cls(
            id=row.id,
            request_id=row.request_id,
            service=row.service,
            team=row.team,
            golden_path=row.golden_path,
            golden_path_version=row.golden_path_version,
            environment=row.environment,
            status=row.status,
            workflow_id=row.workflow_id,
            steps=[
                StepView(
                    name=s.name,
                    status=s.status,
                    attempts=s.attempts,
                    started_at=s.started_at,
                    finished_at=s.finished_at,
                    duration_seconds=_seconds(s.started_at, s.finished_at),
                    compensation_started_at=s.compensation_started_at,
                    compensation_finished_at=s.compensation_finished_at,
                    compensation_duration_seconds=_seconds(s.compensation_started_at, s.compensation_finished_at),
                    detail=s.detail,
                )
                for s in steps
            ],
            outputs=row.outputs or {},
            error=row.error,
            parameters=row.parameters or {},
            resources=redact_sealed(row.resources or []),  # sensitive settings show as ***
            created_at=row.created_at,
            finished_at=row.finished_at,
        )


class ApprovalBody(BaseModel):
    comment: str | None = Field(default=None, max_length=500)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[Any] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {401: "Missing or invalid token", 403: "Outside the token's teams or role", 404: "Not found", 422: "Invalid input"}.items()
}

"""Queries over provisioning requests and their steps. Functions flush; callers commit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from roadbed.domain.errors import Conflict, NotFound
from roadbed.domain.models import (
    STEP_ORDER,
    EnvironmentStatus,
    ProvisionInput,
    StepProgress,
    StepStatus,
)
from roadbed.storage.tables import EnvironmentRow, StepRow


def live_key(service: str, environment: str) -> str:
    return f"{service}/{environment}"


def insert_environment(session: Session, accepted: ProvisionInput, workflow_id: str, status: EnvironmentStatus) -> EnvironmentRow:
    """Store an accepted request with its six pending steps.

    Raises `Conflict` when the service already has a live environment of that name; the unique
    `live_key` decides, so concurrent requests cannot both pass.
    """
    request = accepted.request
    row = EnvironmentRow(
        id=accepted.environment_id,
        request_id=request.request_id,
        live_key=live_key(request.service, request.environment),
        service=request.service,
        team=request.team,
        golden_path=request.golden_path,
        golden_path_version=accepted.golden_path_version,
        environment=request.environment,
        status=status.value,
        workflow_id=workflow_id,
        parameters=request.parameters,
        resources=[r.model_dump() for r in request.resources],
        outputs={},
        provision_input=accepted.model_dump(mode="json"),
        created_at=accepted.requested_at,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.add_all(
                StepRow(environment_id=row.id, position=i, name=step.value, status=StepStatus.PENDING.value)
                for i, step in enumerate(STEP_ORDER)
            )
            session.flush()
    except IntegrityError as exc:
        existing = find_live(session, request.service, request.environment)
        where = f" ({existing.id}, {existing.status})" if existing else ""
        raise Conflict(
            f"service {request.service!r} already has a live {request.environment!r} environment{where}"
        ) from exc
    return row


def find_by_request_id(session: Session, request_id: str) -> EnvironmentRow | None:
    return session.scalar(select(EnvironmentRow).where(EnvironmentRow.request_id == request_id))


def find_live(session: Session, service: str, environment: str) -> EnvironmentRow | None:
    return session.scalar(select(EnvironmentRow).where(EnvironmentRow.live_key == live_key(service, environment)))


def other_live_environment(session: Session, service: str, environment_id: str) -> EnvironmentRow | None:
    """Another live environment of the same service (it shares the repository and the Component)."""
    query = select(EnvironmentRow).where(
        EnvironmentRow.service == service, EnvironmentRow.id != environment_id, EnvironmentRow.live_key.is_not(None)
    )
    return session.scalars(query.order_by(EnvironmentRow.created_at)).first()


def get_environment(session: Session, environment_id: str) -> EnvironmentRow:
    row = session.get(EnvironmentRow, environment_id)
    if row is None:
        raise NotFound(f"environment {environment_id!r} not found")
    return row


def list_environments(
    session: Session,
    *,
    team: str | None = None,
    service: str | None = None,
    environment: str | None = None,
    status: str | None = None,
    limit: int = 500,
) -> list[EnvironmentRow]:
    query = select(EnvironmentRow).order_by(EnvironmentRow.created_at.desc()).limit(limit)
    if team:
        query = query.where(EnvironmentRow.team == team)
    if service:
        query = query.where(EnvironmentRow.service == service)
    if environment:
        query = query.where(EnvironmentRow.environment == environment)
    if status:
        query = query.where(EnvironmentRow.status == status)
    return list(session.scalars(query))


def steps_of(session: Session, environment_id: str) -> list[StepRow]:
    return list(
        session.scalars(select(StepRow).where(StepRow.environment_id == environment_id).order_by(StepRow.position))
    )


def steps_by_environment(session: Session, environment_ids: list[str]) -> dict[str, list[StepRow]]:
    """Steps of many environments in one query (for lists), ordered."""
    grouped: dict[str, list[StepRow]] = {env_id: [] for env_id in environment_ids}
    if environment_ids:
        query = select(StepRow).where(StepRow.environment_id.in_(environment_ids)).order_by(StepRow.position)
        for step in session.scalars(query):
            grouped[step.environment_id].append(step)
    return grouped


_UNDO_STATES = {StepStatus.COMPENSATING.value, StepStatus.COMPENSATED.value}


def record_step(session: Session, environment_id: str, progress: StepProgress) -> None:
    """Mirror one step's progress; the first start time is kept across retries.

    Forward reports (attempts > 0) from a stale attempt — one Temporal already timed out while its
    thread kept going — are dropped: they must not overwrite a newer attempt or a compensation.
    """
    step = session.scalar(
        select(StepRow).where(StepRow.environment_id == environment_id, StepRow.name == progress.name.value)
    )
    if step is None:
        raise NotFound(f"step {progress.name} of environment {environment_id!r} not found")
    if progress.attempts and (progress.attempts < step.attempts or step.status in _UNDO_STATES):
        return
    if progress.compensation and step.error is not None:
        # The step that failed keeps its status and its own error while its partial work is undone: the undo
        # shows in its compensation clock, and only an undo that fails too adds to the detail.
        step.compensation_started_at = step.compensation_started_at or progress.started_at
        step.compensation_finished_at = progress.finished_at
        step.detail = f"{step.error}; undo failed: {progress.detail}" if progress.status is StepStatus.FAILED else step.error
        session.flush()
        return
    if not progress.compensation:
        step.error = (progress.detail or "failed") if progress.status is StepStatus.FAILED and not progress.cancelled else None
    step.status = progress.status.value
    step.attempts = max(step.attempts, progress.attempts)
    step.detail = progress.detail
    if progress.compensation:  # the undo keeps its own clock; the forward run's times stay
        step.compensation_started_at = step.compensation_started_at or progress.started_at
        step.compensation_finished_at = progress.finished_at
    else:
        step.started_at = step.started_at or progress.started_at
        step.finished_at = progress.finished_at
    session.flush()


def record_status(
    session: Session,
    environment_id: str,
    status: EnvironmentStatus,
    *,
    outputs: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    finished_at: datetime | None = None,
    at: datetime | None = None,
) -> None:
    """Move an environment to `status`; leaving the live statuses frees the service+environment slot.

    Leaving PENDING_APPROVAL for RUNNING is the approval taking effect: its time (`at`, else now; the workflow
    records it right after the approve update) goes to `approved_at`, so time-to-environment can tell the human
    wait from provisioning. Only that transition sets it, so a retried record keeps the first time.
    """
    row = get_environment(session, environment_id)
    if row.status == EnvironmentStatus.PENDING_APPROVAL.value and status is EnvironmentStatus.RUNNING and row.approved_at is None:
        row.approved_at = at or datetime.now(UTC)
    row.status = status.value
    if not status.is_live:
        row.live_key = None
    if outputs is not None:
        row.outputs = outputs
    if error is not None or status is EnvironmentStatus.SUCCEEDED:
        row.error = error
    if finished_at is not None:
        row.finished_at = finished_at
        if status is EnvironmentStatus.SUCCEEDED:
            row.ready_at = finished_at
    session.flush()


def compare_and_set_status(session: Session, environment_id: str, expected: EnvironmentStatus, new: EnvironmentStatus) -> bool:
    """Move to `new` only from `expected`, atomically; False when another caller got there first."""
    result = session.execute(
        update(EnvironmentRow).where(EnvironmentRow.id == environment_id, EnvironmentRow.status == expected.value).values(status=new.value)
    )
    session.flush()
    return result.rowcount == 1


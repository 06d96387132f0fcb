"""The drift sweep's names and payloads, as plain data: the workflow (deterministic, importing none of the drift
checks), its activities and the schedule share them. The names are part of every recorded history: never renamed."""

from __future__ import annotations

from dataclasses import dataclass

DRIFT_SCHEDULE_ID = "roadbed-drift"
DRIFT_SWEEP_WORKFLOW = "DriftSweepWorkflow"
DRIFT_SWEEP_WORKFLOW_ID = "roadbed-drift-sweep"
DRIFT_PAGE = "drift.page"
DRIFT_CHECK = "drift.check"
PAGE_SIZE = 200


@dataclass(frozen=True)
class SweepInput:
    """`check_queue`: the task queue `drift.check` runs on (the Terraform queue: a check runs a plan)."""

    max_concurrent: int = 4
    check_queue: str = "roadbed-terraform"
    page_size: int = PAGE_SIZE
    after: str | None = None  # where a continued-as-new sweep resumes
    checked: int = 0


@dataclass(frozen=True)
class PageInput:
    after: str | None
    limit: int


@dataclass(frozen=True)
class SweepResult:
    checked: int

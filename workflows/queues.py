"""Which task queue each activity runs on: Terraform steps on their own queue, everything else on the workflow's.

Task queues by resource profile (docs/operations.md): Terraform applies are CPU- and memory-heavy and slow, the
other steps are short API calls. Putting the applies on a queue of their own lets a deployment size those workers
separately and cap concurrent applies per worker, so a burst queues instead of thrashing.

Deterministic: the queue's name comes from the workflow input (`ProvisionInput.terraform_task_queue`, fixed at
acceptance), or, for runs accepted before the field existed, from the workflow's own task queue. No
`workflow.patched` guard: replay matches an activity command to its recorded event by activity id and type, not by
queue, so histories recorded before the split replay unchanged (tests/workflows/test_replay.py) — checked with
temporalio 1.35; if a later SDK compares queues too, guard this with `workflow.patched("terraform-task-queue")`.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from roadbed.domain.models import ProvisionInput, StepName

TERRAFORM_QUEUE_SUFFIX = "-terraform"
# The steps (and so their undos) that run Terraform; previews plan inside the API, not through Temporal.
TERRAFORM_STEPS: frozenset[StepName] = frozenset({StepName.INFRASTRUCTURE})


def terraform_task_queue(provision: ProvisionInput) -> str:
    return provision.terraform_task_queue or workflow.info().task_queue + TERRAFORM_QUEUE_SUFFIX


def queue_options(step: StepName, provision: ProvisionInput) -> dict[str, Any]:
    """`start_activity` keywords placing a step (or its undo) on its queue: `task_queue=` for Terraform steps."""
    if step not in TERRAFORM_STEPS:
        return {}
    return {"task_queue": terraform_task_queue(provision)}

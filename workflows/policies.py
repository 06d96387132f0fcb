"""Per-step timeouts and retry policies. Explicit on every activity; tuned per step's failure modes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.common import RetryPolicy

from roadbed.domain.models import StepName


@dataclass(frozen=True)
class StepPolicy:
    start_to_close: timedelta
    retry: RetryPolicy
    heartbeat: timedelta | None = None


def _retry(attempts: int, initial: float = 0.5, maximum: float = 20.0) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=timedelta(seconds=initial),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=maximum),
        maximum_attempts=attempts,
    )


STEP_POLICIES: dict[StepName, StepPolicy] = {
    StepName.VALIDATE: StepPolicy(timedelta(seconds=30), _retry(3)),
    StepName.REPOSITORY: StepPolicy(timedelta(minutes=2), _retry(5)),
    # Terraform can take long against a real cloud; it heartbeats so a dead worker is noticed fast.
    StepName.INFRASTRUCTURE: StepPolicy(timedelta(minutes=30), _retry(4, initial=1.0, maximum=60.0), heartbeat=timedelta(seconds=20)),
    StepName.KUBERNETES: StepPolicy(timedelta(minutes=10), _retry(5), heartbeat=timedelta(seconds=30)),
    StepName.MONITORING: StepPolicy(timedelta(minutes=2), _retry(5)),
    StepName.CATALOG: StepPolicy(timedelta(minutes=2), _retry(5)),
}

RECORD_POLICY = StepPolicy(timedelta(seconds=30), RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)))

"""Per-step timeouts and retry policies. Explicit on every activity; tuned per step's failure modes.

Every step heartbeats (a helper thread in the activity), so a killed worker's step is retried
elsewhere after `heartbeat` seconds, not after its whole start-to-close timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityCancellationType

from roadbed.domain.models import StepName


@dataclass(frozen=True)
class StepPolicy:
    start_to_close: timedelta
    retry: RetryPolicy
    heartbeat: timedelta = timedelta(seconds=10)

    @property
    def schedule_to_close(self) -> timedelta:
        """Bounds the step's whole retry budget, so a step cannot retry forever."""
        return self.start_to_close * (self.retry.maximum_attempts or 1) + timedelta(minutes=5)

    def activity_options(self) -> dict[str, Any]:
        """`execute_activity` keywords for a step: its timeouts, heartbeat, retries, and waiting out a cancel
        (a half-finished step must stop before its undo starts)."""
        return {
            "start_to_close_timeout": self.start_to_close,
            "heartbeat_timeout": self.heartbeat,
            "schedule_to_close_timeout": self.schedule_to_close,
            "retry_policy": self.retry,
            "cancellation_type": ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        }


def _retry(attempts: int, initial: float = 0.5, maximum: float = 20.0, non_retryable: list[str] | None = None) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=timedelta(seconds=initial),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=maximum),
        maximum_attempts=attempts,
        non_retryable_error_types=non_retryable,
    )


STEP_POLICIES: dict[StepName, StepPolicy] = {
    StepName.VALIDATE: StepPolicy(timedelta(seconds=30), _retry(3)),
    StepName.REPOSITORY: StepPolicy(timedelta(minutes=2), _retry(5)),
    # Terraform against a real cloud can take long; backoff is gentler (locks, API rate limits).
    StepName.INFRASTRUCTURE: StepPolicy(timedelta(minutes=30), _retry(4, initial=1.0, maximum=60.0)),
    StepName.KUBERNETES: StepPolicy(timedelta(minutes=10), _retry(5)),
    StepName.MONITORING: StepPolicy(timedelta(minutes=2), _retry(5)),
    StepName.CATALOG: StepPolicy(timedelta(minutes=2), _retry(5)),
}

# Undoing must try harder than doing: a leftover is worse than a slow rollback.
COMPENSATION_POLICIES: dict[StepName, StepPolicy] = {
    step: StepPolicy(policy.start_to_close, _retry(6, initial=1.0, maximum=10.0)) for step, policy in STEP_POLICIES.items()
}

RECORD_POLICY = StepPolicy(
    timedelta(seconds=30), RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
)

# A rollout is retried a few times only: each attempt waits for a whole rollout, and a failed one is rolled back.
DEPLOY_ROLLOUT_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10), maximum_attempts=3)

"""What every step activity shares: the injected ports, progress tracking and heartbeats.

Only the activity knows which attempt it is, so each step records its own progress (status,
attempt, start, finish, detail) in the engine database. A background heartbeater keeps every
step visibly alive, so a killed worker is noticed within the heartbeat timeout instead of the
step's whole start-to-close timeout. Errors leave as Temporal `ApplicationError`s: a
`PermanentError` is non-retryable, anything else is retried under the step's policy.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from roadbed.activities.contracts import StepResult
from roadbed import golden_paths
from roadbed.domain.errors import PermanentError
from roadbed.domain.models import EnvironmentOutputs, ProvisionInput, StepName, StepProgress, StepStatus
from roadbed.environment_specs import IMAGE_REGISTRY
from roadbed.failpoints import Failpoints
from roadbed.golden_paths import GoldenPath, GoldenPathRegistry
from roadbed.ports import CatalogRegistry, InfrastructureRunner, KubernetesDeployer, MonitoringPublisher, RepoHost
from roadbed.sealing import SecretBox
from roadbed.storage import environments
from roadbed.storage.database import Database
from roadbed.validation import RequestValidator

HEARTBEAT_EVERY_SECONDS = 1.0


@dataclass(frozen=True)
class ProvisioningPorts:
    """Everything the steps talk to, injected by `roadbed.worker.build_ports`."""

    database: Database
    golden_paths: GoldenPathRegistry
    validator: RequestValidator
    repo_host: RepoHost
    infrastructure: InfrastructureRunner
    kubernetes: KubernetesDeployer
    monitoring: MonitoringPublisher
    catalog: CatalogRegistry
    terraform_modules_dir: Path
    failpoints: Failpoints = field(default_factory=Failpoints)
    image_registry: str = IMAGE_REGISTRY
    secrets: SecretBox | None = None  # opens sealed settings for Terraform (roadbed.sealing)


def now() -> datetime:
    return datetime.now(UTC)


def template_parameters(provision: ProvisionInput, golden_path: GoldenPath) -> dict[str, Any]:
    """The parameters the template sees for this request (see `roadbed.golden_paths.template_parameters`)."""
    request = provision.request
    return golden_paths.template_parameters(golden_path, request.parameters, request.service, request.team, request.environment)


class Heartbeater:
    """Heartbeats from a helper thread while the step works; a `hang` failpoint pauses it to simulate a wedged worker."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self.paused = threading.Event()

    @contextmanager
    def running(self) -> Iterator[Heartbeater]:
        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(self._loop,), name="heartbeat", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_EVERY_SECONDS):
            if not self.paused.is_set():
                activity.heartbeat()


def _timeout_seconds() -> float:
    info = activity.info()
    timeouts = [t.total_seconds() for t in (info.heartbeat_timeout, info.start_to_close_timeout) if t]
    return min(timeouts) * 2 if timeouts else 60.0


class StepActivities:
    """Base of the activity classes: constructor injection and the tracked-step wrapper."""

    def __init__(self, ports: ProvisioningPorts) -> None:
        self.ports = ports

    def _record(self, environment_id: str, progress: StepProgress) -> None:
        with self.ports.database.transaction() as session:
            environments.record_step(session, environment_id, progress)

    def _tracked(
        self,
        step: StepName,
        provision: ProvisionInput,
        work: Callable[[], tuple[EnvironmentOutputs, str]],
        *,
        undo: bool = False,
    ) -> StepResult:
        attempt = activity.info().attempt
        env_id = provision.environment_id
        started = now()
        running = StepStatus.COMPENSATING if undo else StepStatus.RUNNING
        label = "compensation attempt" if undo else "attempt"
        self._record(env_id, StepProgress(name=step, status=running, attempts=0 if undo else attempt, started_at=started, detail=f"{label} {attempt}"))
        heartbeater = Heartbeater()
        try:
            with heartbeater.running():
                target = f"{step.value}.compensate" if undo else step.value
                if self.ports.failpoints.hangs(target, attempt):
                    heartbeater.paused.set()
                self.ports.failpoints.trigger(target, attempt, hang_for=_timeout_seconds(), cancelled=activity.is_worker_shutdown)
                outputs, detail = work()
        except Exception as exc:
            permanent = isinstance(exc, PermanentError)
            note = f"{label} {attempt} failed: {exc}" + ("" if permanent else " (retrying)")
            status = StepStatus.FAILED if permanent else running
            self._record(env_id, StepProgress(name=step, status=status, attempts=0 if undo else attempt, started_at=started, detail=note))
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=permanent) from exc
        done = StepStatus.COMPENSATED if undo else StepStatus.SUCCEEDED
        self._record(env_id, StepProgress(name=step, status=done, attempts=0 if undo else attempt, started_at=None if undo else started, finished_at=now(), detail=detail))
        return StepResult(step=step, attempt=attempt, detail=detail, outputs=outputs)

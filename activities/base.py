"""What every step activity shares: the injected ports, progress tracking and heartbeats.

Only the activity knows which attempt it is, so each step records its own progress (status,
attempt, start, finish, detail) in the engine database. A background heartbeater keeps every
step visibly alive, so a killed worker is noticed within the heartbeat timeout instead of the
step's whole start-to-close timeout. The heartbeats are also how a cancel reaches a step: Temporal
answers a heartbeat with "cancel requested", the SDK raises `CancelledError` into the step's thread,
and `_tracked` lets it leave as a cancellation (never wrapped into a retryable error, which would
retry the step and make the run end COMPENSATED instead of CANCELLED). Other errors leave as
Temporal `ApplicationError`s: a `PermanentError` is non-retryable, anything else is retried under
the step's policy.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, CancelledError

from roadbed import golden_paths
from roadbed.activities.contracts import StepResult
from roadbed.activities.pipeline_access import DeliveryTarget
from roadbed.domain.errors import PermanentError
from roadbed.domain.models import EnvironmentOutputs, ProvisionInput, StepName, StepProgress, StepStatus
from roadbed.environment_specs import IMAGE_REGISTRY
from roadbed.failpoints import Failpoints
from roadbed.golden_paths import GoldenPath, GoldenPathRegistry
from roadbed.ports import CatalogRegistry, InfrastructureRunner, KubernetesDeployer, MonitoringPublisher, RepoHost
from roadbed.rendering.catalog_entities import CatalogPlugins
from roadbed.sealing import SecretBox
from roadbed.storage import environments
from roadbed.storage.database import Database
from roadbed.validation import RequestValidator

HEARTBEAT_EVERY_SECONDS = 1.0
# The SDK sends heartbeats at most every 0.8 x heartbeat timeout (8 s for our steps) unless told otherwise;
# a cancel only arrives with a sent heartbeat, so the worker sends them as often as the steps make them.
HEARTBEAT_THROTTLE = timedelta(seconds=HEARTBEAT_EVERY_SECONDS)


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
    delivery: DeliveryTarget | None = None  # a repo host with CI settings (GitHub Actions): what the pipeline gets
    catalog_plugins: CatalogPlugins = field(default_factory=CatalogPlugins)  # what the plugin annotations can point at


def now() -> datetime:
    return datetime.now(UTC)


def template_parameters(provision: ProvisionInput, golden_path: GoldenPath) -> dict[str, Any]:
    """The parameters the template sees for this request (see `roadbed.golden_paths.template_parameters`)."""
    request = provision.request
    return golden_paths.template_parameters(golden_path, request.parameters, request.service, request.team, request.environment)


class Heartbeater:
    """Heartbeats from a helper thread while the step works, whatever the work is blocked on (a hang too:
    the worker is alive, and only a heartbeat can bring it the workflow's cancel). A dead worker stops
    heartbeating by itself, which is what the heartbeat timeout is for."""

    def __init__(self) -> None:
        self._stop = threading.Event()

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
            activity.heartbeat()


def _hang_seconds() -> float:
    """How long a `hang` failpoint blocks before giving up: as long as a wedged worker would last (the heartbeat timeout)."""
    info = activity.info()
    timeouts = [t.total_seconds() for t in (info.heartbeat_timeout, info.start_to_close_timeout) if t]
    return min(timeouts) if timeouts else 60.0


def cancel_requested() -> bool:
    """The workflow asked this step to stop — not a worker shutdown, a timeout or a pause, after which
    the step must be retried (elsewhere), so those keep failing as retryable errors."""
    details = activity.cancellation_details()
    return activity.is_cancelled() and details is not None and details.cancel_requested


def stopping() -> bool:
    return activity.is_cancelled() or activity.is_worker_shutdown()


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
        self._record(env_id, StepProgress(name=step, compensation=undo, status=running, attempts=0 if undo else attempt, started_at=started, detail=f"{label} {attempt}"))
        heartbeater = Heartbeater()
        try:
            with heartbeater.running():
                target = f"{step.value}.compensate" if undo else step.value
                self.ports.failpoints.trigger(target, attempt, hang_for=_hang_seconds(), cancelled=stopping)
                outputs, detail = work()
        except Exception as exc:
            if cancel_requested():
                note = f"{label} {attempt} cancelled"
                self._record(env_id, StepProgress(name=step, compensation=undo, status=StepStatus.FAILED if not undo else running, attempts=0 if undo else attempt, started_at=started, detail=note, cancelled=True))
                if isinstance(exc, CancelledError):
                    raise
                raise CancelledError(note) from exc
            permanent = isinstance(exc, PermanentError)
            note = f"{label} {attempt} failed: {exc}" + ("" if permanent else " (retrying)")
            status = StepStatus.FAILED if permanent else running
            self._record(env_id, StepProgress(name=step, compensation=undo, status=status, attempts=0 if undo else attempt, started_at=started, detail=note))
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=permanent) from exc
        done = StepStatus.COMPENSATED if undo else StepStatus.SUCCEEDED
        self._record(env_id, StepProgress(name=step, compensation=undo, status=done, attempts=0 if undo else attempt, started_at=None if undo else started, finished_at=now(), detail=detail))
        return StepResult(step=step, attempt=attempt, detail=detail, outputs=outputs)

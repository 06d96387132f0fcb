"""Fault injection for rehearsing failures on a running system (`ROADBED_FAILPOINTS`, CONTRACT.md).

`STEP:MODE[:COUNT]`, comma-separated. STEP is a provisioning step or `STEP.compensate`; MODE is
`transient` (a retryable error on the first COUNT attempts, default 1), `permanent` (non-retryable)
or `hang` (blocks until the step's timeout). Counting by the activity's attempt number keeps the
behaviour the same across worker restarts. Off unless configured, and loud when on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from roadbed.domain.errors import ConfigurationError, PermanentError, TransientError
from roadbed.domain.models import StepName

log = logging.getLogger("roadbed.failpoints")


class FailMode(StrEnum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    HANG = "hang"


class InjectedTransientFault(TransientError):
    code = "injected_transient_fault"


class InjectedPermanentFault(PermanentError):
    code = "injected_permanent_fault"


@dataclass(frozen=True)
class Failpoint:
    target: str
    mode: FailMode
    count: int = 1


def _targets() -> set[str]:
    names = {step.value for step in StepName}
    return names | {f"{name}.compensate" for name in names}


def parse_failpoints(spec: str) -> dict[str, Failpoint]:
    """Parse the setting; a malformed entry is a configuration error naming it."""
    failpoints: dict[str, Failpoint] = {}
    for entry in (e.strip() for e in spec.split(",")):
        if not entry:
            continue
        parts = entry.split(":")
        if len(parts) not in (2, 3) or parts[0] not in _targets():
            raise ConfigurationError(f"ROADBED_FAILPOINTS entry {entry!r}: expected STEP:MODE[:COUNT] with STEP one of {sorted(_targets())}")
        try:
            mode = FailMode(parts[1])
            count = int(parts[2]) if len(parts) == 3 else 1
        except ValueError as exc:
            raise ConfigurationError(f"ROADBED_FAILPOINTS entry {entry!r}: mode must be transient, permanent or hang; COUNT a number") from exc
        failpoints[parts[0]] = Failpoint(parts[0], mode, count)
    return failpoints


class Failpoints:
    def __init__(self, spec: str = "") -> None:
        self.points = parse_failpoints(spec)
        for point in self.points.values():
            log.warning("FAILPOINT ARMED: %s %s (count %d) — this worker will inject faults", point.target, point.mode, point.count)

    def trigger(self, target: str, attempt: int, *, hang_for: float, heartbeat: Callable[[], bool] | None = None) -> None:
        """Raise or block as configured for `target` at this attempt; do nothing when unarmed."""
        point = self.points.get(target)
        if point is None:
            return
        log.warning("FAILPOINT %s firing (%s, attempt %d)", target, point.mode, attempt)
        if point.mode is FailMode.PERMANENT:
            raise InjectedPermanentFault(f"failpoint {target}: injected permanent fault")
        if point.mode is FailMode.TRANSIENT and attempt <= point.count:
            raise InjectedTransientFault(f"failpoint {target}: injected transient fault {attempt}/{point.count}")
        if point.mode is FailMode.HANG:
            deadline = time.monotonic() + hang_for
            while time.monotonic() < deadline:
                if heartbeat is not None and heartbeat():
                    break
                time.sleep(0.1)
            raise InjectedTransientFault(f"failpoint {target}: hung for {hang_for:.0f}s")

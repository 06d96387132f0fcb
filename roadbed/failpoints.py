"""Fault injection for rehearsing failures on a running system (`ROADBED_FAILPOINTS`, CONTRACT.md).

`STEP:MODE[:COUNT]`, comma-separated. STEP is a provisioning step or `STEP.compensate`; MODE is
`transient` (a retryable error on the first COUNT attempts, default 1), `permanent` (non-retryable)
or `hang` (the step's work blocks, as a stuck Terraform lock or API call would, and gives up with a
retryable fault after `hang_for` — the step's heartbeat timeout; on every attempt, or on the first COUNT
when given — handy to hold a run at a known step, to cancel it there or to kill its worker). The worker
stays alive during a hang and keeps heartbeating: that is how Temporal delivers a cancel to a step, so a
hang returns within one poll of being cancelled. Counting by the activity's attempt number keeps the
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
HANG_POLL_SECONDS = 0.05


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
    count: int | None = None

    def fires_on(self, attempt: int) -> bool:
        if self.mode is FailMode.PERMANENT:
            return True
        limit = self.count if self.count is not None else (1 if self.mode is FailMode.TRANSIENT else None)
        return limit is None or attempt <= limit


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
            count = int(parts[2]) if len(parts) == 3 else None
        except ValueError as exc:
            raise ConfigurationError(f"ROADBED_FAILPOINTS entry {entry!r}: mode must be transient, permanent or hang; COUNT a number") from exc
        failpoints[parts[0]] = Failpoint(parts[0], mode, count)
    return failpoints


class Failpoints:
    def __init__(self, spec: str = "") -> None:
        self.points = parse_failpoints(spec)
        for point in self.points.values():
            log.warning("FAILPOINT ARMED: %s %s (count %s) — this worker will inject faults", point.target, point.mode, point.count or "default")

    def trigger(self, target: str, attempt: int, *, hang_for: float, cancelled: Callable[[], bool] | None = None) -> None:
        """Raise or block as configured for `target` at this attempt; do nothing when unarmed.

        A hang polls `cancelled` (the step was cancelled, or its worker is shutting down) and then
        raises at once, so the caller never goes on to do the step's work after a cancel."""
        point = self.points.get(target)
        if point is None or not point.fires_on(attempt):
            return
        log.warning("FAILPOINT %s firing (%s, attempt %d)", target, point.mode, attempt)
        if point.mode is FailMode.PERMANENT:
            raise InjectedPermanentFault(f"failpoint {target}: injected permanent fault")
        if point.mode is FailMode.TRANSIENT:
            raise InjectedTransientFault(f"failpoint {target}: injected transient fault {attempt}/{point.count or 1}")
        if point.mode is FailMode.HANG:
            started = time.monotonic()
            while time.monotonic() < started + hang_for:
                if cancelled is not None and cancelled():
                    raise InjectedTransientFault(f"failpoint {target}: hang cancelled after {time.monotonic() - started:.1f}s")
                time.sleep(HANG_POLL_SECONDS)
            raise InjectedTransientFault(f"failpoint {target}: hung for {hang_for:.0f}s")

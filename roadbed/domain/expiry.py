"""Ephemeral environments: durations, and the payloads of `EnvironmentExpiryWorkflow` and its activities.

Here (in the domain) because the API side, the workflow and the activities all use them; the workflow's
name is part of every recorded history, so it never changes.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum

from roadbed.domain.models import Frozen

EXPIRY_WORKFLOW = "EnvironmentExpiryWorkflow"
EXPIRY_ACTOR = "roadbed-expiry"  # who a decommission at expiry is requested by (the audit and the events say so)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SHORT = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_ISO = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


class EventType(StrEnum):
    EXPIRY_WARNING = "expiry_warning"
    EXTENDED = "extended"
    EXPIRED = "expired"


def expiry_workflow_id(environment_id: str) -> str:
    return f"expiry/{environment_id}"


def parse_duration(value: object) -> int:
    """Seconds in `P2D`/`PT12H` (ISO 8601), `90s`/`30m`/`12h`/`2d`/`1w`, or a bare number of seconds.

    Raises ValueError (with a message fit for a 422) for anything else, and for zero or negative durations."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("must be a duration such as 2d, 12h, 90s, P2D or a number of seconds")
    if isinstance(value, int):
        seconds = value
    elif match := _SHORT.match(value):
        seconds = int(match.group(1)) * _UNITS[match.group(2) or "s"]
    elif (iso := _ISO.match(value.strip().upper())) and value.strip().upper() not in {"P", "PT"} and not value.strip().upper().endswith("T"):
        weeks, days, hours, minutes, secs = (int(part or 0) for part in iso.groups())
        seconds = weeks * 604800 + days * 86400 + hours * 3600 + minutes * 60 + secs
    else:
        raise ValueError(f"{value!r} is not a duration such as 2d, 12h, 90s, P2D or a number of seconds")
    if seconds <= 0:
        raise ValueError("must be longer than zero")
    return seconds


def describe(seconds: float) -> str:
    """A duration as people say it: `2d`, `36h`, `90s` (the largest whole unit)."""
    whole = int(seconds)
    for unit, size in sorted(_UNITS.items(), key=lambda item: -item[1]):
        if whole and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


class ExpiryInput(Frozen):
    """The input of `EnvironmentExpiryWorkflow`: when the environment expires and how long before to warn."""

    environment_id: str
    expires_at: datetime
    warning_before: timedelta


class Extension(Frozen):
    """The `extend` update: push the expiry later by `by_seconds`."""

    by_seconds: int
    requested_by: str


class ExpiryRecord(Frozen):
    """Store the environment's `expires_at` and (optionally) one event about it, in one transaction."""

    environment_id: str
    expires_at: datetime
    event: EventType | None = None
    at: datetime | None = None
    message: str = ""


RECORD_EXPIRY = "record_expiry"  # activity: ExpiryRecord -> None
EXPIRE_ENVIRONMENT = "expire_environment"  # activity: ExpiryRecord (the `expired` event) -> str (what happened)

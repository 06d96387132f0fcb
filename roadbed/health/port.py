"""The `ServiceHealth` port: one adapter per source, each asked about one service environment.

A source answers a `SourceSection` or raises; the aggregator turns a raise or a missed deadline into `unknown`
with the reason, so an adapter only has to say what it saw. `SourceError` is the adapter's own "the source
answered, but not usefully" (HTTP 500, an answer of the wrong shape); anything else raised is a bug or a
transport failure and is reported the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from roadbed.domain.specs import SloTarget
from roadbed.health.model import HealthStatus, SourceSection


@dataclass(frozen=True)
class HealthTarget:
    """What every source may need to know of a service environment (read once from the engine database)."""

    service: str
    environment: str
    team: str
    namespace: str
    environment_id: str | None = None
    repository_url: str | None = None
    slo: SloTarget | None = None


class SourceError(Exception):
    """The source answered, but not with something we can read: the section becomes `unknown` with this reason."""


class ServiceHealth(Protocol):
    """One source of a service's live picture. `configured` False: the section is `not_configured`, never called."""

    name: str

    @property
    def configured(self) -> bool: ...

    async def check(self, target: HealthTarget) -> SourceSection: ...


def section(status: HealthStatus, *, url: str | None = None, reason: str | None = None, **figures: Any) -> SourceSection:
    """A section fetched now."""
    return SourceSection(status=status, fetched_at=datetime.now(UTC), url=url, reason=reason, **figures)

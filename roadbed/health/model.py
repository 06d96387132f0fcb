"""The health document's shapes: a status per source, the worst of them on top.

Kept apart from the sources so the API, the CLI's JSON and the portal read one definition. Figures are extra
fields of a section (`extra="allow"`): each source names its own, the contract fixes only the common keys.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class HealthStatus(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    FAILING = "failing"
    UNKNOWN = "unknown"
    NOT_CONFIGURED = "not_configured"


#: Every source, in the order the document, the CLI and the portal show them (CONTRACT.md fixes the names).
SOURCE_NAMES = ("kubernetes", "argocd", "github", "incidents", "prometheus", "grafana", "sonarqube")

# failing > degraded > unknown > ok; not_configured never counts.
_SEVERITY = {HealthStatus.OK: 0, HealthStatus.UNKNOWN: 1, HealthStatus.DEGRADED: 2, HealthStatus.FAILING: 3}


class SourceSection(BaseModel):
    """One source's answer: its status, when it was fetched, a link to the source, why (when not ok), figures."""

    model_config = ConfigDict(extra="allow")

    status: HealthStatus
    fetched_at: datetime
    url: str | None = None
    reason: str | None = None

    @property
    def figures(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class HealthDocument(BaseModel):
    service: str
    environment: str
    status: HealthStatus = Field(description="the worst status of the configured sources (failing > degraded > unknown > ok)")
    sources: dict[str, SourceSection]


def worst(statuses: list[HealthStatus]) -> HealthStatus:
    """The top status: the worst configured one; nothing configured at all is `not_configured`."""
    configured = [status for status in statuses if status is not HealthStatus.NOT_CONFIGURED]
    if not configured:
        return HealthStatus.NOT_CONFIGURED
    return max(configured, key=_SEVERITY.__getitem__)

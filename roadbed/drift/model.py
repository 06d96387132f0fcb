"""Drift items, ignore rules and the statuses, as plain data (no I/O): what every other drift module shares."""

from __future__ import annotations

import fnmatch
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["terraform", "gitops", "cluster", "monitoring"]


class DriftStatus(StrEnum):
    IN_SYNC = "in_sync"
    DRIFTED = "drifted"
    UNKNOWN = "unknown"


class Difference(BaseModel):
    """One thing that differs from the desired state, as a check finds it (without `since`)."""

    model_config = ConfigDict(frozen=True)

    source: Source
    object: str
    field: str | None = None

    @property
    def key(self) -> tuple[str, str, str | None]:
        return (self.source, self.object, self.field)


class IgnoreRule(BaseModel):
    """`{"source"?, "object", "field"?}`; `object` and `field` are globs (fnmatch). A rule without `field` matches
    every field of the object (and an item without one); with `field`, only items whose field matches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Source | None = None
    object: str = Field(min_length=1, max_length=500)
    field: str | None = Field(default=None, min_length=1, max_length=500)

    def hides(self, item: Difference) -> bool:
        if self.source is not None and self.source != item.source:
            return False
        if not fnmatch.fnmatchcase(item.object, self.object):
            return False
        return self.field is None or (item.field is not None and fnmatch.fnmatchcase(item.field, self.field))


MAX_IGNORE_RULES = 100


def visible(found: list[Difference], rules: list[IgnoreRule]) -> list[Difference]:
    return [item for item in found if not any(rule.hides(item) for rule in rules)]


def with_since(found: list[Difference], previous: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The items to store: each keeps the `since` of the check that first saw it (a difference gone and back is new)."""
    first_seen = {(p.get("source"), p.get("object"), p.get("field")): p.get("since") for p in previous}
    items = []
    for item in sorted(set(found), key=lambda d: (d.source, d.object, d.field or "")):
        entry: dict[str, Any] = {"source": item.source, "object": item.object}
        if item.field is not None:
            entry["field"] = item.field
        entry["since"] = first_seen.get(item.key) or now.isoformat()
        items.append(entry)
    return items


class DriftItemView(BaseModel):
    source: Source
    object: str
    field: str | None = None
    since: datetime


class DriftView(BaseModel):
    """`drift` of `GET /v1/environments/{id}`: `unknown` with no `checked_at` until the first check; `error` says
    why the last check could not tell."""

    status: DriftStatus
    checked_at: datetime | None = None
    items: list[DriftItemView] = Field(default_factory=list)
    error: str | None = None

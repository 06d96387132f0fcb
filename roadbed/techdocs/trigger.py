"""The provisioning trigger: a catalog port that, after the catalog step registered a repository's entities,
queues TechDocs builds for those with docs. The step itself and the workflow's commands are unchanged; queueing
returns at once and never raises, so a docs build can neither slow nor fail provisioning."""

from __future__ import annotations

import logging
from typing import Any

from roadbed.ports import CatalogRegistry
from roadbed.techdocs.service import TechDocs

log = logging.getLogger("roadbed.techdocs")


class BuildDocsOnRegister:
    def __init__(self, inner: CatalogRegistry, techdocs: TechDocs) -> None:
        self.inner = inner
        self.techdocs = techdocs

    def register(self, entities: list[dict[str, Any]], environment_id: str) -> list[str]:
        refs = self.inner.register(entities, environment_id)
        try:
            self.techdocs.request_for(entities)
        except Exception:  # noqa: BLE001 - docs are never a reason to fail the catalog step
            log.exception("could not queue TechDocs builds for environment %s", environment_id)
        return refs

    def unregister(self, environment_id: str, successor: str | None = None, *, repository_url: str | None = None) -> None:
        self.inner.unregister(environment_id, successor, repository_url=repository_url)

    def __getattr__(self, name: str) -> Any:  # anything else the wrapped adapter offers
        return getattr(self.inner, name)

"""Catalog adapter for Roadbed's own catalog, kept in the engine database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from roadbed.storage import catalog
from roadbed.storage.database import Database


class DatabaseCatalog:
    def __init__(self, database: Database) -> None:
        self.database = database

    def register(self, entities: list[dict[str, Any]], environment_id: str) -> list[str]:
        with self.database.transaction() as session:
            return catalog.upsert_entities(session, entities, environment_id, datetime.now(UTC))

    def unregister(self, environment_id: str, successor: str | None = None, *, repository_url: str | None = None) -> None:
        """Release the environment's rows and rewrite the service's shared Component from the environments still live
        (removed with the last; `roadbed.storage.catalog.release_entities`). `repository_url` is for external catalogs."""
        with self.database.transaction() as session:
            catalog.release_entities(session, environment_id, successor)

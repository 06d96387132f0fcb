"""Catalog adapter that also registers each service's `catalog-info.yaml` in a Backstage instance.

Roadbed's own catalog stays the source of truth; Backstage gets a *location* pointing at the file in
the repository (`POST /api/catalog/locations`; 409 "already registered" counts as success) and loses it
again when the service's Component goes away (`DELETE /api/catalog/locations/{id}`).

The undo finds the location from the environment's identity (its repository URL, a stored output) by
listing Backstage's locations, never from Roadbed's own rows: those are released first, so a retry after
a failed DELETE would otherwise find nothing to remove and leave the location behind for good.
"""

from __future__ import annotations

from typing import Any

import httpx

from roadbed.adapters.database_catalog import DatabaseCatalog
from roadbed.domain.errors import ConfigurationError, PermanentError, TransientError
from roadbed.storage import catalog
from roadbed.storage.database import Database

SOURCE_LOCATION = "backstage.io/source-location"


def catalog_info_target(component: dict[str, Any]) -> str | None:
    """Where Backstage reads the component's `catalog-info.yaml`: the repository's blob URL on `main`."""
    location = ((component.get("metadata") or {}).get("annotations") or {}).get(SOURCE_LOCATION, "")
    if not location.startswith("url:"):
        return None
    return catalog_info_target_of(location.removeprefix("url:"))


def catalog_info_target_of(repository_url: str) -> str:
    """The location target of a repository (what `register` posts for the Component whose source it is)."""
    return repository_url.removesuffix(".git").rstrip("/") + "/blob/main/catalog-info.yaml"


class BackstageCatalog:
    def __init__(self, database: Database, url: str, token: str, *, timeout: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"ROADBED_BACKSTAGE_URL must be an http(s) URL, got {url!r}")
        self.database = database
        self.inner = DatabaseCatalog(database)
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Bearer {token}"} if token else {})

    def register(self, entities: list[dict[str, Any]], environment_id: str) -> list[str]:
        refs = self.inner.register(entities, environment_id)
        component = next((e for e in entities if e.get("kind") == "Component"), None)
        target = catalog_info_target(component) if component else None
        if target:
            response = self._send("POST", "/api/catalog/locations", json={"type": "url", "target": target})
            if response.status_code not in (200, 201, 409):
                raise _error(response, f"register {target}")
        return refs

    def unregister(self, environment_id: str, successor: str | None = None, *, repository_url: str | None = None) -> None:
        """Release the rows, then remove the location found by the repository's target (see the module doc).

        Without a `repository_url` (an environment whose repository step never finished) the target is read from
        the rows, as the catalog step cannot have registered a location for a repository that does not exist."""
        target = None
        if successor is None:
            if repository_url:
                target = catalog_info_target_of(repository_url)
            else:
                with self.database.transaction() as session:
                    rows = [r for r in catalog.list_entities(session, kind="component") if r.environment_id == environment_id]
                target = catalog_info_target(rows[0].body) if rows else None
        self.inner.unregister(environment_id, successor)
        if target:
            location = self._find(target)
            if location is not None:
                response = self._send("DELETE", f"/api/catalog/locations/{location}")
                if response.status_code not in (200, 204, 404):
                    raise _error(response, f"unregister {target}")

    def location_targets(self) -> list[str]:
        """Every location target Backstage holds (for the orphan audit of `roadbed doctor`)."""
        return sorted(self._locations())

    def _locations(self) -> dict[str, str]:
        """Target → location id, as Backstage lists them now."""
        response = self._send("GET", "/api/catalog/locations")
        if response.status_code != 200:
            raise _error(response, "list locations")
        found: dict[str, str] = {}
        for item in response.json():
            data = item.get("data", item)
            if data.get("target"):
                found[str(data["target"])] = str(data["id"])
        return found

    def _find(self, target: str) -> str | None:
        return self._locations().get(target)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise TransientError(f"Backstage at {self._http.base_url} is not reachable: {type(exc).__name__}") from exc


def _error(response: httpx.Response, what: str) -> Exception:
    message = f"Backstage refused to {what}: HTTP {response.status_code} {response.text[:200]}"
    if response.status_code in (408, 429) or response.status_code >= 500:
        return TransientError(message)
    return PermanentError(message)

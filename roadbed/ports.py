"""Ports: what the activities need from the outside world, one Protocol per external system.

Each port has an embedded adapter (works offline; the default) and a real one, chosen by the
settings in `roadbed.wiring`. Every method is idempotent: Temporal runs activities at least once,
so a repeated call adopts what an earlier attempt left instead of failing or duplicating it.
Adapters raise only `roadbed.domain.errors` types, with the library error chained.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from roadbed.domain.specs import MonitoringSpec, RepositoryMarker, WorkloadSpec


class RepositoryRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    url: str
    default_branch: str
    head: str
    created: bool


MARKER_PATH = ".roadbed/repository.json"


class RepoHost(Protocol):
    def ensure_repository(
        self,
        name: str,
        marker: RepositoryMarker,
        files: dict[str, bytes],
        message: str,
        former_teams: frozenset[str] = frozenset(),
        executable: frozenset[str] = frozenset(),
    ) -> RepositoryRef:
        """Create `name` with `files` as one initial commit, or adopt it when `marker.adopts` its marker (then the
        marker is rewritten with the owner and the union of environments). Anything else is a `PermanentError`.
        The paths in `executable` get mode 100755 in the initial commit, as Backstage's fetch:template keeps them."""

    def commit_files(self, name: str, changes: dict[str, bytes | None], message: str) -> str:
        """Commit additions/updates (bytes) and deletions (None) on the default branch; a no-op change commits nothing."""

    def read_file(self, name: str, path: str) -> bytes | None: ...

    def list_files(self, name: str) -> list[str]: ...

    def delete_repository(self, name: str) -> None: ...

    def archive_repository(self, name: str) -> str | None:
        """Make the repository read-only history (kept, not deleted); returns where it now lives."""

    def repository_url(self, name: str) -> str: ...

    def list_repositories(self) -> list[str]: ...


class InfrastructureRunner(Protocol):
    def apply(self, workspace: str, root_module: dict[str, Any], variables: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Converge `workspace` to the root module and return each module call's outputs."""

    def plan(self, root_module: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
        """What applying the root module to an empty workspace would do: `resource_changes` and a `summary`."""

    def plan_drift(self, workspace: str, sensitive: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """What a plan with refresh of the applied `workspace` would change back (`{"address", "action"}` each);
        changes nothing, never waits for a lock. `sensitive`: the values no lasting file holds."""

    def destroy(self, workspace: str) -> None:
        """Destroy everything in `workspace` and remove it; a missing workspace is already destroyed."""

    def list_workspaces(self) -> list[str]: ...


class KubernetesDeployer(Protocol):
    def deploy(self, spec: WorkloadSpec, manifests: list[dict[str, Any]]) -> str:
        """Make the namespace hold exactly these manifests; returns where they live (path or cluster)."""

    def remove(self, namespace: str) -> None: ...

    def namespaces(self) -> list[str]:
        """Namespaces Roadbed manages on this target (for the orphan audit)."""


class MonitoringPublisher(Protocol):
    """Ships one environment's monitoring: the typed spec says whose and where, the files are what to ship."""

    def publish(self, spec: MonitoringSpec, files: dict[str, str]) -> list[str]:
        """Publish `files` (repository path -> text, as rendered from `spec`); returns the paths written."""

    def remove(self, spec: MonitoringSpec, paths: list[str]) -> None: ...


class CatalogRegistry(Protocol):
    def register(self, entities: list[dict[str, Any]], environment_id: str) -> list[str]: ...

    def unregister(self, environment_id: str, successor: str | None = None, *, repository_url: str | None = None) -> None:
        """Remove the environment's entities; a shared Component passes to the `successor` environment.

        `repository_url` (a stored output) lets an external catalog find what to remove by the environment's
        identity: a retried undo must still work after Roadbed's own rows are gone."""

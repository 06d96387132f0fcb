"""A golden-path repository for TechDocs tests: python-service's skeleton (docs/ and mkdocs.yml) rendered into a
local bare repository, and its Component registered in the catalog as the catalog step registers it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from roadbed.adapters.local_git import LocalGitRepoHost
from roadbed.golden_paths import GoldenPathRegistry, template_parameters
from roadbed.ports import RepositoryMarker
from roadbed.rendering.skeleton import render_repository
from roadbed.settings import Settings
from roadbed.storage import catalog
from roadbed.storage.database import Database
from roadbed.techdocs.service import TechDocs, for_settings

BUILTIN = Path(__file__).resolve().parents[2] / "golden_paths"


def component(host: LocalGitRepoHost, service: str, team: str, **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": service,
            "namespace": "default",
            "annotations": {"backstage.io/techdocs-ref": "dir:.", "backstage.io/source-location": f"url:{host.repository_url(service)}", **annotations},
        },
        "spec": {"type": "service", "lifecycle": "experimental", "owner": f"group:default/{team}"},
    }


def golden_repo(settings: Settings, database: Database, service: str = "orders", team: str = "payments",
                extra_files: dict[str, bytes] | None = None) -> tuple[TechDocs, LocalGitRepoHost]:
    host = LocalGitRepoHost(settings.git_dir / "repos")
    golden_path = GoldenPathRegistry([BUILTIN]).get("python-service")
    files = render_repository(golden_path, template_parameters(golden_path, {"description": f"The {service} service"}, service, team, "dev"))
    marker = RepositoryMarker(service=service, team=team, golden_path="python-service", golden_path_version="1.0.0", environments=("dev",))
    host.ensure_repository(service, marker, {**files, **(extra_files or {})}, "Create from python-service")
    with database.transaction() as session:
        catalog.upsert_entities(session, [component(host, service, team)], None, datetime.now(UTC))
    return for_settings(settings, database, host), host

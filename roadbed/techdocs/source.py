"""Where an entity's docs come from: the repo host's repository named by the entity, and that repository's head.

An entity has docs when it carries `backstage.io/techdocs-ref: dir:.`; they are built only from the repository
Roadbed keeps for it (its `backstage.io/source-location` is that repository's URL), never fetched from anywhere
else. The head is what a build records as its commit and what a push or a refresh pass compares against.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from roadbed.adapters.github_repo_host import BRANCH as GITHUB_BRANCH
from roadbed.adapters.github_repo_host import GitHubRepoHost
from roadbed.adapters.local_git import BRANCH as LOCAL_BRANCH
from roadbed.adapters.local_git import LocalGitRepoHost
from roadbed.ports import RepoHost
from roadbed.storage.tables import CatalogEntityRow
from roadbed.techdocs.builder import BuildFailed
from roadbed.techdocs.store import DocsKey

TECHDOCS_REF = "backstage.io/techdocs-ref"
SOURCE_LOCATION = "backstage.io/source-location"


def _annotations(entity: dict[str, Any]) -> dict[str, Any]:
    return ((entity.get("metadata") or {}).get("annotations")) or {}


def has_docs(entity: dict[str, Any]) -> bool:
    return bool(_annotations(entity).get(TECHDOCS_REF))


def key_of(entity: dict[str, Any]) -> DocsKey:
    metadata = entity.get("metadata") or {}
    return DocsKey.of(metadata.get("namespace") or "default", str(entity.get("kind", "")), str(metadata.get("name", "")))


def location_of(entity: dict[str, Any]) -> str:
    """The entity's `backstage.io/source-location` as a plain URL (no `url:` prefix, fragment or trailing slash)."""
    return str(_annotations(entity).get(SOURCE_LOCATION) or "").removeprefix("url:").split("#", 1)[0].rstrip("/")


def _check_ref(entity: dict[str, Any]) -> str:
    ref = str(_annotations(entity).get(TECHDOCS_REF) or "")
    if ref.rstrip("/") not in ("dir:.", "dir:"):
        raise BuildFailed(f"{TECHDOCS_REF} {ref[:100]!r} is not supported: Roadbed builds docs kept beside the entity (dir:.)")
    return str((entity.get("metadata") or {}).get("name", ""))


def repository_of(entity: dict[str, Any], host: RepoHost) -> str:
    """The repo host's repository holding the entity's docs, or `BuildFailed` saying why there is none."""
    name = _check_ref(entity)
    location = location_of(entity)
    if name not in host.list_repositories() or location != host.repository_url(name).rstrip("/"):
        raise BuildFailed(f"{SOURCE_LOCATION} {location[:200]!r} is not the repository Roadbed keeps for {name!r}")
    return name


def claimed_repository(entity: dict[str, Any], host: RepoHost) -> str | None:
    """`repository_of` without listing the host's repositories (one URL comparison): what a refresh pass checks
    before a head lookup, so entities whose docs live elsewhere cost nothing. None when the entity claims none."""
    try:
        name = _check_ref(entity)
    except BuildFailed:
        return None
    return name if name and location_of(entity) == host.repository_url(name).rstrip("/") else None


def head_commit(host: RepoHost, repository: str) -> str | None:
    """The default branch's head commit; None when the repository or its branch does not exist.

    A build reads it *before* checking out the files, so a commit landing meanwhile is newer than the one recorded
    and the next push or refresh pass builds it (the other order could record a commit whose files were never built).
    The RepoHost port has no head lookup yet, so this reads it per adapter: a host offering `head(name)` is asked;
    the embedded host's branch ref is read with dulwich; GitHub's is one ref request through the adapter's own client
    (so its error translation and token redaction apply). Host errors other than "missing" propagate.
    """
    reader = getattr(host, "head", None)
    if callable(reader):
        found = reader(repository)
        return str(found) if found else None
    if isinstance(host, LocalGitRepoHost):
        return _local_head(host.root / f"{repository}.git")
    if isinstance(host, GitHubRepoHost):
        # the adapter's internals, until the port grows a head lookup (see the docstring)
        with host._calls(f"read the head of {host._full(repository)}"):
            repo = host._find(repository)
            return None if repo is None else host._head(repo, GITHUB_BRANCH)
    return None


def _local_head(path: Path) -> str | None:
    from dulwich.errors import NotGitRepository
    from dulwich.repo import Repo

    try:
        with Repo(str(path)) as repo:
            head = repo.refs.read_ref(LOCAL_BRANCH)
    except (NotGitRepository, FileNotFoundError):
        return None
    return head.decode() if head else None


def entities_with_docs(session: Session) -> list[dict[str, Any]]:
    """Every catalog entity carrying the TechDocs annotation (a text prefilter in SQL, the exact check here)."""
    query = select(CatalogEntityRow.body).where(cast(CatalogEntityRow.body, Text).like(f"%{TECHDOCS_REF}%")).order_by(CatalogEntityRow.ref)
    return [body for body in session.scalars(query) if isinstance(body, dict) and has_docs(body)]


def entities_kept_in(session: Session, repository: str, urls: set[str]) -> list[tuple[dict[str, Any], str | None]]:
    """The entities with docs named `repository` whose source location is one of `urls`, with their owners."""
    query = select(CatalogEntityRow.body, CatalogEntityRow.owner).where(func.lower(CatalogEntityRow.name) == repository.lower())
    wanted = {url.rstrip("/") for url in urls if url}
    return [(body, owner) for body, owner in session.execute(query) if has_docs(body) and location_of(body) in wanted]

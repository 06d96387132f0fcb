"""Docs follow their repository on GitHub: the webhook hands each GitHub delivery here, and a `push` to a
repository's default branch queues a rebuild of the docs of the catalog entities kept in that repository.

Only what identifies the push is read from the payload (which repository, which branch, which commit); the build
itself reads the repository through the repo host, never the payload. A push of the commit last tried does
nothing, and pushes arriving while a build waits are folded into it (`TechDocs.follow`). Other events, branch
deletions, pushes to other branches and payloads without those fields are not about docs: they queue nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from roadbed.domain.errors import NotFound
from roadbed.techdocs.service import TechDocs
from roadbed.techdocs.source import entities_kept_in, key_of

_SHA = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_URL_FIELDS = ("clone_url", "html_url", "git_url", "ssh_url", "url")


def _pushed(payload: Any) -> tuple[str, str, set[str]] | None:
    """(repository name, pushed commit, the repository's URLs) of a push to the default branch, else None."""
    if not isinstance(payload, dict) or payload.get("deleted") is True:
        return None
    repository = payload.get("repository")
    if not isinstance(repository, dict):
        return None
    name, branch, ref, after = repository.get("name"), repository.get("default_branch"), payload.get("ref"), payload.get("after")
    if not (isinstance(name, str) and _NAME.match(name) and isinstance(branch, str) and branch and isinstance(after, str) and _SHA.match(after)):
        return None
    if ref != f"refs/heads/{branch}":
        return None
    urls = {str(repository[field]).rstrip("/") for field in _URL_FIELDS if isinstance(repository.get(field), str)}
    if isinstance(repository.get("html_url"), str):
        urls.add(repository["html_url"].rstrip("/") + ".git")
    return name, after, urls


def docs_for_github_event(
    techdocs: TechDocs, event: str | None, payload: Any, authorize: Callable[[str | None], None] | None = None
) -> list[str]:
    """The refs whose docs rebuild this delivery queued. `authorize(owner)` (for a sender that is not trusted by
    signature) raises for an entity the sender may not rebuild, before anything is queued."""
    if event != "push":
        return []
    pushed = _pushed(payload)
    if pushed is None:
        return []
    repository, after, urls = pushed
    with techdocs.database.transaction() as session:
        kept = entities_kept_in(session, repository, urls)
    if authorize is not None:
        for _entity, owner in kept:
            authorize(owner)
    queued = []
    for entity, _owner in kept:
        try:
            key = key_of(entity)
        except NotFound:
            continue  # not an entity name TechDocs can serve: never built
        if techdocs.follow(key, after):
            queued.append(key.ref)
    return queued

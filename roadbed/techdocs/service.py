"""TechDocs for catalog entities: building them out of the request path (a small bounded pool, one build per entity
at a time), and recording every outcome with the commit it was built from.

An entity is built (roadbed.techdocs.source) when it carries `backstage.io/techdocs-ref: dir:.` and its `backstage.io/source-location` is a
repository of the configured repo host (the one Roadbed created for it); anything else is recorded as the build's
error, never fetched. A build failure never raises out of `request` or the pool: it is the status's `error`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from roadbed.domain.errors import NotFound, RoadbedError
from roadbed.ports import RepoHost
from roadbed.settings import RepoHostTarget, Settings
from roadbed.storage import catalog
from roadbed.storage.database import Database
from roadbed.techdocs import store
from roadbed.techdocs.builder import BuildFailed, BuiltSite, Limits, build_site
from roadbed.techdocs.config import UnsafeConfig
from roadbed.techdocs.source import has_docs, head_commit, key_of, repository_of
from roadbed.techdocs.store import DocsKey

log = logging.getLogger("roadbed.techdocs")
BUILD_WORKERS = 2


class BuildQueue:
    """At most `workers` builds at once, on daemon threads started with the first request (a process that only
    builds ports pays nothing, and a stopping process never waits for a build); a request for an entity already
    queued or building runs it once more afterwards (so the newest commit is built) instead of queueing duplicates."""

    def __init__(self, run: Callable[[DocsKey], object], workers: int = BUILD_WORKERS) -> None:
        self._run = run
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._queue: queue.SimpleQueue[DocsKey] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._active: set[DocsKey] = set()
        self._again: set[DocsKey] = set()

    def submit(self, key: DocsKey) -> None:
        with self._lock:
            if key in self._active:
                self._again.add(key)
                return
            self._active.add(key)
            if len(self._threads) < self._workers:
                thread = threading.Thread(target=self._serve, name=f"techdocs-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
        self._queue.put(key)

    def _serve(self) -> None:
        while True:
            key = self._queue.get()
            while True:
                try:
                    self._run(key)
                except Exception:  # noqa: BLE001 - a build's failure is recorded by the run; this keeps the thread alive
                    log.exception("TechDocs build of %s failed unexpectedly", key.ref)
                with self._lock:
                    if key not in self._again:
                        self._active.discard(key)
                        break
                    self._again.discard(key)

    def idle(self) -> bool:
        with self._lock:
            return not self._active

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.idle():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True


class TechDocs:
    """Builds on request: `request` rebuilds now whatever the repository holds (the build API); `follow` rebuilds
    only when the repository's head moved past the commit last tried (pushes and refresh passes), so the same commit
    is built once however often it is announced, and announcements arriving while a build waits make no more builds."""

    def __init__(self, database: Database, host: RepoHost, home: Path, limits: Limits | None = None, workers: int = BUILD_WORKERS) -> None:
        self.database = database
        self.host = host
        self.home = home
        self.limits = limits or Limits()
        self.queue = BuildQueue(self._run_queued, workers)
        self._forced: set[DocsKey] = set()
        self._forced_lock = threading.Lock()

    def site_dir(self, key: DocsKey) -> Path:
        return key.site_dir(self.home)

    def request(self, key: DocsKey) -> None:
        """Queue a build (returns at once). The entity must exist; the build's outcome lands in `status`."""
        with self._forced_lock:
            self._forced.add(key)
        self._enqueue(key)

    def follow(self, key: DocsKey, head: str) -> bool:
        """Queue a build if `head` (the repository's head, or a pushed commit) still needs one; True when queued."""
        with self.database.transaction() as session:
            attempt = store.attempts(session, [key.ref]).get(key.ref)
        if attempt is not None and not attempt.needs_build(head, datetime.now(UTC)):
            return False
        self._enqueue(key)
        return True

    def _enqueue(self, key: DocsKey) -> None:
        with self.database.transaction() as session:
            store.mark(session, key, "queued", datetime.now(UTC))
        self.queue.submit(key)

    def request_for(self, entities: list[dict[str, Any]]) -> list[str]:
        """Queue builds of the entities that have docs; never raises (provisioning must not fail for its docs)."""
        queued = []
        for entity in entities:
            try:
                if has_docs(entity):
                    key = key_of(entity)
                    self.request(key)
                    queued.append(key.ref)
            except Exception:  # noqa: BLE001
                log.exception("could not queue a TechDocs build")
        return queued

    def _run_queued(self, key: DocsKey) -> None:
        with self._forced_lock:
            forced = key in self._forced
            self._forced.discard(key)
        if forced or not self._unchanged(key):
            self.build_now(key)

    def _unchanged(self, key: DocsKey) -> bool:
        """Whether the repository's head is the commit last tried (then the state returns to that outcome). Anything
        going wrong here is left to the build, which records it."""
        try:
            with self.database.transaction() as session:
                name = str((catalog.get_entity(session, key.kind, key.namespace, key.name).body.get("metadata") or {}).get("name", ""))
                attempt = store.attempts(session, [key.ref]).get(key.ref)
            head = head_commit(self.host, name) if attempt is not None and attempt.attempted_commit else None
            if head is None or attempt is None or head != attempt.attempted_commit:
                return False
            with self.database.transaction() as session:
                store.settle_unchanged(session, key)
        except Exception:  # noqa: BLE001 - the build will meet (and record) the same problem
            return False
        log.info("TechDocs of %s: %s was tried already, not rebuilt", key.ref, head)
        return True

    def build_now(self, key: DocsKey) -> BuiltSite | None:
        """Build in this thread and record the outcome; None when the build failed (see `status(key)["error"]`)."""
        with self.database.transaction() as session:
            store.mark(session, key, "building", datetime.now(UTC))
        commit: str | None = None
        try:
            with self.database.transaction() as session:
                entity = catalog.get_entity(session, key.kind, key.namespace, key.name).body
            repository = repository_of(entity, self.host)
            commit = head_commit(self.host, repository)  # before the checkout: see source.head_commit
            with self.database.transaction() as session:
                store.mark_building(session, key, commit)
            built = build_site(self.host, repository, key.name, self.site_dir(key), self.limits)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong is the build's error, never the caller's
            if isinstance(exc, NotFound):
                message = f"the catalog has no entity {key.ref}"
            elif isinstance(exc, BuildFailed | UnsafeConfig | RoadbedError | OSError):
                message = str(exc)
            else:
                message = f"the build failed unexpectedly ({type(exc).__name__}); the server log has the details"
                log.error("TechDocs build of %s failed", key.ref, exc_info=exc)
            log.warning("TechDocs build of %s failed: %s", key.ref, message)
            with self.database.transaction() as session:
                store.record_failure(session, key, message, commit)
            return None
        with self.database.transaction() as session:
            store.record_success(session, key, commit=commit, site_name=built.site_name, pages=built.pages, seconds=built.seconds, now=datetime.now(UTC))
        log.info("TechDocs of %s built from %s: %d pages in %.1f s", key.ref, commit, len(built.pages), built.seconds)
        return built

    def status(self, key: DocsKey) -> dict[str, Any] | None:
        with self.database.transaction() as session:
            return store.status(session, key)


def repo_host_for(settings: Settings) -> RepoHost:
    """The repo host the worker writes to (roadbed.worker.build_ports), for a process that only reads docs."""
    if settings.repo_host is RepoHostTarget.GITHUB:
        from roadbed.adapters.github_repo_host import GitHubRepoHost

        return GitHubRepoHost(
            settings.github_url, settings.github_token.get_secret_value() if settings.github_token else "", settings.github_org or "",
            private=settings.github_private, branch_protection=settings.github_branch_protection,
            seconds_between_requests=settings.github_seconds_between_requests, seconds_between_writes=settings.github_seconds_between_writes,
        )
    from roadbed.adapters.local_git import LocalGitRepoHost

    return LocalGitRepoHost(settings.git_dir / "repos")


def for_settings(settings: Settings, database: Database, host: RepoHost | None = None) -> TechDocs:
    return TechDocs(database, host or repo_host_for(settings), settings.home)

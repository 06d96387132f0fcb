"""Docs follow their repository on the embedded repo host, which sends no webhooks: every `interval` seconds a pass
reads each docs-bearing entity's repository head and queues a rebuild where it moved past the commit last tried.

A pass costs one database read for all entities and one head lookup (a ref file read) per site; nothing is built
when nothing changed. A repository that is gone, or any other failure for one entity, is logged (once per
repository until it reappears) and the pass moves on; a pass never raises into the thread, which never raises into
the app. The thread is a daemon started and stopped with the API's lifespan; the first pass runs one interval after
start, as builds of newly registered entities are already queued by the catalog step.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from roadbed.domain.errors import NotFound
from roadbed.techdocs import store
from roadbed.techdocs.service import TechDocs
from roadbed.techdocs.source import claimed_repository, entities_with_docs, head_commit, key_of

log = logging.getLogger("roadbed.techdocs")
REFRESH_SECONDS = 60.0


class DocsRefresher:
    def __init__(self, techdocs: TechDocs, interval: float = REFRESH_SECONDS) -> None:
        if interval <= 0:
            raise ValueError("the TechDocs refresh interval must be positive")
        self.techdocs = techdocs
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._missing: set[str] = set()  # repositories already reported gone (logged once, not every pass)

    def refresh_once(self) -> list[str]:
        """One pass; returns the refs of the entities whose rebuild it queued."""
        with self.techdocs.database.transaction() as session:
            entities = entities_with_docs(session)
            tried = store.attempts(session)
        queued: list[str] = []
        now = datetime.now(UTC)
        for entity in entities:
            try:
                try:
                    key = key_of(entity)
                except NotFound:
                    continue  # not an entity name TechDocs can serve: never built
                repository = claimed_repository(entity, self.techdocs.host)
                if repository is None:
                    continue  # docs kept elsewhere: a build would only record that again
                head = head_commit(self.techdocs.host, repository)
                if head is None:
                    if repository not in self._missing:
                        self._missing.add(repository)
                        log.warning("TechDocs refresh: repository %r of %s is gone (or empty); its docs stay as built", repository, key.ref)
                    continue
                self._missing.discard(repository)
                attempt = tried.get(key.ref)
                if (attempt is None or attempt.needs_build(head, now)) and self.techdocs.follow(key, head):
                    queued.append(key.ref)
            except Exception:  # noqa: BLE001 - one entity's trouble never stops the pass (nor the app)
                log.exception("TechDocs refresh of an entity failed; moving on")
        if queued:
            log.info("TechDocs refresh queued %d rebuild(s): %s", len(queued), ", ".join(queued))
        return queued

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="techdocs-refresh", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ends the loop; waits up to `timeout` for a pass under way (builds it queued run on, as daemon threads)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.refresh_once()
            except Exception:  # noqa: BLE001 - say, the database restarting: try again next interval
                log.exception("TechDocs refresh pass failed; retrying in %.0f s", self.interval)

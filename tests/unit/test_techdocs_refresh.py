"""The embedded host's refresh pass: a gone or broken repository never breaks it, docs kept elsewhere are never
looked up, and the loop (a daemon thread) picks up commits by itself and stops when asked. Real dulwich
repositories and real MkDocs builds."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pytest

from roadbed.settings import Settings
from roadbed.storage import catalog
from roadbed.storage.database import Database
from roadbed.techdocs.push import docs_for_github_event
from roadbed.techdocs.refresh import DocsRefresher
from roadbed.techdocs.store import DocsKey
from tests.unit.techdocs_repo import component, golden_repo

ORDERS = DocsKey.of("default", "component", "orders")
BILLING = DocsKey.of("default", "component", "billing")


def test_a_deleted_or_broken_repository_does_not_break_the_pass(settings: Settings, database: Database, caplog: pytest.LogCaptureFixture) -> None:
    techdocs, host = golden_repo(settings, database, "orders")
    golden_repo(settings, database, "billing", team="finance")
    refresher = DocsRefresher(techdocs, interval=3600)
    assert sorted(refresher.refresh_once()) == [BILLING.ref, ORDERS.ref]
    assert techdocs.queue.wait_idle(120)
    billing_built = techdocs.status(BILLING)
    assert billing_built is not None and billing_built["state"] == "built"

    host.delete_repository("billing")
    (settings.git_dir / "repos" / "ghost.git").mkdir()  # a folder that is no repository
    with database.transaction() as session:
        catalog.upsert_entities(session, [component(host, "ghost", "payments")], None, datetime.now(UTC))
    host.commit_files("orders", {"docs/index.md": b"# orders\n\nRewritten.\n"}, "docs")
    caplog.set_level(logging.WARNING, "roadbed.techdocs")
    assert refresher.refresh_once() == [ORDERS.ref]  # billing and ghost are skipped, orders still follows
    assert techdocs.queue.wait_idle(120)
    assert refresher.refresh_once() == []
    gone = [r.getMessage() for r in caplog.records if "is gone" in r.getMessage()]
    assert len(gone) == 2 and any("'billing'" in m for m in gone) and any("'ghost'" in m for m in gone)  # once each, not every pass
    assert techdocs.status(BILLING) == billing_built  # its published docs stay as built
    assert techdocs.status(DocsKey.of("default", "component", "ghost")) is None  # never queued


def test_docs_kept_elsewhere_are_not_looked_up_or_queued(settings: Settings, database: Database) -> None:
    techdocs, host = golden_repo(settings, database, "orders")
    elsewhere = component(host, "orders", "payments", **{"backstage.io/source-location": "url:https://git.example.com/orders"})
    with database.transaction() as session:
        catalog.upsert_entities(session, [elsewhere], None, datetime.now(UTC))
    assert DocsRefresher(techdocs, interval=3600).refresh_once() == []
    assert techdocs.status(ORDERS) is None


def test_the_loop_follows_commits_by_itself_and_stops(settings: Settings, database: Database) -> None:
    techdocs, host = golden_repo(settings, database, "orders")
    refresher = DocsRefresher(techdocs, interval=0.2)
    refresher.start()
    try:
        first = _wait_for_commit(techdocs, None)
        head = host.commit_files("orders", {"docs/index.md": b"# orders\n\nRewritten.\n"}, "docs")
        assert head != first and _wait_for_commit(techdocs, first) == head
    finally:
        refresher.stop()
    assert refresher._thread is None


def test_the_interval_must_be_positive(settings: Settings, database: Database) -> None:
    techdocs, _host = golden_repo(settings, database, "orders")
    with pytest.raises(ValueError, match="positive"):
        DocsRefresher(techdocs, interval=0)


def _wait_for_commit(techdocs: object, other_than: str | None, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = techdocs.status(ORDERS)  # type: ignore[attr-defined]
        if status is not None and status["state"] == "built" and status["commit"] and status["commit"] != other_than:
            return str(status["commit"])
        time.sleep(0.1)
    raise AssertionError("the refresh loop built nothing new")


def test_on_postgresql_a_pass_and_a_push_follow_the_same_commit(settings: Settings, postgres_database: Database) -> None:
    techdocs, host = golden_repo(settings, postgres_database, "orders")
    refresher = DocsRefresher(techdocs, interval=3600)
    assert refresher.refresh_once() == [ORDERS.ref]
    assert techdocs.queue.wait_idle(120)
    head = host.commit_files("orders", {"docs/index.md": b"# orders\n\nRewritten.\n"}, "docs")
    push = {"ref": "refs/heads/main", "after": head, "repository": {"name": "orders", "default_branch": "main", "clone_url": host.repository_url("orders")}}
    assert docs_for_github_event(techdocs, "push", push) == [ORDERS.ref]
    assert techdocs.queue.wait_idle(120)
    assert techdocs.status(ORDERS)["commit"] == head  # type: ignore[index]
    assert refresher.refresh_once() == [] and docs_for_github_event(techdocs, "push", push) == []

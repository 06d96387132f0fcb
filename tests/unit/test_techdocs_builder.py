"""TechDocs builds with real MkDocs + techdocs-core from a golden-path repository: the site, its pages and text
index, the status row, search, the build queue and the provisioning trigger."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from roadbed.settings import Settings
from roadbed.storage.database import Database
from roadbed.techdocs.search import search_docs, snippet
from roadbed.techdocs.service import BuildQueue
from roadbed.techdocs.store import DocsKey
from roadbed.techdocs.trigger import BuildDocsOnRegister
from tests.unit.techdocs_repo import golden_repo

ORDERS = DocsKey.of("default", "Component", "orders")


def test_golden_path_docs_build_into_a_site_per_entity_with_indexed_pages(settings: Settings, database: Database) -> None:
    techdocs, host = golden_repo(settings, database)
    built = techdocs.build_now(ORDERS)
    assert built is not None
    site = settings.home / "techdocs" / "default" / "component" / "orders"
    assert (site / "index.html").is_file() and (site / "runbook" / "index.html").is_file()
    assert "md-typeset" in (site / "runbook" / "index.html").read_text()  # Material, from techdocs-core
    assert (site / "techdocs_metadata.json").is_file()
    pages = {page.path: page for page in built.pages}
    assert set(pages) == {"", "runbook/"}
    assert pages["runbook/"].title == "Runbook: orders"
    assert "Roll back" in pages["runbook/"].text and "<span" not in pages["runbook/"].text and "<code" not in pages["runbook/"].text
    assert "¶" not in pages["runbook/"].text  # header permalinks are not text
    status = techdocs.status(ORDERS)
    assert status is not None and status["pages"] == 2 and status["state"] == "built" and "error" not in status
    head = host.list_files("orders") and status["commit"]
    assert head and len(head) == 40
    assert status["built_at"]


def test_a_rebuild_that_fails_keeps_the_published_site_and_records_the_error(settings: Settings, database: Database) -> None:
    techdocs, host = golden_repo(settings, database)
    assert techdocs.build_now(ORDERS) is not None
    first = techdocs.status(ORDERS)
    host.commit_files("orders", {"mkdocs.yml": b"site_name: [unclosed\n"}, "break the docs")
    assert techdocs.build_now(ORDERS) is None
    status = techdocs.status(ORDERS)
    assert status is not None and status["state"] == "failed" and "not plain YAML" in status["error"]
    assert (status["built_at"], status["commit"], status["pages"]) == (first["built_at"], first["commit"], 2)  # type: ignore[index]
    assert (techdocs.site_dir(ORDERS) / "runbook" / "index.html").is_file()


def test_search_finds_runbook_words_ranked_with_a_plain_snippet(settings: Settings, database: Database) -> None:
    techdocs, _host = golden_repo(settings, database)
    techdocs.build_now(ORDERS)
    hits = search_docs(database, "OOMKilled", 5)
    assert [hit["url"] for hit in hits] == ["/docs/default/component/orders/runbook/"]
    hit = hits[0]
    assert hit["type"] == "docs" and hit["ref"] == "component:default/orders" and hit["title"].startswith("Runbook: orders")
    assert "OOMKilled" in hit["snippet"] and "<span" not in hit["snippet"] and len(hit["snippet"]) <= 170
    assert search_docs(database, "orders escalation", 5)[0]["url"].endswith("/runbook/")  # every word, any case
    assert search_docs(database, "zebra-unicorn-absent", 5) == []
    assert search_docs(database, "100%_", 5) == []  # LIKE wildcards are text
    ranked = search_docs(database, "orders", 5)
    assert len(ranked) == 2 and ranked[0]["url"] == "/docs/default/component/orders/"  # the home page, titled `orders`


def test_snippet_is_cut_around_the_match() -> None:
    text = "alpha " * 100 + "needle here " + "omega " * 100
    cut = snippet(text, ["needle"])
    assert cut.startswith("…") and cut.endswith("…") and "needle here" in cut


def test_a_repository_not_roadbeds_or_without_docs_is_an_error_not_a_fetch(settings: Settings, database: Database) -> None:
    from datetime import UTC, datetime

    from roadbed.storage import catalog
    from tests.unit.techdocs_repo import component

    techdocs, host = golden_repo(settings, database)
    elsewhere = component(host, "billing", "payments", **{"backstage.io/source-location": "url:https://github.com/acme/billing"})
    with database.transaction() as session:
        catalog.upsert_entities(session, [elsewhere], None, datetime.now(UTC))
    billing = DocsKey.of("default", "component", "billing")
    assert techdocs.build_now(billing) is None
    assert "is not the repository Roadbed keeps" in techdocs.status(billing)["error"]  # type: ignore[index]
    missing = DocsKey.of("default", "component", "ghost")
    assert techdocs.build_now(missing) is None
    assert techdocs.status(missing)["error"] == "the catalog has no entity component:default/ghost"  # type: ignore[index]


@pytest.mark.parametrize("bad", ["..", "a/b", "%2e%2e", "", "x" * 64, "a..b", ".hidden", "a\\b"])
def test_entity_keys_refuse_anything_but_names(bad: str) -> None:
    from roadbed.domain.errors import NotFound

    with pytest.raises(NotFound):
        DocsKey.of("default", "component", bad)
    with pytest.raises(NotFound):
        DocsKey.of(bad, "component", "orders")
    with pytest.raises(NotFound):
        DocsKey.of("default", bad or "a/b", "orders")


def test_keys_are_lower_case_whatever_the_case_given() -> None:
    key = DocsKey.of("Default", "COMPONENT", "Orders")
    assert (key.ref, key.url) == ("component:default/orders", "/docs/default/component/orders/")


def test_the_queue_runs_one_build_per_entity_at_a_time_and_reruns_once_when_asked_meanwhile() -> None:
    runs: list[DocsKey] = []
    gate = threading.Event()

    def run(key: DocsKey) -> None:
        runs.append(key)
        gate.wait(5)

    queue = BuildQueue(run, workers=2)
    for _ in range(4):
        queue.submit(ORDERS)  # one running, three more requests coalesce into one rerun
    time.sleep(0.2)
    assert runs == [ORDERS] and not queue.idle()
    gate.set()
    assert queue.wait_idle(5)
    assert runs == [ORDERS, ORDERS]


class _Catalog:
    def __init__(self) -> None:
        self.registered: list[Any] = []

    def register(self, entities: list[dict[str, Any]], environment_id: str) -> list[str]:
        self.registered.append(environment_id)
        return ["component:default/orders"]

    def unregister(self, environment_id: str, successor: str | None = None, *, repository_url: str | None = None) -> None: ...


def test_registration_queues_a_build_and_a_failing_build_never_fails_registration(settings: Settings, database: Database) -> None:
    techdocs, host = golden_repo(settings, database)
    from tests.unit.techdocs_repo import component

    trigger = BuildDocsOnRegister(_Catalog(), techdocs)
    assert trigger.register([component(host, "orders", "payments")], "env-1") == ["component:default/orders"]
    assert techdocs.queue.wait_idle(60)
    assert techdocs.status(ORDERS)["pages"] == 2  # type: ignore[index]

    class Broken:
        def request_for(self, _entities: object) -> list[str]:
            raise RuntimeError("pool gone")

    assert BuildDocsOnRegister(_Catalog(), Broken()).register([component(host, "orders", "payments")], "env-2") == ["component:default/orders"]  # type: ignore[arg-type]
    entity_without_docs = component(host, "orders", "payments")
    del entity_without_docs["metadata"]["annotations"]["backstage.io/techdocs-ref"]
    assert techdocs.request_for([entity_without_docs, {"kind": "Component", "metadata": {"name": "../x"}}]) == []

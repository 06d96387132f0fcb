"""Full-text search (migration 0012) on SQLite FTS5 and PostgreSQL tsvector: prefix words, hostile query text that
must never raise, the indexes following every write (insert, update, delete, cascade), and the migration's
backfill and downgrade."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import delete, text

from roadbed import search
from roadbed.search import search_text
from roadbed.storage import catalog, fulltext
from roadbed.storage.database import MIGRATIONS_DIR, Database
from roadbed.techdocs import search_provider, store
from roadbed.techdocs.pages import IndexedPage
from roadbed.techdocs.search import ranked_pages, search_docs
from roadbed.techdocs.tables import TechDocsSiteRow

NOW = datetime(2026, 1, 5, tzinfo=UTC)
ORDERS = store.DocsKey.of("default", "component", "orders")

HOSTILE = ['"', '""', "*", ":", "&", "|", "!", "(", ")", "NEAR", "NEAR(a b)", "-", "'", "\\", "a'b", 'a"b', "x* OR y", "AND", "OR", "NOT",
           "{name}: x", "^x", "a:b:c", "a & b | !c", "'':*", "\\'; DROP TABLE catalog_entities; --", "é日本語", "😀", "\u200b", "ß",
           "l" * 200, " ".join(["w"] * 100), "a " * 99, "%_", "<script>alert(1)</script>", "col:ledger", "name:*", "\x7f"]
# The word `ledger` wrapped in each engine's query syntax: the syntax is dropped, the word still found.
WRAPPED = ['"ledger"', "ledger*", "(ledger)", "!ledger", "-ledger", "ledger:*", "'ledger'",
           "ledger\\", "LEDGER", "ledg", "^ledger", "ledger&", "|ledger|"]


def entity(name: str, **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": name, **metadata},
            "spec": {"type": "service", "lifecycle": "production", "owner": "payments"}}


def seed(database: Database) -> None:
    with database.transaction() as session:
        catalog.upsert_entities(session, [
            entity("ledger", title="General ledger", description="Double entry bookkeeping", tags=["finance"]),
            entity("payments-gateway", title="Card payments", description="Talks to the bank's ledger", tags=["pci"]),
            entity("cafe", title="Café", description="Naïve ÉTÉ menu: 日本語 too", tags=["food"]),
        ], None, NOW)
        store.record_success(session, ORDERS, commit="c" * 40, site_name="orders", seconds=1.0, now=NOW, pages=[
            IndexedPage("", "orders", "Orders takes orders and writes the ledger."),
            IndexedPage("runbook/", "Runbook: orders", "When the pod is OOMKilled, roll back. " + "filler " * 300),
        ])


def refs(database: Database, q: str, kind: str | None = None) -> list[str]:
    with database.transaction() as session:
        return [h.ref for h in search.search(session, q, kind=kind, providers=[search.entity_hits, search_provider.docs_hits])]


def test_a_word_prefix_finds_the_word_in_any_field(any_database: Database) -> None:
    seed(any_database)
    assert refs(any_database, "ledg")[:2] == ["component:default/ledger", "component:default/payments-gateway"]  # name before description
    assert refs(any_database, "bookk") == ["component:default/ledger"]
    assert refs(any_database, "fin") == ["component:default/ledger"]  # a tag
    assert refs(any_database, "edger") == []  # words start where they start
    assert refs(any_database, "card pay") == ["component:default/payments-gateway"]
    assert refs(any_database, "card ledger bank") == ["component:default/payments-gateway"]  # every word, any field
    assert refs(any_database, "card zebra") == []
    assert refs(any_database, "été") == refs(any_database, "ÉTÉ") == ["component:default/cafe"]
    assert refs(any_database, "日本語") == ["component:default/cafe"]
    assert refs(any_database, "oomk") == ["component:default/orders"]  # a docs page
    with any_database.transaction() as session:
        assert [h.url for h in search_provider.docs_hits(session, ["orders"], None, 5)] == [
            "/docs/default/component/orders/", "/docs/default/component/orders/runbook/"]  # the page titled the query first
        assert search_provider.docs_hits(session, ["orders"], "api", 5) == []


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_query_text_never_raises(any_database: Database, q: str) -> None:
    seed(any_database)
    with any_database.transaction() as session:
        hits = search.search(session, q, providers=[search.entity_hits, search_provider.docs_hits])
        docs = search_docs(session, q, 5)
        assert all(isinstance(h, search.Hit) for h in hits) and isinstance(docs, list)
        session.execute(text("SELECT 1"))  # the transaction is still usable: no statement failed inside it
    if q in ("é日本語", "ß", "l" * 200, "\\'; DROP TABLE catalog_entities; --"):
        assert refs(any_database, q) == []  # a word is a word: "é日本語" is not the start of "日本語"


@pytest.mark.parametrize("q", WRAPPED)
def test_query_syntax_is_dropped_and_the_word_still_found(any_database: Database, q: str) -> None:
    seed(any_database)
    assert refs(any_database, q)[:2] == ["component:default/ledger", "component:default/payments-gateway"]
    assert any(hit["url"] == "/docs/default/component/orders/" for hit in search_docs(any_database, q, 5))


def test_query_words_are_quoted_for_each_engine() -> None:
    assert fulltext.tokens_of(['NEAR("a"*', "b:c|d&!e", "a"]) == ["near", "a", "b", "c", "d", "e"]
    assert fulltext.tokens_of(["x_y-z.w", "ÉTÉ"]) == ["x", "y", "z", "w", "été"]
    assert len(fulltext.tokens_of([" ".join(str(n) for n in range(50))])) == fulltext.MAX_TOKENS
    assert fulltext.fts5_query(["near", "or"]) == '"near"* AND "or"*'
    assert fulltext.fts5_query(['a"b']) == '"a""b"*'  # never produced by tokens_of, but quoted all the same
    assert fulltext.tsquery_text(["a", "b"], weights="A", any_token=True) == "'a':*A | 'b':*A"
    assert fulltext.tsquery_text(["it's\\"]) == "'it''s\\\\':*"


def test_the_index_follows_every_write(any_database: Database) -> None:
    seed(any_database)
    with any_database.transaction() as session:
        catalog.upsert_entities(session, [entity("ledger", title="General ledger", description="Now about reconciliation")], None, NOW)
    assert refs(any_database, "reconc") == ["component:default/ledger"]
    assert refs(any_database, "bookkeeping") == [] and refs(any_database, "finance") == []  # the old words are gone
    with any_database.transaction() as session:
        catalog.upsert_entities(session, [entity("temporary", description="ephemeral widget")], "env-1", NOW)
    assert refs(any_database, "ephem") == ["component:default/temporary"]
    with any_database.transaction() as session:
        assert catalog.release_entities(session, "env-1", None) == 1
    assert refs(any_database, "ephem") == []
    with any_database.transaction() as session:
        catalog.upsert_entities(session, [entity("temporary", description="ephemeral again")], "env-2", NOW)  # same ref, new row
    assert refs(any_database, "ephem") == ["component:default/temporary"]
    with any_database.transaction() as session:  # a rebuild replaces the pages
        store.record_success(session, ORDERS, commit="d" * 40, site_name="orders", seconds=1.0, now=NOW,
                             pages=[IndexedPage("", "orders", "Now it mentions kubernetes only.")])
        assert [h["url"] for _, h in ranked_pages(session, ["kube"], 5)] == ["/docs/default/component/orders/"]
        assert ranked_pages(session, ["oomkilled"], 5) == []
        session.execute(delete(TechDocsSiteRow).where(TechDocsSiteRow.ref == ORDERS.ref))  # pages go by cascade
        assert ranked_pages(session, ["kube"], 5) == []
    with any_database.engine.connect() as connection:  # nothing left behind in the index either
        if any_database.is_sqlite:
            assert connection.execute(text("SELECT count(*) FROM catalog_search_keys")).scalar() == 4
            assert connection.execute(text("SELECT count(*) FROM catalog_search")).scalar() == 4
            assert connection.execute(text("SELECT count(*) FROM techdocs_search WHERE techdocs_search MATCH 'kube*'")).scalar() == 0
        else:
            assert connection.execute(text("SELECT count(*) FROM catalog_entities WHERE search_vector IS NOT NULL")).scalar() == 4


def _alembic(database: Database, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def _indexed_refs(database: Database, word: str) -> list[str]:
    with database.engine.connect() as connection:
        if database.is_sqlite:
            query = ("SELECT k.ref FROM catalog_search JOIN catalog_search_keys k ON k.id = catalog_search.rowid"
                     " WHERE catalog_search MATCH :q ORDER BY k.ref")
            found = [r for (r,) in connection.execute(text(query), {"q": f'"{word}"*'})]
            pages = connection.execute(text("SELECT count(*) FROM techdocs_search WHERE techdocs_search MATCH :q"), {"q": f'"{word}"*'}).scalar()
        else:
            query = "SELECT ref FROM catalog_entities WHERE search_vector @@ to_tsquery('simple', :q) ORDER BY ref"
            found = [r for (r,) in connection.execute(text(query), {"q": f"'{word}':*"})]
            pages = connection.execute(text("SELECT count(*) FROM techdocs_pages WHERE search_vector @@ to_tsquery('simple', :q)"),
                                       {"q": f"'{word}':*"}).scalar()
    return found + [f"{pages} pages"]


def _index_objects(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        if database.is_sqlite:
            return {name for (name,) in connection.execute(text("SELECT name FROM sqlite_master WHERE name LIKE '%search%'"))}
        return {name for (name,) in connection.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE column_name = 'search_vector' "
            "UNION SELECT indexname FROM pg_indexes WHERE indexname LIKE '%search_vector%'"))}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_backfills_existing_rows_and_its_downgrade_removes_the_index(
        backend: str, request: pytest.FixtureRequest, tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'engine.db'}" if backend == "sqlite" else request.getfixturevalue("fresh_postgres_url")
    database = Database(url)
    try:
        _alembic(database, "upgrade", "0011")
        body = entity("ledger-keeper", title="Books", description="Reconciles accounts", tags=["finance"])
        with database.engine.begin() as connection:  # rows written before the index existed
            connection.execute(text(
                "INSERT INTO catalog_entities (ref, kind, namespace, name, owner, body, environment_id, updated_at, search_text)"
                " VALUES ('component:default/ledger-keeper', 'component', 'default', 'ledger-keeper', NULL, :body, NULL, :now, :st)"),
                {"body": '{"metadata": {"name": "ledger-keeper"}}', "now": NOW, "st": search_text(body)})
            connection.execute(text("INSERT INTO techdocs_sites (ref, namespace, kind, name, state, pages)"
                                    " VALUES ('component:default/ledger-keeper', 'default', 'component', 'ledger-keeper', 'built', 1)"))
            connection.execute(text("INSERT INTO techdocs_pages (site_ref, path, title, text)"
                                    " VALUES ('component:default/ledger-keeper', '', 'Books', 'How we reconcile accounts')"))
        _alembic(database, "upgrade", "0012")
        assert _indexed_refs(database, "reconc") == ["component:default/ledger-keeper", "1 pages"]  # description; page text
        assert _indexed_refs(database, "ledg") == ["component:default/ledger-keeper", "0 pages"]  # the name
        assert _indexed_refs(database, "fin") == ["component:default/ledger-keeper", "0 pages"]  # a tag
        assert _index_objects(database)
        _alembic(database, "downgrade", "0011")
        assert _index_objects(database) == set()
        _alembic(database, "upgrade", "0012")  # and up again
        assert _indexed_refs(database, "accou") == ["component:default/ledger-keeper", "1 pages"]
    finally:
        database.dispose()


def test_the_exact_name_and_ties_survive_the_cut(any_database: Database) -> None:
    """Thirty equal matches and the entity named the query, whose long description makes its relevance the lowest:
    with any `limit`, the exact name comes first and the equal ones follow in ref order."""
    bodies = [entity(f"orders-{n:02d}", description="orders") for n in range(30)]
    bodies.append(entity("orders", description="a long text that mentions orders once among many other words " * 20))
    bodies.append(entity("orders-orders", description="orders"))  # words repeat: still not the name `orders`
    with any_database.transaction() as session:
        catalog.upsert_entities(session, bodies, None, NOW)
        full = [h.ref for h in search.entity_hits(session, ["orders"], None, 100)]
        assert full[0] == "component:default/orders" and len(full) == 32
        assert full[1:] == sorted(full[1:], key=lambda ref: (ref != "component:default/orders-orders", ref))  # more words of it first
        for limit in (1, 2, 5, 31):
            assert [h.ref for h in search.entity_hits(session, ["orders"], None, limit)] == full[:limit]
        assert [h.ref for h in search.entity_hits(session, ["orders-orders"], None, 3)][0] == "component:default/orders-orders"
        assert [h.ref for h in search.entity_hits(session, ["orders", "orders"], None, 3)][0] == "component:default/orders-orders"

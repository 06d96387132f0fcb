"""Search ranking and the catalog page query on SQLite and PostgreSQL; the provider seam; safe highlighting; charts
without scripts and with escaped text."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from roadbed import search
from roadbed.api.portal.charts import Chart, Node, Series, relation_graph, svg
from roadbed.api.portal.router_search import highlight
from roadbed.catalog import validate_entities
from roadbed.storage import catalog, catalog_browse, fulltext
from roadbed.storage.database import Database


def entity(kind: str, name: str, **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": {"name": name, **metadata},
            "spec": {"type": "service", "lifecycle": metadata.pop("lifecycle", "production"), "owner": "payments"} if kind != "API"
            else {"type": "openapi", "lifecycle": "production", "owner": "payments", "definition": "x"}}


def seed(database: Database) -> None:
    bodies = [
        entity("Component", "payments-gateway", description="Talks to the bank", tags=["payments"]),
        entity("Component", "ledger", description="Double entry for payments"),
        entity("Component", "payments", title="Payments"),
        entity("API", "payments-api"),
        entity("Component", "cafe", description="Unicode naïve description"),
        entity("Component", "ui", title="Shop front", description="Nothing to see", tags=["web"]),
    ]
    with database.transaction() as session:
        catalog.register_entities(session, validate_entities(bodies), datetime.now(UTC))


def test_exact_name_first_then_prefix_then_tag_then_description(any_database: Database) -> None:
    seed(any_database)
    with any_database.transaction() as session:
        refs = [hit.ref for hit in search.search(session, "payments")]
        assert refs == ["component:default/payments", "api:default/payments-api", "component:default/payments-gateway", "component:default/ledger"]
        assert [h.ref for h in search.search(session, "PAYMENTS", kind="api")] == ["api:default/payments-api"]
        assert [h.ref for h in search.search(session, "payments bank")] == ["component:default/payments-gateway"]  # every word must match
        assert [h.ref for h in search.search(session, "naïve")] == ["component:default/cafe"]  # non-ASCII words
        assert [h.ref for h in search.search(session, "shop")] == ["component:default/ui"]  # title
        assert search.search(session, "%") == [] and search.search(session, "_") == []  # no words: nothing
        assert search.search(session, "   ") == []
        assert len(search.search(session, "payments", limit=2)) == 2


def test_the_catalog_page_query_filters_and_counts(any_database: Database) -> None:
    seed(any_database)
    with any_database.transaction() as session:
        rows, total = catalog_browse.page_entities(session, kind="Component", offset=1, limit=2)
        assert total == 5 and [r.name for r in rows] == ["ledger", "payments"]
        rows, total = catalog_browse.page_entities(session, q="payments", offset=0, limit=10)
        assert total == 4
        rows, total = catalog_browse.page_entities(session, tag="WEB", lifecycle="Production")
        assert [r.name for r in rows] == ["ui"] and total == 1
        rows, total = catalog_browse.page_entities(session, owner="group:default/payments", q="payments", offset=3, limit=10)
        assert total == 4 and len(rows) == 1
        assert catalog_browse.owners(session) == ["group:default/payments"]


def test_the_catalog_filters_in_sql_mean_what_matches_means(any_database: Database) -> None:
    """q in name/title/description and an exact tag, read from search_text in SQL, select what `matches` selects."""
    seed(any_database)
    extra = [entity("Component", "rates", description="Charges 50% of fees", tags=["50%", "a_b", "Fin-Ops"]),
             entity("Component", "tagged-only", description="Plain", tags=["ledger-sync"])]
    with any_database.transaction() as session:  # stored as given (as the catalog step stores what a template wrote)
        catalog.upsert_entities(session, extra, None, datetime.now(UTC))
        everything = {row.name: row.body for row in catalog_browse.page_entities(session, limit=1000)[0]}
        for q, tag in [("payments", ""), ("50%", ""), ("_", ""), ("ledger", ""), ("ledger-sync", ""), ("", "50%"), ("", "a_b"),
                       ("", "ab"), ("", "fin-ops"), ("", "FIN"), ("", "web"), ("", "we"), ("shop", "web"), ("SHOP FRONT", "")]:
            rows, total = catalog_browse.page_entities(session, q=q, tag=tag, limit=1000)
            expected = sorted(name for name, body in everything.items() if catalog_browse.matches(body, q=q, tag=tag))
            assert (sorted(r.name for r in rows), total) == (expected, len(expected)), (q, tag)


def test_providers_merge_best_first_without_duplicates() -> None:
    def docs(_session: Any, terms: list[str], _kind: str | None, _limit: int) -> list[search.Hit]:
        return [search.Hit("docs", "component:default/a", "A docs", "/docs/default/component/a/", "about " + " ".join(terms), 80.0)]

    def entities(_session: Any, _terms: list[str], _kind: str | None, _limit: int) -> list[search.Hit]:
        hit = search.Hit("entity", "component:default/a", "A", "/catalog/component/default/a", "", 100.0)
        return [hit, hit, search.Hit("entity", "component:default/b", "B", "/catalog/component/default/b", "", 80.0)]

    hits = search.search(None, "a thing", providers=[docs, entities])  # type: ignore[arg-type]
    assert [(h.type, h.ref) for h in hits] == [("entity", "component:default/a"), ("entity", "component:default/b"), ("docs", "component:default/a")]
    assert hits[2].as_dict() == {"type": "docs", "ref": "component:default/a", "title": "A docs", "url": "/docs/default/component/a/", "snippet": "about a thing"}


def test_register_provider_adds_once() -> None:
    before = list(search.PROVIDERS)
    try:
        def extra(*_: Any) -> list[search.Hit]:
            return []
        search.register_provider(extra)
        search.register_provider(extra)
        assert [*before, extra] == search.PROVIDERS
    finally:
        search.PROVIDERS[:] = before


def test_snippets_are_plain_text_around_the_match() -> None:
    text = "x " * 200 + "the needle is here " + "y " * 200
    snippet = search.snippet_of(text, ["needle"])
    assert "needle" in snippet and snippet.startswith("…") and snippet.endswith("…") and len(snippet) <= search.SNIPPET + 2


def test_highlight_escapes_then_marks() -> None:
    assert str(highlight("a <script>Orders</script>", ["orders"])) == "a &lt;script&gt;<mark>Orders</mark>&lt;/script&gt;"
    assert str(highlight("<b>", ["<b>"])) == "<mark>&lt;b&gt;</mark>"
    assert str(highlight("x<y", [])) == "x&lt;y"


def test_charts_have_no_script_and_escape_their_text() -> None:
    drawn = str(svg(Chart("bar", ["</text><script>alert(1)</script>"], [Series("<img src=x onerror=alert(1)>", [1.0]),
                                                                         Series("band", [2.0], dashed=True)], label="a \"label\" <b>")))
    assert drawn.startswith("<svg") and 'role="img"' in drawn and "<script" not in drawn and "<img" not in drawn
    assert "&lt;script&gt;" in drawn and 'aria-label="a &quot;label&quot; &lt;b&gt;"' in drawn
    graph = str(relation_graph("<me>", [Node("component:default/x", "<x>", "dependsOn", "/catalog/component/default/x")], "Relations <of> me"))
    assert "<me>" not in graph and "&lt;me&gt;" in graph and "&lt;x&gt;" in graph and "<a " not in graph and 'role="img"' in graph


def _reference_score(body: dict[str, Any], terms: list[str]) -> float | None:
    """What the full-text search must find and how it tiers it (the module doc of `roadbed.search`), in plain Python:
    None unless every word starts a word of the name, title, tags or description; else 100 for the exact name plus
    the best field a word starts a word of (name 60, title 30, tags 20, description 10)."""
    tokens = fulltext.tokens_of(terms)
    metadata = body["metadata"]
    fields = [metadata["name"], metadata.get("title", ""), " ".join(metadata.get("tags", [])), metadata.get("description", "")]
    words = [re.findall(r"[^\W_]+", field.lower()) for field in fields]
    starts = [any(w.startswith(t) for t in tokens for w in field) for field in words]
    if not tokens or not all(any(w.startswith(t) for field in words for w in field) for t in tokens):
        return None
    exact = 100 if metadata["name"].lower() in ("-".join(terms), "-".join(tokens)) else 0
    return exact + next(points for points, hit in zip((60, 30, 20, 10), starts, strict=True) if hit)


def test_full_text_matches_and_tiers_like_the_python_reference(any_database: Database) -> None:
    """The index finds exactly the entities the reference finds, on both backends, with wildcards, FTS syntax,
    uppercase, non-ASCII and control characters in the fields; each score is its tier plus under 9 of relevance;
    best first, ties by ref, and `limit`/`kind` cut the same list."""
    import random

    rng = random.Random(7)
    words = ["pay", "payments", "Ledger", "led", "a%b", "x_y", "naïve", "ÉTÉ", "api", "tab\there", "new\nline", 'say "NEAR" (or*)', "c:d|e&f!"]
    bodies = []
    for n in range(120):
        metadata: dict[str, Any] = {"name": f"{rng.choice(['pay', 'ledger', 'api', 'cafe'])}-{n:03d}"}
        if rng.random() < 0.7:
            metadata["title"] = " ".join(rng.sample(words, 2)) if rng.random() < 0.8 else rng.choice(words)
        if rng.random() < 0.7:
            metadata["description"] = " ".join(rng.sample(words, 4))
        if rng.random() < 0.7:
            metadata["tags"] = rng.sample(["pay", "payments", "led", "api", "web"], 2)
        bodies.append(entity("Component", **metadata))
    bodies.append(entity("Component", "pay"))
    with any_database.transaction() as session:
        catalog.upsert_entities(session, bodies, None, datetime.now(UTC))
    queries = ["pay", "payments", "led", "ledger pay", "api", "a%b", "x_y", "%", "_", "naïve", "été", "ÉTÉ", "here", "tab", "pay-0",
               "cafe led api", "-", "near", "or*", '"say"', "c:d", "e&f!", "ledg", "pay api web"]
    with any_database.transaction() as session:
        for q in queries:
            terms = search.terms_of(q)
            expected = {f"component:default/{b['metadata']['name']}": score for b in bodies if (score := _reference_score(b, terms)) is not None}
            hits = search.entity_hits(session, terms, None, 200)
            assert {h.ref for h in hits} == set(expected), q
            assert all(expected[h.ref] <= h.score < expected[h.ref] + 9 for h in hits), q
            assert [(-h.score, h.ref) for h in hits] == sorted((-h.score, h.ref) for h in hits), q
            assert [(h.score, h.ref) for h in search.entity_hits(session, terms, "component", 7)] == [(h.score, h.ref) for h in hits[:7]], q
            assert search.entity_hits(session, terms, "api", 7) == [], q

"""full-text search over catalog entities and TechDocs pages (SQLite FTS5; PostgreSQL tsvector + GIN)

Entities are indexed from `catalog_entities.search_text` (migration 0011: the lower-cased name, title, description
and tags between the delimiters \\x01 \\x02 \\x03 \\x04, tags separated by \\x1f), as four fields: name, title, tags,
description. TechDocs pages are indexed by title and text.

SQLite: FTS5 tables kept in sync by triggers, so every writer (the catalog, TechDocs' store, bulk inserts) keeps
them current without knowing about them. `techdocs_search` is an external-content table over `techdocs_pages`
(whose integer `id` is its rowid). `catalog_entities` has no integer key (its rowid may change on VACUUM), so
`catalog_search_keys` gives each ref a stable integer, the rowid of its `catalog_search` row; that row also holds
the entity's ref and kind, so a search reads only the index until it has the best few.
Caution: a later `batch_alter_table` on these tables recreates them on SQLite and drops their triggers; such a
migration must create the triggers again.

PostgreSQL: a generated `search_vector` column (weights A..D) with a GIN index on each table; punctuation becomes
spaces before `to_tsvector('simple', ...)`, so words split as FTS5 splits them. The indexes are built without GIN's
pending list (`fastupdate = off`): a bulk insert into a pending list made every search scan it (and the planner
fall back to a sequential scan) until the next vacuum; catalog writes are few, searches many.

Both are filled here for the rows already stored.

Revision ID: 0012
Revises: 0011
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TOKENIZE = "tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3'"


def _sqlite_fields(s: str) -> str:
    """name, title, tags, description of a search_text expression `s`, in SQLite."""
    name = f"substr({s}, 2, instr({s}, char(2)) - 2)"
    title = f"substr({s}, instr({s}, char(2)) + 1, instr({s}, char(3)) - instr({s}, char(2)) - 1)"
    description = f"substr({s}, instr({s}, char(3)) + 1, instr({s}, char(4)) - instr({s}, char(3)) - 1)"
    tags = f"substr({s}, instr({s}, char(4)) + 1)"
    return f"{name}, {title}, {tags}, {description}"


_SQLITE_COLUMNS = "rowid, name, title, tags, description, ref, kind, label"


def _sqlite_row(row: str) -> str:
    """The `catalog_search` values of a `catalog_entities` row (`new` or an alias): its fields, ref, kind and the
    hit's ref as written (`kind:namespace/name`, the order of ties), so a search reads no other table per match."""
    label = f"{row}.kind || ':' || {row}.namespace || '/' || {row}.name"
    return f"{_sqlite_fields(row + '.search_text')}, {row}.ref, {row}.kind, {label}"


def _sqlite_index_entity() -> str:
    return (
        "INSERT OR IGNORE INTO catalog_search_keys (ref) VALUES (new.ref);\n"
        "DELETE FROM catalog_search WHERE rowid = (SELECT id FROM catalog_search_keys WHERE ref = new.ref);\n"
        f"INSERT INTO catalog_search ({_SQLITE_COLUMNS}) SELECT id, {_sqlite_row('new')} FROM catalog_search_keys WHERE ref = new.ref;\n"
    )


def _sqlite_unindex_entity(ref: str) -> str:
    return (
        f"DELETE FROM catalog_search WHERE rowid = (SELECT id FROM catalog_search_keys WHERE ref = {ref});\n"
        f"DELETE FROM catalog_search_keys WHERE ref = {ref};\n"
    )


SQLITE_UPGRADE = [
    "CREATE TABLE catalog_search_keys (id INTEGER PRIMARY KEY, ref VARCHAR(300) NOT NULL UNIQUE)",
    "CREATE VIRTUAL TABLE catalog_search USING fts5(name, title, tags, description, ref UNINDEXED, kind UNINDEXED, label UNINDEXED, "
    f"{TOKENIZE})",
    f"CREATE TRIGGER catalog_search_insert AFTER INSERT ON catalog_entities BEGIN\n{_sqlite_index_entity()}END",
    f"CREATE TRIGGER catalog_search_delete AFTER DELETE ON catalog_entities BEGIN\n{_sqlite_unindex_entity('old.ref')}END",
    "CREATE TRIGGER catalog_search_update AFTER UPDATE OF ref, kind, namespace, name, search_text ON catalog_entities BEGIN\n"
    f"{_sqlite_unindex_entity('old.ref')}{_sqlite_index_entity()}END",
    "INSERT INTO catalog_search_keys (ref) SELECT ref FROM catalog_entities",
    f"INSERT INTO catalog_search ({_SQLITE_COLUMNS}) SELECT k.id, {_sqlite_row('e')} FROM catalog_entities e JOIN catalog_search_keys k ON k.ref = e.ref",
    f"CREATE VIRTUAL TABLE techdocs_search USING fts5(title, text, content = 'techdocs_pages', content_rowid = 'id', {TOKENIZE})",
    "CREATE TRIGGER techdocs_search_insert AFTER INSERT ON techdocs_pages BEGIN\n"
    "INSERT INTO techdocs_search (rowid, title, text) VALUES (new.id, new.title, new.text);\nEND",
    "CREATE TRIGGER techdocs_search_delete AFTER DELETE ON techdocs_pages BEGIN\n"
    "INSERT INTO techdocs_search (techdocs_search, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);\nEND",
    "CREATE TRIGGER techdocs_search_update AFTER UPDATE ON techdocs_pages BEGIN\n"
    "INSERT INTO techdocs_search (techdocs_search, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);\n"
    "INSERT INTO techdocs_search (rowid, title, text) VALUES (new.id, new.title, new.text);\nEND",
    "INSERT INTO techdocs_search (techdocs_search) VALUES ('rebuild')",
]

SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS techdocs_search_update",
    "DROP TRIGGER IF EXISTS techdocs_search_delete",
    "DROP TRIGGER IF EXISTS techdocs_search_insert",
    "DROP TABLE IF EXISTS techdocs_search",
    "DROP TRIGGER IF EXISTS catalog_search_update",
    "DROP TRIGGER IF EXISTS catalog_search_delete",
    "DROP TRIGGER IF EXISTS catalog_search_insert",
    "DROP TABLE IF EXISTS catalog_search",
    "DROP TABLE IF EXISTS catalog_search_keys",
]


def _pg_words(text: str, weight: str) -> str:
    """`text` as a weighted tsvector, its punctuation and control characters read as spaces."""
    return f"setweight(to_tsvector('simple'::regconfig, regexp_replace({text}, '[[:punct:][:cntrl:]]+', ' ', 'g')), '{weight}')"


_PG_TEXT = "coalesce(search_text, '')"
_PG_NAME = f"split_part(split_part({_PG_TEXT}, E'\\x02', 1), E'\\x01', 2)"
_PG_TITLE = f"split_part(split_part({_PG_TEXT}, E'\\x03', 1), E'\\x02', 2)"
_PG_DESCRIPTION = f"split_part(split_part({_PG_TEXT}, E'\\x04', 1), E'\\x03', 2)"
_PG_TAGS = f"split_part({_PG_TEXT}, E'\\x04', 2)"

POSTGRESQL_UPGRADE = [
    "ALTER TABLE catalog_entities ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    f"{_pg_words(_PG_NAME, 'A')} || {_pg_words(_PG_TITLE, 'B')} || {_pg_words(_PG_TAGS, 'C')} || {_pg_words(_PG_DESCRIPTION, 'D')}"
    ") STORED",
    "CREATE INDEX ix_catalog_entities_search_vector ON catalog_entities USING gin (search_vector) WITH (fastupdate = off)",
    "ALTER TABLE techdocs_pages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    f"{_pg_words('title', 'A')} || {_pg_words('text', 'D')}"
    ") STORED",
    "CREATE INDEX ix_techdocs_pages_search_vector ON techdocs_pages USING gin (search_vector) WITH (fastupdate = off)",
]

POSTGRESQL_DOWNGRADE = [
    "DROP INDEX IF EXISTS ix_techdocs_pages_search_vector",
    "ALTER TABLE techdocs_pages DROP COLUMN IF EXISTS search_vector",
    "DROP INDEX IF EXISTS ix_catalog_entities_search_vector",
    "ALTER TABLE catalog_entities DROP COLUMN IF EXISTS search_vector",
]


def _run(statements: list[str]) -> None:
    connection = op.get_bind()
    for statement in statements:  # as written: `[[:punct:]]` is no bind parameter
        connection.exec_driver_sql(statement)


def upgrade() -> None:
    _run(SQLITE_UPGRADE if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_UPGRADE)


def downgrade() -> None:
    _run(SQLITE_DOWNGRADE if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_DOWNGRADE)

"""Engine and transactions for the engine database, and its migration to the current schema."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from roadbed.private_files import create_private_file, private_dir

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The key of the PostgreSQL advisory lock `migrate()` holds: any fixed 64-bit number no other client of the same
# database uses; this one is the first 8 bytes of sha256("roadbed.migrate"), as a signed bigint.
MIGRATION_LOCK_KEY = -845815766212449642
log = logging.getLogger("roadbed.storage")


def _enable_sqlite_wal(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    """WAL lets the API read while the worker writes; busy_timeout waits out a writer instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Database:
    """One engine per process; `transaction()` hands out a session that commits on success."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                # the data dir and the database are private (0700/0600): they hold tokens, requests and state
                private_dir(Path(path).parent)
                create_private_file(Path(path))
            self.engine: Engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
            event.listen(self.engine, "connect", _enable_sqlite_wal)
        else:
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self, *, serialized: bool = False) -> Iterator[Session]:
        """A session that commits on success.

        `serialized`: for read-then-write decisions that must not interleave (claiming a service name). On SQLite
        the transaction starts with `BEGIN IMMEDIATE`, taking the write lock before the first read; without it,
        pysqlite starts no transaction before a SAVEPOINT, and releasing that savepoint commits half of the work.
        PostgreSQL's row locks and unique indexes already order such writers.
        """
        with self._sessions.begin() as session:
            if serialized and self.is_sqlite:
                session.execute(text("BEGIN IMMEDIATE"))
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent; safe at every start).

        Alembic narrates every run at INFO ("Context impl SQLiteImpl.", "Will assume non-transactional DDL."),
        which filled every `roadbed up` with noise; its logger is held at WARNING unless someone configured it, and
        one INFO line of ours says when revisions actually ran. No `fileConfig`: logging stays the caller's.
        """
        alembic_log = logging.getLogger("alembic")
        if alembic_log.level == logging.NOTSET:
            alembic_log.setLevel(logging.WARNING)
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as connection:
            if not self.is_sqlite:
                # Several replicas (api, worker, the one-shot `roadbed migrate`) may start at once on one database:
                # the first to take this transaction-scoped lock migrates, the others wait and then find the schema
                # at head. Released at commit or rollback, so a crashed migrator never leaves it held. SQLite needs
                # none: its write lock already serialises the migrating transactions.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config.attributes["connection"] = connection
            before = MigrationContext.configure(connection).get_current_revision()
            command.upgrade(config, "head")
            after = MigrationContext.configure(connection).get_current_revision()
        if after != before:
            log.info("engine database migrated from revision %s to %s", before or "(empty)", after)

    def current_revision(self) -> str | None:
        """The Alembic revision the schema is at (None: never migrated); `roadbed migrate` reports it."""
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()

"""`roadbed migrate`: idempotent, and safe when several replicas migrate one PostgreSQL database at once.

docker-compose.yml runs a one-shot `roadbed migrate` before the api and worker replicas, and each of those migrates
again at start; on a fresh database they must not race to create the same tables (Database.migrate holds a
PostgreSQL advisory lock for that).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from roadbed.storage.database import MIGRATION_LOCK_KEY, MIGRATIONS_DIR, Database


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def _run_migrate(tmp_path: Path, database_url: str | None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROADBED_")}
    env["ROADBED_HOME"] = str(tmp_path / "home")
    if database_url is not None:
        env["ROADBED_DATABASE_URL"] = database_url
    return subprocess.Popen(
        [sys.executable, "-m", "roadbed.cli", "migrate"], env=env, cwd=tmp_path, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _schema(url: str) -> tuple[list[str], set[str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            versions = [row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))]
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    return versions, tables


def test_concurrent_migrates_on_a_fresh_postgres_database_both_succeed_with_one_schema(fresh_postgres_url: str, tmp_path: Path) -> None:
    runs = [_run_migrate(tmp_path, fresh_postgres_url) for _ in range(3)]
    results = [(run.wait(timeout=120), *run.communicate()) for run in runs]
    for code, out, err in results:
        assert code == 0, err
        assert f"engine database at revision {_head()}" in out
    versions, tables = _schema(fresh_postgres_url)
    assert versions == [_head()]  # one row: nobody stamped twice
    assert {"environments", "api_tokens", "audit_log"} <= tables


def test_migrate_waits_for_the_advisory_lock_before_touching_the_schema(fresh_postgres_url: str) -> None:
    """Without the lock, a second migrator would create tables under the first one's feet (duplicate-table errors)."""
    holder = create_engine(fresh_postgres_url)
    database = Database(fresh_postgres_url)
    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            database.migrate()
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            errors.append(exc)

    try:
        with holder.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            thread = threading.Thread(target=migrate, daemon=True)
            thread.start()
            thread.join(timeout=2)
            assert thread.is_alive(), "migrate() ran while another migrator held the lock"
            assert database.current_revision() is None
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
        thread.join(timeout=60)
        assert not thread.is_alive() and not errors, errors
        assert database.current_revision() == _head()
    finally:
        database.dispose()
        holder.dispose()


def test_migrate_command_is_idempotent(tmp_path: Path) -> None:
    """The default SQLite engine database: the second run finds the schema at head and changes nothing."""
    for _ in range(2):
        run = _run_migrate(tmp_path, None)
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert f"engine database at revision {_head()}" in out
    versions, _ = _schema(f"sqlite:///{tmp_path / 'home' / 'roadbed.db'}")
    assert versions == [_head()]


def test_migrate_command_unreachable_database_is_one_line_without_the_password(tmp_path: Path) -> None:
    run = _run_migrate(tmp_path, "postgresql+psycopg://roadbed:s3cret-pw@127.0.0.1:1/roadbed")
    out, err = run.communicate(timeout=120)
    assert run.returncode == 1
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot migrate the engine database" in errors[0]
    assert "s3cret-pw" not in out + err

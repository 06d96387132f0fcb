"""Starting Roadbed is quiet: migrating the engine database prints no Alembic INFO lines (issue 11)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from roadbed.storage.database import Database


def test_migrate_logs_no_alembic_info(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    database = Database(f"sqlite:///{tmp_path / 'roadbed.db'}")
    try:
        database.migrate()  # a fresh database: every revision runs
        database.migrate()  # and again, as at every start
    finally:
        database.dispose()
    assert not [r for r in caplog.records if r.name.startswith("alembic") and r.levelno < logging.WARNING], caplog.text
    ours = [r.getMessage() for r in caplog.records if r.name == "roadbed.storage"]
    assert len(ours) == 1 and ours[0].startswith("engine database migrated from revision (empty) to "), ours  # the first run only


def test_migrate_leaves_the_root_logging_configuration_alone(tmp_path: Path) -> None:
    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    database = Database(f"sqlite:///{tmp_path / 'roadbed.db'}")
    try:
        database.migrate()
    finally:
        database.dispose()
    assert (root.level, list(root.handlers)) == before
    assert not logging.getLogger("roadbed").disabled


def test_alembic_warnings_still_show(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    database = Database(f"sqlite:///{tmp_path / 'roadbed.db'}")
    try:
        database.migrate()
    finally:
        database.dispose()
    logging.getLogger("alembic.runtime.migration").warning("a real problem")
    assert "a real problem" in caplog.text

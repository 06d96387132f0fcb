"""Shared fixtures: a data dir per test, a migrated engine database, and settings pointing at them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from roadbed.settings import Settings, load_settings
from roadbed.storage.database import Database


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ROADBED_* variable of the machine running the tests leaks into them."""
    for name in list(os.environ):
        if name.startswith("ROADBED_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home", task_queue=f"roadbed-{tmp_path.name}")


@pytest.fixture
def database(settings: Settings) -> Database:
    db = Database(settings.resolved_database_url)
    db.migrate()
    yield db
    db.dispose()

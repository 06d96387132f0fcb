"""The portal over the real app without Temporal (Starlette's TestClient): one settings/database/client fixture
set and the sign-in steps every portal test module shares. A module may override `portal_settings`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from roadbed.api.app import create_app
from roadbed.settings import Settings, load_settings
from roadbed.storage.database import Database


@pytest.fixture
def portal_settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home")


@pytest.fixture
def portal_db(portal_settings: Settings) -> Iterator[Database]:
    db = Database(portal_settings.resolved_database_url)
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def browser(portal_settings: Settings, portal_db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(portal_settings, portal_db), base_url="http://roadbed") as client:
        yield client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def sign_in(client: TestClient, token: str, next_path: str = "/") -> None:
    page = client.get(f"/login?next={next_path}")
    answer = client.post("/login", data={"token": token, "csrf_token": csrf_of(page.text), "next": next_path}, follow_redirects=False)
    assert answer.status_code == 303, answer.text

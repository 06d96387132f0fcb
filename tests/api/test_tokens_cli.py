"""`roadbed tokens` works on the data dir directly; tokens are shown once, stored hashed, revocable."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from roadbed.cli.main import app
from roadbed.settings import Settings
from roadbed.storage.database import Database
from roadbed.storage.tables import ApiTokenRow

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_token_lifecycle(api: httpx.AsyncClient, settings: Settings, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADBED_HOME", str(settings.home))
    runner = CliRunner()
    created = runner.invoke(app, ["tokens", "create", "--role", "developer", "--team", "payments", "--description", "ci bot"])
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert token.startswith("rbd_")
    with database.transaction() as session:
        stored = session.scalars(select(ApiTokenRow).where(ApiTokenRow.description == "ci bot")).one()
        assert token not in str(stored.__dict__) and stored.token_hash != token

    listed = runner.invoke(app, ["tokens", "list"])
    assert listed.exit_code == 0 and stored.id in listed.output and token not in listed.output

    headers = {"Authorization": f"Bearer {token}"}
    assert (await api.get("/v1/environments", headers=headers)).status_code == 200
    assert runner.invoke(app, ["tokens", "revoke", stored.id]).exit_code == 0
    revoked = await api.get("/v1/environments", headers=headers)
    assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "unauthorized"
    assert runner.invoke(app, ["tokens", "revoke", stored.id]).exit_code == 1


def test_invalid_token_requests_exit_non_zero(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADBED_HOME", str(settings.home))
    runner = CliRunner()
    assert runner.invoke(app, ["tokens", "create", "--role", "developer"]).exit_code == 1
    assert runner.invoke(app, ["tokens", "create", "--role", "developer", "--team", "Bad Team"]).exit_code == 1
    assert runner.invoke(app, ["tokens", "create", "--role", "overlord"]).exit_code == 2

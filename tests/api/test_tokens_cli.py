"""`roadbed tokens` goes through the API (audited, into the API's database, wherever ROADBED_API_URL points);
only `create --bootstrap` writes into the data dir, and only while it has no active platform-admin token."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from roadbed.cli.main import app
from roadbed.settings import Settings, load_settings
from roadbed.storage import services
from roadbed.storage.database import Database
from roadbed.storage.tables import ApiTokenRow, AuditRow
from tests.api.conftest import make_token
from tests.api.test_reports_api import served_api  # noqa: F401 - the fixture

runner = CliRunner()


def test_token_lifecycle_through_the_api(served_api: str, database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    elsewhere = tmp_path / "a-laptop"  # the CLI's own data dir: nothing may land there
    monkeypatch.setenv("ROADBED_HOME", str(elsewhere))
    monkeypatch.setenv("ROADBED_API_URL", served_api)
    monkeypatch.setenv("ROADBED_TOKEN", make_token(database, "platform-admin"))

    created = runner.invoke(app, ["tokens", "create", "--role", "developer", "--team", "payments", "--description", "ci bot"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("rbd_")
    with database.transaction() as session:
        stored = session.scalars(select(ApiTokenRow).where(ApiTokenRow.description == "ci bot")).one()
        assert stored.token_hash != token and stored.teams == ["payments"]
        audit = [(row.method, row.path, row.status) for row in session.scalars(select(AuditRow))]
    assert ("POST", "/v1/tokens", 201) in audit
    assert not (elsewhere / "roadbed.db").exists()

    listed = runner.invoke(app, ["tokens", "list"])
    assert listed.exit_code == 0 and token not in listed.stdout
    header, *rows = listed.stdout.strip().splitlines()  # piped: TSV, full values
    assert header.split("\t") == ["id", "role", "teams", "created", "revoked", "description", "service"]
    assert [stored.id, "developer", "payments"] == next(r.split("\t") for r in rows if r.startswith(stored.id))[:3]
    as_json = runner.invoke(app, ["tokens", "list", "--json"])
    assert as_json.exit_code == 0 and stored.id in as_json.stdout and token not in as_json.stdout and stored.token_hash not in as_json.stdout

    assert httpx.get(f"{served_api}/v1/environments", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    revoked = runner.invoke(app, ["tokens", "revoke", stored.id])
    assert revoked.exit_code == 0, revoked.output
    assert httpx.get(f"{served_api}/v1/environments", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    again = runner.invoke(app, ["tokens", "revoke", stored.id])
    assert again.exit_code == 1 and again.stderr.strip().splitlines()[-1] == f"error: HTTP 409: token {stored.id} is already revoked"


def test_a_deployer_token_for_one_service(served_api: str, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("ROADBED_API_URL", served_api)
    monkeypatch.setenv("ROADBED_TOKEN", make_token(database, "platform-admin"))
    unknown = runner.invoke(app, ["tokens", "create", "--role", "deployer", "--service", "ledger"])
    assert unknown.exit_code == 1 and "no service 'ledger'" in unknown.stderr.strip().splitlines()[-1]
    with database.transaction() as session:
        services.claim(session, "ledger", "payments", datetime.now(UTC))
    created = runner.invoke(app, ["tokens", "create", "--role", "deployer", "--service", "ledger"])
    assert created.exit_code == 0, created.output
    assert "(deployer for ledger)" in created.stdout
    with database.transaction() as session:
        stored = session.scalars(select(ApiTokenRow).where(ApiTokenRow.role == "deployer")).one()
    assert (stored.service, stored.teams) == ("ledger", [])
    listed = runner.invoke(app, ["tokens", "list"]).stdout.strip().splitlines()
    assert next(r.split("\t") for r in listed if r.startswith(stored.id))[-1] == "ledger"


def test_non_admins_cannot_manage_tokens(served_api: str, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("ROADBED_API_URL", served_api)
    monkeypatch.setenv("ROADBED_TOKEN", make_token(database, "developer", ["payments"]))
    refused = runner.invoke(app, ["tokens", "create", "--role", "platform-admin"])
    assert refused.exit_code == 1 and refused.stderr.strip().splitlines()[-1].startswith("error: HTTP 403: ")


def test_invalid_requests_are_one_line_and_exit_2(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADBED_HOME", str(settings.home))
    cases = {
        ("tokens", "create", "--role", "developer"): "error: a developer token needs at least one --team",
        ("tokens", "create", "--role", "developer", "--team", "Bad Team"): "error: invalid team name: Bad Team",
        ("tokens", "create", "--role", "overlord"): "error: --role must be developer, platform-admin, viewer or deployer (got 'overlord')",
        ("tokens", "create", "--role", "deployer"): "error: --service goes with --role deployer, and a deployer token needs it",
        ("tokens", "create", "--role", "viewer", "--service", "ledger"): "error: --service goes with --role deployer",
        ("tokens", "create", "--role", "deployer", "--service", "ledger", "--team", "payments"): "error: a deployer token acts for no team",
        ("tokens", "create", "--role", "viewer", "--bootstrap"): "error: --bootstrap creates a platform-admin token only",
    }
    for args, start in cases.items():
        result = runner.invoke(app, list(args))
        lines = [line for line in result.stderr.splitlines() if not line.startswith("targets: ")]
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith(start), (args, result.stderr)


def test_bootstrap_only_while_no_admin_token_is_active(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADBED_HOME", str(tmp_path / "home"))
    first = runner.invoke(app, ["tokens", "create", "--role", "platform-admin", "--bootstrap"])
    assert first.exit_code == 0, first.output
    token = first.stdout.strip().splitlines()[-1]
    database = Database(load_settings().resolved_database_url)
    try:
        with database.transaction() as session:
            stored = session.scalars(select(ApiTokenRow)).one()
            assert stored.role == "platform-admin" and stored.revoked_at is None and stored.token_hash != token
        second = runner.invoke(app, ["tokens", "create", "--role", "platform-admin", "--bootstrap"])
        assert second.exit_code == 1 and f"already has an active platform-admin token ({stored.id})" in second.stderr
        with database.transaction() as session:
            assert len(session.scalars(select(ApiTokenRow)).all()) == 1
    finally:
        database.dispose()

"""`roadbed upgrade SERVICE --dry-run` through a served API: the per-file table, JSON, and one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadbed.adapters.local_git import LocalGitRepoHost
from roadbed.cli.main import app
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.settings import Settings, load_settings
from roadbed.storage.database import Database
from roadbed.upgrades import template_store
from tests.api.conftest import make_token
from tests.api.test_reports_api import served_api  # noqa: F401 - the fixture
from tests.upgrades.provisioned import provision_repository
from tests.upgrades.templates import APP, write_template

runner = CliRunner()


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    write_template(root, "1.0.0")
    return root


@pytest.fixture
def settings(tmp_path: Path, templates: Path, database_home: Path) -> Settings:
    return load_settings(home=database_home, task_queue=f"roadbed-{tmp_path.name}", golden_paths_dirs=str(templates))


@pytest.fixture
def database_home(tmp_path: Path, templates: Path) -> Path:
    """The service is made at 1.0.0 before the API starts; the API then serves the folder at 2.0.0."""
    home = tmp_path / "home"
    settings = load_settings(home=home, golden_paths_dirs=str(templates))
    database = Database(settings.resolved_database_url)
    database.migrate()
    template_store.store_all(database, GoldenPathRegistry(settings.golden_path_dirs))
    provision_repository(settings, database, "orders", "1.0.0")
    LocalGitRepoHost(settings.git_dir / "repos").commit_files("orders", {"NOTES.md": b"ours\n"}, "team notes")
    database.dispose()
    write_template(templates, "2.0.0", app=APP.replace('"8000"', '"9000"'), required="tier")
    return home


def test_dry_run_prints_each_file_and_refusals_are_one_line(
    served_api: str, database: Database, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.setenv("ROADBED_API_URL", served_api)
    monkeypatch.setenv("ROADBED_TOKEN", make_token(database, "developer", ["payments"]))
    missing = runner.invoke(app, ["upgrade", "orders", "--dry-run"])
    assert missing.exit_code == 1 and missing.stderr.strip().splitlines()[-1].startswith("error: HTTP 422: ")
    assert "parameters.tier" in missing.stderr

    table = runner.invoke(app, ["upgrade", "orders", "--dry-run", "--param", "tier=gold"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "orders: 1.0.0 -> 2.0.0 (dry run)" in table.stdout and "app.py" in table.stdout and "clean" in table.stdout

    as_json = runner.invoke(app, ["upgrade", "orders", "--dry-run", "--param", "tier=gold", "--json"])
    assert json.loads(as_json.stdout)["files"] == [{"path": "README.md", "result": "clean"}, {"path": "app.py", "result": "clean"}]

    bad = runner.invoke(app, ["upgrade", "orders", "--dry-run", "--param", "tier"])
    assert bad.exit_code == 2 and bad.stderr.strip().splitlines()[-1] == "error: --param 'tier': expected NAME=VALUE"
    monkeypatch.setenv("ROADBED_TOKEN", make_token(database, "developer", ["checkout"]))
    other = runner.invoke(app, ["upgrade", "orders", "--dry-run", "--param", "tier=gold"])
    assert other.exit_code == 1 and "HTTP 403" in other.stderr

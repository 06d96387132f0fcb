"""`roadbed upgrade --golden-path P --to V --all` against a served API, a Temporal server and a real worker: the
campaign runs to DONE and the command prints each service's upgrade and the summary; misuse is exit 2, a developer 403."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from temporalio.client import Client
from typer.testing import CliRunner

from roadbed.api.app import create_app
from roadbed.cli.main import app as cli
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.settings import Settings, load_settings
from roadbed.storage.database import Database
from roadbed.upgrades import template_store
from tests.api.conftest import make_token
from tests.upgrades.provisioned import provision_repository
from tests.upgrades.templates import APP, write_template

pytestmark = pytest.mark.asyncio(loop_scope="session")
runner = CliRunner()


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    write_template(root, "1.0.0")
    return root


@pytest.fixture
def settings(tmp_path: Path, templates: Path, client: Client) -> Settings:
    return load_settings(
        home=tmp_path / "home", task_queue=f"roadbed-{tmp_path.name}", golden_paths_dirs=str(templates),
        temporal_address=client.service_client.config.target_host,
    )


@pytest.fixture
def served(settings: Settings, database: Database, templates: Path) -> Iterator[str]:
    """Three services made at 1.0.0, then the API serving the folder at 2.0.0 on a real port."""
    template_store.store_all(database, GoldenPathRegistry(settings.golden_path_dirs))
    for service in ("alpha", "beta", "gamma"):
        provision_repository(settings, database, service, "1.0.0")
    write_template(templates, "2.0.0", app=APP.replace('"8000"', '"9000"'))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, database), host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


async def test_the_campaign_command_follows_the_campaign_to_done(
    served: str, database: Database, worker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROADBED_API_URL", served)
    monkeypatch.setenv("ROADBED_TOKEN", make_token(database, "developer", ["payments"]))
    refused = await asyncio.to_thread(runner.invoke, cli, ["upgrade", "--golden-path", "svc", "--to", "2.0.0", "--all"])
    assert refused.exit_code == 1 and "HTTP 403" in refused.stderr
    monkeypatch.setenv("ROADBED_TOKEN", make_token(database, "platform-admin"))
    no_version = await asyncio.to_thread(runner.invoke, cli, ["upgrade", "--golden-path", "svc", "--all"])
    assert no_version.exit_code == 2 and "--to VERSION" in no_version.stderr
    both = await asyncio.to_thread(runner.invoke, cli, ["upgrade", "alpha", "--golden-path", "svc", "--to", "2.0.0", "--all"])
    assert both.exit_code == 2

    done = await asyncio.to_thread(
        runner.invoke, cli, ["upgrade", "--golden-path", "svc", "--to", "2.0.0", "--all", "--max-concurrent", "2"], env={"COLUMNS": "200"}
    )
    assert done.exit_code == 0, done.output
    assert ": svc -> 2.0.0, DONE" in done.stdout and "3 OPEN" in done.stdout
    for service in ("alpha", "beta", "gamma"):
        assert service in done.stdout

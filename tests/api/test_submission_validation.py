"""Issue 11 over HTTP: what Terraform or a later step would refuse is a 422 at submission, naming the field with
the module's (or the naming rule's) own message, and nothing is stored, started or created."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from roadbed.settings import Settings
from roadbed.storage.database import Database
from tests.api.test_environments_api import body, count_rows

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"resources": [{"type": "postgres", "name": "main", "storage_gb": -5}]},
            "resources.0.storage_gb",
            "Invalid storage_gb: must be a whole number between 10 and 1000.",
        ),
        (
            {"resources": [{"type": "postgres", "name": "main", "storage_gb": "5"}]},
            "resources.0.storage_gb",
            'must be a number, not a string (send 5, not "5")',
        ),
        ({"resources": [{"type": "redis", "name": "cache", "num_nodes": "abc"}]}, "resources.0.num_nodes", "must be a number (got the string 'abc')"),
        (
            {"resources": [{"type": "redis", "name": "cache", "nodes": 3}]},
            "resources.0.nodes",
            "unknown setting for redis; known: engine_version, node_type, num_nodes",
        ),
        ({"parameters": {"colour": "blue"}}, "parameters.colour", "unknown parameter for golden path 'python-service'; known: "),
        ({"service": "s" * 63}, "service", "must be at most 55 characters (got 63)"),
    ],
    ids=["storage_gb=-5", "storage_gb-as-string", "num_nodes=abc", "unknown-setting", "unknown-parameter", "63-char-service"],
)
async def test_bad_input_is_refused_before_anything_starts(
    api: httpx.AsyncClient, database: Database, settings: Settings, overrides: dict[str, Any], field: str, message: str
) -> None:
    response = await api.post("/v1/environments", json=body(**overrides))
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert [d["field"] for d in details] == [field]
    assert details[0]["message"].startswith(message)
    assert count_rows(database) == 0
    assert not (settings.git_dir / "repos").exists()
    assert (await api.get("/v1/environments")).json() == []


async def test_the_preview_refuses_the_same(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/golden-paths/python-service/preview", json=body(resources=[{"type": "postgres", "name": "main", "storage_gb": -5}]))
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == ["resources.0.storage_gb"]

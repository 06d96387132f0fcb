"""Golden paths over HTTP: list, detail with its JSON Schema, and previews that provision nothing."""

from __future__ import annotations

import httpx
import pytest

from roadbed.settings import Settings
from roadbed.storage.database import Database
from tests.api.test_environments_api import count_rows

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_preview_renders_everything_and_provisions_nothing(api: httpx.AsyncClient, database: Database, settings: Settings) -> None:
    response = await api.post(
        "/v1/golden-paths/python-service/preview",
        json={"service": "orders", "team": "payments", "environment": "staging", "resources": [{"type": "postgres", "name": "main", "storage_gb": 50}],
              "parameters": {"description": "Order intake"}},
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["golden_path"] == "python-service" and preview["namespace"] == "orders-staging"
    files = {f["path"]: f for f in preview["files"]}
    assert "from fastapi import" in files["app/main.py"]["head"] or "FastAPI" in files["app/main.py"]["head"]
    assert files["catalog-info.yaml"]["size"] > 0 and not files["catalog-info.yaml"]["binary"]
    changes = preview["terraform"]["resource_changes"]
    assert changes and all(c["action"] == "create" for c in changes)
    assert any(c["address"].startswith("module.postgres_main.") for c in changes)
    assert preview["terraform"]["summary"]["add"] == len(changes)
    assert [m["kind"] for m in preview["manifests"]] == ["Namespace", "ConfigMap", "Deployment", "Service"]
    assert preview["monitoring_files"] == sorted(preview["monitoring_files"]) and any(p.endswith("prometheus-rules.yaml") for p in preview["monitoring_files"])
    assert [e["kind"] for e in preview["catalog_entities"]] == ["Component", "Resource", "API"]  # python-service serves openapi.yaml

    assert count_rows(database) == 0
    assert not (settings.git_dir / "repos").exists()
    assert [p for p in settings.terraform_dir.glob("*") if not p.name.startswith(".")] == []


async def test_preview_rejects_bad_input_like_a_request(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/golden-paths/python-service/preview", json={"service": "Bad", "team": "payments", "environment": "dev",
                                                                                  "resources": [{"type": "postgres", "name": "main", "bogus": 1}]})
    assert response.status_code == 422
    assert {d["field"] for d in response.json()["error"]["details"]} == {"service", "resources.0.bogus"}
    assert (await api.post("/v1/golden-paths/nope/preview", json={})).status_code == 404

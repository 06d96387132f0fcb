"""The serving process freezes its start-up objects (`gc.freeze`): a full collection walking ~250,000 of them paused
a report page every few requests for ~150 ms (bench/portal.py). Tests build many apps in one process and do not."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from roadbed.api.app import create_app
from roadbed.settings import Settings
from roadbed.storage.database import Database


def test_the_serving_app_freezes_what_exists_once_it_has_started(settings: Settings, database: Database) -> None:
    gc.unfreeze()
    try:
        with TestClient(create_app(settings, database)) as client:
            assert client.get("/healthz").status_code == 200
            assert gc.get_freeze_count() == 0  # the default: nothing frozen (a test process builds many apps)
        with TestClient(create_app(settings, database, freeze_after_start=True)) as client:
            assert client.get("/healthz").status_code == 200
            assert gc.get_freeze_count() > 10_000  # modules, routes and models are out of the collector's sight
    finally:
        gc.unfreeze()

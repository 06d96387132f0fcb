"""Backstage registration: 409 "already registered" is success, faults are translated, bad URLs refused."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from roadbed.adapters.backstage import BackstageCatalog
from roadbed.domain.errors import ConfigurationError, PermanentError, TransientError
from roadbed.storage.database import Database
from tests.fakes.backstage import FakeBackstage

COMPONENT = {
    "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
    "metadata": {"name": "orders", "annotations": {"backstage.io/source-location": "url:https://git.example/acme/orders.git"}},
    "spec": {"type": "service", "lifecycle": "experimental", "owner": "group:default/payments"},
}
TARGET = "https://git.example/acme/orders/blob/main/catalog-info.yaml"


@pytest.fixture
def backstage() -> Iterator[FakeBackstage]:
    fake = FakeBackstage().start()
    yield fake
    fake.stop()


def test_register_twice_and_already_registered_elsewhere_are_fine(backstage: FakeBackstage, database: Database) -> None:
    adapter = BackstageCatalog(database, backstage.url, backstage.token)
    adapter.register([COMPONENT], "env-1")
    adapter.register([COMPONENT], "env-1")  # the 409 of a retry counts as success
    assert [loc["target"] for loc in backstage.locations.values()] == [TARGET]
    adapter.unregister("env-1", successor="env-2")  # another live environment still has the component: location kept
    assert [loc["target"] for loc in backstage.locations.values()] == [TARGET]
    adapter.register([COMPONENT], "env-1")
    adapter.unregister("env-1")
    assert backstage.locations == {}
    adapter.unregister("env-1")  # already gone


def test_faults_are_translated(backstage: FakeBackstage, database: Database) -> None:
    with pytest.raises(PermanentError, match="HTTP 401"):
        BackstageCatalog(database, backstage.url, "wrong-token").register([COMPONENT], "env-1")
    broken = BackstageCatalog(database, "http://backstage", "t", transport=httpx.MockTransport(lambda _r: httpx.Response(503, text="busy")))
    with pytest.raises(TransientError):
        broken.register([COMPONENT], "env-9")
    down = BackstageCatalog(database, "http://127.0.0.1:9", "t")
    with pytest.raises(TransientError):
        down.register([COMPONENT], "env-8")
    with pytest.raises(ConfigurationError):
        BackstageCatalog(database, "ftp://backstage", "t")


def test_a_retried_unregister_removes_the_location_although_roadbeds_rows_are_already_gone(backstage: FakeBackstage, database: Database) -> None:
    adapter = BackstageCatalog(database, backstage.url, backstage.token)
    adapter.register([COMPONENT], "env-1")
    backstage.fail_next("DELETE", 503)  # Backstage hiccups after Roadbed's own rows were released
    with pytest.raises(TransientError, match="HTTP 503"):
        adapter.unregister("env-1", repository_url="https://git.example/acme/orders.git")
    assert [loc["target"] for loc in backstage.locations.values()] == [TARGET]
    adapter.unregister("env-1", repository_url="https://git.example/acme/orders.git")  # the retry: found by target, not by a row
    assert backstage.locations == {}
    adapter.unregister("env-1", repository_url="https://git.example/acme/orders.git")  # already gone


def test_location_targets_lists_what_backstage_holds(backstage: FakeBackstage, database: Database) -> None:
    adapter = BackstageCatalog(database, backstage.url, backstage.token)
    adapter.register([COMPONENT], "env-1")
    assert adapter.location_targets() == [TARGET]
    backstage.fail_next("GET", 500)
    with pytest.raises(TransientError):
        adapter.location_targets()

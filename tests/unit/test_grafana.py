"""Grafana dashboards: the real httpx client against the stateful fake Grafana (tests/fakes/grafana.py)."""

from __future__ import annotations

import json
import logging
import re
import traceback
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from roadbed.adapters.grafana import MAX_UID, GrafanaDashboards, folder_uid
from roadbed.domain.errors import ConfigurationError, PermanentError, RoadbedError, TransientError
from roadbed.domain.specs import MonitoringSpec
from roadbed.rendering.monitoring import dashboard_uid, render_monitoring
from tests.fakes.grafana import FakeGrafana

TOKEN = "glsa_roadbed_test_token_never_logged_9f8e7d"
TEAM = "payments"


def dashboard(service: str = "orders", environment: str = "dev", team: str = TEAM) -> dict[str, Any]:
    spec = MonitoringSpec(service=service, environment=environment, team=team, namespace=f"{service}-{environment}")
    return json.loads(render_monitoring(spec)[f"monitoring/{environment}/grafana-dashboard.json"])


@pytest.fixture
def fake() -> Iterator[FakeGrafana]:
    with FakeGrafana(token=TOKEN) as server:
        yield server


@pytest.fixture
def grafana(fake: FakeGrafana) -> Iterator[GrafanaDashboards]:
    client = GrafanaDashboards(fake.url, TOKEN, timeout=2.0)
    yield client
    client.close()


def full_text(exc: BaseException) -> str:
    """Everything a log line, a traceback or a Temporal failure could show of `exc` and its causes."""
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.__cause__)


# ---------------------------------------------------------------- push


def test_push_creates_the_team_folder_and_the_dashboard(fake: FakeGrafana, grafana: GrafanaDashboards) -> None:
    board = dashboard()
    ref = grafana.push(board, TEAM)

    uid = dashboard_uid("orders", "dev")
    assert ref.uid == uid and ref.folder_uid == folder_uid(TEAM) == "roadbed-payments" and ref.version == 1
    assert ref.url == f"{fake.url}/d/{uid}/orders-dev"
    assert {f.uid: f.title for f in fake.folders.values()} == {"roadbed-payments": TEAM}
    stored = fake.dashboards[uid]
    assert stored.folder_uid == "roadbed-payments" and stored.version == 1
    assert stored.dashboard["panels"] == board["panels"] and stored.title == "orders (dev)"

    saves = fake.requests_to("POST", "^/api/dashboards/db$")
    assert len(saves) == 1
    assert saves[0].body["overwrite"] is True and saves[0].body["message"] == "roadbed"
    assert saves[0].body["folderUid"] == "roadbed-payments" and saves[0].body["dashboard"]["id"] is None
    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", "/api/folders/roadbed-payments"),
        ("POST", "/api/folders"),
        ("POST", "/api/dashboards/db"),
    ]
    assert {r.headers["authorization"] for r in fake.requests} == {f"Bearer {TOKEN}"}
    assert not any(TOKEN in r.path or TOKEN in json.dumps(r.body) for r in fake.requests)


def test_re_push_is_idempotent_same_uid_version_bumps_no_duplicate(fake: FakeGrafana, grafana: GrafanaDashboards) -> None:
    first = grafana.push(dashboard(), TEAM)
    second = grafana.push(dashboard(), TEAM)

    assert first.version == 1
    assert second.uid == first.uid and second.version == 2
    assert list(fake.dashboards) == [first.uid] and len(fake.folders) == 1
    assert [v.version for v in fake.dashboards[first.uid].versions] == [1, 2]
    assert {v.message for v in fake.dashboards[first.uid].versions} == {"roadbed"}
    assert len(fake.requests_to("POST", "^/api/folders$")) == 1  # the second push found the folder


def test_services_of_one_team_share_its_folder(fake: FakeGrafana, grafana: GrafanaDashboards) -> None:
    grafana.push(dashboard("orders"), TEAM)
    grafana.push(dashboard("ledger"), TEAM)
    grafana.push(dashboard("orders", "prod"), TEAM)
    grafana.push(dashboard("search", team="discovery"), "discovery")

    assert {f.uid: f.title for f in fake.folders.values()} == {"roadbed-payments": TEAM, "roadbed-discovery": "discovery"}
    assert {d.title for d in fake.dashboards_in("roadbed-payments")} == {"orders (dev)", "ledger (dev)", "orders (prod)"}
    assert [d.title for d in fake.dashboards_in("roadbed-discovery")] == ["search (dev)"]


def test_a_folder_created_meanwhile_is_fine(fake: FakeGrafana, grafana: GrafanaDashboards) -> None:
    fake.seed_folder(TEAM, folder_uid(TEAM))
    fake.fail_next("GET", "^/api/folders/roadbed-payments$", 404, message="folder not found")  # the race: absent when read

    ref = grafana.push(dashboard(), TEAM)

    assert ref.folder_uid == "roadbed-payments"
    assert fake.requests_to("POST", "^/api/folders$")[0].status == 409
    assert len(fake.folders) == 1 and fake.dashboards[ref.uid].folder_uid == "roadbed-payments"


@pytest.mark.parametrize("status", [409, 412])
def test_already_exists_answers_on_folder_creation_are_fine(fake: FakeGrafana, grafana: GrafanaDashboards, status: int) -> None:
    fake.fail_next("POST", "^/api/folders$", status, message="the folder has been changed by someone else")
    fake.fail_next("GET", "^/api/folders/roadbed-payments$", 404, times=1)
    fake.seed_folder(TEAM, folder_uid(TEAM))

    assert grafana.push(dashboard(), TEAM).folder_uid == "roadbed-payments"


def test_a_folder_with_the_team_title_made_by_hand_is_adopted(fake: FakeGrafana, grafana: GrafanaDashboards) -> None:
    fake.seed_folder(TEAM, "hand-made-folder")

    ref = grafana.push(dashboard(), TEAM)

    assert ref.folder_uid == "hand-made-folder"
    assert list(fake.folders) == ["hand-made-folder"]
    assert fake.dashboards[ref.uid].folder_uid == "hand-made-folder"


def test_grafana_under_a_sub_path() -> None:
    with FakeGrafana(token=TOKEN, sub_path="grafana") as fake:
        client = GrafanaDashboards(fake.url + "/", TOKEN)
        ref = client.push(dashboard(), TEAM)
        client.close()
        assert fake.url.endswith("/grafana")
        assert ref.url == f"{fake.url}/d/{ref.uid}/orders-dev"
        assert ref.uid in fake.dashboards
        assert all(r.path.startswith("/api/") for r in fake.requests)


def test_folder_uids_are_stable_short_and_distinct() -> None:
    assert folder_uid("payments") == folder_uid("payments") == "roadbed-payments"
    long_a, long_b = "a" * 40 + "-one", "a" * 40 + "-two"
    for team in ("payments", "x", "t" * 31, "t" * 32, long_a, "Team With Spaces"):
        uid = folder_uid(team)
        assert len(uid) <= MAX_UID and re.fullmatch(r"[A-Za-z0-9_-]+", uid), uid
    assert folder_uid(long_a) != folder_uid(long_b)
    assert len(folder_uid("t" * 31)) == 39 and len(folder_uid("t" * 32)) == MAX_UID  # readable and hashed never collide


def test_a_dashboard_without_a_stable_uid_is_refused(fake: FakeGrafana, grafana: GrafanaDashboards) -> None:
    with pytest.raises(PermanentError, match="stable uid"):
        grafana.push({"title": "no uid"}, TEAM)
    assert fake.requests == []


# ---------------------------------------------------------------- removal


def test_remove_deletes_the_dashboard_and_keeps_the_folder(fake: FakeGrafana, grafana: GrafanaDashboards) -> None:
    ref = grafana.push(dashboard(), TEAM)
    other = grafana.push(dashboard("ledger"), TEAM)

    grafana.remove(ref.uid)

    assert list(fake.dashboards) == [other.uid]
    assert list(fake.folders) == ["roadbed-payments"]  # shared by the team: never removed
    grafana.remove(ref.uid)  # already gone: done
    grafana.remove(dashboard_uid("never", "pushed"))
    assert [r.status for r in fake.requests_to("DELETE", ".")] == [200, 404, 404]


# ---------------------------------------------------------------- errors


PUSH_FAULTS = [
    # (method, path, status, error) on the way through a push
    ("GET", "^/api/folders/", 500, TransientError),
    ("GET", "^/api/folders/", 503, TransientError),
    ("GET", "^/api/folders/", 429, TransientError),
    ("GET", "^/api/folders/", 401, PermanentError),
    ("GET", "^/api/folders/", 403, PermanentError),
    ("POST", "^/api/folders$", 502, TransientError),
    ("POST", "^/api/folders$", 400, PermanentError),
    ("POST", "^/api/folders$", 403, PermanentError),
    ("POST", "^/api/dashboards/db$", 500, TransientError),
    ("POST", "^/api/dashboards/db$", 504, TransientError),
    ("POST", "^/api/dashboards/db$", 408, TransientError),
    ("POST", "^/api/dashboards/db$", 429, TransientError),
    ("POST", "^/api/dashboards/db$", 400, PermanentError),
    ("POST", "^/api/dashboards/db$", 401, PermanentError),
    ("POST", "^/api/dashboards/db$", 403, PermanentError),
    ("POST", "^/api/dashboards/db$", 404, PermanentError),
    ("POST", "^/api/dashboards/db$", 412, PermanentError),
    ("POST", "^/api/dashboards/db$", 422, PermanentError),
    ("POST", "^/api/dashboards/db$", 0, TransientError),  # connection dropped
    ("GET", "^/api/folders/", 0, TransientError),
]


@pytest.mark.parametrize(("method", "path", "status", "error"), PUSH_FAULTS)
def test_push_error_translation(
    fake: FakeGrafana, grafana: GrafanaDashboards, method: str, path: str, status: int, error: type[RoadbedError]
) -> None:
    fake.fail_next(method, path, status, message=f"boom {status}")
    with pytest.raises(RoadbedError) as caught:
        grafana.push(dashboard(), TEAM)
    assert type(caught.value) is error
    assert isinstance(caught.value.__cause__, httpx.HTTPError)
    if status:
        assert f"Grafana answered {status}" in str(caught.value) and f"boom {status}" in str(caught.value)
    assert TOKEN not in full_text(caught.value)
    # the workflow retries: once the fault is gone the same push converges
    assert grafana.push(dashboard(), TEAM).uid == dashboard_uid("orders", "dev")
    assert len(fake.dashboards) == 1 and len(fake.folders) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, TransientError),
        (503, TransientError),
        (429, TransientError),
        (0, TransientError),
        (401, PermanentError),
        (403, PermanentError),
        (400, PermanentError),
    ],
)
def test_remove_error_translation(fake: FakeGrafana, grafana: GrafanaDashboards, status: int, error: type[RoadbedError]) -> None:
    ref = grafana.push(dashboard(), TEAM)
    fake.fail_next("DELETE", "^/api/dashboards/uid/", status)
    with pytest.raises(error) as caught:
        grafana.remove(ref.uid)
    assert isinstance(caught.value.__cause__, httpx.HTTPError)
    assert ref.uid in fake.dashboards
    grafana.remove(ref.uid)
    assert fake.dashboards == {}


def test_a_timeout_is_transient(fake: FakeGrafana) -> None:
    client = GrafanaDashboards(fake.url, TOKEN, timeout=0.2)
    fake.fail_next("POST", "^/api/dashboards/db$", 200, delay=1.0)
    with pytest.raises(TransientError, match="did not answer in time") as caught:
        client.push(dashboard(), TEAM)
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)
    client.close()


def test_grafana_that_is_not_there_is_transient() -> None:
    with FakeGrafana() as fake:
        url = fake.url
    client = GrafanaDashboards(url, TOKEN, timeout=1.0)
    with pytest.raises(TransientError, match="cannot reach Grafana") as caught:
        client.push(dashboard(), TEAM)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert TOKEN not in full_text(caught.value)


def test_a_wrong_token_is_permanent_and_never_shown(fake: FakeGrafana, caplog: pytest.LogCaptureFixture) -> None:
    wrong = "glsa_wrong_token_also_secret_123456"
    client = GrafanaDashboards(fake.url, wrong)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PermanentError, match="401") as caught:
        client.push(dashboard(), TEAM)
    assert "invalid API key" in str(caught.value)
    assert wrong not in full_text(caught.value) and TOKEN not in full_text(caught.value)
    assert wrong not in caplog.text
    assert wrong not in repr(client)
    assert fake.folders == {} and fake.dashboards == {}


def test_the_token_is_scrubbed_from_what_grafana_answers(
    fake: FakeGrafana, grafana: GrafanaDashboards, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_next("POST", "^/api/dashboards/db$", 403, message=f"token {TOKEN} lacks dashboards:write")
    with pytest.raises(PermanentError) as caught:
        grafana.push(dashboard(), TEAM)
    assert "lacks dashboards:write" in str(caught.value)
    assert TOKEN not in full_text(caught.value)
    grafana.push(dashboard(), TEAM)
    grafana.remove(dashboard_uid("orders", "dev"))
    assert TOKEN not in caplog.text


def test_a_redirect_is_a_permanent_misconfiguration(fake: FakeGrafana, grafana: GrafanaDashboards) -> None:
    fake.fail_next("GET", "^/api/folders/", 302, message="login")
    with pytest.raises(PermanentError, match="302"):
        grafana.push(dashboard(), TEAM)


@pytest.mark.parametrize(
    ("url", "token", "problem"),
    [
        ("grafana.example.com", TOKEN, "http"),
        ("ftp://grafana.example.com", TOKEN, "http"),
        ("https://admin:secret@grafana.example.com", TOKEN, "credentials"),
        ("https://grafana.example.com", "", "ROADBED_GRAFANA_TOKEN"),
        ("https://grafana.example.com", "  ", "ROADBED_GRAFANA_TOKEN"),
    ],
)
def test_configuration_errors(url: str, token: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem) as caught:
        GrafanaDashboards(url, token)
    assert "secret" not in str(caught.value)


# ---------------------------------------------------------------- the fake itself


def test_the_fake_requires_the_token_and_keeps_versions(fake: FakeGrafana) -> None:
    with httpx.Client(base_url=fake.url) as anonymous:
        answer = anonymous.get("/api/folders")
        assert answer.status_code == 401 and answer.json() == {"message": "Unauthorized"}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=fake.url, headers=headers) as client:
        board = {"uid": "abc", "title": "A"}
        created = client.post("/api/dashboards/db", json={"dashboard": board}).json()
        assert created["version"] == 1 and created["status"] == "success"
        stale = client.post("/api/dashboards/db", json={"dashboard": board | {"version": 0}})
        assert stale.status_code == 412 and stale.json()["status"] == "version-mismatch"
        assert client.post("/api/dashboards/db", json={"dashboard": board | {"version": 1}}).json()["version"] == 2
        assert client.post("/api/dashboards/db", json={"dashboard": board, "overwrite": True}).json()["version"] == 3
        clash = client.post("/api/dashboards/db", json={"dashboard": {"uid": "other", "title": "A"}})
        assert clash.status_code == 412 and clash.json()["status"] == "name-exists"
        assert [v["version"] for v in client.get("/api/dashboards/uid/abc/versions").json()] == [3, 2, 1]
        assert client.get("/api/dashboards/uid/abc").json()["meta"]["folderTitle"] == "General"
        assert client.post("/api/dashboards/db", json={"dashboard": board, "folderUid": "nope"}).status_code == 400
        assert client.post("/api/dashboards/db", json={"dashboard": {"uid": "x" * 41, "title": "B"}}).status_code == 400
        assert client.post("/api/folders", json={"title": "T", "uid": "t"}).status_code == 200
        assert client.post("/api/folders", json={"title": "T", "uid": "t"}).status_code == 409
        assert client.post("/api/folders", json={"title": "T", "uid": "t2"}).status_code == 409
        assert client.get("/api/folders/t").json()["title"] == "T"
        assert client.delete("/api/dashboards/uid/abc").status_code == 200
        assert client.delete("/api/dashboards/uid/abc").status_code == 404

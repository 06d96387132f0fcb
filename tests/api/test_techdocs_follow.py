"""Docs follow their repository, through the app: a commit to docs/ on the embedded host is served and searchable
after a refresh pass; on GitHub (the fake GitHub API, real PyGithub, real bare repositories) a signed `push`
webhook rebuilds them; the same commit is built once; a token's holder can only announce its own team's entities;
the lifespan starts and stops the refresh thread. Real MkDocs builds throughout."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from roadbed.adapters.github_repo_host import GitHubRepoHost
from roadbed.api.app import create_app
from roadbed.api.routers.techdocs import techdocs_for
from roadbed.golden_paths import GoldenPathRegistry, template_parameters
from roadbed.metrics import sources
from roadbed.ports import RepositoryMarker
from roadbed.rendering.skeleton import render_repository
from roadbed.settings import Settings, load_settings
from roadbed.storage import catalog
from roadbed.storage.database import Database
from roadbed.techdocs.refresh import DocsRefresher
from tests.api.conftest import make_token
from tests.api.portal_client import sign_in
from tests.fakes.github import FakeGitHub
from tests.unit.techdocs_repo import BUILTIN, component, golden_repo
from tests.unit.test_reports import github_payload

BUILD = "/v1/techdocs/default/component/orders/build"
ORG = "acme"
TOKEN = "ghp_R0adbedFollowT0ken_0123456789abcdef"
SECRET = "It's a Secret to Everybody"
OLD_WORD, NEW_WORD = "Xylophonic", "Quasarwind"


def index_md(word: str) -> bytes:
    return f"# orders\n\nThe {word} service keeps orders.\n\nWhen an alert fires, follow the [runbook](runbook.md).\n".encode()


def bearer(db: Database, role: str, teams: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(db, role, teams)}"}


def wait_idle(client: TestClient) -> None:
    assert techdocs_for(client.app).queue.wait_idle(120), "builds did not finish"  # type: ignore[arg-type]


def status(client: TestClient, db: Database) -> dict[str, Any]:
    answer = client.get(BUILD, headers=bearer(db, "viewer"))
    assert answer.status_code == 200, answer.text
    return answer.json()


def docs_hits(client: TestClient, db: Database, word: str) -> list[str]:
    hits = client.get("/v1/search", params={"q": word}, headers=bearer(db, "viewer")).json()
    return [hit["url"] for hit in hits if hit["type"] == "docs"]


def builds_logged(caplog: pytest.LogCaptureFixture) -> int:
    return sum(1 for record in caplog.records if record.name == "roadbed.techdocs" and "built from" in record.getMessage())


# -- the embedded host: a refresh pass


@pytest.fixture
def local_app(portal_settings: Settings, portal_db: Database) -> Iterator[TestClient]:
    golden_repo(portal_settings, portal_db, extra_files={"docs/index.md": index_md(OLD_WORD)})
    with TestClient(create_app(portal_settings, portal_db), base_url="http://roadbed") as client:
        yield client


def test_a_docs_commit_is_served_and_searchable_after_a_refresh_pass(local_app: TestClient, portal_settings: Settings, portal_db: Database,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "roadbed.techdocs")
    techdocs = techdocs_for(local_app.app)  # type: ignore[arg-type]
    refresher = DocsRefresher(techdocs, interval=3600)
    first_head = _local_head(portal_settings)
    assert refresher.refresh_once() == ["component:default/orders"]  # never built: the pass builds it
    wait_idle(local_app)
    assert status(local_app, portal_db)["commit"] == first_head
    sign_in(local_app, make_token(portal_db, "viewer"))
    assert OLD_WORD in local_app.get("/docs/default/component/orders/").text
    assert refresher.refresh_once() == []  # nothing changed: nothing queued

    techdocs.host.commit_files("orders", {"docs/index.md": index_md(NEW_WORD)}, "Docs: rename the service's word")
    new_head = _local_head(portal_settings)
    assert new_head != first_head
    assert refresher.refresh_once() == ["component:default/orders"]
    wait_idle(local_app)
    built = status(local_app, portal_db)
    assert built["state"] == "built" and built["commit"] == new_head and "error" not in built
    page = local_app.get("/docs/default/component/orders/").text
    assert NEW_WORD in page and OLD_WORD not in page
    assert docs_hits(local_app, portal_db, NEW_WORD) == ["/docs/default/component/orders/"]
    assert docs_hits(local_app, portal_db, OLD_WORD) == []
    assert refresher.refresh_once() == [] and builds_logged(caplog) == 2  # the same commit is never built again


def test_a_commit_whose_build_fails_is_tried_once(local_app: TestClient, portal_db: Database) -> None:
    techdocs = techdocs_for(local_app.app)  # type: ignore[arg-type]
    refresher = DocsRefresher(techdocs, interval=3600)
    refresher.refresh_once()
    wait_idle(local_app)
    published = status(local_app, portal_db)
    techdocs.host.commit_files("orders", {"mkdocs.yml": b"site_name: [unclosed\n"}, "break the docs")
    assert refresher.refresh_once() == ["component:default/orders"]
    wait_idle(local_app)
    failed = status(local_app, portal_db)
    assert failed["state"] == "failed" and "not plain YAML" in failed["error"]
    assert (failed["commit"], failed["built_at"]) == (published["commit"], published["built_at"])  # the site stays
    assert refresher.refresh_once() == []  # not retried every pass
    techdocs.host.commit_files("orders", {"mkdocs.yml": b"site_name: orders\n"}, "fix the docs")
    assert refresher.refresh_once() == ["component:default/orders"]
    wait_idle(local_app)
    assert status(local_app, portal_db)["state"] == "built"


def test_the_lifespan_starts_and_stops_the_refresh_thread(portal_settings: Settings, portal_db: Database) -> None:
    def refreshing() -> bool:
        return any(thread.name == "techdocs-refresh" and thread.is_alive() for thread in threading.enumerate())

    assert not refreshing()
    with TestClient(create_app(portal_settings, portal_db), base_url="http://roadbed"):
        assert refreshing()
    assert not refreshing()


def _local_head(settings: Settings) -> str:
    from dulwich.repo import Repo

    with Repo(str(settings.git_dir / "repos" / "orders.git")) as repo:
        return repo.refs[b"refs/heads/main"].decode()


# -- GitHub: push webhooks


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "github", token=TOKEN, orgs=(ORG,)) as server:
        yield server
        assert server.errors == [], "the fake itself failed:\n" + "\n".join(server.errors)


def github_settings(tmp_path: Path, fake: FakeGitHub, secret: str | None = SECRET) -> Settings:
    return load_settings(
        home=tmp_path / "home", repo_host="github", github_url=fake.url, github_token=SecretStr(TOKEN), github_org=ORG,
        github_seconds_between_requests=0, github_seconds_between_writes=0,
        github_webhook_secret=SecretStr(secret) if secret else None,
    )


def github_repo(settings: Settings, database: Database, service: str = "orders", team: str = "payments") -> GitHubRepoHost:
    """A repository Roadbed created on (fake) GitHub from python-service, and its Component in the catalog."""
    host = GitHubRepoHost(settings.github_url, TOKEN, ORG, seconds_between_requests=0, seconds_between_writes=0)
    golden_path = GoldenPathRegistry([BUILTIN]).get("python-service")
    files = render_repository(golden_path, template_parameters(golden_path, {"description": f"The {service} service"}, service, team, "dev"))
    marker = RepositoryMarker(service=service, team=team, golden_path="python-service", golden_path_version="1.0.0", environments=("dev",))
    host.ensure_repository(service, marker, {**files, "docs/index.md": index_md(OLD_WORD)}, "Create from python-service")
    with database.transaction() as session:
        catalog.upsert_entities(session, [component(host, service, team)], None, datetime.now(UTC))  # type: ignore[arg-type]
    return host


def push_payload(fake: FakeGitHub, after: str, service: str = "orders", ref: str = "refs/heads/main") -> dict[str, Any]:
    repo = fake.repository(ORG, service)
    return {
        "ref": ref, "before": "0" * 40, "after": after, "deleted": False, "created": False,
        "repository": {
            "name": service, "full_name": f"{ORG}/{service}", "default_branch": "main",
            "clone_url": repo.path.resolve().as_uri(), "html_url": f"https://github.example/{ORG}/{service}",
        },
        "commits": [{"id": after, "message": "docs"}],
    }


def post_push(client: TestClient, payload: dict[str, Any], headers: dict[str, str] | None = None, secret: str | None = SECRET) -> Any:
    body = json.dumps(payload).encode()
    sent = {"X-GitHub-Event": "push", "content-type": "application/json", **(headers or {})}
    if secret:
        sent["X-Hub-Signature-256"] = sources.github_signature(secret, body)
    return client.post("/v1/webhooks/github", content=body, headers=sent)


@pytest.fixture
def github_app(tmp_path: Path, fake: FakeGitHub) -> Iterator[tuple[TestClient, Database]]:
    settings = github_settings(tmp_path, fake)
    database = Database(settings.resolved_database_url)
    database.migrate()
    host = github_repo(settings, database)
    with TestClient(create_app(settings, database), base_url="http://roadbed") as client:
        yield client, database
    host.close()
    database.dispose()


def test_a_signed_push_rebuilds_the_docs_of_a_github_repository_once_per_commit(
    github_app: tuple[TestClient, Database], fake: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "roadbed.techdocs")
    client, database = github_app
    assert not any(thread.name == "techdocs-refresh" for thread in threading.enumerate())  # GitHub sends pushes: no polling
    first = fake.branch_sha(ORG, "orders")
    assert first is not None
    answer = post_push(client, push_payload(fake, first))
    assert answer.status_code == 200, answer.text
    assert answer.json()["docs"] == ["component:default/orders"] and answer.json()["deployments"] == []
    wait_idle(client)
    assert status(client, database)["commit"] == first

    second = fake.commit(ORG, "orders", {"docs/index.md": index_md(NEW_WORD)}, "Docs: rename the service's word")
    for _ in range(3):  # GitHub redelivers; several pushes of one commit make one build
        assert post_push(client, push_payload(fake, second)).status_code == 200
    wait_idle(client)
    built = status(client, database)
    assert built["state"] == "built" and built["commit"] == second
    assert post_push(client, push_payload(fake, second)).json()["docs"] == []  # already built: nothing queued
    wait_idle(client)
    assert builds_logged(caplog) == 2
    sign_in(client, make_token(database, "viewer"))
    page = client.get("/docs/default/component/orders/").text
    assert NEW_WORD in page and OLD_WORD not in page


def test_pushes_that_are_not_about_the_default_branch_queue_nothing(github_app: tuple[TestClient, Database], fake: FakeGitHub) -> None:
    client, database = github_app
    head = fake.branch_sha(ORG, "orders")
    assert head is not None
    for payload in (
        push_payload(fake, head, ref="refs/heads/feature"),
        {**push_payload(fake, head), "deleted": True},
        push_payload(fake, "not-a-sha"),
        {"zen": "Keep it logically awesome."},
    ):
        answer = post_push(client, payload)
        assert answer.status_code == 200 and answer.json()["docs"] == [], answer.text
    unsigned = post_push(client, push_payload(fake, head), secret=None)
    assert unsigned.status_code == 401
    assert client.get(BUILD, headers=bearer(database, "viewer")).status_code == 404  # nothing was ever queued


@pytest.fixture
def token_github_app(tmp_path: Path, fake: FakeGitHub) -> Iterator[tuple[TestClient, Database]]:
    """No webhook secret: senders authenticate with a Roadbed token, as for `/v1/events`."""
    settings = github_settings(tmp_path, fake, secret=None)
    database = Database(settings.resolved_database_url)
    database.migrate()
    host = github_repo(settings, database)
    with TestClient(create_app(settings, database), base_url="http://roadbed") as client:
        yield client, database
    host.close()
    database.dispose()


def test_a_token_holder_announces_pushes_only_for_its_own_teams_entities(token_github_app: tuple[TestClient, Database], fake: FakeGitHub) -> None:
    client, database = token_github_app
    head = fake.branch_sha(ORG, "orders")
    assert head is not None
    other = post_push(client, push_payload(fake, head), bearer(database, "developer", ["billing"]), secret=None)
    assert other.status_code == 403 and other.json()["error"]["code"] == "forbidden"
    assert client.get(BUILD, headers=bearer(database, "viewer")).status_code == 404  # refused: nothing queued
    assert client.post(BUILD, headers=bearer(database, "developer", ["billing"])).status_code == 403  # the build API's rule, the same
    owner = post_push(client, push_payload(fake, head), bearer(database, "developer", ["payments"]), secret=None)
    assert owner.status_code == 200 and owner.json()["docs"] == ["component:default/orders"]
    wait_idle(client)
    assert status(client, database)["commit"] == head


def test_deployment_status_deliveries_are_unchanged(github_app: tuple[TestClient, Database]) -> None:
    client, _database = github_app
    body = json.dumps(github_payload()).encode()
    headers = {"X-GitHub-Event": "deployment_status", "content-type": "application/json", "X-Hub-Signature-256": sources.github_signature(SECRET, body)}
    answer = client.post("/v1/webhooks/github", content=body, headers=headers)
    assert answer.status_code == 200 and len(answer.json()["deployments"]) == 1 and "docs" not in answer.json()

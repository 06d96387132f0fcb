"""Templates as actions on an existing service: "add CODEOWNERS" (tests/fixtures/actions) as a branch on the embedded
host over HTTP with a real worker, and as a pull request on the fake GitHub; bad parameters 422, another team 403."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from roadbed.activities.action import ActionActivities
from roadbed.api.app import create_app
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.settings import Settings, load_settings
from roadbed.storage.database import Database
from roadbed.upgrades import actions, template_store
from roadbed.upgrades.contracts import ActionInput
from roadbed.worker import build_ports
from tests.api.conftest import make_token
from tests.fakes.github import FakeGitHub
from tests.upgrades.provisioned import provision_repository
from tests.upgrades.templates import write_template

FIXTURE = Path(__file__).parent.parent / "fixtures" / "actions" / "add-codeowners"
TOKEN = "ghp_action_test_token"
CODEOWNERS = "# orders: every file\n* @acme/payments\n"


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    write_template(root, "1.0.0")
    shutil.copytree(FIXTURE, root / "add-codeowners")
    return root


def git(repository: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repository), *args], capture_output=True, text=True, check=True).stdout


def auth(database: Database, role: str, teams: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(database, role, teams)}"}


class TestEmbeddedHost:
    pytestmark = pytest.mark.asyncio(loop_scope="session")

    @pytest.fixture
    def settings(self, tmp_path: Path, templates: Path) -> Settings:
        return load_settings(home=tmp_path / "home", task_queue=f"roadbed-{tmp_path.name}", golden_paths_dirs=str(templates))

    @pytest_asyncio.fixture(loop_scope="session")
    async def api(self, settings: Settings, database: Database, client: Client, worker: None) -> AsyncIterator[httpx.AsyncClient]:
        template_store.store_all(database, GoldenPathRegistry(settings.golden_path_dirs))
        provision_repository(settings, database, "orders", "1.0.0")
        app = create_app(settings, database)
        async with app.router.lifespan_context(app):
            app.state.roadbed.client = client
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://roadbed") as http:
                yield http

    async def wait_open(self, api: httpx.AsyncClient, action_id: str, headers: dict[str, str]) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            action = (await api.get(f"/v1/actions/{action_id}", headers=headers)).json()
            if action["status"] != "PENDING":
                return action
            await asyncio.sleep(0.1)
        raise AssertionError(f"{action_id} stayed PENDING")

    async def test_an_action_writes_its_files_to_a_branch_and_leaves_the_default_branch_alone(
        self, api: httpx.AsyncClient, database: Database, settings: Settings
    ) -> None:
        payments = auth(database, "developer", ["payments"])
        listed = {gp["name"]: gp for gp in (await api.get("/v1/golden-paths", headers=payments)).json()}
        assert listed["add-codeowners"]["action"] is True and listed["add-codeowners"]["valid"] is True
        assert listed["svc"]["action"] is False

        bare = settings.git_dir / "repos" / "orders.git"
        main_head = git(bare, "rev-parse", "refs/heads/main").strip()
        environments = (await api.get("/v1/environments", headers=payments)).json()

        bad = await api.post("/v1/services/orders/actions", json={"template": "add-codeowners", "parameters": {"reviewers": "payments"}}, headers=payments)
        assert bad.status_code == 422, bad.text
        assert [d["field"] for d in bad.json()["error"]["details"]] == ["parameters.reviewers"]
        missing = await api.post("/v1/services/orders/actions", json={"template": "add-codeowners", "parameters": {}}, headers=payments)
        assert missing.status_code == 422 and [d["field"] for d in missing.json()["error"]["details"]] == ["parameters.reviewers"]
        not_action = await api.post("/v1/services/orders/actions", json={"template": "svc", "parameters": {}}, headers=payments)
        assert not_action.status_code == 422 and [d["field"] for d in not_action.json()["error"]["details"]] == ["template"]
        body = {"template": "add-codeowners", "parameters": {"reviewers": "@acme/payments"}}
        assert (await api.post("/v1/services/orders/actions", json=body, headers=auth(database, "developer", ["checkout"]))).status_code == 403
        assert (await api.post("/v1/services/orders/actions", json=body, headers=auth(database, "viewer"))).status_code == 403
        assert (await api.post("/v1/services/nope/actions", json=body, headers=payments)).status_code == 404
        assert git(bare, "for-each-ref", "--format=%(refname)") == "refs/heads/main\n"  # nothing refused wrote anything

        started = await api.post("/v1/services/orders/actions", json=body, headers=payments)
        assert started.status_code == 202, started.text
        assert started.json()["branch"] == "add-codeowners"
        action = await self.wait_open(api, started.json()["id"], payments)
        assert action["status"] == "OPEN", action
        assert action["files"] == [{"path": ".github/CODEOWNERS", "result": "added"}]
        assert action["title"] == "Add CODEOWNERS to orders" and action["pull_request_url"] is None
        assert git(bare, "rev-list", "--parents", "-n", "1", "refs/heads/add-codeowners").split()[1:] == [main_head]
        assert git(bare, "show", "add-codeowners:.github/CODEOWNERS") == CODEOWNERS
        tree = git(bare, "ls-tree", "-r", "--name-only", "add-codeowners").split()
        assert "NOT_PUBLISHED.md" not in tree and "owners/CODEOWNERS" not in tree and "app.py" in tree
        assert git(bare, "rev-parse", "refs/heads/main").strip() == main_head  # the default branch is untouched
        assert (await api.get("/v1/environments", headers=payments)).json() == environments  # no new environment
        assert sorted(p.name for p in (settings.git_dir / "repos").iterdir()) == ["orders.git"]  # no new repository
        assert (await api.get("/v1/actions/act_nope", headers=payments)).status_code == 404


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "github", token=TOKEN, orgs=("acme",)) as fake:
        yield fake
        assert fake.errors == [], "the fake itself failed:\n" + "\n".join(fake.errors)


def test_an_action_on_github_opens_one_pull_request(tmp_path: Path, templates: Path, github: FakeGitHub, database: Database) -> None:
    settings = load_settings(
        home=tmp_path / "home", repo_host="github", github_url=github.url, github_token=TOKEN, github_org="acme",
        github_seconds_between_requests=0, github_seconds_between_writes=0, golden_paths_dirs=str(templates),
    )
    registry = GoldenPathRegistry(settings.golden_path_dirs)
    template_store.store_all(database, registry)
    provision_repository(settings, database, "orders", "1.0.0")
    bare = github.repo_path("acme", "orders")
    main = git(bare, "rev-parse", "main").strip()

    parameters = {"reviewers": "@acme/payments"}
    row = actions.create(database, actions.plan_action(database, registry, "orders", "add-codeowners", parameters), parameters, datetime.now(UTC))
    activities = ActionActivities(build_ports(settings, database))
    commit = ActivityEnvironment().run(activities.write_branch, ActionInput(action_id=row.id))
    assert git(bare, "rev-list", "--parents", "-n", "1", "add-codeowners").split() == [commit, main]
    assert git(bare, "show", "add-codeowners:.github/CODEOWNERS") == CODEOWNERS and git(bare, "rev-parse", "main").strip() == main
    [pull] = next(repo for repo in github.repositories.values() if repo.name == "orders").pulls
    assert pull["state"] == "open" and pull["head"]["ref"] == "add-codeowners" and pull["base"]["ref"] == "main"
    assert pull["title"] == "Add CODEOWNERS to orders" and pull["body"] == "Changes to orders are reviewed by @acme/payments."
    stored = actions.require(database, row.id)
    assert stored.status == "OPEN" and (stored.pull_request_url or "").endswith(f"/acme/orders/pull/{pull['number']}")

    ActivityEnvironment().run(activities.write_branch, ActionInput(action_id=row.id))  # asked again: the same pull request
    assert len(next(repo for repo in github.repositories.values() if repo.name == "orders").pulls) == 1

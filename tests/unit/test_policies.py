"""The policy engine and its CLI on the shipped policies (repository `policies/`): loading and hashing, decisions,
caps, refusals of a broken or ill-shaped set, `roadbed policy test` and `roadbed policy eval`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadbed.cli.main import app
from roadbed.policies import PolicyEngine, PolicyUnavailable, apply_caps, load_policies, policy_input
from roadbed.policies.testing import run_tests

REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"
runner = CliRunner()
GOLDEN = {"name": "python-service", "version": "1.0.0", "tags": ["python"]}


def request(environment: str = "dev", **extra: object) -> dict[str, object]:
    return {"service": "pay-api", "team": "payments", "golden_path": "python-service", "environment": environment,
            "parameters": {"labels": {"cost-center": "cc-1", "data-classification": "internal"}}, "resources": []} | extra


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(REPO_POLICIES, target)
    return target


def test_the_set_is_versioned_by_its_content(policies: Path) -> None:
    first = load_policies([policies])
    assert not first.broken and len(first.policies) == 5 and load_policies([policies]).sha256 == first.sha256
    (policies / "no_public_bucket.rego").write_text((policies / "no_public_bucket.rego").read_text() + "\n# changed\n")
    assert load_policies([policies]).sha256 != first.sha256


def test_files_that_do_not_load_are_errors(policies: Path, tmp_path: Path) -> None:
    (policies / "syntax.rego").write_text("package roadbed.policies.syntax\ndeny contains x if {\n")
    (policies / "elsewhere.rego").write_text("package somewhere.else\nx := 1\n")
    loaded = load_policies([policies, tmp_path / "missing"])
    assert sorted(Path(e.path).name for e in loaded.errors) == ["elsewhere.rego", "missing", "syntax.rego"]
    with pytest.raises(PolicyUnavailable, match="syntax.rego"):
        PolicyEngine(loaded).decide(policy_input("create", request(), GOLDEN, None, None))


def test_a_rule_of_the_wrong_shape_refuses_rather_than_allows(tmp_path: Path) -> None:
    (tmp_path / "odd.rego").write_text('package roadbed.policies.odd\n\ndeny contains 42 if true\ncap contains {"field": "ttl_seconds"} if true\n')
    with pytest.raises(PolicyUnavailable, match="odd"):
        PolicyEngine(load_policies([tmp_path])).decide(policy_input("create", request(), GOLDEN, None, None))


def test_no_policies_allow_everything() -> None:
    decision = PolicyEngine(load_policies([])).decide(policy_input("create", request(), GOLDEN, None, None))
    assert not decision.denied and not decision.requires_approval and decision.caps == ()


def test_caps_lower_and_never_raise_or_add() -> None:
    engine = PolicyEngine(load_policies([REPO_POLICIES]))
    document = policy_input("create", request(ttl="30d"), GOLDEN, {"role": "developer", "teams": ["payments"]}, None)
    assert document["request"]["ttl_seconds"] == 30 * 86400
    decision = engine.decide(document)
    capped, applied = apply_caps(document["request"], decision.caps)
    assert capped["ttl_seconds"] == 604800 and capped["ttl"] == "604800s" and [c.policy for c in applied] == ["max_ttl"]
    short = policy_input("create", request(ttl="2d"), GOLDEN, None, None)
    assert apply_caps(short["request"], engine.decide(short).caps) == (short["request"], [])
    none = policy_input("create", request(), GOLDEN, None, None)
    assert apply_caps(none["request"], engine.decide(none).caps)[0]["ttl_seconds"] is None


def test_the_shipped_rego_tests_pass_and_a_failing_one_is_reported(policies: Path) -> None:
    report = run_tests([REPO_POLICIES])
    assert report.ok and len(report.results) >= 15
    (policies / "extra_test.rego").write_text(
        "package roadbed.policies.extra_test\n\nimport data.roadbed.policies.no_public_bucket\n\n"
        'test_wrong if {\n\tcount(no_public_bucket.violations({"request": {"resources": []}})) == 1\n}\n'
    )
    failed = run_tests([policies])
    assert not failed.ok and [(r.name, r.outcome) for r in failed.results if r.outcome != "pass"] == [("test_wrong", "fail")]


def test_cli_policy_test(policies: Path) -> None:
    result = runner.invoke(app, ["policy", "test", "--dir", str(policies)])
    assert result.exit_code == 0, result.output
    assert "test_public_bucket_is_denied\tpass" in result.stdout
    (policies / "max_ttl.rego").write_text("package roadbed.policies.max_ttl\ncap contains {\n")
    broken = runner.invoke(app, ["policy", "test", "--dir", str(policies), "--json"])
    assert broken.exit_code == 1 and json.loads(broken.stdout)["errors"][0]["path"].endswith("max_ttl.rego")


def test_cli_policy_eval_explains_and_exits_1_when_denied(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed.json"
    allowed.write_text(json.dumps(request(ttl="30d")))
    result = runner.invoke(app, ["policy", "eval", "--dir", str(REPO_POLICIES), "--request", str(allowed)])
    assert result.exit_code == 0, result.output
    assert "cap     max_ttl: ttl_seconds <= 604800 (lowers this request's value)" in result.stdout
    assert "decision: allowed; ttl_seconds becomes 604800" in result.stdout

    denied = tmp_path / "denied.json"
    denied.write_text(json.dumps(request("prod", resources=[{"type": "bucket", "name": "assets", "public": True}])))
    result = runner.invoke(app, ["policy", "eval", "--dir", str(REPO_POLICIES), "--request", str(denied), "--json"])
    assert result.exit_code == 1
    decision = json.loads(result.stdout)["decision"]
    assert {d["policy"] for d in decision["deny"]} == {"no_public_bucket", "prod_approval"}
    assert decision["require_approval"][0]["policy"] == "prod_approval"

    assert runner.invoke(app, ["policy", "eval", "--request", str(allowed)]).exit_code == 2  # no ROADBED_POLICY_DIRS, no --dir


def test_a_broken_file_is_logged_when_loaded(policies: Path, caplog: pytest.LogCaptureFixture) -> None:
    from roadbed.policies import policy_engine

    (policies / "broken.rego").write_text("package roadbed.policies.broken\ndeny contains x if {\n")
    with caplog.at_level("ERROR", logger="roadbed.policies"):
        engine = policy_engine([policies])
    assert engine.policies.broken
    assert any("broken.rego" in r.getMessage() and "refused" in r.getMessage() for r in caplog.records)

"""Roadbed writes plain YAML (no `&id001` anchors) and its pods run as a numeric non-root user (issue 11)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from roadbed.adapters.gitops import GitOpsDeployer, environment_path
from roadbed.adapters.local_git import LocalGitRepoHost
from roadbed.domain.naming import GITOPS_REPOSITORY
from roadbed.rendering import monitoring_yaml
from roadbed.rendering.manifests import render_manifests
from roadbed.rendering.plain_yaml import dump, dump_all
from tests.unit.test_rendering_misc import by_kind, workload

ROOT = Path(__file__).resolve().parents[2]
ANCHOR_OR_ALIAS = re.compile(r"[&*]id\d+")
SHARED = {"app": "orders", "team": "payments"}
DOCUMENT = {"metadata": {"labels": SHARED}, "spec": {"selector": SHARED, "template": {"metadata": {"labels": SHARED}}}}


def test_a_dict_shared_twice_is_written_out_twice() -> None:
    assert "&id" in yaml.safe_dump(DOCUMENT)  # what PyYAML does on its own
    text = dump(DOCUMENT)
    assert not ANCHOR_OR_ALIAS.search(text), text
    assert text.count("team: payments") == 3
    assert yaml.safe_load(text) == DOCUMENT
    assert list(yaml.safe_load(text)) == ["metadata", "spec"]  # key order kept


def test_several_documents_share_objects_without_aliases() -> None:
    text = dump_all([DOCUMENT, {"labels": SHARED}])
    assert not ANCHOR_OR_ALIAS.search(text), text
    assert list(yaml.safe_load_all(text)) == [DOCUMENT, {"labels": SHARED}]


def test_monitoring_yaml_keeps_block_strings_and_has_no_aliases() -> None:
    text = monitoring_yaml.dump({"a": SHARED, "b": SHARED, "expr": "sum(x)\n/ sum(y)"})
    assert not ANCHOR_OR_ALIAS.search(text), text
    assert "expr: |" in text


def test_gitops_manifests_are_plain_yaml(tmp_path: Path) -> None:
    repo_host = LocalGitRepoHost(tmp_path / "repos")
    spec = workload()
    GitOpsDeployer(repo_host).deploy(spec, render_manifests(spec))
    files = [path for path in repo_host.list_files(GITOPS_REPOSITORY) if path.endswith(".yaml")]
    assert any(path.startswith(environment_path(spec.namespace)) for path in files)
    for path in files:
        text = (repo_host.read_file(GITOPS_REPOSITORY, path) or b"").decode()
        assert not ANCHOR_OR_ALIAS.search(text), f"{path}:\n{text}"
    deployment = next(p for p in files if p.endswith("-deployment.yaml"))
    assert yaml.safe_load(repo_host.read_file(GITOPS_REPOSITORY, deployment) or b"") == by_kind(render_manifests(spec))["Deployment"]


# activities/provisioning.py is owned by another change in flight; it still calls yaml.safe_dump_all for
# catalog-info.yaml and must switch to roadbed.rendering.plain_yaml.dump_all. Remove it here once it has.
_PENDING: set[str] = set()


def test_no_yaml_is_dumped_outside_the_shared_dumper() -> None:
    sources = [p for folder in ("roadbed", "api", "workflows", "activities") for p in (ROOT / folder).rglob("*.py")]
    calls = re.compile(r"\byaml\.(safe_dump|dump|safe_dump_all|dump_all)\(")
    offenders = {str(p.relative_to(ROOT)) for p in sources if calls.search(p.read_text()) and p.name != "plain_yaml.py"}
    assert offenders <= _PENDING, offenders


def test_pods_run_as_a_numeric_non_root_user() -> None:
    for kind in ("service", "worker"):
        pod = by_kind(render_manifests(workload(kind)))["Deployment"]["spec"]["template"]["spec"]
        assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532}
        (container,) = pod["containers"]
        assert container["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False

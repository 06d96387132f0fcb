"""Where a golden path's files come from, decided when templates are discovered rather than when one runs.

A template repository is a `ROADBED_GOLDEN_PATHS_DIRS` entry: skeleton urls may leave the template's own folder
(`../../skeletons/x`, shared skeletons as public template repositories have them) but never that root, also not
through a symlink; remote urls are listed invalid up front. Discovery finds every `*.yaml` of `kind: Template`,
and one that does not parse is listed invalid with the parser's line and column while the app still starts.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from roadbed.api.app import create_app
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.rendering.skeleton import UnsafeTemplatePath, render_repository
from roadbed.settings import load_settings
from roadbed.storage.database import Database
from tests.api.conftest import make_token

PARAMETERS = {"name": "orders", "owner": "payments"}


def write_template(path: Path, name: str, steps: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": name}, "spec": {"steps": steps}}
    path.write_text(yaml.safe_dump(document))
    return path


def fetch(url: str, **extra: Any) -> dict[str, Any]:
    return {"id": "fetch", "action": "fetch:template", "input": {"url": url, "values": {"name": "${{ parameters.name }}"}, **extra}}


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A template repository as public ones are laid out: templates in nested folders, shared skeletons at the top."""
    root = tmp_path / "templates"
    (root / "skeletons" / "service").mkdir(parents=True)
    (root / "skeletons" / "service" / "README.md").write_text("# ${{ values.name }}\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("not for templates\n")
    return root


def test_a_url_that_leaves_the_template_folder_but_stays_in_the_repository_works(repository: Path) -> None:
    write_template(repository / "templates" / "go" / "template.yaml", "go", [fetch("../../skeletons/service")])
    golden_path = GoldenPathRegistry([repository]).get("go")
    assert golden_path.valid, golden_path.problems
    assert golden_path.root == repository
    assert render_repository(golden_path, PARAMETERS) == {"README.md": b"# orders\n"}


def test_a_url_beyond_the_repository_root_is_listed_invalid_at_discovery(repository: Path) -> None:
    write_template(repository / "templates" / "escape" / "template.yaml", "escape", [fetch("../../../outside")])
    write_template(repository / "templates" / "etc" / "template.yaml", "etc", [fetch("../../../../../../../../etc")])
    registry = GoldenPathRegistry([repository])
    for name, url in (("escape", "../../../outside"), ("etc", "../../../../../../../../etc")):
        golden_path = registry.get(name)
        assert not golden_path.valid
        assert golden_path.problems == [f"step 'fetch': url {url!r} leaves the template repository 'templates' (the ROADBED_GOLDEN_PATHS_DIRS entry it is in)"]
    with pytest.raises(UnsafeTemplatePath, match="leaves the template repository"):
        render_repository(registry.get("escape"), PARAMETERS)  # and never rendered, should it be run anyway


def test_a_symlink_out_of_the_repository_is_refused(repository: Path) -> None:
    folder = repository / "linked"
    write_template(folder / "template.yaml", "linked", [fetch("./skeleton")])
    os.symlink(repository.parent / "outside", folder / "skeleton")
    golden_path = GoldenPathRegistry([repository]).get("linked")
    assert golden_path.problems == ["step 'fetch': url './skeleton' leaves the template repository 'templates' (the ROADBED_GOLDEN_PATHS_DIRS entry it is in)"]
    with pytest.raises(UnsafeTemplatePath):
        render_repository(golden_path, PARAMETERS)


def test_a_symlink_that_stays_inside_the_repository_is_followed(repository: Path) -> None:
    folder = repository / "aliased"
    write_template(folder / "template.yaml", "aliased", [fetch("./skeleton")])
    os.symlink(repository / "skeletons" / "service", folder / "skeleton")
    golden_path = GoldenPathRegistry([repository]).get("aliased")
    assert golden_path.valid, golden_path.problems
    assert render_repository(golden_path, PARAMETERS) == {"README.md": b"# orders\n"}


def test_a_templated_url_is_checked_when_it_renders(repository: Path) -> None:
    write_template(repository / "dynamic" / "template.yaml", "dynamic", [fetch("${{ parameters.where }}")])
    golden_path = GoldenPathRegistry([repository]).get("dynamic")
    assert golden_path.valid, golden_path.problems
    assert render_repository(golden_path, PARAMETERS | {"where": "../skeletons/service"}) == {"README.md": b"# orders\n"}
    with pytest.raises(UnsafeTemplatePath, match="leaves the template repository"):
        render_repository(golden_path, PARAMETERS | {"where": "../../outside"})


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://github.com/backstage/software-templates/tree/main/scaffolder-templates/react-ssr-template/skeleton", "remote url"),
        ("https://gitlab.com/group/templates/-/tree/main/skeleton", "remote url"),
        ("/etc", "absolute url '/etc' is not supported"),
    ],
)
def test_remote_and_absolute_urls_are_listed_invalid_up_front(repository: Path, url: str, reason: str) -> None:
    write_template(repository / "remote" / "template.yaml", "remote", [fetch(url)])
    golden_path = GoldenPathRegistry([repository]).get("remote")
    assert not golden_path.valid
    assert len(golden_path.problems) == 1 and reason in golden_path.problems[0] and url in golden_path.problems[0]


def test_fetch_plain_file_copies_one_file_keeping_its_mode(repository: Path) -> None:
    script = repository / "skeletons" / "run.sh"
    script.write_text("#!/bin/sh\necho ${{ values.name }}\n")
    script.chmod(0o755)
    steps = [
        fetch("../skeletons/service"),
        {"id": "script", "action": "fetch:plain:file", "input": {"url": "../skeletons/run.sh", "targetPath": "bin/run.sh"}},
    ]
    write_template(repository / "with-file" / "template.yaml", "with-file", steps)
    golden_path = GoldenPathRegistry([repository]).get("with-file")
    assert golden_path.valid, golden_path.problems
    files = render_repository(golden_path, PARAMETERS)
    assert files == {"README.md": b"# orders\n", "bin/run.sh": b"#!/bin/sh\necho ${{ values.name }}\n"}
    assert files.executable == {"bin/run.sh"}


def test_fetch_plain_file_needs_a_target_path(repository: Path) -> None:
    write_template(repository / "no-target" / "template.yaml", "no-target", [{"id": "f", "action": "fetch:plain:file", "input": {"url": "../skeletons/service/README.md"}}])
    with pytest.raises(Exception, match="fetch:plain:file needs a targetPath"):
        render_repository(GoldenPathRegistry([repository]).get("no-target"), PARAMETERS)


# -- discovery


BROKEN = "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: broken\n  title: [unclosed\nspec: {}\n"


def test_any_yaml_of_kind_template_is_found_and_one_that_does_not_parse_is_listed_with_line_and_column(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_template(root / "service-template.yaml", "top-level", [fetch("./skeletons/service")])
    write_template(root / "nested" / "deeper" / "oneof-example.yaml", "nested", [fetch("./skeleton")])
    (root / "nested" / "deeper" / "catalog-info.yaml").write_text("apiVersion: backstage.io/v1alpha1\nkind: Location\nspec: {targets: [./oneof-example.yaml]}\n")
    (root / "multi").mkdir()
    (root / "multi" / "templates.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\n---\n" + yaml.safe_dump(
            {"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": "second-document"}, "spec": {"steps": [fetch("./skeleton")]}}
        )
    )
    (root / "bad").mkdir()
    (root / "bad" / "service.yaml").write_text(BROKEN)
    (root / "chart" / "templates").mkdir(parents=True)
    (root / "chart" / "template.yaml.keep").write_text("")
    (root / "chart" / "templates" / "deployment.yaml").write_text("kind: Deployment\nmetadata: {{ .Values.name }\n")
    listed = {gp.name: gp for gp in GoldenPathRegistry([root]).list()}
    assert {"top-level", "nested", "second-document", "service"} <= listed.keys()
    assert listed["top-level"].valid and listed["nested"].valid and listed["second-document"].valid, [gp.problems for gp in listed.values()]
    broken = listed["service"]
    assert not broken.valid
    assert broken.problems == ["YAML syntax error at line 6, column 5: expected ',' or ']', but got ':'"]
    assert "deployment" not in listed and all("Deployment" not in " ".join(gp.problems) for gp in listed.values())


def test_the_app_starts_with_a_template_that_does_not_parse_and_lists_it(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    (extra / "bad").mkdir(parents=True)
    (extra / "bad" / "backend-template.yaml").write_text(BROKEN)
    settings = load_settings(home=tmp_path / "home", golden_paths_dirs=str(extra))
    database = Database(settings.resolved_database_url)
    database.migrate()
    try:
        with TestClient(create_app(settings, database), base_url="http://roadbed") as client:
            listed = client.get("/v1/golden-paths", headers={"Authorization": f"Bearer {make_token(database, 'viewer')}"}).json()
    finally:
        database.dispose()
    by_name = {gp["name"]: gp for gp in listed}
    assert by_name["python-service"]["valid"]
    assert by_name["backend-template"]["valid"] is False
    assert by_name["backend-template"]["problems"][0].startswith("YAML syntax error at line ")
    assert ", column " in by_name["backend-template"]["problems"][0]


def test_modes_are_not_lost_through_a_shared_skeleton(repository: Path) -> None:
    tool = repository / "skeletons" / "service" / "tool.sh"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    write_template(repository / "a" / "b" / "template.yaml", "modes", [fetch("../../skeletons/service")])
    files = render_repository(GoldenPathRegistry([repository]).get("modes"), PARAMETERS)
    assert files.executable == {"tool.sh"}


def test_a_step_that_loops_with_each_is_listed_invalid(repository: Path) -> None:
    looped = fetch("../skeletons/service") | {"each": "${{ parameters.services }}"}
    write_template(repository / "looped" / "template.yaml", "looped", [looped])
    golden_path = GoldenPathRegistry([repository]).get("looped")
    assert golden_path.problems == ["step 'fetch' loops with each:, which Roadbed does not support"]
    assert golden_path.unsupported_actions == []


def test_a_change_to_a_shared_skeleton_is_a_new_version(repository: Path) -> None:
    write_template(repository / "templates" / "go" / "template.yaml", "go", [fetch("../../skeletons/service")])
    before = GoldenPathRegistry([repository]).get("go").version
    assert before.startswith("0.0.0+") and GoldenPathRegistry([repository]).get("go").version == before
    (repository / "skeletons" / "service" / "README.md").write_text("# ${{ values.name }} v2\n")
    assert GoldenPathRegistry([repository]).get("go").version != before


def test_a_folder_of_shared_skeletons_is_not_listed_as_a_broken_template(repository: Path) -> None:
    (repository / "common" / "base").mkdir(parents=True)
    (repository / "common" / "base" / "Makefile").write_text("all:\n")
    (repository / "notes").mkdir()
    write_template(repository / "templates" / "go" / "template.yaml", "go", [fetch("../../skeletons/service"), fetch("../../common/base") | {"id": "base"}])
    listed = {gp.name: gp for gp in GoldenPathRegistry([repository]).list()}
    assert listed["go"].valid, listed["go"].problems
    assert "skeletons" not in listed and "common" not in listed
    assert listed["notes"].problems == ["has no template.yaml (nor any *.yaml of kind: Template)"]

"""Every golden-path version used stays reproducible: a run renders from the version recorded at submission."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from temporalio.testing import ActivityEnvironment

from roadbed.activities.contracts import StepInput
from roadbed.activities.provisioning import ProvisioningActivities
from roadbed.domain.errors import PermanentError
from roadbed.domain.models import EnvironmentOutputs, EnvironmentRequest, EnvironmentStatus, ProvisionInput
from roadbed.golden_paths import GoldenPathRegistry, template_parameters
from roadbed.rendering.skeleton import render_repository
from roadbed.settings import Settings, load_settings
from roadbed.storage import environments
from roadbed.storage.database import Database
from roadbed.upgrades import template_store
from roadbed.upgrades.tables import TemplateBlobRow, TemplateVersionRow
from roadbed.worker import build_ports
from tests.upgrades.templates import write_template

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    write_template(root, "1.0.0", files={"logo.png": b"\x89PNG\r\n\x1a\n\x00\x01v1"})
    return root


@pytest.fixture
def settings(tmp_path: Path, templates: Path) -> Settings:
    return load_settings(home=tmp_path / "home", task_queue=f"roadbed-{tmp_path.name}", golden_paths_dirs=str(templates))


def provision(environment_id: str, version: str) -> ProvisionInput:
    request = EnvironmentRequest(service="orders", team="payments", golden_path="svc", environment="dev", parameters={"greeting": "hi"})
    return ProvisionInput(environment_id=environment_id, request=request, golden_path_version=version, requested_at=T0)


def repository_files(settings: Settings, database: Database) -> dict[str, bytes]:
    host = build_ports(settings, database).repo_host
    return {path: host.read_file("orders", path) or b"" for path in host.list_files("orders")}


def run_repository_step(settings: Settings, database: Database, accepted: ProvisionInput) -> None:
    """The repository step as the worker runs it, with the golden paths the worker would load right now."""
    step = StepInput(provision=accepted, outputs=EnvironmentOutputs())
    ActivityEnvironment().run(ProvisioningActivities(build_ports(settings, database)).repository, step)


def test_a_retry_after_the_template_moved_on_renders_the_recorded_version_byte_for_byte(
    settings: Settings, database: Database, templates: Path
) -> None:
    template_store.store_all(database, GoldenPathRegistry(settings.golden_path_dirs))  # as the API does at start
    accepted = provision("env_1", "1.0.0")
    with database.transaction() as session:
        environments.insert_environment(session, accepted, "provision/orders/env_1", EnvironmentStatus.RUNNING)
    run_repository_step(settings, database, accepted)
    first = repository_files(settings, database)
    assert b"# orders says hi" in first["app.py"] and first["LICENSE"] == b"MIT\n" and first["logo.png"].endswith(b"v1")

    write_template(templates, "2.0.0", app="# {name} now says {greeting} loudly\n", files={"logo.png": b"\x89PNG\r\n\x1a\n\x00\x02v2"})
    build_ports(settings, database).repo_host.delete_repository("orders")  # the retry renders and creates it again
    run_repository_step(settings, database, accepted)

    again = repository_files(settings, database)
    assert again == first
    host = build_ports(settings, database).repo_host
    assert "scripts/run.sh" in host.list_files("orders")
    with database.transaction() as session:
        assert set(session.scalars(select(TemplateVersionRow.version))) == {"1.0.0"}  # the run stores nothing of 2.0.0


def render(golden_path, version_values: dict[str, str]):  # type: ignore[no-untyped-def]
    return render_repository(golden_path, template_parameters(golden_path, version_values, "orders", "payments", "dev"))


def test_every_stored_version_renders_again_as_it_did_and_the_current_one_takes_the_fast_path(database: Database, templates: Path) -> None:
    registry_v1 = GoldenPathRegistry([templates])
    template_store.store_all(database, registry_v1)
    v1_files = render(registry_v1.get("svc"), {"greeting": "hi"})
    write_template(templates, "2.0.0", app="# {name} v2 {greeting}\n")
    registry_v2 = GoldenPathRegistry([templates])
    template_store.store_all(database, registry_v2)

    with template_store.golden_path_at(database, registry_v2, "svc", "2.0.0") as current:
        assert current is registry_v2.get("svc")  # the folder holds it: rendered from there
    with template_store.golden_path_at(database, registry_v2, "svc", "1.0.0") as past:
        assert past.version == "1.0.0" and past.directory != registry_v1.get("svc").directory
        again = render(past, {"greeting": "hi"})
    assert again == v1_files and again.executable == v1_files.executable == {"scripts/run.sh"}
    assert not past.directory.exists()  # the temporary copy is gone
    assert template_store.stored_versions(database, "svc") == ["1.0.0", "2.0.0"]
    with database.transaction() as session:  # LICENSE and run.sh are the same bytes in both: stored once
        assert session.scalar(select(func.count()).select_from(TemplateBlobRow)) == 6 + 3  # v2 changed template.yaml, app.py, README.md


def test_a_version_changed_without_a_new_number_keeps_its_first_content(database: Database, templates: Path) -> None:
    registry = GoldenPathRegistry([templates])
    first = render(registry.get("svc"), {})
    template_store.store_all(database, registry)
    write_template(templates, "1.0.0", app="# edited in place {name}\n")
    edited = GoldenPathRegistry([templates])
    with template_store.golden_path_at(database, edited, "svc", "1.0.0") as golden_path:
        assert golden_path is not edited.get("svc")
        assert render(golden_path, {}) == first


def test_a_version_never_stored_and_gone_from_the_folder_is_a_clear_permanent_error(database: Database, templates: Path) -> None:
    registry = GoldenPathRegistry([templates])
    with pytest.raises(PermanentError, match=r"'svc' version '0.9.0' is not stored"), template_store.golden_path_at(database, registry, "svc", "0.9.0"):
        pass


def test_replicas_storing_the_same_version_at_once_all_succeed_with_one_row(any_database: Database, templates: Path) -> None:
    registry = GoldenPathRegistry([templates])
    errors: list[BaseException] = []

    def store() -> None:
        try:
            template_store.store(any_database, registry.get("svc"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=store) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with any_database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(TemplateVersionRow)) == 1
        files = session.scalar(select(TemplateVersionRow.files))
    assert {entry["path"] for entry in files} == {
        "svc/template.yaml", "svc/skeleton/app.py", "svc/skeleton/README.md", "svc/skeleton/scripts/run.sh", "svc/skeleton/logo.png", "skeletons/common/LICENSE",
    }
    assert next(entry["mode"] for entry in files if entry["path"].endswith("run.sh")) == 0o755

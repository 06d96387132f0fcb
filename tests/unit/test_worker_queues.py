"""`roadbed worker --queue … --max-concurrent-activities N`: bad usage is one line and exit 2, the caps and queue
names come from the settings, and the workflows derive the Terraform queue's name the same way the settings do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadbed.cli.main import app
from roadbed.cli.processes import SHUTDOWN_SECONDS, drain_seconds
from roadbed.domain.errors import ConfigurationError
from roadbed.settings import load_settings
from roadbed.worker import BOTH_QUEUES, WorkerQueue, concurrency
from roadbed.workflows.queues import TERRAFORM_QUEUE_SUFFIX

runner = CliRunner()


@pytest.fixture(autouse=True)
def _home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ROADBED_HOME", str(tmp_path))


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_an_unknown_queue_is_one_line_naming_the_valid_ones() -> None:
    result = runner.invoke(app, prog_name="roadbed", args=["worker", "--queue", "roadbed-gpu"])
    assert result.exit_code == 2
    assert error_lines(result.output) == [
        "error: --queue must be roadbed or roadbed-terraform (got 'roadbed-gpu') (see `roadbed worker --help`)"
    ]


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_a_bad_cap_is_one_line(value: str) -> None:
    result = runner.invoke(app, prog_name="roadbed", args=["worker", "--queue", "roadbed", "--max-concurrent-activities", value])
    assert result.exit_code == 2
    [line] = error_lines(result.output)
    assert line.startswith("error: Invalid value for --max-concurrent-activities")


def test_a_cap_without_a_queue_is_refused_before_anything_starts(tmp_path: Path) -> None:
    result = runner.invoke(app, prog_name="roadbed", args=["worker", "--max-concurrent-activities", "4"])
    assert result.exit_code == 2
    assert error_lines(result.output) == [
        "error: --max-concurrent-activities needs --queue: each queue has its own cap "
        "(ROADBED_WORKER_MAX_CONCURRENT_ACTIVITIES, ROADBED_TERRAFORM_MAX_CONCURRENT_ACTIVITIES)"
    ]
    assert not (tmp_path / "roadbed.db").exists()  # refused before the engine database was touched


def test_queue_names_and_caps_come_from_the_settings() -> None:
    settings = load_settings(task_queue="platform")
    assert settings.resolved_terraform_task_queue == "platform" + TERRAFORM_QUEUE_SUFFIX  # as the workflows derive it
    assert load_settings().resolved_terraform_task_queue == WorkerQueue.TERRAFORM.value == "roadbed-terraform"
    assert load_settings(terraform_task_queue="tf-heavy").resolved_terraform_task_queue == "tf-heavy"
    assert concurrency(settings, BOTH_QUEUES) == {WorkerQueue.GENERAL: 32, WorkerQueue.TERRAFORM: 4 * len(os.sched_getaffinity(0))}
    capped = load_settings(worker_max_concurrent_activities=8, terraform_max_concurrent_activities=3)
    assert concurrency(capped, BOTH_QUEUES) == {WorkerQueue.GENERAL: 8, WorkerQueue.TERRAFORM: 3}
    assert concurrency(capped, frozenset({WorkerQueue.TERRAFORM}), 5) == {WorkerQueue.TERRAFORM: 5}
    with pytest.raises(ConfigurationError, match="needs --queue"):
        concurrency(capped, BOTH_QUEUES, 5)


def test_settings_read_the_queue_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADBED_TERRAFORM_TASK_QUEUE", "tf-burst")
    monkeypatch.setenv("ROADBED_TERRAFORM_MAX_CONCURRENT_ACTIVITIES", "4")
    monkeypatch.setenv("ROADBED_TERRAFORM_GRACEFUL_SHUTDOWN_SECONDS", "120")
    settings = load_settings()
    assert (settings.resolved_terraform_task_queue, settings.resolved_terraform_max_concurrent_activities) == ("tf-burst", 4)
    # a Terraform worker's drain outlasts its graceful timeout before anything is cancelled; an API-only process does not wait for it
    assert drain_seconds(settings, frozenset({WorkerQueue.TERRAFORM}), run_worker=True) == 130
    assert drain_seconds(settings, frozenset({WorkerQueue.GENERAL}), run_worker=True) == SHUTDOWN_SECONDS
    assert drain_seconds(settings, BOTH_QUEUES, run_worker=False) == SHUTDOWN_SECONDS

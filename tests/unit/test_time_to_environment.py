"""Time-to-environment split into provisioning time and approval wait (issue 11).

A prod request that waits an hour for a platform-admin must not look like an hour of provisioning: the
headline percentiles are provisioning time (approval → ready, or request → ready without approval), the
human wait has its own block, and request → ready stays available as `total`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from roadbed.cli import report as report_cli
from roadbed.domain.models import EnvironmentRequest, EnvironmentStatus, ProvisionInput, StepName, StepProgress, StepStatus
from roadbed.metrics.exposition import RoadbedCollector, render
from roadbed.metrics.slo_report import _runs as slo_runs
from roadbed.metrics.thresholds import DEFAULT
from roadbed.metrics.time_to_environment import time_to_environment
from roadbed.storage import environments
from roadbed.storage.database import Database

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
_n = iter(range(1_000_000))


def accepted(requires_approval: bool, requested: datetime) -> ProvisionInput:
    n = next(_n)
    request = EnvironmentRequest(service=f"svc-{n}", team="payments", golden_path="python-service", environment="prod" if requires_approval else "dev")
    return ProvisionInput(
        environment_id=f"env_tte_{n:05d}", request=request, golden_path_version="1.0.0", requested_at=requested, requires_approval=requires_approval
    )


def provisioned(database: Database, *, provisioning: float, wait: float | None = None, legacy: bool = False) -> str:
    """A successful run ready at NOW - 1h: `wait` s waiting for approval (if any), then `provisioning` s of work.

    `legacy` stores the approval the way rows did before `approved_at` existed: only the validate step's start.
    """
    ready = NOW - timedelta(hours=1)
    approved = ready - timedelta(seconds=provisioning)
    requested = approved - timedelta(seconds=wait or 0)
    data = accepted(wait is not None, requested)
    with database.transaction() as session:
        status = EnvironmentStatus.PENDING_APPROVAL if wait is not None else EnvironmentStatus.RUNNING
        environments.insert_environment(session, data, f"provision/{data.request.service}/{data.environment_id}", status)
        if wait is not None:
            environments.record_status(session, data.environment_id, EnvironmentStatus.RUNNING, at=None if legacy else approved)
            if legacy:
                environments.get_environment(session, data.environment_id).approved_at = None
            progress = StepProgress(name=StepName.VALIDATE, status=StepStatus.SUCCEEDED, attempts=1, started_at=approved, finished_at=approved)
            environments.record_step(session, data.environment_id, progress)
        environments.record_status(session, data.environment_id, EnvironmentStatus.SUCCEEDED, finished_at=ready)
    return data.environment_id


# -- storage: when did the approval arrive


def test_leaving_pending_approval_for_running_records_approved_at(database: Database) -> None:
    data = accepted(True, NOW - timedelta(minutes=30))
    approved = NOW - timedelta(minutes=10)
    with database.transaction() as session:
        environments.insert_environment(session, data, "provision/x/1", EnvironmentStatus.PENDING_APPROVAL)
        assert environments.get_environment(session, data.environment_id).approved_at is None
        environments.record_status(session, data.environment_id, EnvironmentStatus.RUNNING, at=approved)
        # A retried activity, and the final status, leave the first approval time alone.
        environments.record_status(session, data.environment_id, EnvironmentStatus.RUNNING, at=NOW)
        environments.record_status(session, data.environment_id, EnvironmentStatus.SUCCEEDED, finished_at=NOW)
    with database.transaction() as session:
        assert environments.get_environment(session, data.environment_id).approved_at == approved


def test_approved_at_defaults_to_the_time_of_the_change(database: Database) -> None:
    data = accepted(True, NOW)
    with database.transaction() as session:
        environments.insert_environment(session, data, "provision/x/2", EnvironmentStatus.PENDING_APPROVAL)
        before = datetime.now(UTC)
        environments.record_status(session, data.environment_id, EnvironmentStatus.RUNNING)
        approved_at = environments.get_environment(session, data.environment_id).approved_at
    assert approved_at is not None and before <= approved_at <= datetime.now(UTC)


def test_runs_without_approval_have_no_approved_at(database: Database) -> None:
    data = accepted(False, NOW)
    with database.transaction() as session:
        environments.insert_environment(session, data, "provision/x/3", EnvironmentStatus.RUNNING)
        environments.record_status(session, data.environment_id, EnvironmentStatus.RUNNING, at=NOW)
        environments.record_status(session, data.environment_id, EnvironmentStatus.SUCCEEDED, finished_at=NOW)
        assert environments.get_environment(session, data.environment_id).approved_at is None


def test_cancelled_while_waiting_is_not_an_approval(database: Database) -> None:
    data = accepted(True, NOW)
    with database.transaction() as session:
        environments.insert_environment(session, data, "provision/x/4", EnvironmentStatus.PENDING_APPROVAL)
        environments.record_status(session, data.environment_id, EnvironmentStatus.CANCELLED, finished_at=NOW)
        assert environments.get_environment(session, data.environment_id).approved_at is None


# -- the report


def report(database: Database, **filters: Any) -> dict[str, Any]:
    with database.transaction() as session:
        return time_to_environment(session, now=NOW, window_days=30, **filters)


def test_headline_percentiles_are_provisioning_time_without_the_approval_wait(any_database: Database) -> None:
    provisioned(any_database, provisioning=10)
    provisioned(any_database, provisioning=20, wait=3600)
    result = report(any_database)
    assert result["count"] == 2
    assert result["p50_seconds"] == 15.0  # not (10 + 3620) / 2
    assert result["p99_seconds"] == pytest.approx(19.9)
    assert result["approval_wait"] == {"count": 1, "sum_seconds": 3600.0, "p50_seconds": 3600.0, "p90_seconds": 3600.0, "p99_seconds": 3600.0}
    assert result["total"]["count"] == 2
    assert result["total"]["p50_seconds"] == pytest.approx((10 + 3620) / 2)
    path = result["by_golden_path"]["python-service"]
    assert path["p50_seconds"] == 15.0
    assert path["approval_wait"]["count"] == 1
    assert result["by_environment"]["prod"]["total"]["p50_seconds"] == 3620.0
    assert result["by_environment"]["dev"]["approval_wait"] == {"count": 0, "sum_seconds": 0, "p50_seconds": None, "p90_seconds": None, "p99_seconds": None}


def test_rows_from_before_approved_at_fall_back_to_the_validate_step_start(database: Database) -> None:
    provisioned(database, provisioning=30, wait=600, legacy=True)
    result = report(database)
    assert result["p50_seconds"] == 30.0
    assert result["approval_wait"]["p50_seconds"] == 600.0
    assert result["total"]["p50_seconds"] == 630.0


def test_the_platform_slo_starts_the_clock_where_the_report_does(database: Database) -> None:
    """The time-to-environment SLO counts provisioning from the recorded approval, as the report does, even where the
    validate step started later (a worker that was busy): 30 s from the approval, not the 5 s from the validate step."""
    env_id = provisioned(database, provisioning=30, wait=600)
    with database.transaction() as session:
        validate = next(s for s in environments.steps_of(session, env_id) if s.name == StepName.VALIDATE.value)
        validate.started_at = validate.started_at + timedelta(seconds=25)  # later than the approval, still before ready
    assert report(database)["p50_seconds"] == 30.0
    with database.transaction() as session:
        runs = slo_runs(session, NOW - timedelta(days=1), NOW)
    assert [run.latency_seconds for run in runs] == [30.0]


def test_report_says_what_the_headline_measures(database: Database) -> None:
    result = report(database)
    assert result["count"] == 0 and result["p50_seconds"] is None
    assert result["measures"] == "provisioning"
    assert result["total"] == {"count": 0, "sum_seconds": 0, "p50_seconds": None, "p90_seconds": None, "p99_seconds": None}


# -- /metrics and the CLI


def test_exposition_exports_provisioning_approval_wait_and_total(database: Database) -> None:
    provisioned(database, provisioning=4, wait=100)
    text = render(RoadbedCollector(database, None, DEFAULT, 24.0, clock=lambda: NOW)).decode()  # type: ignore[arg-type]
    assert 'roadbed_time_to_environment_seconds{quantile="0.5"} 4.0' in text
    assert 'roadbed_time_to_environment_approval_wait_seconds{quantile="0.5"} 100.0' in text
    assert 'roadbed_time_to_environment_total_seconds{quantile="0.99"} 104.0' in text
    assert 'roadbed_time_to_environment_approval_waits 1.0' in text


def test_cli_tte_shows_provisioning_approval_wait_and_total(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    provisioned(database, provisioning=12, wait=5400)
    data = report(database)
    monkeypatch.setattr(report_cli, "_fetch", lambda path, params: data)
    result = CliRunner().invoke(report_cli.app, ["tte"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    assert "approval wait" in result.output and "total" in result.output
    line = next(line for line in result.output.splitlines() if "python-service" in line)
    assert "12.0s" in line and "1.5h" in line  # provisioning p50, approval wait p50 (total is 1.5h too)

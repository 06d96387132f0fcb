"""A step that fails permanently logs one line with the reason, not a traceback (issue 11).

The traceback is still there for whoever turns on debug logging (`roadbed.worker` at DEBUG).
"""

from __future__ import annotations

import logging

import pytest
from temporalio.client import Client

from roadbed.domain.models import ProvisionResult
from roadbed.submission import EnvironmentSubmitter
from tests.workflows.test_provision import request_body
from tests.workflows.test_saga import StartWorker

pytestmark = pytest.mark.asyncio(loop_scope="session")
REASON = "failpoint repository: injected permanent fault"


async def run_failing(start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client) -> None:
    async with start_worker("repository:permanent"):
        row, _ = await submitter.submit(request_body())
        result = await client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
    assert result.status == "COMPENSATED"


async def test_a_permanent_step_failure_is_one_line_with_the_reason(
    start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await run_failing(start_worker, submitter, client)
    shown = [r for r in caplog.records if r.levelno >= logging.INFO]
    about = [r for r in shown if REASON in r.getMessage()]
    assert len(about) == 1, [r.getMessage() for r in shown]
    (line,) = about
    assert line.levelno == logging.WARNING
    assert "\n" not in line.getMessage()
    assert "repository" in line.getMessage() and "InjectedPermanentFault" in line.getMessage()
    assert not [r for r in shown if r.exc_info or r.exc_text], [r.getMessage() for r in shown if r.exc_info]
    assert "Traceback" not in caplog.text


async def test_the_traceback_is_kept_at_debug(
    start_worker: StartWorker, submitter: EnvironmentSubmitter, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="roadbed.worker")  # last: it also lowers the capture handler to DEBUG
    await run_failing(start_worker, submitter, client)
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG and r.exc_info and REASON in str(r.exc_info[1])]
    assert debug, [r.getMessage() for r in caplog.records]

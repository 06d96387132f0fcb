"""Worker log lines for activity failures: a step that fails for good is one line with its reason.

temporalio logs every failed activity as "Completing activity as failed" at WARNING *with the traceback*. For a
permanent step failure (a non-retryable `ApplicationError`: bad input, a failpoint, a refused API call) the
traceback only repeats our own `_tracked` wrapper and buries the reason, which the environment's step detail
and error already carry. `PermanentFailureOneLine` rewrites such a record into one line naming the activity,
the error type and message, and the workflow; the traceback goes to `roadbed.worker` at DEBUG for whoever
needs it. Retryable failures keep temporalio's full record: a traceback there is how a bug shows itself.
"""

from __future__ import annotations

import logging

from temporalio.exceptions import ApplicationError

ACTIVITY_LOGGER = "temporalio.activity"
_FAILED = "Completing activity as failed"
debug_log = logging.getLogger("roadbed.worker")


class PermanentFailureOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not (isinstance(error, ApplicationError) and error.non_retryable and str(record.msg).startswith(_FAILED)):
            return True
        info = getattr(record, "temporal_activity", None) or {}
        where = f" (workflow {info['workflow_id']}, attempt {info.get('attempt')})" if info.get("workflow_id") else ""
        reason = f"{error.type}: {error.message}" if error.type else error.message
        debug_log.debug("traceback of the failed activity %s", info.get("activity_type", "?"), exc_info=record.exc_info)
        record.msg = "activity %s failed permanently: %s%s"
        record.args = (info.get("activity_type", "?"), reason.replace("\n", " "), where)
        record.exc_info = None
        record.exc_text = None
        return True


def install_activity_log_filter() -> None:
    """Attach the filter to temporalio's activity logger once per process (idempotent: every worker calls it)."""
    logger = logging.getLogger(ACTIVITY_LOGGER)
    if not any(isinstance(f, PermanentFailureOneLine) for f in logger.filters):
        logger.addFilter(PermanentFailureOneLine())

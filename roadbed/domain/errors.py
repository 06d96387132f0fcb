"""Domain errors that carry retry meaning.

Adapters translate library errors into these (with the cause chained); activities turn a
`PermanentError` into a non-retryable Temporal failure, everything else is retried under the
step's retry policy. The API maps them to HTTP status codes in one place (`api/errors.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


class RoadbedError(Exception):
    """Base of every error Roadbed raises on purpose."""

    code = "error"


class TransientError(RoadbedError):
    """A fault that may go away by itself (timeout, 5xx, lock held): retry it."""

    code = "transient"


class PermanentError(RoadbedError):
    """A fault that retrying cannot fix (bad input, foreign resource, 4xx): stop and compensate."""

    code = "permanent"


@dataclass(frozen=True)
class FieldError:
    """One offending input field: where it is (dotted path) and what is wrong with it."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class InvalidRequest(PermanentError):
    """The request breaks a rule; names every offending field at once."""

    code = "invalid_request"

    def __init__(self, errors: list[FieldError], message: str | None = None) -> None:
        self.errors = list(errors)
        summary = "; ".join(f"{e.field}: {e.message}" for e in self.errors)
        super().__init__(message or f"invalid request: {summary}")


class NotFound(PermanentError):
    code = "not_found"


class Conflict(PermanentError):
    code = "conflict"


class Forbidden(PermanentError):
    """The caller may not do this to a thing another team owns (403), however valid the request."""

    code = "forbidden"


@dataclass
class ConfigurationError(PermanentError):
    """Roadbed is misconfigured (bad setting, broken golden path); an operator must act."""

    message: str
    details: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    code = "configuration_error"

"""The `ttl` rules of ephemeral environments: what a request may ask for, and how far an extension may go.

`ROADBED_TTL_MAX` bounds both: a request's `ttl`, and the time left after an `extend` (both a 422 naming the
field). The warning lead time (`ROADBED_TTL_WARNING_BEFORE`) is decided at acceptance and carried in the
workflow input, like the approval policy, so a running expiry never changes behaviour when settings change.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from roadbed.domain.errors import FieldError, InvalidRequest
from roadbed.domain.expiry import describe, parse_duration
from roadbed.domain.models import EnvironmentRequest
from roadbed.settings import Settings


class TtlPolicy:
    def __init__(self, settings: Settings) -> None:
        self.max_seconds = parse_duration(settings.ttl_max)
        self.warning_before = timedelta(seconds=parse_duration(settings.ttl_warning_before))

    def accept(self, request: EnvironmentRequest) -> int | None:
        """The request's `ttl` in seconds (None: not ephemeral); a malformed or too long one is a 422 naming `ttl`."""
        if request.ttl is None:
            return None
        seconds = self._duration("ttl", request.ttl)
        if seconds > self.max_seconds:
            raise InvalidRequest([FieldError("ttl", f"{describe(seconds)} is longer than the maximum of {describe(self.max_seconds)} (ROADBED_TTL_MAX)")])
        return seconds

    def extension(self, by: object, expires_at: datetime, now: datetime) -> int:
        """Seconds to extend by; a 422 naming `by` when malformed or when the environment would then live longer
        than the maximum ttl from now."""
        seconds = self._duration("by", by)
        left = (expires_at - now).total_seconds() + seconds
        if left > self.max_seconds:
            raise InvalidRequest(
                [FieldError("by", f"the environment would then expire in {describe(left)}, beyond the maximum of {describe(self.max_seconds)} (ROADBED_TTL_MAX)")]
            )
        return seconds

    @staticmethod
    def _duration(field: str, value: object) -> int:
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise InvalidRequest([FieldError(field, str(exc))]) from exc

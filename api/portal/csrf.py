"""CSRF: every POST form carries a hidden `csrf_token` bound to the session (or the header `X-CSRF-Token`).

Checked before anything else a POST does; a missing or wrong token is a 403 page and nothing changes.
"""

from __future__ import annotations

import hmac

from fastapi import Request

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class CsrfRefused(Exception):
    """Answered with a 403 page."""


def presented(request: Request, form: dict[str, list[str]]) -> str:
    """The token the request carries: the form field, else the header."""
    values = form.get(CSRF_FIELD) or []
    return values[-1] if values else request.headers.get(CSRF_HEADER, "")


def check(expected: str | None, given: str) -> None:
    if not expected or not given or not hmac.compare_digest(expected.encode(), given.encode()):
        raise CsrfRefused("this form has expired or did not come from this site: reload the page and try again")

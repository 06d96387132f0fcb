"""Rendering: one Jinja2 environment (autoescape on), status labels in words, durations, the HTML error page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from roadbed.api.portal.sessions import SignedIn

TEMPLATES = Path(__file__).resolve().parent / "templates"

STATUS_LABELS = {
    "PENDING_APPROVAL": "Waiting for approval", "RUNNING": "Running", "SUCCEEDED": "Succeeded", "FAILED": "Failed",
    "COMPENSATING": "Undoing", "COMPENSATED": "Undone", "CANCELLED": "Cancelled", "DECOMMISSIONED": "Decommissioned",
    "PENDING": "Not started", "SKIPPED": "Skipped",
}
STATUS_ICONS = {"SUCCEEDED": "✓", "FAILED": "✕", "RUNNING": "◐", "PENDING_APPROVAL": "⏸", "COMPENSATING": "↺", "COMPENSATED": "↺",
                "CANCELLED": "⊘", "DECOMMISSIONED": "⊘", "PENDING": "○", "SKIPPED": "–"}
FINAL_STATUSES = {"SUCCEEDED", "FAILED", "COMPENSATED", "CANCELLED", "DECOMMISSIONED"}


def status_label(status: str | None) -> str:
    key = (status or "").upper()
    return STATUS_LABELS.get(key, (status or "").replace("_", " ").capitalize())


def status_icon(status: str | None) -> str:
    return STATUS_ICONS.get((status or "").upper(), "•")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def between(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True, default_for_string=True),
                           trim_blocks=True, lstrip_blocks=True)
_environment.filters.update(status_label=status_label, status_icon=status_icon, duration=duration, when=when)


def render(request: Request, template: str, status_code: int = 200, signed_in: SignedIn | None = None, **context: Any) -> HTMLResponse:
    html = _environment.get_template(template).render(
        request=request, me=signed_in, csrf_token=signed_in.csrf_token if signed_in else context.pop("csrf_token", ""), path=request.url.path, **context
    )
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


TITLES = {400: "Bad request", 401: "Sign in needed", 403: "Not allowed", 404: "Not found", 405: "Not allowed here", 409: "Not possible now",
          413: "Too large", 422: "Cannot accept this", 429: "Busy", 500: "Something went wrong", 503: "Temporarily unavailable"}


def error_page(request: Request, status: int, message: str, signed_in: SignedIn | None = None, details: list[Any] | None = None) -> HTMLResponse:
    return render(request, "error.html", status_code=status, signed_in=signed_in, title=TITLES.get(status, "Error"), status=status,
                  message=message, details=details or [])

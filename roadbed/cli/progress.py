"""Rendering environments in the terminal: a live step table while waiting, one line when done."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from roadbed.cli.client import ApiClient

FINAL_STATUSES = {"SUCCEEDED", "FAILED", "COMPENSATED", "CANCELLED", "DECOMMISSIONED"}
STEP_STYLE = {"succeeded": "green", "failed": "red", "running": "yellow", "compensated": "magenta", "compensating": "magenta", "pending": "dim"}


def step_table(environment: dict[str, Any]) -> Table:
    table = Table(title=f"{environment['id']}  {environment['service']}/{environment['environment']}  [bold]{environment['status']}[/]")
    for column in ("step", "status", "attempts", "seconds", "detail"):
        table.add_column(column)
    for step in environment["steps"]:
        seconds = step.get("duration_seconds")
        table.add_row(
            step["name"],
            f"[{STEP_STYLE.get(step['status'], 'white')}]{step['status']}[/]",
            str(step["attempts"]),
            f"{seconds:.2f}" if seconds is not None else "",
            (step.get("detail") or "")[:90],
        )
    return table


def watch(client: ApiClient, environment_id: str, console: Console, interval: float = 0.25) -> dict[str, Any]:
    """Poll until the environment reaches a final status, showing live progress."""
    environment = client.request("GET", f"/v1/environments/{environment_id}")
    with Live(step_table(environment), console=console, refresh_per_second=8, transient=not console.is_terminal) as live:
        while environment["status"] not in FINAL_STATUSES:
            time.sleep(interval)
            environment = client.request("GET", f"/v1/environments/{environment_id}")
            live.update(step_table(environment))
    if not console.is_terminal:
        console.print(step_table(environment))
    return environment


def failure_reason(environment: dict[str, Any]) -> str:
    error = environment.get("error") or {}
    where = f" at step {error['step']}" if error.get("step") else ""
    return f"{environment['id']} ended {environment['status']}{where}: {error.get('error_class', '')} {error.get('message', '')}".strip()

"""Rendering environments: a live step table while waiting in a terminal, the final table (TSV when piped) when done."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from roadbed.cli.output import Output, cell

if TYPE_CHECKING:
    from roadbed.cli.client import ApiClient

FINAL_STATUSES = {"SUCCEEDED", "FAILED", "COMPENSATED", "CANCELLED", "DECOMMISSIONED"}
STEP_STYLE = {"succeeded": "green", "failed": "red", "running": "yellow", "compensated": "magenta", "compensating": "magenta", "pending": "dim"}


def step_table(environment: dict[str, Any]) -> Table:
    title = Text(f"{environment['id']}  {environment['service']}/{environment['environment']}  ")
    title.append(str(environment["status"]), style="bold")
    table = Table(title=title)
    for column in ("step", "status", "attempts", "seconds", "detail"):
        table.add_column(column)
    for step in environment["steps"]:
        seconds = step.get("duration_seconds")
        table.add_row(
            cell(step["name"]),
            Text(str(step["status"]), style=STEP_STYLE.get(step["status"], "")),
            str(step["attempts"]),
            f"{seconds:.2f}" if seconds is not None else "",
            cell((step.get("detail") or "")[:90]),
        )
    return table


def show_environment(out: Output, environment: dict[str, Any]) -> None:
    """The step table; when piped, the environment's own line (id, service/environment, status) goes to stderr so
    stdout stays one TSV grid of steps."""
    if not out.is_terminal():
        out.note(f"{environment['id']}\t{environment['service']}/{environment['environment']}\t{environment['status']}", markup=False)
    out.print(step_table(environment))


def watch(client: ApiClient, environment_id: str, interval: float = 0.25, show: bool = True) -> dict[str, Any]:
    """Poll until the environment reaches a final status: live progress in a terminal, the final table otherwise."""
    out = Output()
    environment = client.request("GET", f"/v1/environments/{environment_id}")
    if show and out.is_terminal():
        from rich.console import Console
        from rich.live import Live

        with Live(step_table(environment), console=Console(), refresh_per_second=8) as live:
            while environment["status"] not in FINAL_STATUSES:
                time.sleep(interval)
                environment = client.request("GET", f"/v1/environments/{environment_id}")
                live.update(step_table(environment))
        return environment
    while environment["status"] not in FINAL_STATUSES:
        time.sleep(interval)
        environment = client.request("GET", f"/v1/environments/{environment_id}")
    if show:
        show_environment(out, environment)
    return environment


def failure_reason(environment: dict[str, Any]) -> str:
    error = environment.get("error") or {}
    where = f" at step {error['step']}" if error.get("step") else ""
    return f"{environment['id']} ended {environment['status']}{where}: {error.get('error_class', '')} {error.get('message', '')}".strip()

"""`roadbed drift [--env ID]`: which live environments differ from what Roadbed made them, and how (through the API).

Without `--env`, one row per live environment (its drift status, when checked, how many differences); with it, one row
per difference of that environment (`--check` runs a check first). Exit 0 whatever the status: it reports, it does
not gate."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from roadbed.cli.client import call
from roadbed.cli.output import Output, cell

console = Output()
_STYLE = {"in_sync": "green", "drifted": "red", "unknown": "magenta"}


def _status(value: str) -> str:
    style = _STYLE.get(value)
    return f"[{style}]{cell(value)}[/]" if style else cell(value)


def _when(value: str | None) -> str:
    return cell(value[:19] if value else "never")


def drift(
    env: Annotated[str | None, typer.Option("--env", help="One environment id: its differences, one per row")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Only this team's environments")] = None,
    status: Annotated[str | None, typer.Option("--status", help="in_sync, drifted or unknown")] = None,
    check: Annotated[bool, typer.Option("--check", help="With --env: check now before showing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The API's answer")] = False,
) -> None:
    """Drift of live environments: Terraform, GitOps manifests and monitoring files against the desired state."""
    from rich.table import Table

    if env is None:
        listed: list[dict[str, Any]] = call("GET", "/v1/drift", params={k: v for k, v in {"team": team, "status": status}.items() if v})
        if as_json:
            console.print_json(data=listed)
            return
        table = Table("id", "service", "env", "team", "drift", "checked", "items")
        for entry in listed:
            state = entry["drift"]
            table.add_row(cell(entry["environment_id"]), cell(entry["service"]), cell(entry["environment"]), cell(entry["team"]),
                          _status(state["status"]), _when(state.get("checked_at")), str(len(state.get("items") or [])))
        console.print(table)
        return
    state = call("POST", f"/v1/environments/{env}/drift-check") if check else call("GET", f"/v1/environments/{env}")["drift"]
    if as_json:
        console.print_json(data=state)
        return
    console.note(f"{env}: {state['status']} (checked {state.get('checked_at') or 'never'})" + (f": {state['error']}" if state.get("error") else ""))
    table = Table("source", "object", "field", "since")
    for item in state.get("items") or []:
        table.add_row(cell(item["source"]), cell(item["object"]), cell(item.get("field")), _when(item.get("since")))
    console.print(table)

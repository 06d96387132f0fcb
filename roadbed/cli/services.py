"""`roadbed services list|show|transfer`: who owns each service, and handing one to another team (through the API, audited)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from roadbed.cli.client import call
from roadbed.cli.output import Output, cell
from roadbed.cli.usage import Group

app = typer.Typer(help="Services and their owning teams.", no_args_is_help=True, cls=Group)
console = Output()


@app.command("list")
def list_services(
    team: Annotated[str | None, typer.Option("--team", help="Only services of this team")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Every service with its owning team."""
    rows = call("GET", "/v1/services", params={"team": team} if team else None)
    if as_json:
        console.print_json(data=rows)
        return
    table = Table("service", "team", "former teams", "since")
    for row in rows:
        table.add_row(*map(cell, (row["service"], row["team"], ", ".join(row["former_teams"]) or "-", row["updated_at"])))
    console.print(table)


@app.command()
def show(service: str) -> None:
    """One service's owner (JSON)."""
    print(json.dumps(call("GET", f"/v1/services/{service}"), indent=2))


@app.command()
def transfer(
    service: str,
    to: Annotated[str, typer.Option("--to", help="The team that will own the service")],
) -> None:
    """Hand a service, its environments and its catalog entities to another team (owning team or platform-admin)."""
    row = call("POST", f"/v1/services/{service}/transfer", json={"to_team": to})
    console.print(f"{row['service']} now belongs to team {row['team']}", markup=False, highlight=False)

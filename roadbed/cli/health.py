"""`roadbed health SERVICE [--env E]`: a service environment's live picture, one row per source (through the API).

The detail column is the one figure that matters most per source, so a glance at the table says why a row is
not ok; `--json` is the whole document. Exit 0 whatever the status: the command reports, it does not gate.
"""

from __future__ import annotations

from typing import Annotated

import typer

from roadbed.cli.client import call
from roadbed.cli.output import Output, cell
from roadbed.health.summary import headline

console = Output()
_STYLE = {"ok": "green", "degraded": "yellow", "failing": "red", "unknown": "magenta", "not_configured": "dim"}


def health(
    service: Annotated[str, typer.Argument(help="The service")],
    env: Annotated[str | None, typer.Option("--env", help="prod, staging or dev; default the first live of prod, staging, dev")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The whole health document")] = False,
) -> None:
    """A service's live picture: pods, sync, pull requests and CI, incidents, SLO burn, code quality."""
    from rich.table import Table

    document = call("GET", f"/v1/services/{service}/health", params={"environment": env} if env else None)
    if as_json:
        console.print_json(data=document)
        return
    table = Table("source", "status", "detail", "reason", "link", title=f"{document['service']} ({document['environment']}): {document['status']}")
    for name, source in document["sources"].items():
        style = _STYLE.get(source["status"], "")
        reading = headline(name, source)
        reason = source.get("reason") or ""
        table.add_row(cell(name), f"[{style}]{cell(source['status'])}[/]" if style else cell(source["status"]), cell(reading), cell(reason), cell(source.get("url")))
    console.note(f"{document['service']} ({document['environment']}): {document['status']}")
    console.print(table)

"""`roadbed golden-paths list|show|preview`: browse templates and see what a request would create."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from roadbed.cli.client import call
from roadbed.cli.output import Output, cell, plural
from roadbed.cli.usage import Group

app = typer.Typer(help="Browse golden paths (templates) and preview what a request would create.", no_args_is_help=True, cls=Group)
console = Output()


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List golden paths; invalid ones are shown with the reason."""
    paths = call("GET", "/v1/golden-paths")
    if as_json:
        console.print_json(data=paths)
        return
    table = Table()
    for column in ("name", "version", "title", "resources", "status"):
        table.add_column(column)
    for gp in paths:
        status = Text("ok") if gp["valid"] else Text.assemble(("invalid", "red"), ": " + "; ".join(gp["problems"]))
        table.add_row(cell(gp["name"]), cell(gp["version"]), cell(gp["title"]), cell(", ".join(gp["resource_types"])), status)
    console.print(table)


@app.command()
def show(name: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show one golden path with the JSON Schema of its parameters."""
    detail = call("GET", f"/v1/golden-paths/{name}")
    if as_json:
        console.print_json(data=detail)
        return
    console.print(f"[bold]{detail['title']}[/] ({detail['name']}@{detail['version']})\n{detail['description']}", highlight=False)
    table = Table(title="parameters")
    for column in ("name", "type", "default", "required", "description"):
        table.add_column(column)
    required = set(detail["parameters"].get("required", []))
    for key, prop in detail["parameters"].get("properties", {}).items():
        table.add_row(cell(key), cell(prop.get("type", "")), cell(json.dumps(prop.get("default")) if "default" in prop else ""), "yes" if key in required else "",
                      cell(prop.get("description") or prop.get("title") or ""))
    console.print(table)


@app.command()
def preview(
    name: str,
    service: Annotated[str, typer.Option("--service")],
    team: Annotated[str, typer.Option("--team")],
    env: Annotated[str, typer.Option("--env")] = "dev",
    resource: Annotated[list[str] | None, typer.Option("--resource", help="TYPE:NAME, repeatable")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Render a request without provisioning: files, Terraform plan, manifests."""
    resources = []
    for spec in resource or []:
        kind, _, rname = spec.partition(":")
        resources.append({"type": kind, "name": rname})
    result = call("POST", f"/v1/golden-paths/{name}/preview", json={"service": service, "team": team, "environment": env, "resources": resources})
    if as_json:
        console.print_json(data=result)
        return
    files = Table(title=plural(len(result["files"]), "repository file"))
    files.add_column("path")
    files.add_column("bytes", justify="right")
    for f in result["files"]:
        files.add_row(cell(f["path"]), str(f["size"]))
    console.print(files)
    summary = result["terraform"]["summary"]
    console.print(f"terraform plan: {summary['add']} to add, {summary['change']} to change, {summary['remove']} to destroy", highlight=False)
    for change in result["terraform"]["resource_changes"]:
        console.print(f"  + {change['address']}", highlight=False)
    console.print("kubernetes: " + ", ".join(f"{m['kind']}/{m['metadata']['name']}" for m in result["manifests"]), highlight=False)

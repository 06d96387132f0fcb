"""`roadbed catalog`: list, show and register entities of the software catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from roadbed.cli.client import EXIT_USAGE, call, fail
from roadbed.cli.output import Output, cell
from roadbed.cli.usage import Group

app = typer.Typer(help="The software catalog (Backstage entity model).", no_args_is_help=True, cls=Group)
console = Output()



def _ref_of(entity: dict[str, Any]) -> str:
    metadata = entity.get("metadata") or {}
    return f"{str(entity.get('kind', '')).lower()}:{metadata.get('namespace', 'default')}/{metadata.get('name', '')}"


@app.command("list")
def list_(
    kind: Annotated[str | None, typer.Option("--kind", help="Component, API, Resource, System, Domain, Group, User or Location")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="A group name or ref (payments, group:default/payments)")] = None,
    system: Annotated[str | None, typer.Option("--system", help="A system name or ref")] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", help="Text in the name, title or description")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List catalog entities."""
    params = {k: v for k, v in {"kind": kind, "owner": owner, "system": system, "q": query}.items() if v}
    entities = call("GET", "/v1/catalog/entities", params=params)
    if as_json:
        console.print_json(data=entities)
        return
    table = Table()
    table.add_column("ref", overflow="fold")
    for column in ("type", "owner", "system", "description"):
        table.add_column(column)
    for entity in entities:
        spec, metadata = entity.get("spec") or {}, entity.get("metadata") or {}
        table.add_row(*map(cell, (_ref_of(entity), spec.get("type", ""), spec.get("owner", ""), spec.get("system", ""), metadata.get("description", ""))))
    console.print(table)


@app.command()
def show(
    ref: Annotated[str, typer.Argument(metavar="REF", help="kind:namespace/name (namespace defaults to `default`, kind to component)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one entity and its relations."""
    from roadbed.catalog.refs import InvalidRef, parse_ref  # the catalog package imports pydantic: not at start-up

    try:
        parsed = parse_ref(ref, "component")
    except InvalidRef as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    entity = call("GET", f"/v1/catalog/entities/{parsed.kind}/{parsed.namespace}/{parsed.name}")
    if as_json:
        console.print_json(data=entity)
        return
    metadata, spec = entity.get("metadata") or {}, entity.get("spec") or {}
    console.print(f"[bold]{cell(_ref_of(entity))}[/]  {cell(metadata.get('title') or '')}", highlight=False)
    if metadata.get("description"):
        console.print(metadata["description"], markup=False, highlight=False)
    for key, value in spec.items():
        console.print(f"  {key}: {value}", markup=False, highlight=False)
    relations = entity.get("relations") or []
    if relations:
        table = Table("relation")
        table.add_column("target", overflow="fold")
        for relation in relations:
            table.add_row(cell(relation["type"]), cell(relation["targetRef"]))
        console.print(table)


@app.command()
def register(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A catalog-info.yaml (one or more documents) or a .json file", exists=True, dir_okay=False)],
) -> None:
    """Register the entities of a catalog-info.yaml (or JSON) file by hand; all or nothing."""
    content_type = "application/json" if file.suffix.lower() == ".json" else "application/yaml"
    result = call("POST", "/v1/catalog/entities", content=file.read_bytes(), headers={"content-type": content_type})
    for ref in result["refs"]:
        console.print(f"registered {ref}", markup=False, highlight=False)

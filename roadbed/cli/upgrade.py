"""`roadbed upgrade SERVICE [--to V] [--dry-run]`: bring a service's repository to a newer golden-path version.

A dry run prints what each file would become (clean, merged, conflict, deleted, kept-deleted, added) and writes
nothing; otherwise the upgrade runs on the platform and this waits for its branch, then prints the same table and
the branch to review and merge (conflicts are committed with markers on that branch only). Exit 0 either way:
conflicts are for the team to resolve on the branch, not a failure of the command; a FAILED upgrade exits 1.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from roadbed.cli.client import call, fail
from roadbed.cli.output import Output, cell

console = Output()
_STYLE = {"conflict": "red", "kept-deleted": "yellow", "deleted": "yellow", "added": "green", "clean": "green", "merged": "cyan"}


def _parameters(pairs: list[str], json_pairs: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair, as_json in [(p, False) for p in pairs] + [(p, True) for p in json_pairs]:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise fail(f"--param{'-json' if as_json else ''} {pair!r}: expected NAME=VALUE", 2)
        try:
            values[name] = json.loads(text) if as_json else text
        except json.JSONDecodeError as exc:
            raise fail(f"--param-json {name}: not JSON ({exc.msg})", 2) from exc
    return values


def _table(title: str, files: list[dict[str, str]]) -> None:
    from rich.table import Table

    console.print(title, markup=False, highlight=False)  # also when piped, where the table is TSV without a title
    table = Table("file", "result")
    for entry in files:
        style = _STYLE.get(entry["result"], "")
        table.add_row(cell(entry["path"]), f"[{style}]{cell(entry['result'])}[/]" if style else cell(entry["result"]))
    console.print(table)


def upgrade(
    service: Annotated[str, typer.Argument(help="The service whose repository to upgrade")],
    to: Annotated[str | None, typer.Option("--to", help="The golden-path version (default: its current one)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what each file would become; write nothing")] = False,
    param: Annotated[list[str] | None, typer.Option("--param", help="NAME=VALUE (a string) for a parameter the new version adds")] = None,
    param_json: Annotated[list[str] | None, typer.Option("--param-json", help="NAME=JSON for a typed parameter")] = None,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for the branch (0: print the id and return)")] = 60,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Three-way merge a newer golden-path version onto a service's repository, on a branch (or a dry run)."""
    body: dict[str, Any] = {"parameters": _parameters(param or [], param_json or []), "dry_run": dry_run}
    if to:
        body["to_version"] = to
    answer = call("POST", f"/v1/services/{service}/upgrades", json=body)
    if dry_run:
        if as_json:
            console.print_json(data=answer)
        elif answer["files"]:
            _table(f"{service}: {answer['from_version']} -> {answer['to_version']} (dry run)", answer["files"])
        else:
            console.print(f"{service}: {answer['from_version']} -> {answer['to_version']}: no file changes", markup=False, highlight=False)
        return
    upgrade_id = answer["id"]
    deadline = time.monotonic() + wait
    state = call("GET", f"/v1/upgrades/{upgrade_id}")
    while state["status"] == "PENDING" and time.monotonic() < deadline:
        time.sleep(0.5)
        state = call("GET", f"/v1/upgrades/{upgrade_id}")
    if as_json:
        console.print_json(data=state)
    elif state["status"] == "PENDING":
        console.print(f"upgrade {upgrade_id} is still running: roadbed upgrade {service} again, or GET /v1/upgrades/{upgrade_id}", markup=False)
    else:
        _table(f"{service}: {state['from_version']} -> {state['to_version']}, {state['status']}, branch {state['branch']}", state["files"])
    if state["status"] == "FAILED":
        raise fail(f"upgrade {upgrade_id} failed: {state.get('error')}")

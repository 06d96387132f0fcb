"""`roadbed upgrade SERVICE [--to V] [--dry-run]`: bring a service's repository to a newer golden-path version;
`roadbed upgrade --golden-path P --to V --all`: a campaign over every service on that golden path (platform-admin),
which waits for it and prints each service's upgrade and the summary (exit 1 if any failed).

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


def campaign(golden_path: str, to: str | None, every: bool, max_concurrent: int | None, wait: float, as_json: bool) -> None:
    """Start a campaign over every service on `golden_path` and follow it until DONE (or `wait` runs out)."""
    if not every or not to:
        raise fail("--golden-path upgrades every service on it: give --all and --to VERSION", 2)
    body: dict[str, Any] = {"to_version": to} | ({"max_concurrent": max_concurrent} if max_concurrent else {})
    campaign_id = call("POST", f"/v1/golden-paths/{golden_path}/upgrades", json=body)["id"]
    deadline = time.monotonic() + wait
    state = call("GET", f"/v1/campaigns/{campaign_id}")
    while state["status"] != "DONE" and time.monotonic() < deadline:
        time.sleep(0.5)
        state = call("GET", f"/v1/campaigns/{campaign_id}")
    if as_json:
        console.print_json(data=state)
    else:
        from rich.table import Table

        console.print(f"campaign {campaign_id}: {golden_path} -> {to}, {state['status']}", markup=False, highlight=False)
        table = Table("service", "status", "upgrade")
        for entry in state["services"]:
            table.add_row(cell(entry["service"]), cell(entry["status"]), cell(entry.get("upgrade_id") or entry.get("error") or ""))
        console.print(table)
        summary = state["summary"]
        counts = ", ".join(f"{count} {status}" for status, count in summary["by_status"].items()) or "no services"
        conflicts = f"; conflicts to resolve: {', '.join(summary['with_conflicts'])}" if summary["with_conflicts"] else ""
        console.print(f"{counts}{conflicts}", markup=False, highlight=False)
    if state["status"] != "DONE":
        console.print(f"campaign {campaign_id} is still running: GET /v1/campaigns/{campaign_id}", markup=False, highlight=False)
    if any(entry["status"] == "FAILED" for entry in state["services"]):
        raise fail(f"campaign {campaign_id}: some upgrades failed")


def upgrade(
    service: Annotated[str | None, typer.Argument(help="The service whose repository to upgrade (or --golden-path P --all)")] = None,
    to: Annotated[str | None, typer.Option("--to", help="The golden-path version (default: its current one)")] = None,
    golden_path: Annotated[str | None, typer.Option("--golden-path", help="Upgrade every service on this golden path (with --all)")] = None,
    every: Annotated[bool, typer.Option("--all", help="With --golden-path: a campaign over all its services (platform-admin)")] = False,
    max_concurrent: Annotated[int | None, typer.Option("--max-concurrent", help="With --all: upgrades at once (default 4)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what each file would become; write nothing")] = False,
    param: Annotated[list[str] | None, typer.Option("--param", help="NAME=VALUE (a string) for a parameter the new version adds")] = None,
    param_json: Annotated[list[str] | None, typer.Option("--param-json", help="NAME=JSON for a typed parameter")] = None,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for the branch, or the campaign (0: print the id and return)")] = 60,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Three-way merge a newer golden-path version onto a service's repository, on a branch (or a dry run)."""
    if golden_path is not None or every:
        if service is not None or dry_run or golden_path is None:
            raise fail("give either SERVICE, or --golden-path P --to V --all (no SERVICE, no --dry-run)", 2)
        campaign(golden_path, to, every, max_concurrent, wait, as_json)
        return
    if service is None:
        raise fail("which service? roadbed upgrade SERVICE, or --golden-path P --to V --all", 2)
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

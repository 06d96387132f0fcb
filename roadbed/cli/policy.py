"""`roadbed policy test` and `roadbed policy eval --request FILE`: the Rego policies, run on this machine.

Both read the policies where the API would (`ROADBED_POLICY_DIRS`, or `--dir`), in-process as the API does, so a
platform team checks a change before it is deployed. `test` runs every `test_*` rule of the `*_test.rego` files
(exit 1 when one fails or a file does not load); `eval` explains one decision for a request body (exit 1: denied,
or no decision can be made because a policy file is broken).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from roadbed.cli.client import fail
from roadbed.cli.output import Output, cell

app = typer.Typer(help="Rego policies: run their tests, explain a decision.", no_args_is_help=True)
console = Output()
DirOption = Annotated[list[Path] | None, typer.Option("--dir", help="a policy directory (repeatable); default ROADBED_POLICY_DIRS")]


def _dirs(given: list[Path] | None) -> list[Path]:
    if given:
        return given
    from roadbed.settings import load_settings

    dirs = load_settings().policy_dir_paths
    if not dirs:
        raise fail("no policy directories: set ROADBED_POLICY_DIRS or pass --dir", code=2)
    return dirs


@app.command("test")
def test(directories: DirOption = None, as_json: Annotated[bool, typer.Option("--json", help="every result as JSON")] = False) -> None:
    """Run the policies' own Rego tests (`*_test.rego`, rules named `test_*`)."""
    from rich.table import Table

    from roadbed.policies.testing import run_tests

    report = run_tests(_dirs(directories))
    if as_json:
        console.print_json(data={
            "ok": report.ok,
            "results": [{"file": str(r.file), "test": r.name, "outcome": r.outcome, "detail": r.detail} for r in report.results],
            "errors": [e.as_dict() for e in report.errors],
        })
    else:
        table = Table("file", "test", "outcome", "detail")
        for r in report.results:
            style = {"pass": "green", "fail": "red", "error": "magenta"}[r.outcome]
            table.add_row(cell(r.file.name), cell(r.name), f"[{style}]{r.outcome}[/]", cell(r.detail))
        console.print(table)
        for error in report.errors:
            console.note(f"could not load {error.path}: {error.message}")
        passed = sum(r.outcome == "pass" for r in report.results)
        console.note(f"{passed}/{len(report.results)} passed" + (f", {len(report.errors)} file(s) failed to load" if report.errors else ""))
    if not report.ok:
        raise typer.Exit(1)


def _golden_path(name: Any) -> dict[str, Any]:
    """The golden path as the policies see it; an unknown name is passed on with no version or tags."""
    from roadbed.golden_paths import GoldenPathRegistry
    from roadbed.settings import load_settings

    found = GoldenPathRegistry(load_settings().golden_path_dirs).find(name) if isinstance(name, str) else None
    if found is None:
        return {"name": name, "version": None, "tags": []}
    return {"name": found.name, "version": found.version, "tags": list(found.tags)}


@app.command("eval")
def evaluate(
    request: Annotated[Path, typer.Option("--request", help="a request body (JSON), as POST /v1/environments takes it")],
    directories: DirOption = None,
    action: Annotated[str, typer.Option(help="create, update, reconcile or extend")] = "create",
    role: Annotated[str, typer.Option(help="the caller's role")] = "developer",
    team: Annotated[list[str] | None, typer.Option("--team", help="the caller's teams (repeatable); default the request's team")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the decision and its input as JSON")] = False,
) -> None:
    """Explain the decision the policies make for a request (exit 1 when it is denied)."""
    from roadbed.policies import PolicyUnavailable, apply_caps, policy_engine, policy_input

    try:
        body = json.loads(request.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"cannot read {request}: {exc}", code=2) from exc
    if not isinstance(body, dict):
        raise fail(f"{request} must hold a JSON object (a request body)", code=2)
    engine = policy_engine(_dirs(directories))
    teams = team or ([body["team"]] if isinstance(body.get("team"), str) else [])
    document = policy_input(action, body, _golden_path(body.get("golden_path")), {"role": role, "teams": teams}, None)
    try:
        decision = engine.decide(document)
    except PolicyUnavailable as exc:
        raise fail(str(exc)) from exc
    capped, applied = apply_caps(document["request"], decision.caps)
    if as_json:
        console.print_json(data={"decision": decision.as_dict() | {"applied": [c.as_dict() for c in applied]}, "input": document})
    else:
        _explain(engine.policies.sha256, [p.name for p in engine.policies.policies], decision, applied, capped)
    if decision.denied:
        raise typer.Exit(1)


def _explain(sha256: str, names: list[str], decision: Any, applied: list[Any], capped: dict[str, Any]) -> None:
    _line(f"policies {', '.join(names) or '(none)'}; version sha256 {sha256}")
    for d in decision.denials:
        _line(f"deny    {d.policy}: {d.message}")
    for a in decision.approvals:
        _line(f"approve {a.policy}: {a.message}")
    for c in decision.caps:
        lowered = " (lowers this request's value)" if c in applied else " (this request is within it)"
        _line(f"cap     {c.policy}: {c.field} <= {c.max}{lowered}")
    verdict = "DENIED" if decision.denied else "allowed, after approval" if decision.requires_approval else "allowed"
    _line(f"decision: {verdict}" + (f"; ttl_seconds becomes {capped.get('ttl_seconds')}" if any(c.field == "ttl_seconds" for c in applied) else ""))


def _line(text: str) -> None:
    console.print(text, markup=False)

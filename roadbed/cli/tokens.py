"""`roadbed tokens create|list|revoke`: API tokens, through the API (platform-admin, audited).

Going through the API means every change is in the audit trail and lands in the database of the API that
`ROADBED_API_URL` names, not in whatever data dir this machine has. The one exception is `create --bootstrap`:
the first platform-admin token, written straight into the data dir's database (only while it has no active
platform-admin token), for a database that `roadbed up` did not initialise or whose admin tokens were all revoked.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from roadbed.cli.client import EXIT_USAGE, call, fail
from roadbed.cli.output import Output, cell
from roadbed.cli.usage import Group

app = typer.Typer(help="API tokens (platform-admin): shown once when created, stored hashed.", no_args_is_help=True, cls=Group)
console = Output()


class RoleChoice(StrEnum):
    """roadbed.auth.Role, without importing the storage layer at start-up."""

    DEVELOPER = "developer"
    PLATFORM_ADMIN = "platform-admin"
    VIEWER = "viewer"
    DEPLOYER = "deployer"


def _describe(row: dict[str, object]) -> str:
    scope = [str(row["service"])] if row.get("service") else list(map(str, row.get("teams") or []))  # type: ignore[call-overload]
    return f"{row['id']} ({row['role']}{' for ' + ', '.join(scope) if scope else ''})"


@app.command()
def create(
    role: Annotated[RoleChoice, typer.Option("--role", help="developer, platform-admin, viewer or deployer")],
    team: Annotated[list[str] | None, typer.Option("--team", help="Team the token acts for (developer), repeatable")] = None,
    service: Annotated[str | None, typer.Option("--service", help="The one service a deployer token may deploy")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    bootstrap: Annotated[bool, typer.Option("--bootstrap", help="The first platform-admin token, written into the data dir's database "
                                            "(refused while it has an active platform-admin token)")] = False,
) -> None:
    """Create a token and print it once (the last line of the output)."""
    from roadbed.domain.naming import dns_label_problem

    teams = team or []
    bad = [t for t in teams if dns_label_problem(t)]
    if bad:
        raise fail(f"invalid team name{'s' if len(bad) > 1 else ''}: {', '.join(bad)} (lowercase letters, digits and hyphens)", EXIT_USAGE)
    if role is RoleChoice.DEVELOPER and not teams:
        raise fail("a developer token needs at least one --team", EXIT_USAGE)
    if (role is RoleChoice.DEPLOYER) != (service is not None):
        raise fail("--service goes with --role deployer, and a deployer token needs it", EXIT_USAGE)
    if role is RoleChoice.DEPLOYER and teams:
        raise fail("a deployer token acts for no team: give --service only", EXIT_USAGE)
    if bootstrap:
        if role is not RoleChoice.PLATFORM_ADMIN:
            raise fail("--bootstrap creates a platform-admin token only (--role platform-admin)", EXIT_USAGE)
        created = _bootstrap(description)
    else:
        body = {"role": role.value, "teams": teams, "description": description} | ({"service": service} if service else {})
        created = call("POST", "/v1/tokens", json=body)
    console.print(f"created {_describe(created)}; the token is shown only now:", markup=False, highlight=False)
    console.print(str(created["token"]), markup=False, highlight=False, soft_wrap=True)


def _bootstrap(description: str | None) -> dict[str, object]:
    """Create the first platform-admin token directly in the data dir's database, unless an active one exists."""
    from datetime import UTC, datetime

    from roadbed.settings import load_settings
    from roadbed.storage import tokens
    from roadbed.storage.database import Database

    try:
        settings = load_settings()
    except Exception as exc:  # noqa: BLE001 - a bad setting is a one-line reason, not a trace
        raise fail(f"invalid settings: {exc}") from exc
    database = Database(settings.resolved_database_url)
    try:
        database.migrate()
        with database.transaction(serialized=True) as session:
            active = tokens.active_admin_tokens(session)
            if active:
                raise fail(f"{settings.resolved_database_url.split(':', 1)[0]} database already has an active platform-admin token "
                           f"({active[0].id}): use it (ROADBED_TOKEN or {settings.admin_token_file}) with `roadbed tokens create`")
            row, token = tokens.create_token(session, RoleChoice.PLATFORM_ADMIN.value, [], datetime.now(UTC), description or "bootstrap")
            return {"id": row.id, "role": row.role, "teams": [], "token": token}
    finally:
        database.dispose()


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON (for machines)")] = False) -> None:
    """List tokens, active and revoked (never their values)."""
    rows = call("GET", "/v1/tokens")
    if as_json:
        console.print_json(data=rows)
        return
    table = Table()
    table.add_column("id", no_wrap=True, min_width=16)
    for column in ("role", "teams", "created", "revoked", "description", "service"):
        table.add_column(column)
    for row in rows:
        table.add_row(*map(cell, (row["id"], row["role"], ", ".join(row["teams"]), row["created_at"][:19], (row["revoked_at"] or "")[:19], row["description"] or "",
                                  row.get("service") or "")))
    console.print(table)


@app.command()
def revoke(token_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Revoke a token: it stops working at once."""
    row = call("DELETE", f"/v1/tokens/{token_id}")
    console.print(f"revoked {_describe(row)}", markup=False)

"""`roadbed tokens create|list|revoke`: API tokens, managed against the data dir directly (no API needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from roadbed.auth import Role
from roadbed.domain.naming import dns_label_problem
from roadbed.settings import load_settings
from roadbed.storage import tokens
from roadbed.storage.database import Database

app = typer.Typer(help="API tokens: created shown once, stored hashed.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


def _database() -> Database:
    database = Database(load_settings().resolved_database_url)
    database.migrate()
    return database


@app.command()
def create(
    role: Annotated[Role, typer.Option("--role", help="developer, platform-admin or viewer")],
    team: Annotated[list[str] | None, typer.Option("--team", help="Team the token acts for (developer), repeatable")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
) -> None:
    """Create a token and print it once."""
    teams = team or []
    bad = [t for t in teams if dns_label_problem(t)]
    if bad:
        err_console.print(f"[red]error:[/] invalid team name(s): {', '.join(bad)}", highlight=False)
        raise typer.Exit(1)
    if role is Role.DEVELOPER and not teams:
        err_console.print("[red]error:[/] a developer token needs at least one --team", highlight=False)
        raise typer.Exit(1)
    database = _database()
    with database.transaction() as session:
        row, token = tokens.create_token(session, role.value, teams, datetime.now(UTC), description)
    console.print(f"created {row.id} ({row.role}{' for ' + ', '.join(row.teams) if row.teams else ''}); the token is shown only now:", highlight=False)
    print(token)


@app.command("list")
def list_() -> None:
    """List tokens (never their values)."""
    database = _database()
    with database.transaction() as session:
        rows = tokens.list_tokens(session)
    table = Table()
    table.add_column("id", no_wrap=True, min_width=16)
    for column in ("role", "teams", "created", "revoked", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.id, row.role, ", ".join(row.teams), row.created_at.isoformat(timespec="seconds"),
                      row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else "", row.description or "")
    console.print(table)


@app.command()
def revoke(token_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Revoke a token: it stops working at once."""
    database = _database()
    with database.transaction() as session:
        found = tokens.revoke_token(session, token_id, datetime.now(UTC))
    if not found:
        err_console.print(f"[red]error:[/] no active token {token_id!r}", highlight=False)
        raise typer.Exit(1)
    console.print(f"revoked {token_id}", highlight=False)

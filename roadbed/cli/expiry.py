"""`roadbed extend ID 2d`: move an ephemeral environment's expiry later (`POST /v1/environments/{id}/extend`).

The platform checks everything (the ttl cap, the team, that the environment has an expiry to move); this
prints the new expiry, or the platform's one-line reason and exits 1.
"""

from __future__ import annotations

from typing import Annotated

import typer

from roadbed.cli.client import call
from roadbed.cli.output import Output

out = Output()


def extend(
    environment_id: Annotated[str, typer.Argument(metavar="ID")],
    by: Annotated[str, typer.Argument(metavar="DURATION", help="how much later: 2d, 12h, 90s, P2D or seconds")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the environment as JSON")] = False,
) -> None:
    """Extend an ephemeral environment's expiry (requested with a ttl) by DURATION."""
    environment = call("POST", f"/v1/environments/{environment_id}/extend", json={"by": by})
    if as_json:
        out.print_json(data=environment)
    else:
        out.print(f"extended: {environment['id']} now expires at {environment['expires_at']}", markup=False)

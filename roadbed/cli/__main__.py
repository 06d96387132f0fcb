"""`python -m roadbed.cli` — the same as the `roadbed` console script."""

from roadbed.cli.main import app

app()

"""`python -m roadbed.cli` — the same as the `roadbed` console script (and named so in help and errors)."""

from roadbed.cli.main import app

app(prog_name="roadbed")

"""The `roadbed` command line (typer + rich)."""

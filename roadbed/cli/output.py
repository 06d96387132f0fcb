"""How commands print: rich tables in a terminal, full values as TSV when piped, the API's JSON with `--json`.

A rich table squeezed into a pipe truncates cells (`roadbed list | grep` used to see `stat…`), so without a terminal
`Output.print(table)` writes every cell whole: the header line, then one line per row, tab-separated, with tabs
and newlines inside a value turned into spaces, and markup reduced to its text. Table titles are left out of the
TSV so it stays a plain grid (the same facts are in `--json`). API data put into cells must be `cell(value)`
(escaped), so a `[...]` inside a value is printed, never read as markup.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def plural(count: int, word: str, many: str | None = None) -> str:
    """`plural(1, "environment")` → "1 environment", `plural(2, "environment")` → "2 environments"."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def cell(value: Any) -> str:
    """A value from the API, escaped for a table cell (None → "")."""
    from rich.markup import escape

    return escape("" if value is None else str(value))


def _plain(value: Any) -> str:
    from rich.text import Text

    text = value.plain if isinstance(value, Text) else Text.from_markup(str(value)).plain
    return " ".join(text.replace("\t", " ").splitlines())


class Output:
    """stdout for a command: `print` a rich table (TSV when piped) or a line, `print_json` for `--json`."""

    def is_terminal(self) -> bool:
        return sys.stdout.isatty()

    def print(self, renderable: Any = "", **kwargs: Any) -> None:
        if self.is_terminal():
            from rich.console import Console

            Console().print(renderable, **kwargs)
            return
        from rich.table import Table

        if isinstance(renderable, Table):
            header = "\t".join(_plain(column.header) for column in renderable.columns)
            rows = zip(*(list(column.cells) for column in renderable.columns), strict=True) if renderable.columns else []
            sys.stdout.write("\n".join([header, *("\t".join(_plain(value) for value in row) for row in rows)]) + "\n")
        else:
            from rich.text import Text

            text = str(renderable) if kwargs.get("markup") is False or not isinstance(renderable, str) else Text.from_markup(renderable).plain
            sys.stdout.write(text + "\n")

    def note(self, line: str, **kwargs: Any) -> None:
        """A line beside a table: on stdout in a terminal, on stderr when piped (so stdout stays one TSV grid)."""
        if self.is_terminal():
            self.print(line, **kwargs)
        else:
            from rich.text import Text

            sys.stderr.write(Text.from_markup(line).plain + "\n")

    def print_json(self, json_text: str | None = None, *, data: Any = None) -> None:
        """`--json`: the API's answer, indented (the signature of rich's `Console.print_json`, so either serves)."""
        if json_text is not None:
            data = json.loads(json_text)
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")

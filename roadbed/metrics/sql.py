"""SQL helpers shared by the reports: timestamps as epoch seconds, the same on SQLite and PostgreSQL.

Durations are computed in the database (one float column comes back instead of two timestamps to
parse), which needs "seconds since the epoch" of a timestamp column:

- PostgreSQL: `EXTRACT(EPOCH FROM ts)`, exact to the microsecond.
- SQLite stores SQLAlchemy timestamps as text `YYYY-MM-DD HH:MM:SS.ffffff` (UTC, see
  `roadbed.storage.tables.UtcDateTime`): whole seconds from `strftime('%s')` plus the fraction read
  from the text. (`julianday()` would be simpler but only precise to ~20 µs, which turns a 40-minute
  restore into 2399.99998 s; `unixepoch(ts, 'subsec')` needs SQLite 3.42.) Where the SQLite library has
  `unixepoch()` (3.38+), it gives those whole seconds — the same integer — at half the cost of formatting and
  parsing them back as text, which is most of a report's time on tens of thousands of rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, String, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement


class epoch(FunctionElement[float]):  # noqa: N801 - reads like the SQL function it stands for
    """`epoch(column)`: the timestamp as float seconds since 1970-01-01 UTC."""

    type = Float()
    inherit_cache = True
    name = "epoch"


@compiles(epoch, "postgresql")
def _epoch_postgresql(element: epoch, compiler: Any, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS DOUBLE PRECISION)"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    version = getattr(compiler.dialect.dbapi, "sqlite_version_info", (0, 0, 0)) if compiler.dialect.dbapi else (0, 0, 0)
    seconds = f"unixepoch({column})" if version >= (3, 38, 0) else f"CAST(strftime('%s', {column}) AS INTEGER)"
    return f"({seconds} + CAST(substr({column}, 20) AS REAL))"


def seconds_between(later: ColumnElement[Any], earlier: ColumnElement[Any]) -> ColumnElement[float]:
    return epoch(later) - epoch(earlier)


class json_values(FunctionElement[str]):  # noqa: N801 - reads like the SQL function it stands for
    """`json_values(column, path, ...)`: the values at the given key paths of a JSON column as one JSON array text
    (`null` where a path is missing), from one parse of the document per row instead of one per path; e.g.
    `json_values(body, ("spec", "owner"), ("metadata", "links"))` → `'["group:default/a", null]'`."""

    type = String()
    inherit_cache = False  # the paths are part of the statement's text

    def __init__(self, column: ColumnElement[Any], *paths: tuple[str, ...]) -> None:
        if len(paths) < 2:  # SQLite's json_extract gives one path's value bare, not in an array
            raise ValueError("json_values takes two or more paths")
        self.paths = paths
        super().__init__(column)


def _sqlite_path(path: tuple[str, ...]) -> str:
    if any('"' in key or "\\" in key for key in path):
        raise ValueError(f"JSON path {path!r}: keys with quotes or backslashes are not supported")
    return "$" + "".join(f'."{key}"' for key in path)


@compiles(json_values, "sqlite")
def _json_values_sqlite(element: json_values, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    paths = ", ".join(compiler.process(literal(_sqlite_path(path)), **kw) for path in element.paths)
    return f"json_extract({column}, {paths})"


@compiles(json_values, "postgresql")
def _json_values_postgresql(element: json_values, compiler: Any, **kw: Any) -> str:
    # Each `#>` on a `json` (text) column parses the document again; casting to jsonb once costs more still. Callers that
    # read many rows on PostgreSQL fetch the document as text and take the paths in Python (`values_at`) instead.
    column = compiler.process(element.clauses, **kw)
    parts = []
    for path in element.paths:
        keys = ", ".join(compiler.process(literal(key, String()), **kw) for key in path)
        parts.append(f"(CAST({column} AS JSON) #> CAST(ARRAY[{keys}] AS TEXT[]))")
    return f"CAST(json_build_array({', '.join(parts)}) AS TEXT)"


def values_at(document: Any, *paths: tuple[str, ...]) -> list[Any]:
    """In Python, what `json_values` gives once decoded: the value at each key path of a decoded document, None where a
    path is missing or passes through something that is not an object."""
    found = []
    for path in paths:
        value = document
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        found.append(value)
    return found

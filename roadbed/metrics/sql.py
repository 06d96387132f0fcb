"""SQL helpers shared by the reports: timestamps as epoch seconds, the same on SQLite and PostgreSQL.

Durations are computed in the database (one float column comes back instead of two timestamps to
parse), which needs "seconds since the epoch" of a timestamp column:

- PostgreSQL: `EXTRACT(EPOCH FROM ts)`, exact to the microsecond.
- SQLite stores SQLAlchemy timestamps as text `YYYY-MM-DD HH:MM:SS.ffffff` (UTC, see
  `roadbed.storage.tables.UtcDateTime`): whole seconds from `strftime('%s')` plus the fraction read
  from the text. (`julianday()` would be simpler but only precise to ~20 µs, which turns a 40-minute
  restore into 2399.99998 s; `unixepoch(ts, 'subsec')` needs SQLite 3.42.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float
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
    return f"(CAST(strftime('%s', {column}) AS INTEGER) + CAST(substr({column}, 20) AS REAL))"


def seconds_between(later: ColumnElement[Any], earlier: ColumnElement[Any]) -> ColumnElement[float]:
    return epoch(later) - epoch(earlier)

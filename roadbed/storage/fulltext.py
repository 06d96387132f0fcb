"""Full-text query building for the two engine databases: SQLite FTS5 and PostgreSQL `tsvector`.

The indexes themselves are made by migration 0012 (`catalog_search` and `techdocs_search` FTS5 tables kept in sync
by triggers on SQLite; generated `search_vector` columns with GIN indexes on PostgreSQL). Both split text into
words at every character that is not a letter or digit (FTS5's `unicode61` tokenizer; on PostgreSQL the indexed
text has its punctuation replaced by spaces first, so `payments-gateway` or `my.service` index as two words there
too instead of one compound, host or file token).

A query is never handed to either engine's query syntax as typed: `tokens_of` keeps only its words (letters and
digits), so `"`, `*`, `:`, `&`, `|`, `!`, `(`, `-`, `NEAR`, quotes and backslashes cannot reach the parser as
syntax, and each word is additionally quoted when the query is written (`"word"*` for FTS5, `'word':*` for
`to_tsquery`). Every word is a prefix: typing "ledg" finds "ledger".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy.orm import Session

MAX_TOKENS = 8
MAX_TOKEN_CHARS = 64
_WORD = re.compile(r"[^\W_]+")  # letters and digits, as FTS5's unicode61 tokenizer sees words


def tokens_of(words: Iterable[str]) -> list[str]:
    """The distinct lower-cased letter-and-digit words in `words` (at most `MAX_TOKENS`), in order."""
    found: list[str] = []
    for word in words:
        for token in _WORD.findall(word.lower()):
            token = token[:MAX_TOKEN_CHARS]
            if token not in found:
                found.append(token)
    return found[:MAX_TOKENS]


def words_of(text: str) -> list[str]:
    """Every lower-cased letter-and-digit word of `text`, in order, repeats kept (for a phrase)."""
    return [word[:MAX_TOKEN_CHARS] for word in _WORD.findall(text.lower())]


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def fts5_query(tokens: list[str], *, any_token: bool = False) -> str:
    """An FTS5 MATCH expression: every token (or any, with `any_token`) as a quoted prefix."""
    quoted = ['"' + token.replace('"', '""') + '"*' for token in tokens]
    return (" OR " if any_token else " AND ").join(quoted)


def fts5_phrase(words: list[str]) -> str:
    """An FTS5 phrase: the words in this order, quoted (no prefix)."""
    return '"' + " ".join(words).replace('"', '""') + '"'


def tsquery_text(tokens: list[str], *, weights: str = "", any_token: bool = False) -> str:
    """Text for `to_tsquery('simple', ...)`: every token (or any) as a quoted prefix, limited to `weights` (e.g. "A")."""
    quoted = ["'" + token.replace("\\", "\\\\").replace("'", "''") + "':*" + weights for token in tokens]
    return (" | " if any_token else " & ").join(quoted)

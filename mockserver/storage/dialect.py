"""What differs between SQLite's SQL and PostgreSQL's, in one place.

The statements both stores run (the reads, the analytics, the running totals) are written
once, in the spelling both databases accept, with named parameters (``:name``); a dialect
renders them (``Dialect.sql``) and supplies the few pieces the two spell differently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# A single-quoted SQL string (its '' kept inside): parameters are never looked for in one.
_STRING = re.compile(r"('(?:[^']|'')*')")
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@dataclass(frozen=True)
class Dialect:
    name: str
    positional: str  # a positional parameter: ? or %s
    named: str  # a named parameter, {} for its name
    least: str  # the smaller of two values (SQLite's two-argument min)
    greatest: str  # the larger
    fold: str  # ASCII letters in lower case, nothing else (as SQLite's lower does)
    received_ms: str  # an event's received_at in epoch milliseconds
    same: str  # null-safe equality
    json_array: str  # a JSON array of the arguments, as text: {} for them
    elements: str  # a FROM item: each element of the JSON array text {column}, as {alias}
    field: str  # the text of member {key} of an element {alias}
    element_text: str  # an element {alias} of an array of strings, as text
    unindexed: str  # before a column: keeps its index out of a lookup (SQLite: +)
    like_needle: str  # a LIKE pattern, folded as ``fold`` folds the text it is matched to
    temporary: str  # after CREATE TEMP TABLE's name: when it goes
    text_order: str  # ORDER BY text byte by byte, whatever the database's locale
    cast_to_float: str  # summing integers near 2**63 without overflowing
    temp_schema: str
    exact: str  # a difference of two int64 times, without overflowing
    integer_key: str  # a table's own integer key (SQLite: the rowid itself)
    without_rowid: str  # after a table keyed by its columns (SQLite)
    # received_at text {} seconds earlier, as received_at is written (ISO, microseconds)
    earlier: str

    def sql(self, text: str) -> str:
        """``text``, written with ``:name`` parameters, in this dialect."""
        if self.named == ":{}":
            return text
        parts = _STRING.split(text.replace("%", "%%"))
        parts[::2] = [_NAMED.sub(lambda m: self.named.format(m[1]), part) for part in parts[::2]]
        return "".join(parts)

    def contains(self, column: str) -> str:
        """``column`` contains a bound LIKE pattern (``containing``), ASCII letters in either
        case, nothing else folded."""
        needle = self.like_needle.format(self.positional)
        folded = column if self.like_needle == "{}" else f"{self.fold}({column})"
        return f"{folded} LIKE {needle} ESCAPE '\\'"

    def listed(self, column: str, param: str) -> str:
        """``column`` is one of the values of the bound list ``param`` (``as_list``)."""
        if self.name == "sqlite":
            return f"{column} IN (SELECT value FROM json_each(:{param}))"
        return f"{column} = ANY(:{param})"

    def as_list(self, values: Sequence[Any]) -> Any:
        return json.dumps(list(values)) if self.name == "sqlite" else list(values)

    def total(self, number: str, only: str = "") -> str:
        """The sum of ``number`` over the rows (``only``: a FILTER clause), 0 for none."""
        if self.name == "sqlite":
            return f"total({number}){only}"
        return f"coalesce(sum({number}){only}, 0)"

    def mod(self, number: str, divisor: str) -> str:
        return f"({number} % {divisor})" if self.name == "sqlite" else f"mod({number}, {divisor})"

    def floor_div(self, number: str, divisor: str) -> str:
        """``number // divisor`` rounded down (``/`` truncates towards zero), without the
        overflow ``number - number % divisor`` would hit at -2**63."""
        below = f"CASE WHEN {self.mod(number, divisor)} < 0 THEN 1 ELSE 0 END"
        return f"({number} / {divisor} - {below})"


# How each piece is spelled: (SQLite, PostgreSQL).
_SPELLINGS: dict[str, tuple[str, str]] = {
    "positional": ("?", "%s"),
    "named": (":{}", "%({})s"),
    "least": ("min", "least"),
    "greatest": ("max", "greatest"),
    # PostgreSQL's is a function of the schema's (postgres.py's first migration): translate()
    # of A-Z.
    "fold": ("lower", "mockserver_fold"),
    "received_ms": (
        "CAST(round((julianday(received_at) - 2440587.5) * 86400000) AS INTEGER)",
        "(extract(epoch FROM rtrim(received_at, 'Z')::timestamp) * 1000)::numeric(30, 0)::bigint",
    ),
    "same": ("IS", "IS NOT DISTINCT FROM"),
    "json_array": ("json_array({})", "json_build_array({})::text"),
    "elements": (
        "json_each({column}) AS {alias}",
        "jsonb_array_elements({column}::jsonb) AS {alias}",
    ),
    "field": ("json_extract({alias}.value, '$.{key}')", "{alias}->>'{key}'"),
    "element_text": ("{alias}.value", "{alias} #>> '{{}}'"),
    "unindexed": ("+", ""),
    # SQLite's LIKE folds ASCII letters by itself: faster than instr(lower(...))
    # (measured: bench/results/measurements.md#sqlite-like).
    "like_needle": ("{}", "mockserver_fold({})"),
    "temporary": ("", " ON COMMIT DROP"),
    "text_order": ("{}", '({}) COLLATE "C"'),
    "cast_to_float": ("{}", "{}::float8"),
    "temp_schema": ("temp", "pg_temp"),
    # bigint overflows (SQLite moves to floating point)
    "exact": ("{}", "CAST({} AS NUMERIC)"),
    "integer_key": ("INTEGER", "BIGINT"),
    "without_rowid": (" WITHOUT ROWID", ""),
    "earlier": (
        "strftime('%Y-%m-%dT%H:%M:%f', {column}, '-{seconds} seconds')",
        "to_char(rtrim({column}, 'Z')::timestamp - interval '{seconds} seconds', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US')",
    ),
}
SQLITE, POSTGRES = (
    Dialect(name, **{piece: spellings[i] for piece, spellings in _SPELLINGS.items()})
    for i, name in enumerate(("sqlite", "postgres"))
)

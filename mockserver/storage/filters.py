"""The inspection API's filters as a SQL ``WHERE`` clause, for either store's dialect, and
what both stores encode alike. Each store gives its own clause for each filter name (its
SQL, its placeholder); every value travels as a bound parameter, never in the SQL text."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from mockserver.events import (
    DISAGREE,
    QUERY_FOLLOWS,
    QUERY_SEARCH,
    UNKNOWN_QUERY,
    UNKNOWN_QUERY_WARNING,
    Attempt,
    Event,
    Rejection,
    UpstreamCall,
)
from mockserver.storage.base import (
    ATTEMPT_FILTERS,
    EVENT_FILTERS,
    REJECTION_FILTERS,
    UPSTREAM_FILTERS,
)
from mockserver.storage.dialect import Dialect

ALLOWED = {
    "events": (*EVENT_FILTERS, "after_id"),
    "rejections": REJECTION_FILTERS,
    "attempts": ATTEMPT_FILTERS,
    "upstream_calls": UPSTREAM_FILTERS,
}
# Stored as JSON text.
JSON_COLUMNS = {"items", "payload", "errors", "headers", "warnings", "mock_errors"}
# An event whose payload repeats one stored in its namespace and endpoint in the
# REPEAT_WINDOW_SECONDS before it: a client that retried what was already stored (the
# ack_lost fault makes one). Found through the payload's hash, then compared whole.
REPEAT_WINDOW_SECONDS = 600
# Free text that reads the same inside the items' JSON (printable ASCII, no quote or
# backslash, which JSON would escape): the JSON text can be searched before taking it apart.
SAME_IN_JSON = re.compile(r"[ !#-\[\]-~]*")

# Built once: json.dumps with any option builds a new encoder per call, a large part of its
# cost (measured: bench/results/measurements.md#json-encoder-once).
# ensure_ascii: error messages may quote a string with an unpaired surrogate, which a UTF-8
# encoder would refuse; escaped, it stores and reads back intact.
dumps = json.JSONEncoder(separators=(",", ":")).encode


def payload_hash(payload: str) -> int:
    digest = hashlib.blake2b(payload.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)  # a signed 64-bit integer column


# The events table's columns, in the order ``event_row`` gives them.
EVENT_COLUMNS = (
    "request_id", "vendor", "endpoint", "type", "namespace", "tenant", "user", "session",
    "query", "query_id", "items", "position", "timestamp_ms", "received_at", "payload",
    "headers", "page", "revenue", "payload_hash", "warnings", "query_link",
)  # fmt: skip


def event_row(e: Event, headers: Mapping[str, str]) -> tuple[Any, ...]:
    """An event as its row (``headers``: each request's stored headers, by request id)."""
    return (
        e.request_id, e.vendor, e.endpoint, e.type, e.namespace, e.tenant, e.user, e.session,
        e.query, e.query_id, dumps(list(e.items)), e.position, e.timestamp_ms, e.received_at,
        e.payload, headers.get(e.request_id), e.page, e.revenue, payload_hash(e.payload),
        # null, not [], when there are none: ``warned`` then reads a column, not JSON
        dumps(list(e.warnings)) if e.warnings else None, e.query_link,
    )  # fmt: skip


def _row(shape: Any, item: Any, headers: str | None = None) -> list[Any]:
    """A Rejection, Attempt or UpstreamCall as its row, in the order of its fields: JSON
    columns as text (``headers``: a rejection's, already), booleans as 0/1 (as SQLite keeps
    them)."""
    row = []
    for name in COLUMNS[shape]:
        value = getattr(item, name)
        if name == "headers" and headers is not None:
            value = headers
        elif name in JSON_COLUMNS:
            value = dumps(list(value) if isinstance(value, tuple) else value)
        row.append(int(value) if isinstance(value, bool) else value)
    return row


# Each table's columns in the order its rows are written.
COLUMNS: dict[Any, tuple[str, ...]] = {
    Event: EVENT_COLUMNS,
    **{shape: tuple(f.name for f in fields(shape)) for shape in (Rejection, Attempt, UpstreamCall)},
}
TABLES = {Event: "events", Rejection: "rejections", Attempt: "attempts",
          UpstreamCall: "upstream_calls"}  # fmt: skip


@dataclass(frozen=True)
class Rows:
    """What one ``add`` writes, as each table's rows."""

    events: list[Sequence[Any]]
    rejections: list[Sequence[Any]]
    attempts: list[Sequence[Any]]
    upstream_calls: list[Sequence[Any]]

    @classmethod
    def of(
        cls,
        events: Sequence[Event],
        rejections: Sequence[Rejection],
        attempts: Sequence[Attempt],
        upstream_calls: Sequence[UpstreamCall],
        headers: Mapping[str, str],
    ) -> Rows:
        return cls(
            [event_row(e, headers) for e in events],
            [_row(Rejection, r, headers.get(r.request_id)) for r in rejections],
            [_row(Attempt, a) for a in attempts],
            [_row(UpstreamCall, c) for c in upstream_calls],
        )


def insert_sql(shape: Any, placeholder: str) -> str:
    names = ", ".join(f'"{c}"' for c in COLUMNS[shape])
    marks = ", ".join([placeholder] * len(COLUMNS[shape]))
    return f"INSERT INTO {TABLES[shape]} ({names}) VALUES ({marks})"


def containing(text: str) -> str:
    """A LIKE pattern for ``text`` anywhere, its own % _ and backslash escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class FilterSQL:
    """One dialect's clauses: ``equals`` by filter name (with ``rule+path``, and ``fault`` and
    ``rule_id`` for attempts; ``warning`` a stored warning's rule), ``text`` by table,
    ``text_in_items_json`` for events, ``same``, the dialect's null-safe equality, and
    ``unindexed``, what keeps a column's index out of a lookup (SQLite: unary +)."""

    placeholder: str
    equals: Mapping[str, str]
    text: Mapping[str, str]
    text_in_items_json: str
    same: str
    unindexed: str = ""

    @property
    def unknown_query(self) -> str:
        """True for an event that follows a search no stored search carries, as of now: the
        read-time warning UNKNOWN_QUERY (``events`` is the outer table)."""
        # Found through the query_id index: SQLite, without statistics, took the namespace
        # index instead and scanned the namespace for every click (analytics over 200,000
        # events ran for minutes); the + keeps the namespace out of the choice.
        return (
            f"(events.query_link {self.same} '{QUERY_FOLLOWS}' AND NOT EXISTS ("
            f"SELECT 1 FROM events AS search WHERE search.query_id = events.query_id "
            f"AND search.query_link = '{QUERY_SEARCH}' "
            f"AND {self.unindexed}search.namespace = events.namespace "
            f"AND search.vendor = events.vendor AND search.tenant {self.same} events.tenant))"
        )

    @property
    def warned(self) -> str:
        return f"(events.warnings IS NOT NULL OR {self.unknown_query})"

    def where(self, filters: Mapping[str, Any], table: str) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for name in ALLOWED[table]:
            value = filters.get(name)
            if value is None:
                continue
            if name == "text":
                clause = self.text[table]
                if table == "events" and SAME_IN_JSON.fullmatch(value):
                    clause = self.text_in_items_json
                clauses.append(clause)
                params += [containing(value)] * clause.count(self.placeholder)
            elif table == "attempts" and name in ("fault", "rule"):
                clauses.append(self.equals["fault" if name == "fault" else "rule_id"])
                params.append(value)
            elif name == "warned":
                clauses.append(self.warned if value else f"NOT {self.warned}")
            elif name == "warning" and value == UNKNOWN_QUERY:
                clauses.append(self.unknown_query)
            elif name == "path" and filters.get("rule") is not None:
                continue  # joined with rule: one reason must have both
            elif name == "rule" and filters.get("path") is not None:
                clauses.append(self.equals["rule+path"])
                params += [value, filters["path"]]
            else:
                clauses.append(self.equals[name])
                params.append(value)
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


# Columns compared for equality, by filter name; every name here is a constant of this module
# and every value a bound parameter.
_EQUALS = {
    "namespace": "namespace", "vendor": "vendor", "type": "type", "tenant": "tenant",
    "user": "user", "session": "session", "query": "query", "query_id": "query_id",
    "status": "status", "fault": "fault", "rule_id": "rule_id", "outcome": "outcome",
}  # fmt: skip
_RANGES = {
    "since": "received_at >=", "until": "received_at <", "after_id": "id >",
    "event_since": "timestamp_ms >=", "event_until": "timestamp_ms <",
}  # fmt: skip


def filter_sql(d: Dialect) -> FilterSQL:
    """The filters' clauses in dialect ``d``."""
    p = d.positional

    def has(column: str, alias: str, condition: str) -> str:
        elements = d.elements.format(column=column, alias=alias)
        return f"EXISTS (SELECT 1 FROM {elements} WHERE {condition})"

    def reason(key: str) -> str:
        return f"{d.field.format(alias='r', key=key)} = {p}"

    item = d.element_text.format(alias="i")
    # For text that reads the same inside the items' JSON, the JSON text is searched first,
    # and only a row that has it is taken apart: a count is faster than with instr() and
    # lower() over every row's items taken apart
    # (measured: bench/results/measurements.md#free-text-json-first).
    query_or_user = f"{d.contains('query')} OR {d.contains(chr(34) + 'user' + chr(34))}"
    return FilterSQL(
        placeholder=p,
        equals={
            **{name: f'"{column}" = {p}' for name, column in _EQUALS.items()},
            **{name: f"{condition} {p}" for name, condition in _RANGES.items()},
            "item": has("items", "i", f"{item} = {p}"),
            "rule": has("errors", "r", reason("rule")),
            "path": has("errors", "r", reason("path")),
            "rule+path": has("errors", "r", f"{reason('rule')} AND {reason('path')}"),
            "warning": has("warnings", "r", reason("rule")),
        },
        text={
            "events": f"({query_or_user} OR {has('items', 'i', d.contains(item))})",
            "rejections": d.contains("body"),
            "upstream_calls": d.contains("body"),
        },
        text_in_items_json=(
            f"({query_or_user} OR ({d.contains('items')} AND "
            f"{has('items', 'i', d.contains(item))}))"
        ),
        same=d.same,
        unindexed=d.unindexed,
    )


def with_warnings(row: dict[str, Any]) -> dict[str, Any]:
    """An event row as the API gives it: ``warnings`` a list, the stored ones and the
    read-time one (the ``unknown_query`` column the SELECT computed), the store's own columns
    dropped."""
    warnings = row.get("warnings") or []
    if row.pop("unknown_query", None):
        warnings = [*warnings, dict(UNKNOWN_QUERY_WARNING)]
    row["warnings"] = warnings
    row.pop("query_link", None)
    return row


def warning_counts(stored: list[tuple[str, int]], unknown_query: int) -> dict[str, int]:
    """Events by warning rule, most first, then by rule: what ``summary`` gives."""
    counts = dict(stored)
    if unknown_query:
        counts[UNKNOWN_QUERY] = counts.get(UNKNOWN_QUERY, 0) + unknown_query
    return dict(sorted(counts.items(), key=lambda pair: (-pair[1], pair[0])))


def summary_of(
    counts: Callable[[str, str], dict[str, int]],
    total: Callable[[str], int],
    warnings: Callable[[], dict[str, int]],
) -> dict[str, Any]:
    """``Store.summary``'s shape, from a store's ``counts(table, column)``, ``total(table)``
    and ``warnings()`` (events by warning rule)."""
    by_outcome = counts("upstream_calls", "outcome")
    return {
        "events": {
            "total": total("events"),
            "by_vendor": counts("events", "vendor"),
            "by_type": counts("events", "type"),
            "by_tenant": counts("events", "tenant"),
            "by_namespace": counts("events", "namespace"),
        },
        "rejections": {
            "total": total("rejections"),
            "by_vendor": counts("rejections", "vendor"),
            "by_status": counts("rejections", "status"),
            "by_namespace": counts("rejections", "namespace"),
        },
        "warnings": warnings(),
        "upstream": {"total": total("upstream_calls"), "by_outcome": by_outcome},
        "disagreements": by_outcome.get(DISAGREE, 0),
    }

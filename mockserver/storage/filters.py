"""The inspection API's filters as a SQL ``WHERE`` clause, for either store's dialect, and
what both stores encode alike. Each store gives its own clause for each filter name (its
SQL, its placeholder); every value travels as a bound parameter, never in the SQL text."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.events import Event
from mockserver.storage.base import ATTEMPT_FILTERS, EVENT_FILTERS, REJECTION_FILTERS

ALLOWED = {
    "events": (*EVENT_FILTERS, "after_id"),
    "rejections": REJECTION_FILTERS,
    "attempts": ATTEMPT_FILTERS,
}
JSON_COLUMNS = {"items", "payload", "errors", "headers"}  # stored as JSON text
# An event whose payload repeats one stored in its namespace and endpoint in the
# REPEAT_WINDOW_SECONDS before it: a client that retried what was already stored (the
# ack_lost fault makes one). Found through the payload's hash, then compared whole.
REPEAT_WINDOW_SECONDS = 600
# Free text that reads the same inside the items' JSON (printable ASCII, no quote or
# backslash, which JSON would escape): the JSON text can be searched before taking it apart.
SAME_IN_JSON = re.compile(r"[ !#-\[\]-~]*")

# Built once: json.dumps with any option builds a new encoder per call (1.2 of its 3 µs).
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
    "headers", "page", "revenue", "payload_hash",
)  # fmt: skip


def event_row(e: Event, headers: Mapping[str, str]) -> tuple[Any, ...]:
    """An event as its row (``headers``: each request's stored headers, by request id)."""
    return (
        e.request_id, e.vendor, e.endpoint, e.type, e.namespace, e.tenant, e.user, e.session,
        e.query, e.query_id, dumps(list(e.items)), e.position, e.timestamp_ms, e.received_at,
        e.payload, headers.get(e.request_id), e.page, e.revenue, payload_hash(e.payload),
    )  # fmt: skip


def containing(text: str) -> str:
    """A LIKE pattern for ``text`` anywhere, its own % _ and backslash escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class FilterSQL:
    """One dialect's clauses: ``equals`` by filter name (with ``rule+path``, and ``fault`` and
    ``rule_id`` for attempts), ``text`` by table, and ``text_in_items_json`` for events."""

    placeholder: str
    equals: Mapping[str, str]
    text: Mapping[str, str]
    text_in_items_json: str

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
            elif name == "path" and filters.get("rule") is not None:
                continue  # joined with rule: one reason must have both
            elif name == "rule" and filters.get("path") is not None:
                clauses.append(self.equals["rule+path"])
                params += [value, filters["path"]]
            else:
                clauses.append(self.equals[name])
                params.append(value)
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def summary_of(
    counts: Callable[[str, str], dict[str, int]], total: Callable[[str], int]
) -> dict[str, Any]:
    """``Store.summary``'s shape, from a store's ``counts(table, column)`` and ``total(table)``."""
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
    }

"""The running totals' logic that is not SQL: how a batch of new events changes the stored
sessions and searches. ``totals_sql.py`` reads what is stored, hands it here with the batch,
and writes back what comes out, in either dialect.

Sessions: a session id, or a user's events less than the gap apart (see ``from_events.py``).
The batch's events of a partition are merged with its stored sessions: an event joins every
session it is less than the gap from, so one that arrives late can join two sessions into
one (the kept session, the lower id, takes the other's searches). Exact whatever order events
arrive in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mockserver.storage.base import AnalyticsQuery

MINUTE_MS = 60_000


def answers(query: AnalyticsQuery, gaps: Mapping[str, int]) -> bool:
    """Whether the running totals answer this query exactly: the vendors' declared session
    ``gaps``, and a period of whole minutes (anything else is computed from the events)."""
    return all(query.session_gap_ms.get(v, gap) == gap for v, gap in gaps.items()) and all(
        bound is None or bound % MINUTE_MS == 0 for bound in (query.since_ms, query.until_ms)
    )


@dataclass
class Row:
    """An event of the batch, as the folding reads it."""

    id: int
    namespace: str
    vendor: str
    tenant_key: str
    q: str | None
    t: int
    zero_results: int
    partition: str | None  # the events its session is cut from; None: a session alone
    has_session_id: int  # its partition is a session id, not a user
    search_key: str | None  # a queryId, within its namespace, vendor and tenant
    search_signal: int  # a search's signal: its queryId's, or on a results page
    click: int
    cart_add: int
    purchase: int
    by_session_query: int  # its vendor's searches are told apart by session and query


@dataclass
class Session:
    id: int | None
    start: int
    end: int
    last_cart: int | None = None
    last_purchase: int | None = None
    absorbed: list[int] = field(default_factory=list)  # stored sessions merged into this one
    events: list[Row] = field(default_factory=list)  # the batch's events in it

    def take(self, row: Row) -> None:
        self.events.append(row)
        self.start, self.end = min(self.start, row.t), max(self.end, row.t)
        if row.cart_add:
            self.last_cart = _latest(self.last_cart, row.t)
        if row.purchase:
            self.last_purchase = _latest(self.last_purchase, row.t)

    def take_all(self, other: Session) -> None:
        for row in other.events:
            self.take(row)

    def absorb(self, other: Session) -> None:
        """Two stored sessions become one: the lower id stays, the other is dropped."""
        assert self.id is not None
        assert other.id is not None
        self.absorbed += [max(self.id, other.id), *other.absorbed]
        self.id = min(self.id, other.id)
        self.start, self.end = min(self.start, other.start), max(self.end, other.end)
        self.last_cart = _latest(self.last_cart, other.last_cart)
        self.last_purchase = _latest(self.last_purchase, other.last_purchase)
        self.events += other.events


def _latest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def merge_sessions(stored: list[Session], rows: list[Row], gap: float) -> list[Session]:
    """A partition's sessions once ``rows`` join the ``stored`` ones: runs of events less
    than ``gap`` apart. A stored session that absorbs others keeps the lowest id; only
    sessions that changed are returned."""
    items: list[tuple[int, int, Session | Row]] = [(s.start, s.end, s) for s in stored]
    items += [(r.t, r.t, r) for r in rows]
    items.sort(key=lambda item: (item[0], item[1]))
    merged: list[Session] = []
    for start, _, item in items:
        current = merged[-1] if merged and start - merged[-1].end < gap else None
        if isinstance(item, Session):
            if current is None:
                merged.append(item)
            elif current.id is None:  # new events before a stored session: it keeps its id
                item.take_all(current)
                merged[-1] = item
            else:
                current.absorb(item)
        else:
            if current is None:
                current = Session(None, item.t, item.t)
                merged.append(current)
            current.take(item)
    return [s for s in merged if s.events or s.absorbed]


def partitions(rows: Iterable[Row]) -> list[str]:
    """The partitions whose stored sessions the batch's sessions are merged with."""
    return list(dict.fromkeys(row.partition for row in rows if row.partition is not None))


@dataclass
class SessionChanges:
    """What a batch does to the stored sessions, as rows to write."""

    written: list[tuple[Any, ...]]  # id, namespace, vendor, tenant_key, pkey, times...
    moved: list[tuple[int, int]]  # (kept, gone): a session absorbed, its searches moved
    session_of: dict[int, int]  # event id -> session id


def session_changes(
    rows: Sequence[Row], stored: list[tuple[Any, ...]], next_id: int, gaps: Mapping[str, int]
) -> SessionChanges:
    """The batch merged into the ``stored`` sessions of its partitions (rows of pkey, id,
    start_t, end_t, last_cart_t, last_purchase_t); new sessions take ids from ``next_id``;
    ``gaps``: each vendor's session gap (none: a user's events are one session)."""
    by_partition: dict[str, list[Row]] = {}
    changed: list[Session] = []
    for row in rows:
        if row.partition is None:
            alone = Session(None, row.t, row.t)
            alone.take(row)
            changed.append(alone)
        else:
            by_partition.setdefault(row.partition, []).append(row)
    sessions: dict[str, list[Session]] = {}
    for key, *values in stored:
        sessions.setdefault(key, []).append(Session(*values))
    for key, partition_rows in by_partition.items():
        first = partition_rows[0]
        gap = math.inf if first.has_session_id else gaps.get(first.vendor, math.inf)
        changed += merge_sessions(sessions.get(key, []), partition_rows, gap)
    changes = SessionChanges([], [], {})
    for session in changed:
        times = (session.start, session.end, session.last_cart, session.last_purchase)
        if session.id is None:
            session.id, next_id = next_id, next_id + 1
        first = session.events[0]  # a changed session has events of the batch
        keys = (first.namespace, first.vendor, first.tenant_key, first.partition)
        changes.written.append((session.id, *keys, *times))
        changes.moved += [(session.id, old) for old in session.absorbed]
        for row in session.events:
            changes.session_of[row.id] = session.id
    return changes


def search_keys(rows: Iterable[Row]) -> list[str]:
    """The searches told apart by queryId that the batch names: their stored rows are
    needed."""
    return list(
        dict.fromkeys(
            row.search_key
            for row in rows
            if row.search_key is not None and (row.search_signal or row.click)
        )
    )


def searches_by_id(
    rows: Iterable[Row], stored: Iterable[Sequence[Any]], session_of: dict[int, int]
) -> list[list[Any]]:
    """The rows of ``totals_searches_by_id`` to write: each search the batch names, its
    stored row (key, namespace, vendor, tenant_key, first_t, first_id, session_id, q,
    zero_results, clicked, carted, purchased) updated by the batch's signals and clicks."""
    found: dict[str, list[Any]] = {}
    rows = list(rows)
    for row in rows:
        if row.search_key is not None and (row.search_signal or row.click):
            found.setdefault(
                row.search_key,
                [row.search_key, row.namespace, row.vendor, row.tenant_key, *[None] * 5, 0, 0, 0],
            )
    for row_stored in stored:
        found[row_stored[0]] = list(row_stored)
    for row in rows:
        search = found.get(row.search_key) if row.search_key is not None else None
        if search is None:
            continue
        if row.click:
            search[9] = 1
        elif row.search_signal and (search[4] is None or (row.t, row.id) < (search[4], search[5])):
            search[4:9] = [row.t, row.id, session_of[row.id], row.q, row.zero_results]
    return list(found.values())


def searches_by_session(
    rows: Iterable[Row], session_of: dict[int, int]
) -> dict[tuple[int, str], list[Any]]:
    """The searches told apart by session and query that the batch has: (session, query) ->
    a ``totals_searches_by_session`` row (session_id, q, namespace, vendor, tenant_key,
    first_t, clicked, carted, purchased); first_t stays null while only a click was seen."""
    found: dict[tuple[int, str], list[Any]] = {}
    for row in rows:
        if not row.by_session_query or row.q is None or not (row.search_signal or row.click):
            continue
        key = (session_of[row.id], row.q)
        search = found.setdefault(
            key, [*key, row.namespace, row.vendor, row.tenant_key, None, 0, 0, 0]
        )
        if row.search_signal and (search[5] is None or row.t < search[5]):
            search[5] = row.t
        search[6] |= row.click
    return found


def with_stored_by_session(
    found: dict[tuple[int, str], list[Any]], stored: Iterable[Sequence[Any]]
) -> list[list[Any]]:
    """The batch's searches by session and query joined with what is stored of them: the
    earlier first time, clicked if either was."""
    for row_stored in stored:
        known = found.get((row_stored[0], row_stored[1]))
        if known is not None:
            known[5] = min((t for t in (known[5], row_stored[5]) if t is not None), default=None)
            known[6] |= row_stored[6]
    return list(found.values())


def reading_params(query: AnalyticsQuery) -> dict[str, Any]:
    """The bound values the totals are read with: the query's, and its period in minutes."""
    since, until = query.since_ms, query.until_ms
    return {
        "namespace": query.namespace, "vendor": query.vendor, "tenant": query.tenant,
        "since": since, "until": until,
        "since_minute": None if since is None else since // MINUTE_MS,
        "until_minute": None if until is None else until // MINUTE_MS,
        "per_bucket": query.bucket_ms // MINUTE_MS,
    }  # fmt: skip


def add_up_queries(per_table: Iterable[Iterable[Sequence[Any]]]) -> list[tuple[Any, ...]]:
    """Rows of (q, counts...) from each searches table, added up by query."""
    queries: dict[Any, list[int]] = {}
    for rows in per_table:
        for q, *counts in rows:
            known = queries.setdefault(q, [0] * len(counts))
            known[:] = [a + int(b or 0) for a, b in zip(known, counts, strict=True)]
    return [(q, *counts) for q, counts in queries.items()]

"""The running totals' logic that is not SQL: how a batch of new events changes the stored
sessions and searches. ``sqlite_rollup.py`` and ``postgres_rollup.py`` read what is stored,
hand it here with the batch, and write back what comes out, each in its own dialect.

Sessions: a Lucidworks session id, or a user's events less than the gap apart (see
``sqlite_analytics.py``). The batch's events of a partition are merged with its stored
sessions: an event joins every session it is less than the gap from, so one that arrives
late can join two sessions into one (the kept session, the lower id, takes the other's
searches). Exact whatever order events arrive in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mockserver.storage.base import DEFAULT_SESSION_GAP_MS, AnalyticsQuery

MINUTE_MS = 60_000


def answers(query: AnalyticsQuery) -> bool:
    """Whether the running totals answer this query exactly: the default session gaps, and a
    period of whole minutes (anything else is computed from the events)."""
    return query.session_gap_ms == DEFAULT_SESSION_GAP_MS and all(
        bound is None or bound % MINUTE_MS == 0 for bound in (query.since_ms, query.until_ms)
    )


@dataclass
class Row:
    """An event of the batch, as the folding reads it."""

    id: int
    namespace: str
    vendor: str
    tenant_key: str
    type: str
    page: str | None
    q: str | None
    t: int
    zero_results: int
    partition: str | None  # the events its session is cut from; None: a session alone
    has_session_id: int  # its partition is a Lucidworks session id, not a user
    search_key: str | None  # a Lucidworks queryId, within its namespace and tenant


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
        if row.type in ("cartadd", "ADD_TO_CART"):
            self.last_cart = _latest(self.last_cart, row.t)
        elif row.type in ("purchase", "PURCHASE"):
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

    inserted: list[tuple[Any, ...]]  # id, namespace, vendor, tenant_key, pkey, times...
    updated: list[tuple[Any, ...]]  # start_t, end_t, last_cart_t, last_purchase_t, id
    moved: list[tuple[int, int]]  # (kept, gone): a session absorbed, its searches moved
    session_of: dict[int, int]  # event id -> session id


def session_changes(
    rows: Sequence[Row], stored: list[tuple[Any, ...]], next_id: int
) -> SessionChanges:
    """The batch merged into the ``stored`` sessions of its partitions (rows of pkey, id,
    start_t, end_t, last_cart_t, last_purchase_t); new sessions take ids from ``next_id``."""
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
        gap = math.inf if first.has_session_id else DEFAULT_SESSION_GAP_MS[first.vendor]
        changed += merge_sessions(sessions.get(key, []), partition_rows, gap)
    changes = SessionChanges([], [], [], {})
    for session in changed:
        times = (session.start, session.end, session.last_cart, session.last_purchase)
        if session.id is None:
            first = session.events[0]
            session.id, next_id = next_id, next_id + 1
            keys = (first.namespace, first.vendor, first.tenant_key, first.partition)
            changes.inserted.append((session.id, *keys, *times))
        else:
            changes.updated.append((*times, session.id))
        changes.moved += [(session.id, old) for old in session.absorbed]
        for row in session.events:
            changes.session_of[row.id] = session.id
    return changes


def search_keys(rows: Iterable[Row]) -> list[str]:
    """The Lucidworks searches (queryIds) the batch names: their stored rows are needed."""
    return list(
        dict.fromkeys(
            row.search_key
            for row in rows
            if row.search_key is not None and row.type in ("query", "click")
        )
    )


def lucidworks_searches(
    rows: Iterable[Row], stored: Iterable[Sequence[Any]], session_of: dict[int, int]
) -> list[list[Any]]:
    """The rows of ``rollup_lw_searches`` to write: each search the batch names, its stored
    row (key, namespace, tenant_key, first_t, first_id, session_id, q, zero_results,
    clicked, carted, purchased) updated by the batch's query and click signals."""
    found: dict[str, list[Any]] = {}
    rows = list(rows)
    for row in rows:
        if row.search_key is not None and row.type in ("query", "click"):
            found.setdefault(
                row.search_key,
                [row.search_key, row.namespace, row.tenant_key, *[None] * 5, 0, 0, 0],
            )
    for row_stored in stored:
        found[row_stored[0]] = list(row_stored)
    for row in rows:
        search = found.get(row.search_key) if row.search_key is not None else None
        if search is None:
            continue
        if row.type == "click":
            search[8] = 1
        elif row.type == "query" and (
            search[3] is None or (row.t, row.id) < (search[3], search[4])
        ):
            search[3:8] = [row.t, row.id, session_of[row.id], row.q, row.zero_results]
    return list(found.values())


def neuralens_searches(
    rows: Iterable[Row], session_of: dict[int, int]
) -> dict[tuple[int, str], list[Any]]:
    """The Neuralens searches the batch has: (session, query) -> a ``rollup_nl_searches``
    row (session_id, q, namespace, tenant_key, first_t, clicked, carted, purchased); first_t
    stays null while only a click was seen."""
    found: dict[tuple[int, str], list[Any]] = {}
    for row in rows:
        if row.vendor != "neuralens" or row.q is None:
            continue
        on_results = row.page == "SEARCH_RESULT_PAGE"
        clicked = row.type == "CLICK_PRODUCT"
        if not (on_results or clicked):
            continue
        key = (session_of[row.id], row.q)
        search = found.setdefault(key, [*key, row.namespace, row.tenant_key, None, 0, 0, 0])
        if on_results and (search[4] is None or row.t < search[4]):
            search[4] = row.t
        search[5] |= clicked
    return found


def with_stored_neuralens(
    found: dict[tuple[int, str], list[Any]], stored: Iterable[Sequence[Any]]
) -> list[list[Any]]:
    """The batch's Neuralens searches joined with what is stored of them: the earlier first
    time, clicked if either was."""
    for row_stored in stored:
        known = found.get((row_stored[0], row_stored[1]))
        if known is not None:
            known[4] = min((t for t in (known[4], row_stored[4]) if t is not None), default=None)
            known[5] |= row_stored[5]
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

"""Running totals behind ``/_mock/analytics`` on PostgreSQL: ``sqlite_rollup.py``'s tables and
folding in PostgreSQL's dialect, for a database several servers write to.

What differs from SQLite, and why:

- **What is left to fold** is a queue, not a watermark. Servers sharing a database commit
  in any order of ids, so "every id above the highest folded" would skip an event committed
  after a higher one was folded. Each commit that stores events also stores their ids in
  ``rollup_pending`` (one row a commit, in the same transaction); folding takes rows from
  there, so an event is folded once however late its commit comes.
- **One folder at a time**, across servers: folding and a reset's ``forget`` hold a
  transaction-level advisory lock (sessions are merged in Python from what is stored: two
  folders at once would each miss the other's). A server's background folder tries the lock
  and leaves the work to whoever holds it; an analytics call waits for it, then folds what
  is left, so its answer includes every event acknowledged before it.

The merging of sessions and searches is the same Python as SQLite's (``rollup.py``); a
property test holds these totals to the from-the-events computation
(tests/test_storage_postgres_rollup.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from mockserver.storage.base import LAST_POSITION, AnalyticsQuery
from mockserver.storage.postgres_analytics import (
    CLICKS,
    COMPARED_QUERY,
    EVENT_TIME,
    HAS_SESSION_ID,
    floor_div,
)
from mockserver.storage.rollup import (
    MINUTE_MS,
    Row,
    add_up_queries,
    lucidworks_searches,
    neuralens_searches,
    partitions,
    reading_params,
    search_keys,
    session_changes,
    with_stored_neuralens,
)
from mockserver.storage.sqlite_analytics import (
    QUERY_FIGURES,
    event_counts,
    position_counts,
    search_counts,
)

FOLD_EVENTS = 2000  # events a fold transaction takes (whole commits: at least one)
_FOLD_LOCK = 0x726F6C6C  # "roll": the advisory lock folding and forgetting hold

_TENANT_KEY = "CASE WHEN tenant IS NULL THEN '' ELSE 't' || tenant END"
_MINUTE = floor_div(EVENT_TIME, str(MINUTE_MS))

TABLES = """
CREATE TABLE rollup_pending (event_ids BIGINT[] NOT NULL);
CREATE TABLE rollup_counts (
    namespace TEXT NOT NULL, vendor TEXT NOT NULL, tenant_key TEXT NOT NULL,
    minute BIGINT NOT NULL, type TEXT NOT NULL,
    events BIGINT NOT NULL, revenue_sum DOUBLE PRECISION NOT NULL, revenue_n BIGINT NOT NULL,
    PRIMARY KEY (namespace, vendor, tenant_key, minute, type)
);
CREATE TABLE rollup_clicks (
    namespace TEXT NOT NULL, vendor TEXT NOT NULL, tenant_key TEXT NOT NULL,
    minute BIGINT NOT NULL, position BIGINT NOT NULL,
    clicks BIGINT NOT NULL, position_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (namespace, vendor, tenant_key, minute, position)
);
CREATE TABLE rollup_sessions (
    id BIGINT PRIMARY KEY, namespace TEXT NOT NULL, vendor TEXT NOT NULL,
    tenant_key TEXT NOT NULL, pkey TEXT, start_t BIGINT NOT NULL, end_t BIGINT NOT NULL,
    last_cart_t BIGINT, last_purchase_t BIGINT
);
CREATE INDEX rollup_sessions_by_partition ON rollup_sessions (pkey, start_t);
CREATE TABLE rollup_lw_searches (
    key TEXT PRIMARY KEY, namespace TEXT NOT NULL, tenant_key TEXT NOT NULL,
    first_t BIGINT, first_id BIGINT, session_id BIGINT, q TEXT, zero_results INTEGER,
    clicked INTEGER NOT NULL, carted INTEGER NOT NULL DEFAULT 0,
    purchased INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX rollup_lw_searches_by_session ON rollup_lw_searches (session_id);
CREATE INDEX rollup_lw_searches_by_query
    ON rollup_lw_searches (q, first_t, clicked, carted, purchased, zero_results);
CREATE TABLE rollup_nl_searches (
    session_id BIGINT NOT NULL, q TEXT NOT NULL, namespace TEXT NOT NULL,
    tenant_key TEXT NOT NULL, first_t BIGINT, clicked INTEGER NOT NULL,
    carted INTEGER NOT NULL DEFAULT 0, purchased INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, q)
);
CREATE INDEX rollup_nl_searches_by_query
    ON rollup_nl_searches (q, first_t, clicked, carted, purchased);
-- Events stored before these tables existed are folded like any others.
INSERT INTO rollup_pending SELECT array_agg(id) FROM events GROUP BY id / 500;
"""
_DERIVED = ("rollup_counts", "rollup_clicks", "rollup_sessions", "rollup_lw_searches",
            "rollup_nl_searches")  # fmt: skip


def pending(cursor: psycopg.Cursor[Any], event_ids: list[int]) -> None:
    """Record a commit's events as not folded yet (in the commit's own transaction)."""
    if event_ids:
        cursor.execute("INSERT INTO rollup_pending VALUES (%b)", (event_ids,))


# -- folding --------------------------------------------------------------------------------

_FOLD_COUNTS = f"""
INSERT INTO rollup_counts AS r
SELECT namespace, vendor, {_TENANT_KEY}, {_MINUTE}, type, count(*),
       coalesce(sum(revenue) FILTER (WHERE type = 'purchase'), 0),
       count(revenue) FILTER (WHERE type = 'purchase')
FROM events WHERE id = ANY(%(ids)b) GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (namespace, vendor, tenant_key, minute, type) DO UPDATE
SET events = r.events + excluded.events, revenue_sum = r.revenue_sum + excluded.revenue_sum,
    revenue_n = r.revenue_n + excluded.revenue_n
"""
_FOLD_CLICKS = f"""
INSERT INTO rollup_clicks AS r
SELECT namespace, vendor, {_TENANT_KEY}, {_MINUTE}, least(position, {LAST_POSITION + 1}),
       count(*), coalesce(sum(position::float8), 0)
FROM events WHERE id = ANY(%(ids)b) AND {CLICKS} AND position IS NOT NULL
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (namespace, vendor, tenant_key, minute, position) DO UPDATE
SET clicks = r.clicks + excluded.clicks, position_sum = r.position_sum + excluded.position_sum
"""
_BATCH = f"""
SELECT id, namespace, vendor, tenant_key, type, page, {COMPARED_QUERY}, {EVENT_TIME},
       (type = 'query' AND items = '[]')::int,
       CASE WHEN {HAS_SESSION_ID} THEN json_build_array('s', namespace, vendor, tenant_key,
                                                        session)::text
            WHEN "user" IS NOT NULL THEN json_build_array('u', namespace, vendor, tenant_key,
                                                          "user")::text
       END,
       {HAS_SESSION_ID}::int,
       CASE WHEN vendor = 'lucidworks' AND query_id IS NOT NULL
            THEN json_build_array(namespace, tenant_key, query_id)::text END
FROM (SELECT *, {_TENANT_KEY} AS tenant_key FROM events WHERE id = ANY(%(ids)b)) AS batch
ORDER BY id
"""
# Commits from the queue while the events before each are fewer than FOLD_EVENTS.
_TAKE = """
DELETE FROM rollup_pending WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM (
        SELECT ctid, sum(cardinality(event_ids)) OVER (ROWS UNBOUNDED PRECEDING)
                     - cardinality(event_ids) AS before
        FROM (SELECT ctid, event_ids FROM rollup_pending LIMIT %(events)s) AS first_ones
    ) AS queued
    WHERE before < %(events)s
))
RETURNING event_ids
"""
_FOLLOWED = """
UPDATE {table} SET
    carted = coalesce(((SELECT last_cart_t FROM rollup_sessions WHERE id = session_id)
                       >= first_t)::int, 0),
    purchased = coalesce(((SELECT last_purchase_t FROM rollup_sessions WHERE id = session_id)
                          >= first_t)::int, 0)
WHERE session_id = ANY(%b)
"""


def fold_some(conn: psycopg.Connection[Any], wait: bool = True) -> int | None:
    """Fold about FOLD_EVENTS events (whole commits) into the totals, in the caller's
    transaction: how many were taken (fewer than FOLD_EVENTS: the queue was emptied), or
    None if (``wait`` False) another server is folding."""
    if wait:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_FOLD_LOCK,))
    else:
        (locked,) = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (_FOLD_LOCK,)).fetchone()  # type: ignore[misc]
        if not locked:
            return None
    taken = conn.execute(_TAKE, {"events": FOLD_EVENTS}).fetchall()
    if not taken:
        return 0
    bounds = {"ids": sorted(i for (ids,) in taken for i in ids)}
    conn.execute(_FOLD_COUNTS, bounds)
    conn.execute(_FOLD_CLICKS, bounds)
    rows = [Row(*values) for values in conn.execute(_BATCH, bounds)]
    session_of = _fold_sessions(conn, rows)
    _fold_lucidworks_searches(conn, rows, session_of)
    _fold_neuralens_searches(conn, rows, session_of)
    touched = sorted(set(session_of.values()))
    for table in ("rollup_lw_searches", "rollup_nl_searches"):
        conn.execute(_FOLLOWED.format(table=table), (touched,))
    return len(bounds["ids"])


# Each table's column types, in order: a fold writes a table's rows in one statement, as
# arrays unnested, not a statement a row.
_SESSION = ("bigint", "text", "text", "text", "text", "bigint", "bigint", "bigint", "bigint")
_LUCIDWORKS_SEARCH = ("text", "text", "text", "bigint", "bigint", "bigint", "text", "int",
                      "int", "int", "int")  # fmt: skip
_NEURALENS_SEARCH = ("bigint", "text", "text", "text", "bigint", "int", "int", "int")


def _bulk(
    conn: psycopg.Connection[Any], sql: str, types: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Run ``sql`` once for all ``rows``: ``{rows}`` in it becomes unnest() of one array a
    column. Integers are passed as such (the merging keeps some flags as booleans)."""
    if not rows:
        return
    columns = [
        [None if value is None else int(value) for value in column]
        if kind != "text"
        else list(column)
        for kind, column in zip(types, zip(*rows, strict=True), strict=True)
    ]
    unnested = "unnest(" + ", ".join(f"%b::{kind}[]" for kind in types) + ")"
    conn.execute(sql.format(rows=unnested), columns)


def _fold_sessions(conn: psycopg.Connection[Any], rows: list[Row]) -> dict[int, int]:
    """Merge the rows into the stored sessions; the session id of each row's event."""
    stored = conn.execute(
        "SELECT pkey, id, start_t, end_t, last_cart_t, last_purchase_t FROM rollup_sessions "
        "WHERE pkey = ANY(%b)",
        (partitions(rows),),
    ).fetchall()
    # Ids for the new sessions, chosen here: the fold lock makes this the only folder.
    (next_id,) = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM rollup_sessions").fetchone()  # type: ignore[misc]
    changes = session_changes(rows, stored, next_id)
    moved = [{"kept": kept, "gone": gone} for kept, gone in changes.moved]
    _bulk(conn, "INSERT INTO rollup_sessions SELECT * FROM {rows}", _SESSION, changes.inserted)
    _bulk(
        conn,
        "UPDATE rollup_sessions AS s SET start_t = v.start_t, end_t = v.end_t, "
        "last_cart_t = v.last_cart_t, last_purchase_t = v.last_purchase_t "
        "FROM {rows} AS v(start_t, end_t, last_cart_t, last_purchase_t, id) WHERE s.id = v.id",
        ("bigint",) * 5,
        changes.updated,
    )
    with conn.cursor() as cursor:
        if moved:
            cursor.executemany("DELETE FROM rollup_sessions WHERE id = %(gone)s", moved)
            cursor.executemany(
                "UPDATE rollup_lw_searches SET session_id = %(kept)s WHERE session_id = %(gone)s",
                moved,
            )
            cursor.executemany(
                "INSERT INTO rollup_nl_searches AS r "
                "SELECT %(kept)s, q, namespace, tenant_key, first_t, clicked, 0, 0 "
                "FROM rollup_nl_searches WHERE session_id = %(gone)s "
                "ON CONFLICT (session_id, q) DO UPDATE "
                "SET clicked = greatest(r.clicked, excluded.clicked), "
                "    first_t = least(r.first_t, excluded.first_t)",  # least skips a null
                moved,
            )
            cursor.executemany("DELETE FROM rollup_nl_searches WHERE session_id = %(gone)s", moved)
    return changes.session_of


def _fold_lucidworks_searches(
    conn: psycopg.Connection[Any], rows: list[Row], session_of: dict[int, int]
) -> None:
    keys = search_keys(rows)
    if not keys:
        return
    stored = conn.execute("SELECT * FROM rollup_lw_searches WHERE key = ANY(%b)", (keys,))
    _bulk(
        conn,
        "INSERT INTO rollup_lw_searches SELECT * FROM {rows} "
        "ON CONFLICT (key) DO UPDATE SET first_t = excluded.first_t, "
        "first_id = excluded.first_id, session_id = excluded.session_id, q = excluded.q, "
        "zero_results = excluded.zero_results, clicked = excluded.clicked, "
        "carted = excluded.carted, purchased = excluded.purchased",
        _LUCIDWORKS_SEARCH,
        lucidworks_searches(rows, stored.fetchall(), session_of),
    )


def _fold_neuralens_searches(
    conn: psycopg.Connection[Any], rows: list[Row], session_of: dict[int, int]
) -> None:
    found = neuralens_searches(rows, session_of)
    if not found:
        return
    session_ids = sorted({session_id for session_id, _ in found})
    stored = conn.execute(
        "SELECT * FROM rollup_nl_searches WHERE session_id = ANY(%b)", (session_ids,)
    )
    _bulk(
        conn,
        "INSERT INTO rollup_nl_searches SELECT * FROM {rows} "
        "ON CONFLICT (session_id, q) DO UPDATE SET first_t = excluded.first_t, "
        "clicked = excluded.clicked, carted = excluded.carted, purchased = excluded.purchased",
        _NEURALENS_SEARCH,
        with_stored_neuralens(found, stored.fetchall()),
    )


def forget(conn: psycopg.Connection[Any], namespace: str | None) -> None:
    """After a reset, in its transaction: drop the namespace's totals (or all). Ids still
    pending for deleted events fold to nothing."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_FOLD_LOCK,))
    where, params = ("WHERE namespace = %s", [namespace]) if namespace else ("", [])
    for table in _DERIVED:
        conn.execute(f"DELETE FROM {table} {where}", params)
    if namespace is None:
        conn.execute("DELETE FROM rollup_pending")


def unfolded(conn: psycopg.Connection[Any]) -> int:
    """How many stored events are not in the totals yet."""
    (count,) = conn.execute(  # type: ignore[misc]
        "SELECT count(*) FROM events WHERE id IN (SELECT unnest(event_ids) FROM rollup_pending)"
    ).fetchone()
    return int(count)


# -- reading --------------------------------------------------------------------------------

_ZERO_RESULTS = {"rollup_lw_searches": "zero_results", "rollup_nl_searches": "0"}
_VENDOR_OF = {"rollup_lw_searches": "lucidworks", "rollup_nl_searches": "neuralens"}
_FILTERS = {
    "namespace": "namespace = %(namespace)s",
    "vendor": "vendor = %(vendor)s",
    "tenant": "tenant_key = 't' || %(tenant)s",
}


def rollup_counts(conn: psycopg.Connection[Any], query: AnalyticsQuery) -> dict[str, Any]:
    """The counts ``analytics_counts`` computes from the events, read from the totals (the
    caller has folded every event in, and reads in one snapshot)."""
    clauses = [sql for name, sql in _FILTERS.items() if getattr(query, name) is not None]
    params = reading_params(query)

    def where(*more: str) -> str:
        return "WHERE " + " AND ".join([*clauses, *more]) if [*clauses, *more] else ""

    def rows(sql: str) -> list[Any]:
        return conn.execute(sql, params).fetchall()

    in_minutes = (
        "(%(since_minute)s::bigint IS NULL OR minute >= %(since_minute)s) "
        "AND (%(until_minute)s::bigint IS NULL OR minute < %(until_minute)s)"
    )
    in_period = (
        "(%(since)s::bigint IS NULL OR first_t >= %(since)s) "
        "AND (%(until)s::bigint IS NULL OR first_t < %(until)s)"
    )
    events = rows(
        f"SELECT {floor_div('minute', '%(per_bucket)s::bigint')}, type, sum(events)::bigint, "
        "       sum(revenue_sum), sum(revenue_n)::bigint, "
        f"       coalesce(sum(events) FILTER (WHERE {CLICKS}), 0)::bigint "
        f'FROM rollup_counts {where(in_minutes)} GROUP BY 1, 2 ORDER BY 1, type COLLATE "C"'
    )
    positions = rows(
        "SELECT position, sum(clicks)::bigint, coalesce(sum(position_sum), 0) "
        f"FROM rollup_clicks {where(in_minutes)} GROUP BY 1"
    )
    (sessions,) = rows(
        "SELECT count(*) FROM rollup_sessions "
        + where(
            "(%(until)s::bigint IS NULL OR start_t < %(until)s)",
            "(%(since)s::bigint IS NULL OR end_t >= %(since)s)",
        )
    )[0]
    searches = [  # the vendor is the table's
        f"first_t IS NOT NULL AND {in_period}",
        *(_FILTERS[name] for name in ("namespace", "tenant") if getattr(query, name) is not None),
    ]
    queries = add_up_queries(  # each table counted by query, then added up
        rows(
            f"SELECT {QUERY_FIGURES.replace('zero_results', zero_results)} FROM {table} "
            f"WHERE {' AND '.join(searches)} GROUP BY q"
        )
        for table, zero_results in _ZERO_RESULTS.items()
        if query.vendor in (None, _VENDOR_OF[table])
    )
    return {
        "sessions": int(sessions),
        **event_counts(events),
        **position_counts(positions),
        **search_counts(queries),
    }

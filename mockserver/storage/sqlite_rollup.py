"""Running totals behind ``/_mock/analytics``: the analytics of a million events in
milliseconds, where computing them from the events takes seconds (``sqlite_analytics.py``).

Every table here is derived from ``events`` and nothing else; ``rollup_state`` says how far
(the highest event id folded in). Folding a batch of new events:

- ``rollup_counts`` (events and revenue) and ``rollup_clicks`` (positioned clicks) by
  namespace, vendor, tenant, minute of event time and type or position: an upsert in SQL.
- ``rollup_sessions``: each partition's sessions (a Lucidworks session id, or a user's
  events less than the gap apart; see ``sqlite_analytics.py``) with their first and last
  event time and their last add-to-cart and purchase, merged with the batch's events in
  Python (``rollup.py``, shared with PostgreSQL): exact whatever order events arrive in.
- ``rollup_lw_searches``: a Lucidworks queryId's first query signal (time, id, session,
  query, results) and whether a click named it. ``rollup_nl_searches``: a Neuralens
  (session, query)'s first time on a results page (null while only a click was seen) and
  whether a click had it.

Whether a search was followed by an add-to-cart or a purchase is kept on the search,
updated for the sessions each batch touches: its session's last one at or after its time.
The totals serve the default session gaps (``DEFAULT_SESSION_GAP_MS``) and periods of whole
minutes; anything else is computed from the events. A property test holds both ways to
the same counts (tests/test_storage_rollup.py).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sqlite_utils import Database

from mockserver.storage.base import LAST_POSITION, AnalyticsQuery
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
    CLICKS,
    COMPARED_QUERY,
    EVENT_TIME,
    HAS_SESSION_ID,
    QUERY_FIGURES,
    ZERO_RESULTS,
    event_counts,
    floor_div,
    position_counts,
    search_counts,
)

FOLD_CHUNK = 500  # events a transaction: the writer lock is held ~12 ms at most

_TENANT_KEY = "CASE WHEN tenant IS NULL THEN '' ELSE 't' || tenant END"  # null apart from ''
_MINUTE = floor_div(EVENT_TIME, str(MINUTE_MS))

TABLES = """
CREATE TABLE rollup_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO rollup_state VALUES ('folded_through', 0);
CREATE TABLE rollup_counts (
    namespace TEXT NOT NULL, vendor TEXT NOT NULL, tenant_key TEXT NOT NULL,
    minute INTEGER NOT NULL, type TEXT NOT NULL,
    events INTEGER NOT NULL, revenue_sum REAL NOT NULL, revenue_n INTEGER NOT NULL,
    PRIMARY KEY (namespace, vendor, tenant_key, minute, type)
) WITHOUT ROWID;
CREATE TABLE rollup_clicks (
    namespace TEXT NOT NULL, vendor TEXT NOT NULL, tenant_key TEXT NOT NULL,
    minute INTEGER NOT NULL, position INTEGER NOT NULL,
    clicks INTEGER NOT NULL, position_sum REAL NOT NULL,
    PRIMARY KEY (namespace, vendor, tenant_key, minute, position)
) WITHOUT ROWID;
CREATE TABLE rollup_sessions (
    id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, vendor TEXT NOT NULL,
    tenant_key TEXT NOT NULL, pkey TEXT, start_t INTEGER NOT NULL, end_t INTEGER NOT NULL,
    last_cart_t INTEGER, last_purchase_t INTEGER
);
CREATE INDEX rollup_sessions_by_partition ON rollup_sessions (pkey, start_t);
CREATE TABLE rollup_lw_searches (
    key TEXT PRIMARY KEY, namespace TEXT NOT NULL, tenant_key TEXT NOT NULL,
    first_t INTEGER, first_id INTEGER, session_id INTEGER, q TEXT, zero_results INTEGER,
    clicked INTEGER NOT NULL, carted INTEGER NOT NULL DEFAULT 0,
    purchased INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX rollup_lw_searches_by_session ON rollup_lw_searches (session_id);
-- Counting by query walks these in query order: no sort of hundreds of thousands of rows.
CREATE INDEX rollup_lw_searches_by_query
    ON rollup_lw_searches (q, first_t, clicked, carted, purchased, zero_results);
CREATE TABLE rollup_nl_searches (
    session_id INTEGER NOT NULL, q TEXT NOT NULL, namespace TEXT NOT NULL,
    tenant_key TEXT NOT NULL, first_t INTEGER, clicked INTEGER NOT NULL,
    carted INTEGER NOT NULL DEFAULT 0, purchased INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, q)
);
CREATE INDEX rollup_nl_searches_by_query
    ON rollup_nl_searches (q, first_t, clicked, carted, purchased);
"""
_DERIVED = ("rollup_counts", "rollup_clicks", "rollup_sessions", "rollup_lw_searches",
            "rollup_nl_searches")  # fmt: skip


def create_tables(db: Database) -> None:
    db.executescript(TABLES)


# -- folding --------------------------------------------------------------------------------

_FOLD_COUNTS = f"""
INSERT INTO rollup_counts
SELECT namespace, vendor, {_TENANT_KEY}, {_MINUTE}, type, count(*),
       total(revenue) FILTER (WHERE type = 'purchase'),
       count(revenue) FILTER (WHERE type = 'purchase')
FROM events WHERE id > :low AND id <= :high GROUP BY 1, 2, 3, 4, 5
ON CONFLICT DO UPDATE SET events = events + excluded.events,
    revenue_sum = revenue_sum + excluded.revenue_sum, revenue_n = revenue_n + excluded.revenue_n
"""
_FOLD_CLICKS = f"""
INSERT INTO rollup_clicks
SELECT namespace, vendor, {_TENANT_KEY}, {_MINUTE}, min(position, {LAST_POSITION + 1}),
       count(*), total(position)
FROM events
WHERE id > :low AND id <= :high AND {CLICKS} AND position IS NOT NULL
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT DO UPDATE SET clicks = clicks + excluded.clicks,
    position_sum = position_sum + excluded.position_sum
"""
_BATCH = f"""
SELECT id, namespace, vendor, tenant_key, type, page, {COMPARED_QUERY}, {EVENT_TIME},
       {ZERO_RESULTS},
       CASE WHEN {HAS_SESSION_ID} THEN json_array('s', namespace, vendor, tenant_key, session)
            WHEN user IS NOT NULL THEN json_array('u', namespace, vendor, tenant_key, user)
       END,
       {HAS_SESSION_ID},
       CASE WHEN vendor = 'lucidworks' AND query_id IS NOT NULL
            THEN json_array(namespace, tenant_key, query_id) END
FROM (SELECT *, {_TENANT_KEY} AS tenant_key FROM events WHERE id > :low AND id <= :high)
ORDER BY id
"""


# Whether each search of the sessions the batch touched was followed by an add-to-cart or a
# purchase in its session: kept on the search, so that reading needs no join.
_FOLLOWED = """
UPDATE {table} SET
    carted = coalesce(
        (SELECT last_cart_t FROM rollup_sessions WHERE id = session_id) >= first_t, 0),
    purchased = coalesce(
        (SELECT last_purchase_t FROM rollup_sessions WHERE id = session_id) >= first_t, 0)
WHERE session_id IN (SELECT value FROM json_each(?))
"""


def fold_some(conn: sqlite3.Connection, limit: int | None = None) -> bool:
    """Fold up to ``limit`` (FOLD_CHUNK) events not yet in the totals, in the caller's
    transaction. False when there was nothing to fold."""
    (low,) = conn.execute("SELECT value FROM rollup_state WHERE name = 'folded_through'").fetchone()
    (high,) = conn.execute(
        "SELECT max(id) FROM (SELECT id FROM events WHERE id > ? ORDER BY id LIMIT ?)",
        (low, limit or FOLD_CHUNK),
    ).fetchone()
    if high is None:
        return False
    bounds = {"low": low, "high": high}
    conn.execute(_FOLD_COUNTS, bounds)
    conn.execute(_FOLD_CLICKS, bounds)
    rows = [Row(*values) for values in conn.execute(_BATCH, bounds)]
    session_of = _fold_sessions(conn, rows)
    _fold_lucidworks_searches(conn, rows, session_of)
    _fold_neuralens_searches(conn, rows, session_of)
    touched = json.dumps(sorted(set(session_of.values())))
    for table in ("rollup_lw_searches", "rollup_nl_searches"):
        conn.execute(_FOLLOWED.format(table=table), (touched,))
    conn.execute("UPDATE rollup_state SET value = ? WHERE name = 'folded_through'", (high,))
    return True


def _fold_sessions(conn: sqlite3.Connection, rows: list[Row]) -> dict[int, int]:
    """Merge the rows into the stored sessions; the session id of each row's event."""
    stored = conn.execute(
        "SELECT pkey, id, start_t, end_t, last_cart_t, last_purchase_t FROM rollup_sessions "
        "WHERE pkey IN (SELECT value FROM json_each(?))",
        (json.dumps(partitions(rows)),),
    ).fetchall()
    # Ids for the new sessions, chosen here: the caller's transaction is the only writer.
    (next_id,) = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM rollup_sessions").fetchone()
    changes = session_changes(rows, stored, next_id)
    conn.executemany(
        "INSERT INTO rollup_sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", changes.inserted
    )
    conn.executemany(
        "UPDATE rollup_sessions SET start_t = ?, end_t = ?, last_cart_t = ?, last_purchase_t = ? "
        "WHERE id = ?",
        changes.updated,
    )
    moved = changes.moved
    if moved:
        conn.executemany("DELETE FROM rollup_sessions WHERE id = ?", [(old,) for _, old in moved])
        conn.executemany("UPDATE rollup_lw_searches SET session_id = ? WHERE session_id = ?", moved)
        conn.executemany(
            "INSERT INTO rollup_nl_searches "
            "SELECT ?1, q, namespace, tenant_key, first_t, clicked, 0, 0 FROM rollup_nl_searches "
            "WHERE session_id = ?2 "
            "ON CONFLICT DO UPDATE SET clicked = max(clicked, excluded.clicked), "
            "    first_t = min(coalesce(first_t, excluded.first_t), "
            "                  coalesce(excluded.first_t, first_t))",
            moved,
        )
        conn.executemany(
            "DELETE FROM rollup_nl_searches WHERE session_id = ?", [(old,) for _, old in moved]
        )
    return changes.session_of


def _fold_lucidworks_searches(
    conn: sqlite3.Connection, rows: list[Row], session_of: dict[int, int]
) -> None:
    keys = search_keys(rows)
    if not keys:
        return
    stored = conn.execute(
        "SELECT * FROM rollup_lw_searches WHERE key IN (SELECT value FROM json_each(?))",
        (json.dumps(keys),),
    ).fetchall()
    conn.executemany(
        "INSERT OR REPLACE INTO rollup_lw_searches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        lucidworks_searches(rows, stored, session_of),
    )


def _fold_neuralens_searches(
    conn: sqlite3.Connection, rows: list[Row], session_of: dict[int, int]
) -> None:
    found = neuralens_searches(rows, session_of)
    if not found:
        return
    session_ids = sorted({session_id for session_id, _ in found})
    stored = conn.execute(
        "SELECT * FROM rollup_nl_searches WHERE session_id IN (SELECT value FROM json_each(?))",
        (json.dumps(session_ids),),
    ).fetchall()
    conn.executemany(
        "INSERT OR REPLACE INTO rollup_nl_searches VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        with_stored_neuralens(found, stored),
    )


def forget(conn: sqlite3.Connection, namespace: str | None) -> None:
    """After a reset: drop the namespace's totals (or all), and fold again from the highest
    id left, which the next event's id follows (SQLite gives max(id) + 1)."""
    where, params = ("WHERE namespace = ?", [namespace]) if namespace else ("", [])
    for table in _DERIVED:
        conn.execute(f"DELETE FROM {table} {where}", params)
    conn.execute(
        "UPDATE rollup_state SET value = min(value, (SELECT coalesce(max(id), 0) FROM events)) "
        "WHERE name = 'folded_through'"
    )


def unfolded(conn: sqlite3.Connection) -> int:
    """How many events are not in the totals yet."""
    (count,) = conn.execute(
        "SELECT count(*) FROM events "
        "WHERE id > (SELECT value FROM rollup_state WHERE name = 'folded_through')"
    ).fetchone()
    return int(count)


# -- reading --------------------------------------------------------------------------------


_VENDOR_OF = {"rollup_lw_searches": "lucidworks", "rollup_nl_searches": "neuralens"}
_FILTERS = {
    "namespace": "namespace = :namespace",
    "vendor": "vendor = :vendor",
    "tenant": "tenant_key = 't' || :tenant",
}


def rollup_counts(conn: sqlite3.Connection, query: AnalyticsQuery) -> dict[str, Any]:
    """The counts ``analytics_counts`` computes from the events, read from the totals (the
    caller has folded every event in, and reads in one transaction)."""
    clauses = [sql for name, sql in _FILTERS.items() if getattr(query, name) is not None]
    params = reading_params(query)

    def where(*more: str) -> str:
        return "WHERE " + " AND ".join([*clauses, *more]) if [*clauses, *more] else ""

    def rows(sql: str) -> list[Any]:
        return conn.execute(sql, params).fetchall()

    in_minutes = (
        "(:since_minute IS NULL OR minute >= :since_minute) "
        "AND (:until_minute IS NULL OR minute < :until_minute)"
    )
    in_period = "(:since IS NULL OR first_t >= :since) AND (:until IS NULL OR first_t < :until)"
    events = rows(
        f"SELECT {floor_div('minute', ':per_bucket')}, type, sum(events), sum(revenue_sum), "
        f"       sum(revenue_n), total(events) FILTER (WHERE {CLICKS}) "
        f"FROM rollup_counts {where(in_minutes)} GROUP BY 1, 2 ORDER BY 1, 2"
    )
    positions = rows(
        f"SELECT position, sum(clicks), total(position_sum) FROM rollup_clicks "
        f"{where(in_minutes)} GROUP BY 1"
    )
    (sessions,) = rows(
        "SELECT count(*) FROM rollup_sessions "
        + where("(:until IS NULL OR start_t < :until)", "(:since IS NULL OR end_t >= :since)")
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
        for table, zero_results in (
            ("rollup_lw_searches", "zero_results"),
            ("rollup_nl_searches", "0"),
        )
        if query.vendor in (None, _VENDOR_OF[table])
    )
    return {
        "sessions": sessions,
        **event_counts(events),
        **position_counts(positions),
        **search_counts(queries),
    }

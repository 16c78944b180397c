"""Search analytics over SQLite: the counts behind ``/_mock/analytics``, all computed in SQL.

Two ways to the same counts:

- **Running totals** (``storage/sqlite_rollup.py``): kept up to date as events arrive, read in
  milliseconds. They answer every query at the default session gaps whose ``since`` and
  ``until`` fall on whole minutes (the dashboard's, and any without a period).
- **From the events** (this module): any query, computed on demand in temporary tables:
  about 1.3 s a 100,000 events. Also the reference the running totals are tested against.

The meaning both implement (the figures' definitions in words are in ``inspect/analytics.py``
and docs/analytics.md):

- A session belongs to one namespace, vendor and tenant. A Lucidworks event with a
  ``sessionId`` is in that session; any other event with a user starts a new session when it
  comes ``gap`` ms or more after the user's previous one; an event without either is a
  session alone. Sessions are cut from all the events of the namespace, vendor and tenant,
  never from the period's alone, and a session counts in a period it has events on both
  sides of or in (its first event before ``until``, its last at or after ``since``).
- A search counts in the period it was made in; what followed it (a click, an add-to-cart,
  a purchase) counts whenever it came. Lucidworks: a ``queryId`` of query signals in a
  namespace and tenant; its time, session, query and results are its first signal's.
  Neuralens: a (session, query) seen on ``SEARCH_RESULT_PAGE``, at its first such event.
- Event counts, clicks, positions, purchases and revenue: the events in the period.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from mockserver.storage.base import ANALYTICS_TOP as TOP
from mockserver.storage.base import LAST_POSITION, AnalyticsQuery

# Every name below is a constant; every value is a bound parameter.
FILTERS = {
    "namespace": "namespace = :namespace",
    "vendor": "vendor = :vendor",
    "tenant": "tenant = :tenant",
}
# Event time: the event's own timestamp, else when it was received (never null for either
# vendor's accepted events under the strict profile).
_RECEIVED_MS = "CAST(round((julianday(received_at) - 2440587.5) * 86400000) AS INTEGER)"
EVENT_TIME = f"coalesce(timestamp_ms, {_RECEIVED_MS})"
COMPARED_QUERY = "nullif(lower(trim(query)), '')"  # "Oak Table " and "oak table" are one query
ZERO_RESULTS = "(type = 'query' AND items = '[]')"
HAS_SESSION_ID = "(vendor = 'lucidworks' AND coalesce(session, '') <> '')"
CLICKS = (
    "(vendor = 'lucidworks' AND type = 'click' OR vendor = 'neuralens' AND type = 'CLICK_PRODUCT')"
)
CART_ADDS = "('cartadd', 'ADD_TO_CART')"
PURCHASES = "('purchase', 'PURCHASE')"


def floor_div(number: str, divisor: str) -> str:
    """SQL for number // divisor rounded down (SQLite's ``/`` truncates towards zero), without
    the overflow ``number - number % divisor`` would hit at -2**63."""
    return f"({number} / {divisor} - ({number} % {divisor} < 0))"


_EVENTS = f"""
CREATE TEMP TABLE analytics_events AS
WITH timed AS (
    SELECT id, namespace, vendor, tenant, user, session, query_id, type, page, position,
           revenue, {EVENT_TIME} AS t, {COMPARED_QUERY} AS q, {ZERO_RESULTS} AS zero_results
    FROM events {{where}}
), gaps AS (
    -- Only events without a session id need the windows (sorting is most of the cost).
    SELECT *,
           CASE WHEN lag(t) OVER by_user IS NULL THEN 1
                WHEN t - lag(t) OVER by_user >= CASE vendor WHEN 'lucidworks' THEN :gap_lucidworks
                                                             ELSE :gap_neuralens END THEN 1
                ELSE 0 END AS starts
    FROM timed
    WHERE NOT {HAS_SESSION_ID} AND user IS NOT NULL
    WINDOW by_user AS (PARTITION BY namespace, vendor, tenant, user ORDER BY t, id)
), partition AS (
    SELECT *, 's|' || namespace || '|' || vendor || '|' || coalesce('t' || tenant, '') || '|'
              || session AS sid
    FROM timed WHERE {HAS_SESSION_ID}
    UNION ALL
    SELECT *, 'e|' || id FROM timed WHERE NOT {HAS_SESSION_ID} AND user IS NULL
    UNION ALL
    SELECT id, namespace, vendor, tenant, user, session, query_id, type, page, position,
           revenue, t, q, zero_results,
           'u|' || namespace || '|' || vendor || '|' || coalesce('t' || tenant, '') || '|'
           || user || '|' || sum(starts) OVER (PARTITION BY namespace, vendor, tenant, user
                                               ORDER BY t, id ROWS UNBOUNDED PRECEDING)
    FROM gaps
)
SELECT * FROM partition
"""

_SESSIONS = f"""
CREATE TEMP TABLE analytics_sessions AS
SELECT sid, min(t) AS start_t, max(t) AS end_t,
       max(t) FILTER (WHERE type IN {CART_ADDS}) AS last_cart_t,
       max(t) FILTER (WHERE type IN {PURCHASES}) AS last_purchase_t
FROM analytics_events GROUP BY sid
"""

_SEARCHES = """
CREATE TEMP TABLE analytics_searches AS
WITH lucidworks AS (
    SELECT namespace, tenant, query_id, t, sid, q, zero_results,
           row_number() OVER (PARTITION BY namespace, tenant, query_id ORDER BY t, id) AS nth
    FROM analytics_events
    WHERE vendor = 'lucidworks' AND type = 'query' AND query_id IS NOT NULL
), lucidworks_clicked AS (
    SELECT DISTINCT namespace, tenant, query_id FROM analytics_events
    WHERE vendor = 'lucidworks' AND type = 'click' AND query_id IS NOT NULL
), neuralens AS (
    SELECT sid, q, min(t) AS t FROM analytics_events
    WHERE vendor = 'neuralens' AND page = 'SEARCH_RESULT_PAGE' AND q IS NOT NULL
    GROUP BY sid, q
), neuralens_clicked AS (
    SELECT DISTINCT sid, q FROM analytics_events
    WHERE vendor = 'neuralens' AND type = 'CLICK_PRODUCT' AND q IS NOT NULL
), searches AS (
    SELECT s.t, s.sid, s.q, s.zero_results, c.query_id IS NOT NULL AS clicked
    FROM lucidworks AS s
    LEFT JOIN lucidworks_clicked AS c ON c.namespace = s.namespace AND c.tenant IS s.tenant
                                     AND c.query_id = s.query_id
    WHERE s.nth = 1
    UNION ALL
    SELECT s.t, s.sid, s.q, 0, c.sid IS NOT NULL
    FROM neuralens AS s LEFT JOIN neuralens_clicked AS c ON c.sid = s.sid AND c.q = s.q
)
SELECT s.q, s.zero_results, s.clicked,
       coalesce(x.last_cart_t >= s.t, 0) AS carted,
       coalesce(x.last_purchase_t >= s.t, 0) AS purchased
FROM searches AS s JOIN analytics_sessions AS x ON x.sid = s.sid
WHERE (:since IS NULL OR s.t >= :since) AND (:until IS NULL OR s.t < :until)
"""

IN_PERIOD = "(:since IS NULL OR t >= :since) AND (:until IS NULL OR t < :until)"
_IN_PERIOD = IN_PERIOD
_TEMPORARY = ("analytics_events", "analytics_sessions", "analytics_searches")


def analytics_counts(conn: sqlite3.Connection, query: AnalyticsQuery) -> dict[str, Any]:
    """The counts behind every figure (the caller divides), computed from the events."""
    clauses = [sql for name, sql in FILTERS.items() if getattr(query, name) is not None]
    where = "WHERE " + " AND ".join(clauses) if clauses else ""
    params: dict[str, Any] = {
        "namespace": query.namespace,
        "vendor": query.vendor,
        "tenant": query.tenant,
        "since": query.since_ms,
        "until": query.until_ms,
        "gap_lucidworks": query.session_gap_ms["lucidworks"],
        "gap_neuralens": query.session_gap_ms["neuralens"],
        "bucket": query.bucket_ms,
    }
    _drop(conn)
    try:
        conn.execute(_EVENTS.format(where=where), params)
        conn.execute(_SESSIONS)
        conn.execute(_SEARCHES, params)

        def rows(sql: str) -> list[Any]:
            return conn.execute(sql, params).fetchall()

        events = rows(
            f"SELECT {floor_div('t', ':bucket')}, type, count(*), "
            "       total(revenue) FILTER (WHERE type = 'purchase'), "
            "       count(revenue) FILTER (WHERE type = 'purchase'), "
            f"       count(*) FILTER (WHERE {CLICKS}) "
            f"FROM analytics_events WHERE {_IN_PERIOD} GROUP BY 1, 2 ORDER BY 1, 2"
        )
        (sessions,) = rows(
            "SELECT count(*) FROM analytics_sessions "
            "WHERE (:until IS NULL OR start_t < :until) AND (:since IS NULL OR end_t >= :since)"
        )[0]
        positions = rows(
            f"SELECT min(position, {LAST_POSITION + 1}), count(*), "
            # total(), not sum(): two positions near 2**63 (valid int64s) overflow an integer.
            "       total(position) "
            f"FROM analytics_events WHERE {CLICKS} AND position IS NOT NULL AND {_IN_PERIOD} "
            "GROUP BY 1"
        )
        queries = rows(f"SELECT {QUERY_FIGURES} FROM analytics_searches GROUP BY q")
        return {
            "sessions": sessions,
            **event_counts(events),
            **position_counts(positions),
            **search_counts(queries),
        }
    finally:
        _drop(conn)


def _drop(conn: sqlite3.Connection) -> None:
    for table in _TEMPORARY:
        conn.execute(f"DROP TABLE IF EXISTS temp.{table}")


def position_counts(rows: list[tuple[int, int, float]]) -> dict[str, Any]:
    """From rows (position up to LAST_POSITION + 1, clicks, sum of their positions)."""
    return {
        "positions": {position: n for position, n, _ in rows},
        "position_sum": sum(total for *_, total in rows),
        "position_count": sum(n for _, n, _ in rows),
    }


# Per query (as compared): searches, clicked, followed by an add-to-cart, by a purchase,
# clicked and carted, clicked and carted and purchased, with zero results.
# (Products, not ANDs, of the 0/1 flags: the same SQL in SQLite and PostgreSQL.)
QUERY_FIGURES = (
    "q, count(*), sum(clicked), sum(carted), sum(purchased), sum(clicked * carted), "
    "sum(clicked * carted * purchased), sum(zero_results)"
)
_PURCHASE_TYPES = ("purchase", "PURCHASE")


def event_counts(rows: list[tuple[int, str, int, float, int, int]]) -> dict[str, Any]:
    """From rows (bucket, type, events, their revenue, how many carried one, how many were
    clicks). Clicks are counted in SQL (``CLICKS``), not by type here: a type names a click
    for one vendor only, and the store keeps whatever type an event came with."""
    revenue_purchases = sum(row[4] for row in rows if row[1] == "purchase")
    return {
        "series": [(bucket, kind, n) for bucket, kind, n, *_ in rows],
        "events": sum(int(row[2]) for row in rows),
        "purchases": sum(n for _, kind, n, *_ in rows if kind in _PURCHASE_TYPES),
        "revenue": (
            sum(row[3] for row in rows if row[1] == "purchase") if revenue_purchases else None
        ),
        "revenue_purchases": revenue_purchases,
        "clicks": sum(int(row[5] or 0) for row in rows),
    }


def search_counts(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The search figures from one row a query (``QUERY_FIGURES``), which both ways to the
    counts read: a few thousand rows, where the searches are hundreds of thousands."""
    totals = [sum(row[i] or 0 for row in rows) for i in range(1, 8)]
    searches, clicked, carted, purchased, funnel_carted, funnel_purchased, _ = totals

    def top(pairs: Iterable[tuple[str | None, int, Any]]) -> list[tuple[Any, ...]]:
        # The most first, then by query as SQLite orders text (no query first).
        chosen = [pair for pair in pairs if pair[1]]
        chosen.sort(key=lambda pair: (-pair[1], pair[0] is not None, pair[0] or ""))
        return chosen[:TOP]

    return {
        "searches": searches,
        "clicked": clicked,
        "carted": carted,
        "purchased": purchased,
        "funnel_carted": funnel_carted,
        "funnel_purchased": funnel_purchased,
        "top_queries": top((q, n, n_clicked) for q, n, n_clicked, *_ in rows),
        "no_click_queries": [
            (q, n) for q, n, _ in top((q, n - (c or 0), None) for q, n, c, *_ in rows)
        ],
        "zero_result_queries": [(q, n) for q, n, _ in top((r[0], r[7] or 0, None) for r in rows)],
    }

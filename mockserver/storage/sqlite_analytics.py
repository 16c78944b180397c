"""Search analytics over SQLite: the counts behind ``/_mock/analytics``, all computed in SQL.

Two temporary tables, built once a call on the reading connection and dropped after:

- ``analytics_events``: the events of the period with their event time ``t`` (epoch ms), the
  query as compared (trimmed, ASCII lower case) and a session id ``sid``. A Lucidworks event
  with a ``sessionId`` is in that session; any other event with a user starts a new session
  when it comes ``gap`` ms or more after the user's previous one (window functions over the
  user's events in time order); an event without a user or session id is a session alone.
- ``analytics_searches``: one row a search, with whether it was clicked, and whether an
  add-to-cart and a purchase followed it in its session. Lucidworks: each ``queryId`` of a
  query signal; Neuralens, which sends no search event: each (session, user, query) seen on
  ``SEARCH_RESULT_PAGE``.

The figures' definitions, in words, are in ``inspect/analytics.py`` and docs/analytics.md.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from mockserver.storage.base import ANALYTICS_TOP as TOP
from mockserver.storage.base import LAST_POSITION, AnalyticsQuery

# Every name below is a constant; every value is a bound parameter.
_FILTERS = {
    "namespace": "namespace = :namespace",
    "vendor": "vendor = :vendor",
    "tenant": "tenant = :tenant",
}
# Event time: the event's own timestamp, else when it was received (never null for either
# vendor's accepted events under the strict profile).
_RECEIVED_MS = "CAST(round((julianday(received_at) - 2440587.5) * 86400000) AS INTEGER)"
_EVENT_TIME = f"coalesce(timestamp_ms, {_RECEIVED_MS})"
_HAS_SESSION_ID = "(vendor = 'lucidworks' AND coalesce(session, '') <> '')"

_EVENTS = f"""
CREATE TEMP TABLE analytics_events AS
WITH timed AS (
    SELECT id, vendor, tenant, user, session, query_id, type, page, position, revenue,
           {_EVENT_TIME} AS t,
           nullif(lower(trim(query)), '') AS q,
           type = 'query' AND items = '[]' AS zero_results
    FROM events {{where}}
), periodic AS (
    SELECT * FROM timed WHERE (:since IS NULL OR t >= :since) AND (:until IS NULL OR t < :until)
), gaps AS (
    -- Only events without a session id need the windows (sorting is most of the cost).
    SELECT *,
           CASE WHEN lag(t) OVER by_user IS NULL THEN 1
                WHEN t - lag(t) OVER by_user >= CASE vendor WHEN 'lucidworks' THEN :gap_lucidworks
                                                             ELSE :gap_neuralens END THEN 1
                ELSE 0 END AS starts
    FROM periodic
    WHERE NOT {_HAS_SESSION_ID} AND user IS NOT NULL
    WINDOW by_user AS (PARTITION BY vendor, tenant, user ORDER BY t, id)
)
SELECT id, vendor, type, page, position, revenue, t, q, query_id, zero_results,
       's|' || vendor || '|' || coalesce(tenant, '') || '|' || session AS sid
FROM periodic WHERE {_HAS_SESSION_ID}
UNION ALL
SELECT id, vendor, type, page, position, revenue, t, q, query_id, zero_results, 'e|' || id
FROM periodic WHERE NOT {_HAS_SESSION_ID} AND user IS NULL
UNION ALL
SELECT id, vendor, type, page, position, revenue, t, q, query_id, zero_results,
       'u|' || vendor || '|' || coalesce(tenant, '') || '|' || user || '|'
       || sum(starts) OVER (PARTITION BY vendor, tenant, user ORDER BY t, id
                            ROWS UNBOUNDED PRECEDING)
FROM gaps
"""

_SEARCHES = """
CREATE TEMP TABLE analytics_searches AS
WITH searches AS (
    SELECT 'l|' || query_id AS key, min(sid) AS sid, min(t) AS t, max(q) AS q,
           max(zero_results) AS zero_results
    FROM analytics_events
    WHERE vendor = 'lucidworks' AND type = 'query' AND query_id IS NOT NULL
    GROUP BY query_id
    UNION ALL
    SELECT 'n|' || sid || '|' || q, sid, min(t), q, NULL
    FROM analytics_events
    WHERE vendor = 'neuralens' AND page = 'SEARCH_RESULT_PAGE' AND q IS NOT NULL
    GROUP BY sid, q
), clicked AS (
    SELECT DISTINCT 'l|' || query_id AS key FROM analytics_events
    WHERE vendor = 'lucidworks' AND type = 'click' AND query_id IS NOT NULL
    UNION
    SELECT DISTINCT 'n|' || sid || '|' || q FROM analytics_events
    WHERE vendor = 'neuralens' AND type = 'CLICK_PRODUCT' AND q IS NOT NULL
), carts AS (
    SELECT sid, max(t) AS last FROM analytics_events
    WHERE type IN ('cartadd', 'ADD_TO_CART') GROUP BY sid
), purchases AS (
    SELECT sid, max(t) AS last FROM analytics_events
    WHERE type IN ('purchase', 'PURCHASE') GROUP BY sid
)
SELECT s.key, s.q, s.zero_results,
       clicked.key IS NOT NULL AS clicked,
       coalesce(carts.last >= s.t, 0) AS carted,
       coalesce(purchases.last >= s.t, 0) AS purchased
FROM searches AS s
LEFT JOIN clicked ON clicked.key = s.key
LEFT JOIN carts ON carts.sid = s.sid
LEFT JOIN purchases ON purchases.sid = s.sid
"""

_CLICKS = (
    "(vendor = 'lucidworks' AND type = 'click' OR vendor = 'neuralens' AND type = 'CLICK_PRODUCT')"
)


def analytics_counts(conn: sqlite3.Connection, query: AnalyticsQuery) -> dict[str, Any]:
    """The counts behind every figure (the caller divides); see the module's docstring."""
    clauses = [sql for name, sql in _FILTERS.items() if getattr(query, name) is not None]
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
    conn.execute("DROP TABLE IF EXISTS temp.analytics_events")
    conn.execute("DROP TABLE IF EXISTS temp.analytics_searches")
    try:
        conn.execute(_EVENTS.format(where=where), params)
        conn.execute(_SEARCHES)
        return _read(conn, params)
    finally:
        conn.execute("DROP TABLE IF EXISTS temp.analytics_events")
        conn.execute("DROP TABLE IF EXISTS temp.analytics_searches")


def _read(conn: sqlite3.Connection, params: Mapping[str, Any]) -> dict[str, Any]:
    def rows(sql: str, args: Any = ()) -> list[Any]:
        return conn.execute(sql, args).fetchall()

    series = rows(
        "SELECT t / :bucket * :bucket AS start, type, count(*) FROM analytics_events "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        {"bucket": params["bucket"]},
    )
    sessions, purchases, revenue, revenue_purchases = rows(
        "SELECT count(DISTINCT sid), "
        "       sum(type IN ('purchase', 'PURCHASE')), "
        "       sum(revenue) FILTER (WHERE type = 'purchase'), "
        "       count(revenue) FILTER (WHERE type = 'purchase') "
        "FROM analytics_events"
    )[0]
    positions = rows(
        f"SELECT min(position, {LAST_POSITION + 1}), count(*) FROM analytics_events "
        f"WHERE {_CLICKS} AND position IS NOT NULL GROUP BY 1"
    )
    position_sum, position_count, clicks = rows(
        # total(), not sum(): two positions near 2**63 (valid int64s) overflow an integer sum.
        f"SELECT total(position), count(position), count(*) FROM analytics_events WHERE {_CLICKS}"
    )[0]
    searches, clicked, carted, purchased, funnel_carted, funnel_purchased = rows(
        "SELECT count(*), sum(clicked), sum(carted), sum(purchased), "
        "       sum(clicked AND carted), sum(clicked AND carted AND purchased) "
        "FROM analytics_searches"
    )[0]
    top = rows(
        "SELECT q, count(*), sum(clicked) FROM analytics_searches "
        "GROUP BY q ORDER BY 2 DESC, q LIMIT :top",
        {"top": TOP},
    )
    no_click = rows(
        "SELECT q, count(*) FROM analytics_searches WHERE NOT clicked "
        "GROUP BY q ORDER BY 2 DESC, q LIMIT :top",
        {"top": TOP},
    )
    zero = rows(
        "SELECT q, count(*) FROM analytics_searches WHERE zero_results "
        "GROUP BY q ORDER BY 2 DESC, q LIMIT :top",
        {"top": TOP},
    )
    return {
        "series": series,
        "sessions": sessions,
        "purchases": purchases or 0,
        "revenue": revenue,
        "revenue_purchases": revenue_purchases,
        "clicks": clicks,
        "positions": dict(positions),
        "position_sum": position_sum,
        "position_count": position_count,
        "searches": searches,
        "clicked": clicked or 0,
        "carted": carted or 0,
        "purchased": purchased or 0,
        "funnel_carted": funnel_carted or 0,
        "funnel_purchased": funnel_purchased or 0,
        "top_queries": top,
        "no_click_queries": no_click,
        "zero_result_queries": zero,
    }

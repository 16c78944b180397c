"""Search analytics over PostgreSQL: ``sqlite_analytics.py``'s computation from the events, in
PostgreSQL's dialect, with the same meaning and the same figures (a test holds the two stores
to the same counts on random events). Computed on demand in temporary tables dropped at the
end of the transaction, for the queries the running totals do not answer
(``postgres_rollup.py``) and as the reference the tests hold the totals to.

Dialect notes: booleans are cast to integers where SQLite sums them; differences of event
times are taken in ``numeric`` (two int64 timestamps far apart overflow ``bigint``, where
SQLite moves to floating point); queries fold ASCII letters only (``mockserver_fold``), as
SQLite's ``lower`` does.
"""

from __future__ import annotations

from typing import Any

import psycopg

from mockserver.storage.base import LAST_POSITION, AnalyticsQuery
from mockserver.storage.sqlite_analytics import (
    QUERY_FIGURES,
    event_counts,
    position_counts,
    search_counts,
)

FILTERS = {
    "namespace": "namespace = %(namespace)s",
    "vendor": "vendor = %(vendor)s",
    "tenant": "tenant = %(tenant)s",
}
_RECEIVED_MS = (
    "(extract(epoch FROM rtrim(received_at, 'Z')::timestamp) * 1000)::numeric(30, 0)::bigint"
)
EVENT_TIME = f"coalesce(timestamp_ms, {_RECEIVED_MS})"
HAS_SESSION_ID = "(vendor = 'lucidworks' AND coalesce(session, '') <> '')"
CLICKS = (
    "(vendor = 'lucidworks' AND type = 'click' OR vendor = 'neuralens' AND type = 'CLICK_PRODUCT')"
)
COMPARED_QUERY = "nullif(mockserver_fold(trim(query)), '')"
IN_PERIOD = _IN_PERIOD = (
    "(%(since)s::bigint IS NULL OR t >= %(since)s) AND (%(until)s::bigint IS NULL OR t < %(until)s)"
)


def floor_div(number: str, divisor: str) -> str:
    return f"({number} / {divisor} - (mod({number}, {divisor}) < 0)::int)"


_EVENTS = f"""
CREATE TEMP TABLE analytics_events ON COMMIT DROP AS
WITH timed AS (
    SELECT id, namespace, vendor, tenant, "user", session, query_id, type, page, position,
           revenue, {EVENT_TIME} AS t, {COMPARED_QUERY} AS q,
           (type = 'query' AND items = '[]')::int AS zero_results
    FROM events {{where}}
), gaps AS (
    SELECT *,
           CASE WHEN lag(t) OVER by_user IS NULL THEN 1
                WHEN t::numeric - (lag(t) OVER by_user)::numeric
                     >= CASE vendor WHEN 'lucidworks' THEN %(gap_lucidworks)s
                                    ELSE %(gap_neuralens)s END THEN 1
                ELSE 0 END AS starts
    FROM timed
    WHERE NOT {HAS_SESSION_ID} AND "user" IS NOT NULL
    WINDOW by_user AS (PARTITION BY namespace, vendor, tenant, "user" ORDER BY t, id)
)
SELECT *, 's|' || namespace || '|' || vendor || '|' || coalesce('t' || tenant, '') || '|'
          || session AS sid
FROM timed WHERE {HAS_SESSION_ID}
UNION ALL
SELECT *, 'e|' || id FROM timed WHERE NOT {HAS_SESSION_ID} AND "user" IS NULL
UNION ALL
SELECT id, namespace, vendor, tenant, "user", session, query_id, type, page, position,
       revenue, t, q, zero_results,
       'u|' || namespace || '|' || vendor || '|' || coalesce('t' || tenant, '') || '|'
       || "user" || '|' || sum(starts) OVER (PARTITION BY namespace, vendor, tenant, "user"
                                             ORDER BY t, id ROWS UNBOUNDED PRECEDING)
FROM gaps
"""

_SESSIONS = """
CREATE TEMP TABLE analytics_sessions ON COMMIT DROP AS
SELECT sid, min(t) AS start_t, max(t) AS end_t,
       max(t) FILTER (WHERE type IN ('cartadd', 'ADD_TO_CART')) AS last_cart_t,
       max(t) FILTER (WHERE type IN ('purchase', 'PURCHASE')) AS last_purchase_t
FROM analytics_events GROUP BY sid
"""

# Each search with whether it was clicked in one pass over its vendor's events, grouped or
# windowed: no join between two sets of events, whose row counts a temporary table without
# statistics would leave the planner to guess (it guessed 1 and joined 3,000 searches to
# 1,300 clicks in a nested loop: 2 s for 19,000 events).
_SEARCHES = """
CREATE TEMP TABLE analytics_searches ON COMMIT DROP AS
WITH lucidworks AS (
    SELECT type, t, sid, q, zero_results,
           row_number() OVER (PARTITION BY namespace, tenant, query_id, type ORDER BY t, id) AS nth,
           max((type = 'click')::int) OVER (PARTITION BY namespace, tenant, query_id) AS clicked
    FROM analytics_events
    WHERE vendor = 'lucidworks' AND type IN ('query', 'click') AND query_id IS NOT NULL
), neuralens AS (
    SELECT sid, q, min(t) FILTER (WHERE page = 'SEARCH_RESULT_PAGE') AS t,
           max((type = 'CLICK_PRODUCT')::int) AS clicked
    FROM analytics_events
    WHERE vendor = 'neuralens' AND q IS NOT NULL
      AND (page = 'SEARCH_RESULT_PAGE' OR type = 'CLICK_PRODUCT')
    GROUP BY sid, q
), searches AS (
    SELECT t, sid, q, zero_results, clicked FROM lucidworks WHERE type = 'query' AND nth = 1
    UNION ALL
    SELECT t, sid, q, 0, clicked FROM neuralens WHERE t IS NOT NULL
)
SELECT s.q, s.zero_results, s.clicked,
       coalesce((x.last_cart_t >= s.t)::int, 0) AS carted,
       coalesce((x.last_purchase_t >= s.t)::int, 0) AS purchased
FROM searches AS s JOIN analytics_sessions AS x ON x.sid = s.sid
WHERE (%(since)s::bigint IS NULL OR s.t >= %(since)s)
  AND (%(until)s::bigint IS NULL OR s.t < %(until)s)
"""


def analytics_counts(conn: psycopg.Connection[Any], query: AnalyticsQuery) -> dict[str, Any]:
    """The counts behind every figure, from the events, in the caller's transaction."""
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
    conn.execute(_EVENTS.format(where=where), params)
    conn.execute(_SESSIONS)
    conn.execute(_SEARCHES, params)

    def rows(sql: str) -> list[Any]:
        return conn.execute(sql, params).fetchall()

    events = rows(
        f"SELECT {floor_div('t', '%(bucket)s::bigint')}, type, count(*)::int, "
        "       coalesce(sum(revenue) FILTER (WHERE type = 'purchase'), 0), "
        "       count(revenue) FILTER (WHERE type = 'purchase')::int, "
        f"       count(*) FILTER (WHERE {CLICKS})::int "
        f"FROM analytics_events WHERE {_IN_PERIOD} GROUP BY 1, 2 "
        'ORDER BY 1, type COLLATE "C"'
    )
    (sessions,) = rows(
        "SELECT count(*)::int FROM analytics_sessions "
        "WHERE (%(until)s::bigint IS NULL OR start_t < %(until)s) "
        "AND (%(since)s::bigint IS NULL OR end_t >= %(since)s)"
    )[0]
    positions = rows(
        f"SELECT least(position, {LAST_POSITION + 1}), count(*)::int, "
        "       coalesce(sum(position::float8), 0) "
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

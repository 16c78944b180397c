"""Search analytics computed from the events: the counts behind ``/_mock/analytics``, in SQL,
in either dialect.

Two ways to the same counts:

- **Running totals** (``totals_sql.py``): kept up to date as events arrive, read in
  milliseconds. They answer every query at the vendors' declared session gaps whose ``since``
  and ``until`` fall on whole minutes (the dashboard's, and any without a period).
- **From the events** (this module): any query, computed on demand in temporary tables,
  far slower than the totals (measured: bench/results/measurements.md#analytics-from-events).
  Also the reference the running totals are tested against.

The meaning both implement (the figures' definitions in words are in ``inspect/analytics.py``
and docs/analytics.md), with what each vendor's events are declared to be
(``semantics.VendorAnalytics``):

- A session belongs to one namespace, vendor and tenant. An event with a session id (of a
  vendor whose session ids say so) is in that session; any other event with a user starts a
  new session when it comes ``gap`` ms or more after the user's previous one; an event
  without either is a session alone. Sessions are cut from all the events of the namespace,
  vendor and tenant, never from the period's alone, and a session counts in a period it has
  events on both sides of or in (its first event before ``until``, its last at or after
  ``since``).
- A search counts in the period it was made in; what followed it (a click, an add-to-cart,
  a purchase) counts whenever it came. Told apart by queryId: the queryId of search signals
  in a namespace, vendor and tenant; its time, session, query and results are its first
  signal's. Told apart by session and query: a (session, query) seen on a results page, at
  its first such event.
- Event counts, clicks, positions, purchases and revenue: the events in the period.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mockserver.storage.base import ANALYTICS_TOP as TOP
from mockserver.storage.base import LAST_POSITION, AnalyticsQuery
from mockserver.storage.dialect import Dialect
from mockserver.storage.semantics import Semantics

FILTERS = {
    "namespace": "namespace = :namespace",
    "vendor": "vendor = :vendor",
    "tenant": "tenant = :tenant",
}
# Event time: the event's own timestamp, else when it was received (never null for either
# vendor's accepted events under the strict profile).
EVENT_TIME = "coalesce(timestamp_ms, {received_ms})"
IN_PERIOD = (
    "(CAST(:since AS BIGINT) IS NULL OR t >= :since) "
    "AND (CAST(:until AS BIGINT) IS NULL OR t < :until)"
)
# Per query (as compared): searches, clicked, followed by an add-to-cart, by a purchase,
# clicked and carted, clicked and carted and purchased, with zero results.
# (Products, not ANDs, of the 0/1 flags: the same SQL in SQLite and PostgreSQL.)
QUERY_FIGURES = (
    "q, count(*), sum(clicked), sum(carted), sum(purchased), sum(clicked * carted), "
    "sum(clicked * carted * purchased), sum(zero_results)"
)


def compared_query(dialect: Dialect) -> str:
    return f"nullif({dialect.fold}(trim(query)), '')"  # "Oak Table " and "oak table": one


def flags(semantics: Semantics) -> str:
    """An event's roles as 0/1 columns, named as ``totals.Row`` names them."""
    s = semantics
    return ", ".join(
        f"CAST({condition} AS INTEGER) AS {name}"
        for name, condition in (
            ("zero_results", s.no_results), ("search_signal", s.search_signal),
            ("click", s.clicks), ("cart_add", s.cart_adds), ("purchase", s.purchases),
            ("by_query_id", s.by_query_id), ("by_session_query", s.by_session_query),
            ("has_session_id", s.has_session_id),
        )
    )  # fmt: skip


_TIMED = (
    'id, namespace, vendor, tenant, "user", session, query_id, type, page, position, revenue, '
    "t, q, zero_results, search_signal, click, cart_add, purchase, by_query_id, "
    "by_session_query, has_session_id"
)
_EVENTS = """
CREATE TEMP TABLE analytics_events{temporary} AS
WITH timed AS (
    SELECT id, namespace, vendor, tenant, "user", session, query_id, type, page, position,
           revenue, {event_time} AS t, {compared_query} AS q, {flags}
    FROM events {where}
), gaps AS (
    -- Only events without a session id need the windows (sorting is most of the cost).
    SELECT *,
           CASE WHEN lag(t) OVER by_user IS NULL THEN 1
                WHEN {exact_t} - {exact_lag} >= {gap} THEN 1
                ELSE 0 END AS starts
    FROM timed
    WHERE has_session_id = 0 AND "user" IS NOT NULL
    WINDOW by_user AS (PARTITION BY namespace, vendor, tenant, "user" ORDER BY t, id)
)
SELECT *, 's|' || namespace || '|' || vendor || '|' || coalesce('t' || tenant, '') || '|'
          || session AS sid
FROM timed WHERE has_session_id = 1
UNION ALL
SELECT *, 'e|' || id FROM timed WHERE has_session_id = 0 AND "user" IS NULL
UNION ALL
SELECT {timed},
       'u|' || namespace || '|' || vendor || '|' || coalesce('t' || tenant, '') || '|'
       || "user" || '|' || sum(starts) OVER (PARTITION BY namespace, vendor, tenant, "user"
                                             ORDER BY t, id ROWS UNBOUNDED PRECEDING)
FROM gaps
"""
_SESSIONS = """
CREATE TEMP TABLE analytics_sessions{temporary} AS
SELECT sid, min(t) AS start_t, max(t) AS end_t,
       max(t) FILTER (WHERE cart_add = 1) AS last_cart_t,
       max(t) FILTER (WHERE purchase = 1) AS last_purchase_t
FROM analytics_events GROUP BY sid
"""
# Each search with whether it was clicked in one pass over the events, grouped or windowed:
# no join between two sets of events, whose row counts a temporary table without statistics
# leaves PostgreSQL's planner to guess (it guessed one row and joined the searches to the
# clicks in a nested loop, which was slow: bench/results/measurements.md#searches-one-pass).
_SEARCHES = """
CREATE TEMP TABLE analytics_searches{temporary} AS
WITH by_id AS (
    SELECT search_signal, t, sid, q, zero_results,
           row_number() OVER (PARTITION BY namespace, vendor, tenant, query_id, search_signal
                              ORDER BY t, id) AS nth,
           max(click) OVER (PARTITION BY namespace, vendor, tenant, query_id) AS clicked
    FROM analytics_events
    WHERE by_query_id = 1 AND (search_signal = 1 OR click = 1) AND query_id IS NOT NULL
), by_session AS (
    SELECT sid, q, min(t) FILTER (WHERE search_signal = 1) AS t, max(click) AS clicked
    FROM analytics_events
    WHERE by_session_query = 1 AND q IS NOT NULL AND (search_signal = 1 OR click = 1)
    GROUP BY sid, q
), searches AS (
    SELECT t, sid, q, zero_results, clicked FROM by_id WHERE search_signal = 1 AND nth = 1
    UNION ALL
    SELECT t, sid, q, 0, clicked FROM by_session WHERE t IS NOT NULL
)
SELECT s.q, s.zero_results, s.clicked,
       coalesce(CAST(x.last_cart_t >= s.t AS INTEGER), 0) AS carted,
       coalesce(CAST(x.last_purchase_t >= s.t AS INTEGER), 0) AS purchased
FROM searches AS s JOIN analytics_sessions AS x ON x.sid = s.sid
WHERE (CAST(:since AS BIGINT) IS NULL OR s.t >= :since)
  AND (CAST(:until AS BIGINT) IS NULL OR s.t < :until)
"""
TEMPORARY = ("analytics_events", "analytics_sessions", "analytics_searches")


class FromEvents:
    """The computation in one dialect, for one set of vendors' declarations."""

    def __init__(self, dialect: Dialect, semantics: Semantics) -> None:
        d, s = dialect, semantics
        self.dialect, self.semantics = d, s
        self.event_time = EVENT_TIME.format(received_ms=d.received_ms)
        self._events = _EVENTS.format(
            temporary=d.temporary, event_time=self.event_time, compared_query=compared_query(d),
            flags=flags(s), exact_t=d.exact.format("t"), gap=s.gap(), timed=_TIMED,
            exact_lag=d.exact.format("lag(t) OVER by_user"), where="{where}",
        )  # fmt: skip
        self._sessions = d.sql(_SESSIONS.format(temporary=d.temporary))
        self._searches = d.sql(_SEARCHES.format(temporary=d.temporary))
        purchases = " FILTER (WHERE purchase = 1)"
        self._counts = d.sql(
            f"SELECT {d.floor_div('t', 'CAST(:bucket AS BIGINT)')}, type, count(*), "
            f"{d.total('revenue', purchases)}, count(revenue){purchases}, "
            f"count(*) FILTER (WHERE click = 1), count(*){purchases} "
            f"FROM analytics_events WHERE {IN_PERIOD} GROUP BY 1, 2 "
            f"ORDER BY 1, {d.text_order.format('type')}"
        )
        self._sessions_count = d.sql(
            "SELECT count(*) FROM analytics_sessions "
            "WHERE (CAST(:until AS BIGINT) IS NULL OR start_t < :until) "
            "AND (CAST(:since AS BIGINT) IS NULL OR end_t >= :since)"
        )
        self._positions = d.sql(
            f"SELECT {d.least}(position, {LAST_POSITION + 1}), count(*), "
            # float, not integer: two positions near 2**63 (valid int64s) overflow an integer
            f"{d.total(d.cast_to_float.format('position'))} "
            f"FROM analytics_events WHERE click = 1 AND position IS NOT NULL AND {IN_PERIOD} "
            "GROUP BY 1"
        )
        self._queries = f"SELECT {QUERY_FIGURES} FROM analytics_searches GROUP BY q"

    def counts(self, conn: Any, query: AnalyticsQuery) -> dict[str, Any]:
        """The counts behind every figure (the caller divides), in the caller's transaction."""
        clauses = [sql for name, sql in FILTERS.items() if getattr(query, name) is not None]
        where = "WHERE " + " AND ".join(clauses) if clauses else ""
        params: dict[str, Any] = {
            "namespace": query.namespace, "vendor": query.vendor, "tenant": query.tenant,
            "since": query.since_ms, "until": query.until_ms, "bucket": query.bucket_ms,
            **self.semantics.gap_params(query.session_gap_ms),
        }  # fmt: skip
        self._drop(conn)
        conn.execute(self.dialect.sql(self._events.format(where=where)), params)
        conn.execute(self._sessions)
        conn.execute(self._searches, params)

        def rows(sql: str) -> list[Any]:
            return list(conn.execute(sql, params).fetchall())

        try:
            return {
                "sessions": int(rows(self._sessions_count)[0][0]),
                **event_counts(rows(self._counts)),
                **position_counts(rows(self._positions)),
                **search_counts(rows(self._queries)),
            }
        finally:
            self._drop(conn)

    def _drop(self, conn: Any) -> None:
        for table in TEMPORARY:
            conn.execute(f"DROP TABLE IF EXISTS {self.dialect.temp_schema}.{table}")


def position_counts(rows: list[tuple[int, int, float]]) -> dict[str, Any]:
    """From rows (position up to LAST_POSITION + 1, clicks, sum of their positions)."""
    return {
        "positions": {position: int(n) for position, n, _ in rows},
        "position_sum": sum(total for *_, total in rows),
        "position_count": sum(int(n) for _, n, _ in rows),
    }


def event_counts(rows: list[tuple[int, str, int, float, int, int, int]]) -> dict[str, Any]:
    """From rows (bucket, type, events, their revenue, how many carried one, how many were
    clicks, how many purchases). Clicks and purchases are counted in SQL, not by type here: a
    type names a click for one vendor only, and the store keeps whatever type an event came
    with."""
    revenue_purchases = sum(int(row[4]) for row in rows)
    return {
        "series": [(bucket, kind, int(n)) for bucket, kind, n, *_ in rows],
        "events": sum(int(row[2]) for row in rows),
        "purchases": sum(int(row[6]) for row in rows),
        "revenue": sum(row[3] for row in rows) if revenue_purchases else None,
        "revenue_purchases": revenue_purchases,
        "clicks": sum(int(row[5] or 0) for row in rows),
    }


def search_counts(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The search figures from one row a query (``QUERY_FIGURES``), which both ways to the
    counts read: a few thousand rows, where the searches are hundreds of thousands."""
    totals = [sum(int(row[i] or 0) for row in rows) for i in range(1, 8)]
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
        "top_queries": top((q, int(n), int(c or 0)) for q, n, c, *_ in rows),
        "no_click_queries": [
            (q, n) for q, n, _ in top((q, int(n) - int(c or 0), None) for q, n, c, *_ in rows)
        ],
        "zero_result_queries": [
            (q, n) for q, n, _ in top((r[0], int(r[7] or 0), None) for r in rows)
        ],
    }

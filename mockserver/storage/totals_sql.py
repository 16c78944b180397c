"""Running totals behind ``/_mock/analytics``, in either dialect: the analytics of a million
events in milliseconds, where computing them from the events takes seconds
(``from_events.py``).

Every table here is derived from ``events`` and nothing else. Folding a batch of new events
(which batch is the store's: SQLite keeps a watermark, PostgreSQL a queue of commits):

- ``totals_counts`` (events and revenue) and ``totals_clicks`` (positioned clicks) by
  namespace, vendor, tenant, minute of event time and type or position: an upsert in SQL.
- ``totals_sessions``: each partition's sessions (a session id, or a user's events less
  than the gap apart) with their first and last event time and their last add-to-cart and
  purchase, merged with the batch's events in Python (``totals.py``): exact whatever order
  events arrive in.
- ``totals_searches_by_id``: a queryId's first search signal (time, id, session, query,
  results) and whether a click named it. ``totals_searches_by_session``: a (session,
  query)'s first time on a results page (null while only a click was seen) and whether a
  click had it.

Whether a search was followed by an add-to-cart or a purchase is kept on the search, updated
for the sessions each batch touches: its session's last one at or after its time. The
totals serve the vendors' declared session gaps and periods of whole minutes; anything else
is computed from the events. A property test holds both ways to the same counts
(tests/test_storage_totals.py, and on PostgreSQL tests/test_storage_postgres_totals.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from mockserver.storage.base import LAST_POSITION, AnalyticsQuery
from mockserver.storage.dialect import Dialect
from mockserver.storage.from_events import (
    EVENT_TIME,
    QUERY_FIGURES,
    compared_query,
    event_counts,
    flags,
    position_counts,
    search_counts,
)
from mockserver.storage.semantics import Semantics
from mockserver.storage.totals import (
    MINUTE_MS,
    Row,
    add_up_queries,
    partitions,
    reading_params,
    search_keys,
    searches_by_id,
    searches_by_session,
    session_changes,
    with_stored_by_session,
)

TABLES = """
CREATE TABLE totals_counts (
    namespace TEXT NOT NULL, vendor TEXT NOT NULL, tenant_key TEXT NOT NULL,
    minute BIGINT NOT NULL, type TEXT NOT NULL,
    events BIGINT NOT NULL, revenue_sum DOUBLE PRECISION NOT NULL, revenue_n BIGINT NOT NULL,
    PRIMARY KEY (namespace, vendor, tenant_key, minute, type)
){without_rowid};
CREATE TABLE totals_clicks (
    namespace TEXT NOT NULL, vendor TEXT NOT NULL, tenant_key TEXT NOT NULL,
    minute BIGINT NOT NULL, position BIGINT NOT NULL,
    clicks BIGINT NOT NULL, position_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (namespace, vendor, tenant_key, minute, position)
){without_rowid};
CREATE TABLE totals_sessions (
    id {integer_key} PRIMARY KEY, namespace TEXT NOT NULL, vendor TEXT NOT NULL,
    tenant_key TEXT NOT NULL, pkey TEXT, start_t BIGINT NOT NULL, end_t BIGINT NOT NULL,
    last_cart_t BIGINT, last_purchase_t BIGINT
);
CREATE INDEX totals_sessions_by_partition ON totals_sessions (pkey, start_t);
CREATE TABLE totals_searches_by_id (
    key TEXT PRIMARY KEY, namespace TEXT NOT NULL, vendor TEXT NOT NULL,
    tenant_key TEXT NOT NULL, first_t BIGINT, first_id BIGINT, session_id BIGINT, q TEXT,
    zero_results INTEGER, clicked INTEGER NOT NULL, carted INTEGER NOT NULL,
    purchased INTEGER NOT NULL
);
CREATE INDEX totals_searches_by_id_session ON totals_searches_by_id (session_id);
-- Counting by query walks these in query order: no sort of hundreds of thousands of rows.
CREATE INDEX totals_searches_by_id_query
    ON totals_searches_by_id (q, first_t, clicked, carted, purchased, zero_results);
CREATE TABLE totals_searches_by_session (
    session_id BIGINT NOT NULL, q TEXT NOT NULL, namespace TEXT NOT NULL,
    vendor TEXT NOT NULL, tenant_key TEXT NOT NULL, first_t BIGINT, clicked INTEGER NOT NULL,
    carted INTEGER NOT NULL, purchased INTEGER NOT NULL,
    PRIMARY KEY (session_id, q)
);
CREATE INDEX totals_searches_by_session_query
    ON totals_searches_by_session (q, first_t, clicked, carted, purchased);
"""
DERIVED = ("totals_counts", "totals_clicks", "totals_sessions", "totals_searches_by_id",
           "totals_searches_by_session")  # fmt: skip
# The tables the totals replaced (SQLite m007, PostgreSQL m002): dropped by the migration
# that made these, which folds every event again.
REPLACED = ("rollup_counts", "rollup_clicks", "rollup_sessions", "rollup_lw_searches",
            "rollup_nl_searches", "rollup_state")  # fmt: skip
_TENANT_KEY = "CASE WHEN tenant IS NULL THEN '' ELSE 't' || tenant END"  # null apart from ''


class Writer(Protocol):
    """How a store writes many rows in one go (SQLite: executemany; PostgreSQL: one
    statement over arrays)."""

    def upsert(
        self, conn: Any, table: str, rows: Sequence[Sequence[Any]], conflict: str
    ) -> None: ...

    def many(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """``sql`` with positional parameters (the dialect's), once a row."""


def create_tables(dialect: Dialect) -> str:
    return TABLES.format(without_rowid=dialect.without_rowid, integer_key=dialect.integer_key)


class Totals:
    """The running totals' statements in one dialect, for one set of vendors' declarations."""

    def __init__(self, dialect: Dialect, semantics: Semantics, writer: Writer) -> None:
        d, s = dialect, semantics
        self.dialect, self.semantics, self.writer = d, s, writer
        self.event_time = EVENT_TIME.format(received_ms=d.received_ms)
        minute = d.floor_div(self.event_time, str(MINUTE_MS))
        purchases = f" FILTER (WHERE {s.purchases})"
        self._fold_counts = f"""
INSERT INTO totals_counts AS r
SELECT namespace, vendor, {_TENANT_KEY}, {minute}, type, count(*),
       {d.total("revenue", purchases)}, count(revenue){purchases}
FROM events WHERE {{batch}} GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (namespace, vendor, tenant_key, minute, type) DO UPDATE
SET events = r.events + excluded.events, revenue_sum = r.revenue_sum + excluded.revenue_sum,
    revenue_n = r.revenue_n + excluded.revenue_n"""
        self._fold_clicks = f"""
INSERT INTO totals_clicks AS r
SELECT namespace, vendor, {_TENANT_KEY}, {minute}, {d.least}(position, {LAST_POSITION + 1}),
       count(*), {d.total(d.cast_to_float.format("position"))}
FROM events WHERE {{batch}} AND {s.clicks} AND position IS NOT NULL
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (namespace, vendor, tenant_key, minute, position) DO UPDATE
SET clicks = r.clicks + excluded.clicks, position_sum = r.position_sum + excluded.position_sum"""
        partition = d.json_array
        by_user = partition.format("'u', namespace, vendor, tenant_key, \"user\"")
        self._batch = f"""
SELECT id, namespace, vendor, tenant_key, {compared_query(d)}, {self.event_time},
       zero_results,
       CASE WHEN has_session_id = 1
            THEN {partition.format("'s', namespace, vendor, tenant_key, session")}
            WHEN "user" IS NOT NULL
            THEN {by_user}
       END,
       has_session_id,
       CASE WHEN by_query_id = 1 AND query_id IS NOT NULL
            THEN {partition.format("namespace, vendor, tenant_key, query_id")} END,
       search_signal, click, cart_add, purchase, by_session_query
FROM (SELECT *, {_TENANT_KEY} AS tenant_key, {flags(s)} FROM events WHERE {{batch}}) AS batch
ORDER BY id"""
        # Whether each search of the sessions the batch touched was followed by an
        # add-to-cart or a purchase in its session: kept on the search, so that reading
        # needs no join.
        self._followed = d.sql(
            """
UPDATE {table} SET
    carted = coalesce(CAST((SELECT last_cart_t FROM totals_sessions WHERE id = session_id)
                           >= first_t AS INTEGER), 0),
    purchased = coalesce(CAST((SELECT last_purchase_t FROM totals_sessions
                               WHERE id = session_id) >= first_t AS INTEGER), 0)
WHERE """
            + d.listed("session_id", "touched")
        )

    # -- folding ----------------------------------------------------------------------------

    def fold(self, conn: Any, batch: str, bounds: dict[str, Any]) -> None:
        """Fold the events ``batch`` selects (a condition on ``events``, with its named
        ``bounds``) into the totals, in the caller's transaction."""
        d = self.dialect
        conn.execute(d.sql(self._fold_counts.format(batch=batch)), bounds)
        conn.execute(d.sql(self._fold_clicks.format(batch=batch)), bounds)
        rows = [
            Row(*values) for values in conn.execute(d.sql(self._batch.format(batch=batch)), bounds)
        ]
        session_of = self._fold_sessions(conn, rows)
        self._fold_searches_by_id(conn, rows, session_of)
        self._fold_searches_by_session(conn, rows, session_of)
        touched = d.as_list(sorted(set(session_of.values())))
        for table in ("totals_searches_by_id", "totals_searches_by_session"):
            conn.execute(self._followed.format(table=table), {"touched": touched})

    def _stored(self, conn: Any, table: str, column: str, values: Sequence[Any]) -> list[Any]:
        sql = f"SELECT * FROM {table} WHERE {self.dialect.listed(column, 'values')}"
        found = conn.execute(self.dialect.sql(sql), {"values": self.dialect.as_list(values)})
        return list(found.fetchall())

    def _fold_sessions(self, conn: Any, rows: list[Row]) -> dict[int, int]:
        """Merge the rows into the stored sessions; the session id of each row's event."""
        d = self.dialect
        stored = conn.execute(
            d.sql(
                "SELECT pkey, id, start_t, end_t, last_cart_t, last_purchase_t "
                f"FROM totals_sessions WHERE {d.listed('pkey', 'keys')}"
            ),
            {"keys": d.as_list(partitions(rows))},
        ).fetchall()
        # Ids for the new sessions, chosen here: the caller's transaction is the only folder.
        (next_id,) = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM totals_sessions").fetchone()
        changes = session_changes(rows, stored, next_id, self.semantics.gaps)
        self.writer.upsert(
            conn, "totals_sessions", changes.written,
            "(id) DO UPDATE SET start_t = excluded.start_t, end_t = excluded.end_t, "
            "last_cart_t = excluded.last_cart_t, last_purchase_t = excluded.last_purchase_t",
        )  # fmt: skip
        moved = changes.moved
        if moved:
            p = d.positional
            gone = [(old,) for _, old in moved]
            self.writer.many(conn, f"DELETE FROM totals_sessions WHERE id = {p}", gone)
            self.writer.many(
                conn,
                f"UPDATE totals_searches_by_id SET session_id = {p} WHERE session_id = {p}",
                moved,
            )
            self.writer.many(
                conn,
                "INSERT INTO totals_searches_by_session AS r "
                f"SELECT {p}, q, namespace, vendor, tenant_key, first_t, clicked, 0, 0 "
                f"FROM totals_searches_by_session WHERE session_id = {p} "
                "ON CONFLICT (session_id, q) DO UPDATE "
                f"SET clicked = {d.greatest}(r.clicked, excluded.clicked), "
                "    first_t = coalesce("
                f"{d.least}(r.first_t, excluded.first_t), r.first_t, excluded.first_t)",
                moved,
            )
            self.writer.many(
                conn, f"DELETE FROM totals_searches_by_session WHERE session_id = {p}", gone
            )
        return changes.session_of

    def _fold_searches_by_id(self, conn: Any, rows: list[Row], session_of: dict[int, int]) -> None:
        keys = search_keys(rows)
        if not keys:
            return
        stored = self._stored(conn, "totals_searches_by_id", "key", keys)
        self.writer.upsert(
            conn, "totals_searches_by_id", searches_by_id(rows, stored, session_of),
            "(key) DO UPDATE SET first_t = excluded.first_t, first_id = excluded.first_id, "
            "session_id = excluded.session_id, q = excluded.q, "
            "zero_results = excluded.zero_results, clicked = excluded.clicked, "
            "carted = excluded.carted, purchased = excluded.purchased",
        )  # fmt: skip

    def _fold_searches_by_session(
        self, conn: Any, rows: list[Row], session_of: dict[int, int]
    ) -> None:
        found = searches_by_session(rows, session_of)
        if not found:
            return
        session_ids = sorted({session_id for session_id, _ in found})
        stored = self._stored(conn, "totals_searches_by_session", "session_id", session_ids)
        self.writer.upsert(
            conn, "totals_searches_by_session", with_stored_by_session(found, stored),
            "(session_id, q) DO UPDATE SET first_t = excluded.first_t, "
            "clicked = excluded.clicked, carted = excluded.carted, purchased = excluded.purchased",
        )  # fmt: skip

    def forget(self, conn: Any, namespace: str | None) -> None:
        """After a reset, in its transaction: drop the namespace's totals (or all)."""
        where, params = (
            ("WHERE namespace = :namespace", {"namespace": namespace}) if namespace else ("", {})
        )
        for table in DERIVED:
            conn.execute(self.dialect.sql(f"DELETE FROM {table} {where}"), params)

    # -- reading ----------------------------------------------------------------------------

    def counts(self, conn: Any, query: AnalyticsQuery) -> dict[str, Any]:
        """The counts ``FromEvents.counts`` computes from the events, read from the totals
        (the caller has folded every event in, and reads in one snapshot)."""
        d, s = self.dialect, self.semantics
        filters = {
            "namespace": "namespace = :namespace",
            "vendor": "vendor = :vendor",
            "tenant": "tenant_key = 't' || :tenant",
        }
        clauses = [sql for name, sql in filters.items() if getattr(query, name) is not None]
        params = reading_params(query)

        def where(*more: str) -> str:  # each statement has a condition of its own
            return "WHERE " + " AND ".join([*clauses, *more])

        def rows(sql: str) -> list[Any]:
            return list(conn.execute(d.sql(sql), params).fetchall())

        in_minutes = (
            "(CAST(:since_minute AS BIGINT) IS NULL OR minute >= :since_minute) "
            "AND (CAST(:until_minute AS BIGINT) IS NULL OR minute < :until_minute)"
        )
        events = rows(
            f"SELECT {d.floor_div('minute', 'CAST(:per_bucket AS BIGINT)')}, type, "
            "       CAST(sum(events) AS BIGINT), sum(revenue_sum), CAST(sum(revenue_n) AS BIGINT), "
            f"       {d.total('events', f' FILTER (WHERE {s.clicks})')}, "
            f"       {d.total('events', f' FILTER (WHERE {s.purchases})')} "
            f"FROM totals_counts {where(in_minutes)} GROUP BY 1, 2 "
            f"ORDER BY 1, {d.text_order.format('type')}"
        )
        positions = rows(
            f"SELECT position, CAST(sum(clicks) AS BIGINT), {d.total('position_sum')} "
            f"FROM totals_clicks {where(in_minutes)} GROUP BY 1"
        )
        (sessions,) = rows(
            "SELECT count(*) FROM totals_sessions "
            + where(
                "(CAST(:until AS BIGINT) IS NULL OR start_t < :until)",
                "(CAST(:since AS BIGINT) IS NULL OR end_t >= :since)",
            )
        )[0]
        in_period = (
            "first_t IS NOT NULL AND (CAST(:since AS BIGINT) IS NULL OR first_t >= :since) "
            "AND (CAST(:until AS BIGINT) IS NULL OR first_t < :until)"
        )
        queries = add_up_queries(  # each table counted by query, then added up
            rows(
                f"SELECT {QUERY_FIGURES.replace('zero_results', zero_results)} FROM {table} "
                f"{where(in_period)} GROUP BY q"
            )
            for table, zero_results in (
                ("totals_searches_by_id", "zero_results"),
                ("totals_searches_by_session", "0"),
            )
        )
        return {
            "sessions": int(sessions),
            **event_counts(events),
            **position_counts(positions),
            **search_counts(queries),
        }

"""SqlStore: what the SQLite and PostgreSQL stores share, written once over a ``Dialect``: the
reads, the summary, the filters, the analytics (from the running totals or from the events)
and the thread that folds new events into the totals.

Each database's store keeps only what is its own: connections, how a commit's rows are
inserted, migrations, listening to other processes, and which events a fold takes
(``_fold_some``).

Names: the running totals are the ``totals`` (``totals.py``, ``totals_sql.py``, tables
``totals_*``); adding new events to them is folding (``fold_analytics``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mockserver import jsontext
from mockserver.events import Attempt, Event, Rejection, UpstreamCall
from mockserver.storage.base import UNKNOWN, AnalyticsQuery, Change, Page, StoreUnavailable
from mockserver.storage.dialect import Dialect
from mockserver.storage.filters import (
    JSON_COLUMNS,
    REPEAT_WINDOW_SECONDS,
    Rows,
    filter_sql,
    summary_of,
    warning_counts,
    with_warnings,
)
from mockserver.storage.from_events import FromEvents
from mockserver.storage.semantics import Semantics, VendorAnalytics
from mockserver.storage.signal_quality import quality_counts
from mockserver.storage.totals import answers
from mockserver.storage.totals_sql import Totals

log = logging.getLogger("mockserver.store")

# An event whose payload repeats one stored in its namespace and endpoint in the
# REPEAT_WINDOW_SECONDS before it points at it (found through the payload's hash).
_SELECT_EVENTS = """
SELECT *, (
    SELECT max(earlier.id) FROM events AS earlier
    WHERE earlier.namespace = events.namespace AND earlier.payload_hash = events.payload_hash
      AND earlier.id < events.id AND earlier.endpoint = events.endpoint
      AND earlier.payload = events.payload AND earlier.received_at >= {earlier}
) AS duplicate_of, {unknown_query} AS unknown_query
FROM events"""


class SqlStore:
    dialect: Dialect
    FOLD_DELAY_SECONDS = 0.5  # events arriving meanwhile are folded together

    def __init__(self, vendors: Sequence[VendorAnalytics]) -> None:
        d = self.dialect
        self.semantics = Semantics(vendors)
        self._filters = filter_sql(d)
        self._from_events = FromEvents(d, self.semantics)
        self.totals = Totals(d, self.semantics, self)
        earlier = d.earlier.format(column="events.received_at", seconds=REPEAT_WINDOW_SECONDS)
        self._select_events = _SELECT_EVENTS.format(
            earlier=earlier, unknown_query=self._filters.unknown_query
        )
        self._listeners: list[Callable[[Change], None]] = []
        # The analytics' running totals are folded in by a thread of their own, a moment
        # after events arrive (and at once for events stored before this process started).
        self._arrived = threading.Event()
        self._closing = threading.Event()
        self._folder = threading.Thread(
            target=self._fold_in_background, name="mockserver-analytics-folder", daemon=True
        )

    # -- what each database gives --------------------------------------------------------------

    def _insert(self, rows: Rows, change: Change) -> Change:
        """Insert and commit the rows in one transaction (or raise ``StoreUnavailable``); the
        change with the new events' ids."""
        raise NotImplementedError

    def _reading(self) -> contextlib.AbstractContextManager[Any]:
        """A connection to read on, or ``StoreUnavailable``."""
        raise NotImplementedError

    def _analysing(self, from_totals: bool) -> contextlib.AbstractContextManager[Any]:
        """A connection whose reads see one state of the database, for the analytics."""
        raise NotImplementedError

    def fold_analytics(self, wait: bool = True) -> bool:
        """Fold the events not in the running totals yet into them; False if (``wait``
        False) another process was folding."""
        raise NotImplementedError

    def unfolded(self) -> int:
        """How many stored events are not in the totals yet."""
        raise NotImplementedError

    # -- writes ----------------------------------------------------------------------------

    def add(
        self,
        events: Sequence[Event] = (),
        rejections: Sequence[Rejection] = (),
        headers: Mapping[str, str] | None = None,
        attempts: Sequence[Attempt] = (),
        upstream_calls: Sequence[UpstreamCall] = (),
    ) -> None:
        rows = Rows.of(events, rejections, attempts, upstream_calls, headers or {})
        change = self._insert(rows, Change(events, rejections=rejections, attempts=attempts))
        if events:
            self._arrived.set()
        self._notify(change)

    # -- the analytics' running totals --------------------------------------------------------

    def _start_folding(self) -> None:
        self._arrived.set()
        self._folder.start()

    def _stop_folding(self) -> None:
        self._closing.set()
        self._arrived.set()
        if self._folder.is_alive() and self._folder is not threading.current_thread():
            self._folder.join()

    def _fold_in_background(self) -> None:
        yield_the_core()
        while True:
            self._arrived.wait()
            if self._closing.wait(self.FOLD_DELAY_SECONDS):
                return
            self._arrived.clear()
            if self._closing.is_set():  # close() came after the wait: its wake-up was cleared
                return
            try:
                if not self.fold_analytics(wait=False):
                    self._arrived.set()  # another server was folding: look again soon
            except StoreUnavailable:
                self._arrived.set()  # said on /_mock/health; tried again until it is back
            except Exception:  # a bug: said, and tried again (analytics raise it meanwhile)
                if self._closing.is_set():
                    return
                log.exception("mockserver could not fold events into the analytics' totals")

    # -- writers for the totals (totals_sql.Writer) -------------------------------------------

    def many(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            conn.executemany(sql, rows)

    def upsert(self, conn: Any, table: str, rows: Sequence[Sequence[Any]], conflict: str) -> None:
        if rows:
            marks = ", ".join([self.dialect.positional] * len(rows[0]))
            self.many(conn, f"INSERT INTO {table} VALUES ({marks}) ON CONFLICT {conflict}", rows)

    # -- change notification ----------------------------------------------------------------

    def add_listener(
        self, listener: Callable[[Change], None], wanted: Callable[[], bool] = lambda: True
    ) -> Callable[[], None]:
        self._listeners.append(listener)  # each change is in hand: told whether wanted or not
        return lambda: self._listeners.remove(listener)

    def _notify(self, change: Change) -> None:
        for listener in list(self._listeners):
            listener(change)

    # -- reads ----------------------------------------------------------------------------

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        with self._reading() as conn:
            return list(conn.execute(sql, params).fetchall())

    def _dicts(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        with self._reading() as conn:
            cursor = conn.execute(sql, params)
            names = [d[0] for d in cursor.description or ()]
            found = cursor.fetchall()
        rows = []
        for values in found:
            row = dict(zip(names, values, strict=True))
            row.pop("payload_hash", None)  # the store's own index, not the event's
            for name in JSON_COLUMNS.intersection(row):
                if row[name] is not None:
                    row[name] = jsontext.loads(row[name])
            rows.append(row)
        return rows

    def _where(self, filters: Mapping[str, Any], table: str) -> tuple[str, list[Any]]:
        return self._filters.where(filters, table)

    def events(self, filters: Mapping[str, Any], limit: int = 100, offset: int = 0) -> Page:
        return self._page("events", filters, limit, offset)

    def count_events(self, filters: Mapping[str, Any]) -> int:
        where, params = self._where(filters, "events")
        return int(self._rows(f"SELECT count(*) FROM events {where}", params)[0][0])

    def matching_event_ids(self, filters: Mapping[str, Any], limit: int) -> list[int]:
        where, params = self._where(filters, "events")
        sql = f"SELECT id FROM events {where} LIMIT {self.dialect.positional}"
        return [row[0] for row in self._rows(sql, [*params, limit])]

    def count_new_events(self, filters: Mapping[str, Any], after_id: int) -> tuple[int, int]:
        where, params = self._where({**filters, "after_id": after_id}, "events")
        # One statement, one snapshot: the highest id and the count agree.
        sql = f"SELECT (SELECT coalesce(max(id), 0) FROM events), count(*) FROM events {where}"
        top, count = self._rows(sql, params)[0]
        return int(count), int(top)

    def event(self, event_id: int) -> dict[str, Any] | None:
        sql = f"{self._select_events} WHERE id = {self.dialect.positional}"
        rows = self._dicts(sql, [event_id])
        return with_warnings(rows[0]) if rows else None

    def rejections(self, filters: Mapping[str, Any], limit: int = 100, offset: int = 0) -> Page:
        return self._page("rejections", filters, limit, offset)

    def rejection(self, rejection_id: int) -> dict[str, Any] | None:
        sql = f"SELECT * FROM rejections WHERE id = {self.dialect.positional}"
        rows = self._dicts(sql, [rejection_id])
        return rows[0] if rows else None

    def attempts(self, filters: Mapping[str, Any], limit: int = 100, offset: int = 0) -> Page:
        page = self._page("attempts", filters, limit, offset)
        for row in page.rows:
            row["stored"] = bool(row["stored"])
        return page

    def upstream_calls(self, filters: Mapping[str, Any], limit: int = 100, offset: int = 0) -> Page:
        return self._page("upstream_calls", filters, limit, offset)

    def rejection_reasons(
        self, filters: Mapping[str, Any], limit: int = 100
    ) -> list[dict[str, Any]]:
        d = self.dialect
        where, params = self._where(filters, "rejections")
        rule, path, layer, message = (
            d.field.format(alias="reason", key=key) for key in ("rule", "path", "layer", "message")
        )
        # A rejection that names one rule and path twice counts once (count DISTINCT id).
        sql = f"""
            SELECT {rule} AS rule, {path} AS path, min({layer}) AS layer,
                   count(DISTINCT matching.id) AS count, max({message}) AS message
            FROM (SELECT id, errors FROM rejections {where}) AS matching,
                 {d.elements.format(column="matching.errors", alias="reason")}
            GROUP BY 1, 2
            ORDER BY 4 DESC, {d.text_order.format(rule)} NULLS FIRST,
                     {d.text_order.format(path)} NULLS FIRST
            LIMIT {d.positional}"""
        return self._dicts(sql, [*params, limit])

    def analytics(self, query: AnalyticsQuery) -> dict[str, Any]:
        from_totals = answers(query, self.semantics.gaps)
        if from_totals:
            self.fold_analytics()  # what arrived since the last fold (under a second's worth)
        with self._analysing(from_totals) as conn:
            if from_totals:
                counts = self.totals.counts(conn, query)
            else:
                counts = self._from_events.counts(conn, query)

            def rows(sql: str, params: Mapping[str, Any]) -> list[Any]:
                return list(conn.execute(sql, params).fetchall())

            quality = quality_counts(self.dialect, self._filters.unknown_query, query, rows, counts)
        return {**counts, "signal_quality": quality}

    def analytics_from_events(self, query: AnalyticsQuery) -> dict[str, Any]:
        """The counts computed from the events whatever the query: the reference the
        running totals are tested against."""
        with self._analysing(False) as conn:
            return self._from_events.counts(conn, query)

    def summary(self, namespace: str | None = None) -> dict[str, Any]:
        d = self.dialect
        where, params = self._where({"namespace": namespace}, "events")
        also = f"{where} AND" if where else "WHERE"

        def counts(table: str, column: str) -> dict[str, int]:
            key = f'CAST("{column}" AS TEXT)'
            sql = (
                f"SELECT {key}, count(*) FROM {table} {where} GROUP BY 1 "
                f"ORDER BY 2 DESC, {d.text_order.format(key)} NULLS FIRST"
            )
            return {UNKNOWN if k is None else k: int(n) for k, n in self._rows(sql, params)}

        def total(table: str) -> int:
            return int(self._rows(f"SELECT count(*) FROM {table} {where}", params)[0][0])

        def warnings() -> dict[str, int]:
            rule = d.field.format(alias="w", key="rule")
            each = d.elements.format(column="events.warnings", alias="w")
            stored = self._rows(
                f"SELECT {rule}, count(*) FROM events, {each} {also} warnings IS NOT NULL "
                "GROUP BY 1",
                params,
            )
            sql = f"SELECT count(*) FROM events {also} {self._filters.unknown_query}"
            unknown = self._rows(sql, params)[0][0]
            return warning_counts([(r, int(n)) for r, n in stored], int(unknown))

        return summary_of(counts, total, warnings)

    def _page(self, table: str, filters: Mapping[str, Any], limit: int, offset: int) -> Page:
        where, params = self._where(filters, table)
        select = self._select_events if table == "events" else f"SELECT * FROM {table}"
        total = self._rows(f"SELECT count(*) FROM {table} {where}", params)[0][0]
        p = self.dialect.positional
        sql = f"{select} {where} ORDER BY id DESC LIMIT {p} OFFSET {p}"
        rows = self._dicts(sql, [*params, limit, offset])
        if table == "events":
            rows = [with_warnings(row) for row in rows]
        return Page(total=int(total), rows=rows)


BACKGROUND_NICENESS = 10


def yield_the_core() -> None:
    """Lower this thread's scheduling priority (Linux schedules threads one by one): a
    background thread (one reading for the inspection API, folding the totals, checkpointing)
    then takes what the event loop leaves of the core, instead of an equal share. Measured
    under wrk with the server on one core: a click's p50 beside a summary loop no longer
    rises above idle (bench/results/readers.md), and the folding thread's share of the core
    under load (bench/results/measurements.md#background-niceness)."""
    if threading.current_thread() is threading.main_thread():
        return  # a library caller's (a test reading the store directly): theirs to keep
    with contextlib.suppress(AttributeError, OSError):  # no per-thread niceness: carry on
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)

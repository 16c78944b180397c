"""SqliteStore: the store interface (``storage/base.py``) over SQLite, through sqlite-utils.

Every write commits before it returns. WAL lets readers (the inspection API,
another process) see committed rows while writes go on; ``synchronous=NORMAL`` keeps a
commit durable across a crash of this process (not of the machine), at WAL's speed.
Schema changes are sqlite-utils migrations: add one, never edit an applied one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from sqlite_utils import Database, Migrations

from mockserver import jsontext
from mockserver.events import Attempt, Event, Rejection, UpstreamCall
from mockserver.storage import sqlite_rollup as rollup
from mockserver.storage.base import (
    UNKNOWN,
    AnalyticsQuery,
    Change,
    Page,
    StoreUnavailable,
)
from mockserver.storage.filters import (
    EVENT_COLUMNS,
    JSON_COLUMNS,
    REPEAT_WINDOW_SECONDS,
    FilterSQL,
    dumps,
    event_row,
    summary_of,
    upstream_row,
    warning_counts,
    with_warnings,
)
from mockserver.storage.rollup import answers as answered_by_totals
from mockserver.storage.signal_quality import (
    QualitySQL,
    create_partial_indexes,
    quality_counts,
)
from mockserver.storage.sqlite_analytics import (
    EVENT_TIME,
    FILTERS,
    IN_PERIOD,
    analytics_counts,
)

log = logging.getLogger("mockserver.store")

migrations = Migrations("mockserver")


@migrations()
def m001_create_events_and_rejections(db: Database) -> None:
    db.table("events").create(
        {
            "id": int,
            "request_id": str,
            "vendor": str,
            "endpoint": str,
            "type": str,
            "namespace": str,
            "tenant": str,
            "user": str,
            "session": str,
            "query": str,
            "query_id": str,
            "items": str,
            "position": int,
            "timestamp_ms": int,
            "received_at": str,
            "payload": str,
        },
        pk="id",
        not_null=["vendor", "endpoint", "type", "namespace", "received_at", "payload"],
    )
    for columns in (["namespace", "id"], ["namespace", "received_at"], ["query_id"], ["user"]):
        db.table("events").create_index(columns)
    db.table("rejections").create(
        {
            "id": int,
            "request_id": str,
            "vendor": str,
            "method": str,
            "endpoint": str,
            "namespace": str,
            "tenant": str,
            "status": int,
            "errors": str,
            "headers": str,
            "body": str,
            "received_at": str,
        },
        pk="id",
        not_null=["endpoint", "namespace", "status", "errors", "received_at"],
    )
    db.table("rejections").create_index(["namespace", "id"])


@migrations()
def m002_a_salt_for_credential_fingerprints(db: Database) -> None:
    db.table("_mockserver_meta").create({"name": str, "value": str}, pk="name")
    db.table("_mockserver_meta").insert({"name": "salt", "value": secrets.token_hex(16)})


@migrations()
def m003_the_headers_of_accepted_requests(db: Database) -> None:
    # Fingerprinted like a rejection's (vendors/intake.py safe_headers); null for rows stored
    # before this column existed.
    db.table("events").add_column("headers", str)


@migrations()
def m004_the_page_and_revenue_the_analytics_read(db: Database) -> None:
    db.table("events").add_column("page", str)
    db.table("events").add_column("revenue", float)
    db.execute(
        "UPDATE events SET page = json_extract(payload, '$.page') WHERE vendor = 'neuralens'"
    )
    db.execute(
        "UPDATE events SET revenue = json_extract(payload, '$.revenue') "
        "WHERE vendor = 'lucidworks' AND type = 'purchase' "
        "AND json_type(payload, '$.revenue') IN ('integer', 'real')"
    )


@migrations()
def m005_a_hash_of_each_payload_to_find_repeats(db: Database) -> None:
    # Null for rows stored before it: those are never flagged as repeats.
    db.table("events").add_column("payload_hash", int)
    db.table("events").create_index(["namespace", "payload_hash"])


@migrations()
def m006_the_requests_a_fault_touched(db: Database) -> None:
    db.table("attempts").create(
        {
            "id": int, "request_id": str, "rule_id": int, "fault": str, "vendor": str,
            "endpoint": str, "namespace": str, "tenant": str, "status": int, "stored": int,
            "received_at": str,
        },
        pk="id",
        not_null=["request_id", "rule_id", "fault", "endpoint", "namespace", "received_at"],
    )  # fmt: skip
    db.table("attempts").create_index(["namespace", "id"])


@migrations()
def m007_running_totals_for_the_analytics(db: Database) -> None:
    # Empty at first: a store with events folds them in the background (sqlite_rollup.py).
    rollup.create_tables(db)


@migrations()
def m008_signal_quality_warnings(db: Database) -> None:
    # Null for rows stored before them: no intake warnings, and no unknown-query either (the
    # store no longer knows which of those signals followed a search).
    db.table("events").add_column("warnings", str)
    db.table("events").add_column("query_link", str)


@migrations()
def m009_partial_indexes_for_signal_quality(db: Database) -> None:
    # The analytics' signal quality reads only the followers of a search (and their
    # searches) and the events with stored warnings, each set through an index of its own.
    db.executescript(create_partial_indexes())


@migrations()
def m010_requests_forwarded_upstream(db: Database) -> None:
    columns: dict[str, Any] = {"id": int}
    columns.update({f.name: _UPSTREAM_TYPES.get(f.name, str) for f in fields(UpstreamCall)})
    db.table("upstream_calls").create(
        columns,
        pk="id",
        not_null=["request_id", "vendor", "endpoint", "namespace", "mock_status", "outcome"],
    )
    db.table("upstream_calls").create_index(["namespace", "id"])


_UPSTREAM_TYPES = {"mock_status": int, "upstream_status": int, "upstream_ms": float}
WAL_CHECKPOINT_PAGES = 200
WAL_SIZE_LIMIT_BYTES = 1024 * 1024
_REJECTION_COLUMNS = tuple(f.name for f in fields(Rejection))


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    names = ", ".join(f"[{c}]" for c in columns)
    return f"INSERT INTO [{table}] ({names}) VALUES ({', '.join('?' * len(columns))})"


_INSERT_EVENT = _insert_sql("events", EVENT_COLUMNS)
_INSERT_REJECTION = _insert_sql("rejections", _REJECTION_COLUMNS)
_ATTEMPT_COLUMNS = tuple(f.name for f in fields(Attempt))
_INSERT_ATTEMPT = _insert_sql("attempts", _ATTEMPT_COLUMNS)
_UPSTREAM_COLUMNS = tuple(f.name for f in fields(UpstreamCall))
_INSERT_UPSTREAM = _insert_sql("upstream_calls", _UPSTREAM_COLUMNS)


class SqliteStore:
    ids_commit_in_order = True  # one writer: a commit's ids are above every earlier one's

    def __init__(self, path: str) -> None:
        # One connection shared by the server's threads, serialised by a lock: SQLite writes
        # are single-writer anyway, and each statement here takes microseconds.
        conn = sqlite3.connect(path, check_same_thread=False, timeout=10)
        self.db = Database(conn)
        self.path = path
        self._lock = threading.RLock()
        self._reset_lock = threading.Lock()  # a reset and a fold do not interleave
        self._resets_pending = 0
        self._listeners: list[Callable[[Change], None]] = []
        if path != ":memory:":
            self.db.enable_wal()
        self.db.execute("PRAGMA synchronous=NORMAL")
        # The commit that fills the WAL copies it into the database and fsyncs, while every
        # request waits. 200 pages (800 KiB) instead of SQLite's 1000 makes that pause a fifth
        # as long at the same total cost (the p99 it bought: docs/performance.md, "Earlier
        # rounds of the request path").
        self.db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        # One large transaction (a reset of a million rows) grows the WAL past the checkpoint
        # interval; SQLite reuses the file but never shrinks it unless told to.
        self.db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
        try:
            migrations.apply(self.db)
            # A write that changes nothing: a file SQLite could open only for reading fails
            # here, at start-up, instead of on every request.
            self.db.execute("DELETE FROM events WHERE 0")
        except sqlite3.OperationalError as exc:
            conn.close()
            raise ValueError(
                f"cannot write to the database {path}: {exc}; check the file's and its "
                "folder's permissions, or choose another --db"
            ) from exc
        self.salt = self._salt()
        self._readers = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._file = _identity(path)  # to notice the file deleted or replaced under us
        self._problem: str | None = None
        # The analytics' running totals are folded in by a thread of their own, a moment
        # after events arrive (and at once for events stored before this process started).
        self._arrived = threading.Event()
        self._closing = threading.Event()
        self._folder = threading.Thread(
            target=self._fold_in_background, name="mockserver-analytics-folder", daemon=True
        )
        self._arrived.set()
        self._folder.start()

    def _salt(self) -> bytes:
        row = self.db.execute("SELECT value FROM _mockserver_meta WHERE name = 'salt'").fetchone()
        return bytes.fromhex(row[0])

    def close(self) -> None:
        self._closing.set()
        self._arrived.set()
        if self._folder.is_alive() and self._folder is not threading.current_thread():
            self._folder.join()
        with self._lock:
            for reader in self._reader_conns:
                reader.close()
            self.db.close()

    # -- writes ---------------------------------------------------------------------------

    def add(
        self,
        events: Sequence[Event] = (),
        rejections: Sequence[Rejection] = (),
        headers: Mapping[str, str] | None = None,
        attempts: Sequence[Attempt] = (),
        upstream_calls: Sequence[UpstreamCall] = (),
    ) -> None:
        headers = headers or {}
        event_rows = [event_row(e, headers) for e in events]
        rejection_rows = [
            [
                dumps(getattr(r, name)) if name in JSON_COLUMNS else getattr(r, name)
                for name in _REJECTION_COLUMNS
            ]
            for r in rejections
        ]
        first_id = 0
        with self._lock, self._writing():
            if event_rows:
                self.db.conn.executemany(_INSERT_EVENT, event_rows)
                # One writer, one transaction: the new rows' ids run up to the highest.
                highest = self.db.conn.execute("SELECT max(id) FROM events").fetchone()[0]
                first_id = highest - len(event_rows) + 1
            if rejection_rows:
                self.db.conn.executemany(_INSERT_REJECTION, rejection_rows)
            if attempts:
                rows = [[getattr(a, name) for name in _ATTEMPT_COLUMNS] for a in attempts]
                self.db.conn.executemany(_INSERT_ATTEMPT, rows)
            if upstream_calls:
                self.db.conn.executemany(_INSERT_UPSTREAM, map(upstream_row, upstream_calls))
        if event_rows:
            self._arrived.set()
        self._notify(Change(events, first_id, rejections, attempts=attempts))

    RESET_CHUNK_ROWS = 2_000  # rows deleted a transaction: each holds the writer ~20 ms

    def reset(self, namespace: str | None = None) -> None:
        """Delete what was stored when the reset began (or the namespace's part of it), a
        chunk a transaction: the writer lock is released between chunks, so requests are
        stored meanwhile (one transaction over a million rows held every POST for 6 s).
        Requests that arrive during the reset are kept. The analytics' totals are not folded
        meanwhile, so that nothing about to be deleted is folded into them."""
        with self._lock:
            self._resets_pending += 1  # a fold in progress gives way at its next chunk
        try:
            with self._reset_lock:
                tops = self._highest_ids()
                for table, top in tops.items():
                    self._delete_through(table, top, namespace)
                with self._lock, self._writing():
                    rollup.forget(self.db.conn, namespace)
                self._give_the_wal_back()
        finally:
            with self._lock:
                self._resets_pending -= 1
            self._arrived.set()  # what a fold left for the reset is folded now
        self._notify(Change(reset=True))

    def _highest_ids(self) -> dict[str, int]:
        with self._lock, self._writing():  # a read, but its failure said as a write's
            return {
                table: self.db.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
                for table in ("events", "rejections", "attempts", "upstream_calls")
            }

    def _delete_through(self, table: str, top: int, namespace: str | None) -> None:
        where = "id <= ?"
        params: list[int | str] = [top]
        if namespace:
            where, params = f"{where} AND namespace = ?", [*params, namespace]
        sql = (
            f"DELETE FROM {table} WHERE id IN "
            f"(SELECT id FROM {table} WHERE {where} ORDER BY id LIMIT ?)"
        )
        deleted = -1
        while deleted != 0:
            with self._lock, self._writing():
                deleted = self.db.conn.execute(sql, [*params, self.RESET_CHUNK_ROWS]).rowcount

    def _give_the_wal_back(self) -> None:
        """Copy the deletion in and truncate the WAL. The reset itself is done: a checkpoint
        that fails (a full disk) is said in the log, not as a failed reset."""
        if self.path == ":memory:":
            return
        with self._lock:
            try:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                log.warning("mockserver could not truncate the WAL after a reset: %s", exc)

    # -- the analytics' running totals --------------------------------------------------------

    FOLD_DELAY_SECONDS = 0.5  # events arriving meanwhile are folded together

    def fold_analytics(self) -> None:
        """Fold every stored event into the running totals, a chunk a transaction (the
        writer lock is released between chunks, so requests are stored meanwhile)."""
        while True:
            with self._reset_lock, self._lock, self._writing():
                if self._resets_pending or not rollup.fold_some(self.db.conn):
                    return

    def _fold_in_background(self) -> None:
        while True:
            self._arrived.wait()
            if self._closing.wait(self.FOLD_DELAY_SECONDS):
                return
            self._arrived.clear()
            if self._closing.is_set():  # close() came after the wait: its wake-up was cleared
                return
            try:
                self.fold_analytics()
            except StoreUnavailable:
                pass  # said in the log and on /_mock/health; tried again on the next event
            except sqlite3.ProgrammingError:
                return  # closed under us
            except Exception:  # a bug: said, and tried again (analytics raise it meanwhile)
                log.exception("mockserver could not fold events into the analytics' totals")

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One transaction, or ``StoreUnavailable`` saying why (nothing of it was stored)."""
        moved = self._file_moved()
        if moved:
            self._set_problem(moved)
            raise StoreUnavailable(moved)
        try:
            with self.db.atomic():
                yield
        except sqlite3.Error as exc:
            self._set_problem(_explain(exc))
            raise StoreUnavailable(self._problem) from exc
        self._problem = None

    def problem(self) -> str | None:
        with self._lock:
            return self._file_moved() or self._problem

    def _set_problem(self, problem: str) -> None:
        if problem != self._problem:  # said once in the log, not once a request
            log.error("mockserver cannot store anything: %s", problem)
        self._problem = problem

    def _file_moved(self) -> str | None:
        if self._file is None or _identity(self.path) == self._file:
            return None
        return (
            f"the database file {self.path} was deleted or replaced while mockserver ran, "
            "so writes would be lost; restart mockserver to open the file again"
        )

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
    # A file's reads run on a read-only connection of the calling thread's own: the inspection
    # API reads from a thread pool, and a summary over a million rows must not hold the writer
    # (WAL lets readers and the writer go on at once). :memory: has one connection only.

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A connection to read on, or ``StoreUnavailable``: a file deleted under the server
        would show what it held before (to a thread that had it open) or nothing at all."""
        moved = self._file_moved()
        if moved:
            raise StoreUnavailable(moved)
        if self.path == ":memory:":
            with self._lock:
                yield self.db.conn
            return
        conn: sqlite3.Connection | None = getattr(self._readers, "conn", None)
        if conn is None:
            # mode=ro: a reader never creates a file, even if this one was deleted.
            uri = Path(self.path).absolute().as_uri() + "?mode=ro"
            try:
                conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=10)
            except sqlite3.OperationalError as exc:
                message = f"cannot open the database {self.path} to read ({exc})"
                raise StoreUnavailable(message) from exc
            self._readers.conn = conn
            with self._lock:
                self._reader_conns.append(conn)
            _yield_the_core_to_writers()
        yield conn

    def events(self, filters: Mapping[str, Any], limit: int = 100, offset: int = 0) -> Page:
        where, params = _where(filters, "events")
        return self._page("events", where, params, limit, offset)

    def count_events(self, filters: Mapping[str, Any]) -> int:
        where, params = _where(filters, "events")
        with self._reading() as conn:
            return int(conn.execute(f"SELECT count(*) FROM events {where}", params).fetchone()[0])

    def matching_event_ids(self, filters: Mapping[str, Any], limit: int) -> list[int]:
        where, params = _where(filters, "events")
        with self._reading() as conn:
            rows = conn.execute(f"SELECT id FROM events {where} LIMIT ?", [*params, limit])
            return [row[0] for row in rows]

    def count_new_events(self, filters: Mapping[str, Any], after_id: int) -> tuple[int, int]:
        where, params = _where({**filters, "after_id": after_id}, "events")
        # One statement, one snapshot: the highest id and the count agree.
        sql = f"SELECT (SELECT coalesce(max(id), 0) FROM events), count(*) FROM events {where}"
        with self._reading() as conn:
            top, count = conn.execute(sql, params).fetchone()
        return int(count), int(top)

    def event(self, event_id: int) -> dict[str, Any] | None:
        with self._reading() as conn:
            rows = list(_rows(conn, f"{_SELECT_EVENTS} WHERE id = ?", [event_id]))
        return with_warnings(rows[0]) if rows else None

    def rejections(self, filters: Mapping[str, Any], limit: int = 100, offset: int = 0) -> Page:
        where, params = _where(filters, "rejections")
        return self._page("rejections", where, params, limit, offset)

    def rejection(self, rejection_id: int) -> dict[str, Any] | None:
        with self._reading() as conn:
            rows = list(_rows(conn, "SELECT * FROM rejections WHERE id = ?", [rejection_id]))
        return rows[0] if rows else None

    def attempts(self, filters: Mapping[str, Any], limit: int = 100, offset: int = 0) -> Page:
        where, params = _where(filters, "attempts")
        page = self._page("attempts", where, params, limit, offset)
        for row in page.rows:
            row["stored"] = bool(row["stored"])
        return page

    def upstream_calls(self, filters: Mapping[str, Any], limit: int = 100, offset: int = 0) -> Page:
        where, params = _where(filters, "upstream_calls")
        return self._page("upstream_calls", where, params, limit, offset)

    def rejection_reasons(
        self, filters: Mapping[str, Any], limit: int = 100
    ) -> list[dict[str, Any]]:
        where, params = _where(filters, "rejections")
        # A rejection that names one rule and path twice counts once (count DISTINCT id).
        sql = f"""
            SELECT json_extract(reason.value, '$.rule') AS rule,
                   json_extract(reason.value, '$.path') AS path,
                   min(json_extract(reason.value, '$.layer')) AS layer,
                   count(DISTINCT matching.id) AS count,
                   max(json_extract(reason.value, '$.message')) AS message
            FROM (SELECT id, errors FROM rejections {where}) AS matching,
                 json_each(matching.errors) AS reason
            GROUP BY 1, 2 ORDER BY 4 DESC, 1, 2 LIMIT ?"""
        with self._reading() as conn:
            return list(_rows(conn, sql, [*params, limit]))

    def analytics(self, query: AnalyticsQuery) -> dict[str, Any]:
        if not answered_by_totals(query):
            with self._reading() as conn:
                return _with_quality(conn, query, analytics_counts(conn, query))
        self.fold_analytics()  # what arrived since the last fold (under a second's worth)
        with self._reading() as conn, _snapshot(conn):
            return _with_quality(conn, query, rollup.rollup_counts(conn, query))

    def summary(self, namespace: str | None = None) -> dict[str, Any]:
        where, params = _where({"namespace": namespace}, "events")
        with self._reading() as conn:

            def counts(table: str, column: str) -> dict[str, int]:
                sql = f"SELECT [{column}], count(*) FROM {table} {where} GROUP BY 1"
                rows = conn.execute(sql + " ORDER BY 2 DESC, 1", params).fetchall()
                return {UNKNOWN if key is None else str(key): n for key, n in rows}

            def total(table: str) -> int:
                sql = f"SELECT count(*) FROM {table} {where}"
                return int(conn.execute(sql, params).fetchone()[0])

            def warnings() -> dict[str, int]:
                also = f"{where} AND" if where else "WHERE"
                stored = conn.execute(
                    "SELECT json_extract(w.value, '$.rule'), count(*) "
                    f"FROM events, json_each(events.warnings) AS w {also} warnings IS NOT NULL "
                    "GROUP BY 1",
                    params,
                ).fetchall()
                sql = f"SELECT count(*) FROM events {also} {_FILTERS.unknown_query}"
                return warning_counts(stored, conn.execute(sql, params).fetchone()[0])

            return summary_of(counts, total, warnings)

    def _page(self, table: str, where: str, params: list[Any], limit: int, offset: int) -> Page:
        select = _SELECT_EVENTS if table == "events" else f"SELECT * FROM {table}"
        with self._reading() as conn:
            total = conn.execute(f"SELECT count(*) FROM {table} {where}", params).fetchone()[0]
            sql = f"{select} {where} ORDER BY id DESC LIMIT ? OFFSET ?"
            rows = list(_rows(conn, sql, [*params, limit, offset]))
        if table == "events":
            rows = [with_warnings(row) for row in rows]
        return Page(total=int(total), rows=rows)


def _with_quality(
    conn: sqlite3.Connection, query: AnalyticsQuery, counts: dict[str, Any]
) -> dict[str, Any]:
    def rows(sql: str, params: Mapping[str, Any]) -> list[Any]:
        return conn.execute(sql, params).fetchall()

    return {**counts, "signal_quality": quality_counts(_QUALITY, query, rows, counts)}


@contextlib.contextmanager
def _snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """Several reads that see one state of the database (one read transaction)."""
    if conn.in_transaction:  # :memory:'s single connection, inside the writer's lock
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


READER_NICENESS = 10


def _yield_the_core_to_writers() -> None:
    """Lower this reading thread's scheduling priority (Linux schedules threads one by one):
    a summary over a million rows then takes what the event loop leaves of the core, instead
    of half of it. Measured under wrk with the server on one core: a click's p50 beside a
    summary loop went from 1.9-2.7x idle to 1.0x (bench/readers.py)."""
    with contextlib.suppress(AttributeError, OSError):  # no per-thread niceness: carry on
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), READER_NICENESS)


_SELECT_EVENTS = f"""
SELECT *, (
    SELECT max(earlier.id) FROM events AS earlier
    WHERE earlier.namespace = events.namespace AND earlier.payload_hash = events.payload_hash
      AND earlier.id < events.id AND earlier.endpoint = events.endpoint
      AND earlier.payload = events.payload
      AND earlier.received_at >= strftime('%Y-%m-%dT%H:%M:%f', events.received_at,
                                          '-{REPEAT_WINDOW_SECONDS} seconds')
) AS duplicate_of, {{unknown_query}} AS unknown_query
FROM events"""


def _rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> Iterator[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        row.pop("payload_hash", None)  # the store's own index, not the event's
        for name in JSON_COLUMNS.intersection(row):
            if row[name] is not None:
                row[name] = jsontext.loads(row[name])
        yield row


def _identity(path: str) -> tuple[int, int] | None:
    """The file's device and inode, None for :memory: or a file that is gone."""
    if path == ":memory:":
        return None
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _explain(exc: sqlite3.Error) -> str:
    name = getattr(exc, "sqlite_errorname", "")
    if name == "SQLITE_FULL":
        return (
            "the database or its disk is full; free space and mockserver stores again by "
            "itself (nothing of this request was stored)"
        )
    if name.startswith("SQLITE_READONLY"):
        return f"the database became read-only ({exc}); make it writable again"
    return f"the database refused the write ({exc})"


# Every column name below is a constant of this module; every value is a bound parameter.
_REASON = "EXISTS (SELECT 1 FROM json_each(errors) WHERE {})"
# Free text: a substring, ASCII letters in either case, nothing else folded. That is SQLite's
# LIKE, with the needle's own % _ and backslash escaped: 2.5x faster than instr(lower(...)).
_CONTAINS = "LIKE ? ESCAPE '\\'"
# For text that reads the same inside the items' JSON, the JSON text is searched first, and
# only a row that has it is taken apart. A count over 100,000 events: 137 ms (instr and
# lower(), every row's items taken apart) -> 50 ms.
_FILTERS = FilterSQL(
    placeholder="?",
    equals={
        "namespace": "namespace = ?", "vendor": "vendor = ?", "type": "type = ?",
        "tenant": "tenant = ?", "user": "user = ?", "session": "session = ?",
        "query": "query = ?", "query_id": "query_id = ?", "status": "status = ?",
        "item": "EXISTS (SELECT 1 FROM json_each(items) WHERE json_each.value = ?)",
        "since": "received_at >= ?", "until": "received_at < ?", "after_id": "id > ?",
        "event_since": "timestamp_ms >= ?", "event_until": "timestamp_ms < ?",
        "fault": "fault = ?", "rule_id": "rule_id = ?", "outcome": "outcome = ?",
        "rule": _REASON.format("json_extract(value, '$.rule') = ?"),
        "path": _REASON.format("json_extract(value, '$.path') = ?"),
        "rule+path": _REASON.format(
            "json_extract(value, '$.rule') = ? AND json_extract(value, '$.path') = ?"
        ),
        "warning": "EXISTS (SELECT 1 FROM json_each(warnings) WHERE "
        "json_extract(value, '$.rule') = ?)",
    },
    text={
        "events": f"(query {_CONTAINS} OR user {_CONTAINS} OR EXISTS ("
        f"SELECT 1 FROM json_each(items) WHERE json_each.value {_CONTAINS}))",
        "rejections": f"body {_CONTAINS}",
        "upstream_calls": f"body {_CONTAINS}",
    },
    text_in_items_json=(
        f"(query {_CONTAINS} OR user {_CONTAINS} OR (items {_CONTAINS} AND EXISTS ("
        f"SELECT 1 FROM json_each(items) WHERE json_each.value {_CONTAINS})))"
    ),
    same="IS",
    unindexed="+",
)  # fmt: skip
_where = _FILTERS.where
_SELECT_EVENTS = _SELECT_EVENTS.format(unknown_query=_FILTERS.unknown_query)
_QUALITY = QualitySQL(
    filters=FILTERS,
    event_time=EVENT_TIME,
    in_period=IN_PERIOD,
    unknown_query=_FILTERS.unknown_query,
    rules="json_each(scoped.warnings) AS w",
    rule="json_extract(w.value, '$.rule')",
)

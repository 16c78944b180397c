"""SqliteStore: the store interface (``storage/base.py``) over SQLite, through sqlite-utils.

Every write commits before it returns. WAL lets readers (the inspection API,
another process) see committed rows while writes go on; ``synchronous=NORMAL`` keeps a
commit durable across a crash of this process (not of the machine), at WAL's speed.
Schema changes are sqlite-utils migrations: add one, never edit an applied one.

Why SQLite and PostgreSQL keep a migration list each, not one runner: every existing database
file records its history in sqlite-utils' ``_sqlite_migrations``, and its first steps use
sqlite-utils' table API; PostgreSQL has no sqlite-utils and needs an advisory lock so that
servers starting at once apply each step once. What both create alike is written once and
used by both lists: the running totals' tables (``totals_sql.create_tables``) and the
partial indexes (``signal_quality.create_partial_indexes``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from sqlite_utils import Database, Migrations

from mockserver.events import Attempt, Event, Rejection, UpstreamCall
from mockserver.storage.base import Change, StoreUnavailable
from mockserver.storage.dialect import SQLITE
from mockserver.storage.filters import COLUMNS, Rows, insert_sql
from mockserver.storage.semantics import VendorAnalytics
from mockserver.storage.signal_quality import create_partial_indexes
from mockserver.storage.sql_store import SqlStore, log, yield_the_core
from mockserver.storage.totals_sql import REPLACED, create_tables

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
    # History, never edited: the only place in storage/ that names a vendor. Today each
    # vendor's module fills page and revenue in, and its SPEC says what they mean.
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
    pass  # its tables were replaced by m011's


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


@migrations()
def m011_running_totals_for_any_vendor(db: Database) -> None:
    # The totals of m007 named two vendors' tables; these are for any vendor's declared
    # semantics. Derived from the events alone: the folding thread folds every event again.
    for table in REPLACED:
        db.execute(f"DROP TABLE IF EXISTS {table}")
    db.executescript(create_tables(SQLITE))
    db.execute("CREATE TABLE totals_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    db.execute("INSERT INTO totals_state VALUES ('folded_through', 0)")


_UPSTREAM_TYPES = {"mock_status": int, "upstream_status": int, "upstream_ms": float}
CLOSE_READS_SECONDS = 5  # close() waits this long at most for reads still running
RESET_PAUSE_SECONDS = 0.001  # between a reset's chunks: a hundred of them add 0.1 s
CHECKPOINT_SECONDS = 0.1  # commits gather this long before a checkpoint copies them in
CHECKPOINT_BYTES = 2 * 1024 * 1024  # or until they wrote about this much (512 pages)
# SQLite's own checkpoint, in the commit that makes the WAL this long (16 MiB): what the
# checkpointer has not copied yet, and the WAL restarts (see _checkpoint_behind).
AUTOCHECKPOINT_FRAMES = 4096
ROW_BYTES = 300  # what a row adds beside its payload (its other columns, its index entries)
# The WAL is cut back to this after a checkpoint that copied it all; above the WAL's steady
# length, so that commits do not cut the file: a cut held its commit for milliseconds
# (bench/results/measurements.md#checkpoint-restarts).
WAL_SIZE_LIMIT_BYTES = 20 * 1024 * 1024


class SqliteStore(SqlStore):
    ids_commit_in_order = True  # one writer: a commit's ids are above every earlier one's
    dialect = SQLITE
    # Events a transaction, and the pause between two of the background fold's: the event
    # loop's commits wait for the writer lock while a chunk is folded, and a lock let go is
    # not handed to whoever waits for it
    # (measured: bench/results/measurements.md#sqlite-fold-chunk).
    FOLD_CHUNK = 100
    FOLD_PAUSE_SECONDS = 0.001

    def __init__(self, path: str, vendors: Sequence[VendorAnalytics] = ()) -> None:
        """``vendors``: what the analytics count each vendor's events as (the registry's,
        ``vendors.registry.ANALYTICS``; none: events are counted, not read as searches)."""
        super().__init__(vendors)
        # One connection shared by the server's threads, serialised by a lock: SQLite writes
        # are single-writer anyway, and each statement here takes microseconds.
        conn = sqlite3.connect(path, check_same_thread=False, timeout=10)
        self.db = Database(conn)
        self.path = path
        self._lock = threading.RLock()
        self._reset_lock = threading.Lock()  # a reset and a fold do not interleave
        self._resets_pending = 0
        if path != ":memory:":
            self.db.enable_wal()
        self.db.execute("PRAGMA synchronous=NORMAL")
        # The commit that fills the WAL would copy it into the database and fsync, while
        # every request waits: a thread of its own does it instead (``_checkpoint_behind``),
        # and the writer only appends to the WAL (measured:
        # bench/results/measurements.md#checkpoint-thread). SQLite's own checkpoint, at
        # AUTOCHECKPOINT_FRAMES, copies what that thread left and restarts the WAL: it stays
        # about 16 MiB long unless a read holds an old snapshot. One large transaction (a
        # reset of a million rows) grows it past that; SQLite reuses the file but never
        # shrinks it unless told to.
        self.db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
        self.db.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_FRAMES}")
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
        self._reads = threading.Condition()  # counts the reads running, for close()
        self._active_reads = 0
        self._closed = False
        self._file = _identity(path)  # to notice the file deleted or replaced under us
        self._problem: str | None = None
        self._committed = threading.Event()  # set by a commit the checkpointer has not seen
        self._burst = threading.Event()  # set when they wrote CHECKPOINT_BYTES or more
        self._wal_growth = 0  # bytes, about, since the last checkpoint began
        # A commit writes a WAL frame for every page it changed: an event's table leaf and a
        # leaf of each of its indexes, for one row as for many
        # (bench/results/measurements.md#checkpoint-by-pages). Counting only the rows' bytes,
        # a lone client's commits filled the WAL far faster than counted, and SQLite's own
        # checkpoint, fsync included, ran in the commit on the event loop.
        (page_size,) = self.db.execute("PRAGMA page_size").fetchone()
        (indexes,) = self.db.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'"
        ).fetchone()
        self._commit_bytes = page_size * (1 + indexes)
        self._checkpointing = threading.Lock()
        self._checkpointer: threading.Thread | None = None
        if path != ":memory:":
            # its own connection, used under _checkpointing (by that thread, and by a reset)
            self._checkpoint_conn = sqlite3.connect(path, check_same_thread=False, timeout=10)
            self._checkpointer = threading.Thread(
                target=self._checkpoint_behind, name="mockserver-checkpoint", daemon=True
            )
            self._checkpointer.start()
        self._start_folding()

    def _salt(self) -> bytes:
        row = self.db.execute("SELECT value FROM _mockserver_meta WHERE name = 'salt'").fetchone()
        return bytes.fromhex(row[0])

    def close(self) -> None:
        self._stop_folding()
        if self._checkpointer is not None:
            self._committed.set()  # _closing is set: it checkpoints once more and ends
            self._burst.set()
            self._checkpointer.join()
        with self._reads:
            self._closed = True
            # A read may still run in a thread (a wait's count, which its request gave up at
            # shutdown): closing its connection under it crashed the process. Its statement is
            # interrupted instead, and the read waited for; one that will not end is left open.
            deadline = time.monotonic() + CLOSE_READS_SECONDS
            while self._active_reads and time.monotonic() < deadline:
                for reader in self._reader_conns:
                    reader.interrupt()
                self._reads.wait(0.05)
            idle = not self._active_reads
        with self._lock:
            for reader in self._reader_conns if idle else ():
                reader.close()
            self.db.close()

    # -- writes ---------------------------------------------------------------------------

    def _insert(self, rows: Rows, change: Change) -> Change:
        with self._lock, self._writing():
            conn = self.db.conn
            if rows.events:
                conn.executemany(_INSERT[Event], rows.events)
                # One writer, one transaction: the new rows' ids run up to the highest.
                highest = conn.execute("SELECT max(id) FROM events").fetchone()[0]
                change = replace(change, first_event_id=highest - len(rows.events) + 1)
            for shape, table_rows in (
                (Rejection, rows.rejections), (Attempt, rows.attempts),
                (UpstreamCall, rows.upstream_calls),
            ):  # fmt: skip
                if table_rows:
                    conn.executemany(_INSERT[shape], table_rows)
        # The WAL grew by a page for each page the commit changed (however few its rows) and
        # about the payloads' size: a burst wakes the checkpointer at once, a trickle a moment
        # after its first commit.
        self._wal_growth += (
            self._commit_bytes
            + sum(len(row[_PAYLOAD]) for row in rows.events)
            + ROW_BYTES * (len(rows.events) + len(rows.rejections))
        )
        if not self._committed.is_set():
            self._committed.set()
        if self._wal_growth >= CHECKPOINT_BYTES:
            self._burst.set()
        return change

    def _checkpoint_behind(self) -> None:
        """Copy committed WAL frames into the database a moment after commits, on a connection
        of its own: a PASSIVE checkpoint takes no writer lock, so commits go on meanwhile, and
        its fsyncs wait here instead of on the event loop.

        Under steady commits no checkpoint finds the WAL all copied (frames came while it
        copied), so the WAL never restarts from its start by itself: it grows to SQLite's own
        checkpoint, which copies the little left, in a commit, and the next commit restarts
        it. Each of those is a pause of the event loop with its fsyncs, hence a large
        AUTOCHECKPOINT_FRAMES (measured: bench/results/measurements.md#checkpoint-restarts)."""
        yield_the_core()
        conn = self._checkpoint_conn
        with contextlib.closing(conn):
            while True:
                self._committed.wait()
                self._committed.clear()
                closing = self._closing.is_set()
                if not closing:
                    self._burst.wait(CHECKPOINT_SECONDS)  # a few commits gather first
                self._burst.clear()
                self._wal_growth = 0
                try:
                    with self._checkpointing:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:  # a full disk: said by the writes, tried again
                    log.debug("a WAL checkpoint failed: %s", exc)
                if closing:
                    return

    # Rows deleted a transaction: each holds the writer only briefly
    # (measured: bench/results/measurements.md#sqlite-reset-chunks).
    RESET_CHUNK_ROWS = 2_000

    def reset(self, namespace: str | None = None) -> None:
        """Delete what was stored when the reset began (or the namespace's part of it), a
        chunk a transaction: the writer lock is released between chunks, so requests are
        stored meanwhile (one transaction over a million rows held every POST until it
        ended; measured: bench/results/measurements.md#sqlite-reset-chunks).
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
                    self.totals.forget(self.db.conn, namespace)
                    # Fold again from the highest id left, which the next event's id follows
                    # (SQLite gives max(id) + 1).
                    self.db.conn.execute(
                        "UPDATE totals_state SET value = min(value, "
                        "(SELECT coalesce(max(id), 0) FROM events)) WHERE name = 'folded_through'"
                    )
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
            # A lock is not handed to whoever waits for it: released and taken again at once,
            # it held the requests waiting for the writer through the whole reset
            # (bench/results/measurements.md#sqlite-reset-chunks). A moment off lets the
            # waiting commit in.
            time.sleep(RESET_PAUSE_SECONDS)

    def _give_the_wal_back(self) -> None:
        """Copy the deletion in and truncate the WAL. The reset itself is done: a checkpoint
        that fails (a full disk) is said in the log, not as a failed reset."""
        if self.path == ":memory:":
            return
        # One checkpoint at a time (a second one gets SQLITE_BUSY). The deletion is copied in
        # first without the writer lock, so that requests are stored meanwhile; only what they
        # added since is copied while the WAL is truncated, with the writer held.
        with self._checkpointing:
            try:
                self._checkpoint_conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                with self._lock:
                    self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                log.warning("mockserver could not truncate the WAL after a reset: %s", exc)

    # -- the analytics' running totals --------------------------------------------------------

    def fold_analytics(self, wait: bool = True) -> bool:
        """Fold every event stored when called into the running totals, a chunk a
        transaction (the writer lock is released between chunks, so requests are stored
        meanwhile); not those committed meanwhile, which the next fold takes. Chasing them, a
        fold under a steady client folded the commit or two of each pause, a chunk each, and
        never ended (measured: bench/results/measurements.md#sqlite-fold-chase). The
        background fold (``wait`` False) also pauses between chunks: a reader that waits for
        the totals (``wait`` True) does not."""
        through: int | None = None
        while True:
            with self._reset_lock, self._lock, self._writing():
                conn = self.db.conn
                if through is None:
                    (through,) = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
                if self._resets_pending or not self._fold_some(conn, through):
                    return True
            if not wait:
                time.sleep(self.FOLD_PAUSE_SECONDS)

    def _fold_some(self, conn: sqlite3.Connection, through: int) -> bool:
        """Fold up to FOLD_CHUNK events not yet in the totals, of ids up to ``through``, in
        the caller's transaction. False when there was nothing to fold."""
        (low,) = conn.execute(_FOLDED_THROUGH).fetchone()
        (high,) = conn.execute(
            "SELECT max(id) FROM "
            "(SELECT id FROM events WHERE id > ? AND id <= ? ORDER BY id LIMIT ?)",
            (low, through, self.FOLD_CHUNK),
        ).fetchone()
        if high is None:
            return False
        self.totals.fold(conn, "id > :low AND id <= :high", {"low": low, "high": high})
        conn.execute("UPDATE totals_state SET value = ? WHERE name = 'folded_through'", (high,))
        return True

    def unfolded(self) -> int:
        with self._reading() as conn:
            sql = f"SELECT count(*) FROM events WHERE id > ({_FOLDED_THROUGH})"
            return int(conn.execute(sql).fetchone()[0])

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One transaction, or ``StoreUnavailable`` saying why (nothing of it was stored).

        It takes the write lock as it begins (``BEGIN IMMEDIATE``): a fold reads, then writes,
        and when another process (``--workers``) committed in between, SQLite refused the
        write at once ("database is locked") instead of waiting its turn."""
        moved = self._file_moved()
        if moved:
            self._set_problem(moved)
            raise StoreUnavailable(moved)
        conn = self.db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                conn.execute("COMMIT")
            except BaseException:
                conn.rollback()  # none left when the error ended it, or COMMIT failed (disk full)
                raise
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
        with self._reads:
            if self._closed:
                raise StoreUnavailable("the store is closed: the server is stopping")
            self._active_reads += 1
        try:
            yield self._reader()
        finally:
            with self._reads:
                self._active_reads -= 1
                self._reads.notify_all()

    def _reader(self) -> sqlite3.Connection:
        """The calling thread's read-only connection, opened on its first read."""
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
            yield_the_core()
        return conn

    @contextlib.contextmanager
    def _analysing(self, from_totals: bool) -> Iterator[sqlite3.Connection]:
        """Several reads that see one state of the database (one read transaction)."""
        with self._reading() as conn:
            if conn.in_transaction:  # :memory:'s single connection, inside the writer's lock
                yield conn
                return
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")


_INSERT = {shape: insert_sql(shape, "?") for shape in COLUMNS}
_PAYLOAD = COLUMNS[Event].index("payload")
_FOLDED_THROUGH = "SELECT value FROM totals_state WHERE name = 'folded_through'"


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

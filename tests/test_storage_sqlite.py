"""What only the SQLite store does: its file, its write-ahead log, its migrations. The
behaviour every store shares is in test_storage_conformance.py."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from mockserver.storage import sqlite
from mockserver.storage.base import StoreUnavailable
from mockserver.storage.sql_store import BACKGROUND_NICENESS
from mockserver.storage.sqlite import SqliteStore
from mockserver.vendors.registry import ANALYTICS
from tests.test_storage_conformance import event as _event


def test_rows_survive_reopening_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "m.db")
    store = SqliteStore(path, ANALYTICS)
    store.add([_event()])
    store.close()
    reopened = SqliteStore(path, ANALYTICS)  # migrations already applied: nothing is redone or lost
    assert reopened.events({}).total == 1
    reopened.close()


@pytest.mark.slow  # waits half a second on purpose
def test_a_fold_waits_for_another_process_writing_the_same_file_and_it_for_the_fold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # --workers 2: a fold reads, then writes; another process's commit in between made SQLite
    # refuse the fold's write at once ("database is locked": a 503 on /_mock/analytics).
    monkeypatch.setattr(SqliteStore, "_fold_in_background", lambda self: None)
    path = str(tmp_path / "m.db")
    folding, other = SqliteStore(path, ANALYTICS), SqliteStore(path, ANALYTICS)
    folding.add([_event()])
    committed = threading.Event()

    def write() -> None:
        other.add([_event()])
        committed.set()

    writer = threading.Thread(target=write)
    fold = folding.totals.fold

    def fold_while_the_other_commits(*args: Any) -> None:
        writer.start()
        committed.wait(0.5)  # it waits for this fold's transaction: half a second, then on
        fold(*args)

    monkeypatch.setattr(folding.totals, "fold", fold_while_the_other_commits)
    assert folding.fold_analytics() is True
    writer.join(10)
    assert committed.is_set()
    assert (folding.unfolded(), folding.events({}).total) == (1, 2)
    folding.close()
    other.close()


def test_closing_interrupts_a_read_still_running_instead_of_closing_under_it(
    tmp_path: Path,
) -> None:
    # A wait's count, given up at shutdown, still runs in its thread when the store closes:
    # closing its connection under it crashed the process (SIGSEGV).
    store = SqliteStore(str(tmp_path / "m.db"), ANALYTICS)
    endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)"
    started, failures = threading.Event(), list[sqlite3.Error]()

    def read() -> None:
        try:
            with store._reading() as conn:
                started.set()
                conn.execute(f"{endless} SELECT max(i) FROM n").fetchone()  # till interrupted
        except sqlite3.Error as exc:
            failures.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    assert started.wait(5)
    began = time.monotonic()
    store.close()
    reader.join(5)
    assert time.monotonic() - began < sqlite.CLOSE_READS_SECONDS  # not given up on: interrupted
    assert [str(f) for f in failures] == ["interrupted"]
    with pytest.raises(StoreUnavailable, match="the server is stopping"):
        store.events({})


def test_the_write_ahead_log_is_reused_from_its_start_under_steady_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Steady commits (as a server at c=1 writes them) never leave the WAL all copied by the
    # checkpointer; SQLite's own checkpoint at AUTOCHECKPOINT_FRAMES copies the rest and the
    # WAL restarts, so the file stays about that long however much is written.
    monkeypatch.setattr(sqlite, "AUTOCHECKPOINT_FRAMES", 256)  # 1 MiB: a short test
    path = tmp_path / "m.db"
    store = SqliteStore(str(path), ANALYTICS)
    assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 256
    for _ in range(1200):  # ~14 MiB of rows, one commit each
        store.add([_event(payload='{"pad": "' + "x" * 4000 + '"}') for _ in range(3)])
    # Each restart from its start counts in the WAL header's checkpoint sequence number: 55
    # here on an idle machine, 33 with both cores busy. The file's length is no measure: while
    # the checkpointer copies, SQLite's own checkpoint is refused (busy) and the WAL grows on
    # until the next commit after it, and on a loaded machine, where the niced checkpointer
    # waits for the core, it once reached 20 MiB before restarting.
    restarts = int.from_bytes((tmp_path / "m.db-wal").read_bytes()[12:16], "big")
    assert restarts >= 10
    assert store.events({}).total == 3600
    store.close()


def test_many_small_commits_wake_the_checkpointer_by_the_pages_they_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A commit of one small event writes a page of the table and one of each index: 100 of
    # them are over CHECKPOINT_BYTES, and the checkpointer copies them in at once, not after
    # CHECKPOINT_SECONDS (counting only the rows' bytes, it waited while the WAL grew 40
    # times faster than counted, until SQLite's own checkpoint ran in a commit).
    monkeypatch.setattr(sqlite, "CHECKPOINT_SECONDS", 60.0)
    path = tmp_path / "m.db"
    store = SqliteStore(str(path), ANALYTICS)
    empty = path.stat().st_size
    for _ in range(100):
        store.add([_event()])
    deadline = time.monotonic() + 10
    while path.stat().st_size == empty and time.monotonic() < deadline:
        time.sleep(0.01)
    assert path.stat().st_size > empty
    store.close()


def test_commits_reach_the_database_file_a_moment_later_without_sqlites_own_checkpoint(
    tmp_path: Path,
) -> None:
    # 600 KiB of rows: under SQLite's own checkpoint (1,000 pages), which would leave them in
    # the WAL; the store's checkpointer copies them into the database file.
    path = tmp_path / "m.db"
    store = SqliteStore(str(path), ANALYTICS)
    empty = path.stat().st_size
    for _ in range(50):
        store.add([_event(payload='{"pad": "' + "x" * 4000 + '"}') for _ in range(3)])
    deadline = time.monotonic() + 10
    while path.stat().st_size < empty + 500 * 1024 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert path.stat().st_size >= empty + 500 * 1024
    store.close()


def test_migrations_are_recorded_once(tmp_path: Path) -> None:
    path = str(tmp_path / "m.db")
    SqliteStore(path, ANALYTICS).close()
    store = SqliteStore(path, ANALYTICS)
    names = [row[0] for row in store.db.execute("SELECT name FROM _sqlite_migrations")]
    assert names == [
        "m001_create_events_and_rejections",
        "m002_a_salt_for_credential_fingerprints",
        "m003_the_headers_of_accepted_requests",
        "m004_the_page_and_revenue_the_analytics_read",
        "m005_a_hash_of_each_payload_to_find_repeats",
        "m006_the_requests_a_fault_touched",
        "m007_running_totals_for_the_analytics",
        "m008_signal_quality_warnings",
        "m009_partial_indexes_for_signal_quality",
        "m010_requests_forwarded_upstream",
        "m011_running_totals_for_any_vendor",
    ]
    store.close()


def test_a_database_from_before_the_headers_column_upgrades_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "old.db")
    store = SqliteStore(path, ANALYTICS)
    store.add([_event()])
    # Back to the schema of the release before: no headers column, m003 not applied.
    store.db.execute("ALTER TABLE events DROP COLUMN headers")
    store.db.execute("DELETE FROM _sqlite_migrations WHERE name LIKE 'm003%'")
    store.db.conn.commit()
    store.close()
    store = SqliteStore(path, ANALYTICS)
    (old,) = store.events({}).rows
    assert old["headers"] is None
    store.add([_event(request_id="new")], headers={"new": '{"accept":"*/*"}'})
    assert store.events({}).rows[0]["headers"] == {"accept": "*/*"}
    store.close()


def test_the_write_ahead_log_shrinks_after_a_large_reset(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqliteStore(str(path), ANALYTICS)
    for _ in range(60):  # ~10 MiB of rows
        store.add([_event(payload='{"pad": "' + "x" * 4000 + '"}') for _ in range(40)])
    store.reset()  # one transaction deleting all of it: the WAL grows past the interval
    assert (tmp_path / "m.db-wal").stat().st_size <= 1024 * 1024
    store.add([_event()])
    assert store.events({}).total == 1
    store.close()


def test_the_background_threads_yield_the_core_to_the_event_loop(tmp_path: Path) -> None:
    # In a process of its own: a thread's niceness is inherited by the threads it starts.
    script = f"""
import os, threading, time
import pytest

from mockserver.storage import sqlite
from mockserver.storage.sqlite import SqliteStore
from mockserver.vendors.registry import ANALYTICS
store = SqliteStore({str(tmp_path / "m.db")!r}, ANALYTICS)
time.sleep(0.2)
for thread in threading.enumerate():
    print(thread.name, os.getpriority(os.PRIO_PROCESS, thread.native_id))
store.close()
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    niceness = {k: int(v) for k, v in (line.rsplit(" ", 1) for line in ran.stdout.splitlines())}
    assert niceness["MainThread"] < BACKGROUND_NICENESS
    assert niceness["mockserver-analytics-folder"] == BACKGROUND_NICENESS
    assert niceness["mockserver-checkpoint"] == BACKGROUND_NICENESS

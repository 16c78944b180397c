"""Several mockserver processes on one PostgreSQL database, as a shared deployment runs them,
under load: every acknowledged event is stored exactly once, through two servers at once,
through a kill -9 of one, and through the database stopping and coming back."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import LUCIDWORKS_HEADERS, load_fixture
from tests.postgres_server import PostgresServer

pytestmark = pytest.mark.slow  # real server processes, kills and restarts

CLICK = load_fixture("lucidworks", "valid", "click-full.json")[0]
WORKERS = 4


def _serve(db: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--db", db],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    match = re.search(r"listening on (http://\S+)", process.stdout.readline())
    assert match, "the server did not start"
    return process, match.group(1)


class Load:
    """WORKERS threads sending clicks, each with a visitor id of its own, round-robin over the
    servers; records which were acknowledged (202) and how many got a 503."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.acknowledged: list[str] = []
        self.unavailable = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._send, args=(n,)) for n in range(WORKERS)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(15)

    def wait_for(self, count: int, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while len(self.acknowledged) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.acknowledged) >= count, f"only {len(self.acknowledged)} acknowledged"

    def _send(self, worker: int) -> None:
        clients = [
            httpx.Client(base_url=u, headers=LUCIDWORKS_HEADERS, timeout=5) for u in self.urls
        ]
        try:
            for number in range(1_000_000):
                if self.stop.is_set():
                    return
                visitor = f"w{worker}-{number}"
                try:
                    response = clients[number % len(clients)].post(
                        "/retail/signals/click", json=[{**CLICK, "visitorId": visitor}]
                    )
                except httpx.HTTPError:
                    continue  # that server is gone: this one was never acknowledged
                with self._lock:
                    if response.status_code == 202:
                        self.acknowledged.append(visitor)
                    elif response.status_code == 503:
                        self.unavailable += 1
        finally:
            for client in clients:
                client.close()


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(10)
    if process.stdout is not None:
        process.stdout.close()


def _stored_visitors(db: str) -> Counter[str]:
    with psycopg.connect(db) as conn:
        rows = conn.execute('SELECT "user" FROM events').fetchall()
    return Counter(row[0] for row in rows)


@pytest.fixture
def database() -> Iterator[tuple[PostgresServer, str]]:
    folder = Path(tempfile.mkdtemp(prefix="mockserver-postgres-"))
    server = PostgresServer(folder)
    try:
        yield server, server.database()
    finally:
        server.stop(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_two_servers_store_every_acknowledged_event_once(
    database: tuple[PostgresServer, str],
) -> None:
    _, db = database
    servers = [_serve(db) for _ in range(2)]
    try:
        with Load([url for _, url in servers]) as load:
            load.wait_for(600)
        stored = _stored_visitors(db)
        assert all(stored[visitor] == 1 for visitor in load.acknowledged)
        assert max(stored.values()) == 1  # nothing twice, acknowledged or not
        # Each server sees the other's events (one store), in its inspection API.
        _, url = servers[1]
        total = httpx.get(f"{url}/_mock/events", params={"limit": 1}, timeout=5).json()["total"]
        assert total == sum(stored.values())
    finally:
        for process, _ in servers:
            _stop(process)


def test_check_shared_passes_on_two_servers_on_one_database(
    database: tuple[PostgresServer, str],
) -> None:
    # 300 clicks through both servers at once, 8 at a time: their commits interleave, so a
    # server hears ids below ones it has seen (a wait that kept the highest id missed them).
    _, db = database
    servers = [_serve(db) for _ in range(2)]
    try:
        checked = subprocess.run(
            [sys.executable, "-m", "mockserver", "check-shared", "--events", "300",
             "--timeout", "15", *(url for _, url in servers)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stdout + checked.stderr
        # each server healthy, all acknowledged, the wait, each shows them, the analytics, each
        # sees the reset
        assert checked.stdout.count("\nok ") == 9
        assert "a wait there was answered" in checked.stdout
        assert _stored_visitors(db) == Counter()  # its namespace deleted at the end
    finally:
        for process, _ in servers:
            _stop(process)


def test_a_killed_server_loses_nothing_it_acknowledged(
    database: tuple[PostgresServer, str],
) -> None:
    _, db = database
    (victim, victim_url), (survivor, survivor_url) = _serve(db), _serve(db)
    try:
        with Load([victim_url, survivor_url]) as load:
            load.wait_for(300)
            os.kill(victim.pid, signal.SIGKILL)  # mid-load: its requests are in flight
            _stop(victim)
            before = len(load.acknowledged)
            load.wait_for(before + 200)  # the other server goes on
        stored = _stored_visitors(db)
        assert all(stored[visitor] == 1 for visitor in load.acknowledged)
    finally:
        _stop(survivor)


def test_the_database_restarting_under_load_costs_503s_not_events(
    database: tuple[PostgresServer, str],
) -> None:
    server, db = database
    process, url = _serve(db)
    try:
        with Load([url]) as load:
            load.wait_for(200)
            server.stop()
            time.sleep(2)
            refused = load.unavailable
            server.start()
            before = len(load.acknowledged)
            load.wait_for(before + 200)  # back by itself
        assert refused > 0  # while it was down, requests were told so
        stored = _stored_visitors(db)
        assert all(stored[visitor] == 1 for visitor in load.acknowledged)
        assert httpx.get(f"{url}/_mock/health", timeout=5).status_code == 200
    finally:
        _stop(process)

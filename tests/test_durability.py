"""An acknowledged event is never lost: kill -9 under load, restart on the same file."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from mockserver.storage.sqlite import SqliteStore
from mockserver.vendors.registry import ANALYTICS
from tests.conftest import LUCIDWORKS_HEADERS, load_fixture

pytestmark = pytest.mark.slow  # kills and restarts a server process

CLICK = load_fixture("lucidworks", "valid", "click-full.json")[0]
WORKERS = 4
ACKNOWLEDGED_BEFORE_KILL = 300
MAX_SECONDS = 20


def _serve(db: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    match = re.search(r"listening on (http://\S+)", process.stdout.readline())
    assert match, process.stderr.read() if process.stderr else ""
    return process, match.group(1)


def test_every_acknowledged_event_survives_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "durable.db"
    process, url = _serve(db)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def send(worker: int) -> None:
        with httpx.Client(base_url=url, headers=LUCIDWORKS_HEADERS, timeout=5) as client:
            for number in range(100_000):
                if stop.is_set():
                    return
                visitor = f"w{worker}-{number}"
                try:
                    response = client.post(
                        "/retail/signals/click", json=[{**CLICK, "visitorId": visitor}]
                    )
                except httpx.HTTPError:
                    return  # the server is gone: this request was never acknowledged
                if response.status_code == 202:
                    with lock:
                        acknowledged.append(visitor)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + MAX_SECONDS
    while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)  # mid-load: requests are in flight
    process.communicate(timeout=10)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL

    restarted, url = _serve(db)  # the server comes back on the same file
    try:
        assert httpx.get(f"{url}/_mock/health", timeout=5).status_code == 200
    finally:
        restarted.terminate()
        restarted.communicate(timeout=10)
    store = SqliteStore(str(db), ANALYTICS)
    try:
        stored = Counter(row["user"] for row in store.events({}, limit=1_000_000).rows)
    finally:
        store.close()
    missing = [visitor for visitor in acknowledged if visitor not in stored]
    assert missing == []
    assert max(stored.values()) == 1  # nothing written twice

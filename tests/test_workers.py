"""``serve --workers N`` on one SQLite file: nothing lost, nothing doubled, every read sees all."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest

from mockserver.storage.sqlite import SqliteStore
from mockserver.vendors.registry import ANALYTICS
from tests.conftest import LUCIDWORKS_HEADERS, load_fixture

pytestmark = pytest.mark.slow  # starts server processes

CLICK = load_fixture("lucidworks", "valid", "click-full.json")[0]
REQUESTS, SENDERS = 300, 6


def test_workers_share_one_file_without_losing_or_doubling(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--workers", "2", "--port", "0",
         "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        match = re.search(r"listening on (http://\S+)", process.stdout.readline())
        assert match
        url = match.group(1)
        waited: list[httpx.Response] = []
        waiter = threading.Thread(
            target=lambda: waited.append(
                httpx.get(
                    f"{url}/_mock/wait", params={"count": REQUESTS, "timeout": 60}, timeout=90
                )
            )
        )
        waiter.start()

        def send(sender: int) -> None:
            for number in range(sender, REQUESTS, SENDERS):
                # A new connection each time, so the kernel spreads them over both workers.
                signal = {**CLICK, "visitorId": f"v-{number}"}
                response = httpx.post(
                    f"{url}/retail/signals/click",
                    json=[signal],
                    headers=LUCIDWORKS_HEADERS,
                    timeout=30,
                )
                assert response.status_code == 202

        senders = [threading.Thread(target=send, args=(n,)) for n in range(SENDERS)]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join(60)
        waiter.join(90)
        summaries = {
            httpx.get(f"{url}/_mock/summary", timeout=10).json()["events"]["total"]
            for _ in range(10)
        }
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert len(waited) == 1
    assert waited[0].status_code == 200  # wait saw every worker's writes
    assert summaries == {REQUESTS}  # whichever worker answered, it read all the rows
    store = SqliteStore(str(db), ANALYTICS)
    try:
        users = Counter(row["user"] for row in store.events({}, limit=10_000).rows)
    finally:
        store.close()
    assert len(users) == REQUESTS
    assert max(users.values()) == 1


def test_workers_refuse_an_in_memory_store(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--workers", "2", "--db", ":memory:",
         "--port", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--workers needs a --db file" in result.stderr

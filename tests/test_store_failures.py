"""When the store cannot write: a full database, a read-only file, a file deleted under the
server. Real SQLite conditions each time (a page limit is how SQLite reports a full disk)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver import Settings, SqliteStore, create_app
from mockserver.validation import Contracts
from mockserver.vendors.registry import ANALYTICS
from tests.conftest import LUCIDWORKS_HEADERS, NEURALENS_HEADERS, load_fixture

CLICK = load_fixture("lucidworks", "valid", "click-full.json")
EVENT = load_fixture("neuralens", "valid", "click-product-docs-example-fixed.json")


@pytest.fixture
def served(tmp_path: Path, contracts: Contracts) -> Iterator[tuple[TestClient, SqliteStore]]:
    settings = Settings(db=str(tmp_path / "mock.db"))
    store = SqliteStore(settings.db, ANALYTICS)
    with TestClient(create_app(settings, store, contracts)) as client:
        yield client, store
    store.close()


def _click(client: TestClient, payload: str = "") -> int:
    body = [{**CLICK[0], "uri": "https://shop.example/" + payload}]
    return client.post("/retail/signals/click", json=body, headers=LUCIDWORKS_HEADERS).status_code


def test_a_full_store_answers_503_in_each_vendors_shape_and_recovers(
    served: tuple[TestClient, SqliteStore],
) -> None:
    client, store = served
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count={pages + 2}")
    statuses = [_click(client, "x" * 2000) for _ in range(30)]
    assert 503 in statuses
    full_from = statuses.index(503)
    assert statuses[:full_from] == [202] * full_from
    large = [{**CLICK[0], "uri": "https://shop.example/" + "x" * 5000}]
    refused = client.post("/retail/signals/click", json=large, headers=LUCIDWORKS_HEADERS)
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert "the database or its disk is full" in refused.json()["detail"]
    event = {**EVENT, "query": "x" * 5000}
    neuralens = client.post("/analytics/event", json=event, headers=NEURALENS_HEADERS)
    assert (neuralens.status_code, neuralens.json()["status"]) == (503, "failure")
    health = client.get("/_mock/health")
    assert health.status_code == 503
    assert "full" in health.json()["store"]
    stored = client.get("/_mock/events").json()["total"]
    assert stored == full_from  # every 202 was stored, nothing else

    store.db.execute("PRAGMA max_page_count=1073741823")  # room again
    assert _click(client) == 202
    assert client.get("/_mock/health").json() == {"status": "ok"}


def test_reset_on_a_store_that_cannot_write_is_a_503_that_says_why(
    served: tuple[TestClient, SqliteStore],
) -> None:
    client, store = served
    Path(store.path).unlink()
    response = client.post("/_mock/reset")
    assert response.status_code == 503
    assert "deleted or replaced" in response.json()["error"]


def test_a_database_deleted_under_the_server_refuses_writes_loudly(
    served: tuple[TestClient, SqliteStore], caplog: pytest.LogCaptureFixture
) -> None:
    client, store = served
    assert _click(client) == 202
    for suffix in ("", "-wal", "-shm"):
        Path(store.path + suffix).unlink(missing_ok=True)
    assert _click(client) == 503  # not a 202 into a file nobody will ever open again
    for read in ("/_mock/events", "/_mock/summary", "/_mock/analytics", "/_mock/rejections"):
        response = client.get(read)  # not what the deleted file held, nor a 500
        assert response.status_code == 503, read
        assert "deleted or replaced" in response.json()["error"]
    health = client.get("/_mock/health").json()
    assert health["status"] == "unavailable"
    assert "restart mockserver" in health["store"]
    assert any("deleted or replaced" in r.getMessage() for r in caplog.records)


def _make_read_only(path: Path) -> None:
    """Read-only even for root: the immutable attribute where it exists, else the mode bits."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: no way to make a file read-only")
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not supported here: {done.stderr.decode().strip()}")


@pytest.fixture
def read_only_db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "read-only.db"
    SqliteStore(str(path), ANALYTICS).close()
    _make_read_only(path)
    yield path
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], check=False)


@pytest.mark.slow  # a real process (chattr)
def test_a_read_only_database_is_refused_at_start_up(read_only_db: Path) -> None:
    with pytest.raises(ValueError, match=r"cannot write to the database .*read-only\.db"):
        SqliteStore(str(read_only_db), ANALYTICS)


@pytest.mark.slow  # a real process
def test_serve_refuses_a_read_only_database_with_a_clear_message(read_only_db: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--db", str(read_only_db)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "cannot write to the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_reset_whose_checkpoint_the_full_disk_refuses_still_resets(
    served: tuple[TestClient, SqliteStore], caplog: pytest.LogCaptureFixture
) -> None:
    # On a full disk the WAL checkpoint after the deletion raised OperationalError: a plain
    # text 500, though the rows were gone.
    client, store = served
    assert _click(client) == 202
    execute = store.db.execute

    def disk_full_at_checkpoint(sql: str, *args: Any) -> sqlite3.Cursor:
        if "wal_checkpoint" in sql:
            raise sqlite3.OperationalError("database or disk is full")
        return execute(sql, *args)

    store.db.execute = disk_full_at_checkpoint  # type: ignore[method-assign,assignment]
    response = client.post("/_mock/reset")
    assert response.status_code == 204
    assert client.get("/_mock/events").json()["total"] == 0
    assert "could not truncate the WAL" in caplog.text

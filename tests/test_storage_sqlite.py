from __future__ import annotations

from pathlib import Path

from mockserver.events import Event, Rejection
from mockserver.storage.sqlite import SqliteStore


def _event(namespace: str = "default", items: tuple[str, ...] = ("p1",), **over: object) -> Event:
    fields: dict[str, object] = {
        "vendor": "lucidworks", "endpoint": "/retail/signals/click", "type": "click",
        "namespace": namespace, "tenant": "default", "user": "u1", "session": "s1",
        "query": None, "query_id": "q1", "items": list(items), "position": 1,
        "timestamp_ms": 1, "payload": '{"a": 1}', "request_id": "r1",
        "received_at": "2026-01-01T00:00:00.000000Z",
    }  # fmt: skip
    fields.update(over)
    return Event(**fields)  # type: ignore[arg-type]


def test_rows_survive_reopening_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "m.db")
    store = SqliteStore(path)
    store.add([_event()])
    store.close()
    reopened = SqliteStore(path)  # migrations already applied: nothing is redone or lost
    assert reopened.events({}).total == 1
    reopened.close()


def test_the_write_ahead_log_stays_small_under_steady_writes(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqliteStore(str(path))
    for _ in range(600):  # ~7 MiB of rows, one commit each, as a server at c=1 writes them
        store.add([_event(payload='{"pad": "' + "x" * 4000 + '"}') for _ in range(3)])
    # Checkpointed every 200 pages (SQLite's default is 1000, ~4 MiB): the file is reused
    # from its start, so it stays near 800 KiB however much is written.
    assert (tmp_path / "m.db-wal").stat().st_size < 2 * 1024 * 1024
    assert store.events({}).total == 1800
    store.close()


def test_migrations_are_recorded_once(tmp_path: Path) -> None:
    path = str(tmp_path / "m.db")
    SqliteStore(path).close()
    store = SqliteStore(path)
    names = [row[0] for row in store.db.execute("SELECT name FROM _sqlite_migrations")]
    assert names == ["m001_create_events_and_rejections"]
    store.close()


def test_item_filter_matches_any_product_of_the_event() -> None:
    store = SqliteStore(":memory:")
    store.add([_event(items=("a", "b")), _event(items=("c",))])
    assert store.events({"item": "b"}).total == 1
    assert store.events({"item": "z"}).total == 0


def test_time_filters_are_inclusive_since_and_exclusive_until() -> None:
    store = SqliteStore(":memory:")
    store.add([_event(received_at=f"2026-01-0{day}T00:00:00.000000Z") for day in (1, 2, 3)])
    page = store.events(
        {"since": "2026-01-02T00:00:00.000000Z", "until": "2026-01-03T00:00:00.000000Z"}
    )
    assert [row["received_at"][:10] for row in page.rows] == ["2026-01-02"]


def test_reset_one_namespace_leaves_the_others() -> None:
    store = SqliteStore(":memory:")
    store.add([_event("a"), _event("b")])
    store.reset("a")
    assert store.events({}).total == 1
    store.reset()
    assert store.events({}).total == 0


def test_listeners_hear_each_commit() -> None:
    store = SqliteStore(":memory:")
    heard: list[int] = []
    remove = store.add_listener(lambda: heard.append(1))
    store.add([_event()])
    rejection = Rejection(
        vendor=None, method="GET", endpoint="/x", namespace="default", tenant=None,
        status=404, errors=[], headers={}, body=None, request_id="r",
        received_at="2026-01-01T00:00:00.000000Z",
    )  # fmt: skip
    store.add(rejections=[rejection])
    remove()
    store.reset()
    assert heard == [1, 1]


def test_filter_values_are_bound_not_spliced() -> None:
    store = SqliteStore(":memory:")
    store.add([_event()])
    assert store.events({"user": "u1' OR '1'='1"}).total == 0
    assert store.events({}).total == 1

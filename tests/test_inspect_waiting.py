"""The in-memory match of /_mock/wait selects exactly what the store's SQL filters select, and
a waiter counts each match once."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mockserver.events import Event
from mockserver.inspect.api import MAX_ABANDONED_COUNTS, InspectAPI
from mockserver.inspect.waiting import ChangeFeed, Waiter, matches
from mockserver.storage import SqliteStore

# Mixed case and a non-ASCII letter: free text folds ASCII case only, in SQL and in memory.
WORDS = st.sampled_from(["a", "b", "c", "Ab", "É", "a_%"])
TIMES_LIST = [
    "2026-01-01T00:00:00.000000Z", "2026-01-02T00:00:00.000000Z", "2026-01-03T00:00:00.000000Z"
]  # fmt: skip
TIMES = st.sampled_from(TIMES_LIST)


@st.composite
def events(draw: st.DrawFn) -> Event:
    maybe = st.none() | WORDS
    return Event(
        vendor=draw(st.sampled_from(["neuralens", "lucidworks"])), endpoint="/x",
        type=draw(WORDS), namespace=draw(WORDS), tenant=draw(maybe), user=draw(maybe),
        session=draw(maybe), query=draw(maybe), query_id=draw(maybe),
        items=draw(st.lists(WORDS, max_size=3)), position=None,
        timestamp_ms=draw(st.none() | st.sampled_from([1000, 2000, 3000])),
        payload="{}", request_id="r", received_at=draw(TIMES),
    )  # fmt: skip


VALUES: dict[str, st.SearchStrategy[str]] = {
    **{
        name: WORDS
        for name in ("namespace", "type", "tenant", "user", "session", "query", "query_id", "item")
    },
    "vendor": st.sampled_from(["neuralens", "lucidworks"]),
    "since": TIMES,
    "until": TIMES,
    "event_since": st.sampled_from([1000, 2000, 3000]),
    "event_until": st.sampled_from([1000, 2000, 3000]),
    "text": st.sampled_from(["a", "A", "b", "é", "É", "_", "%", "\\", "a_"]),
}
# One or two filters at a time: with more, nearly nothing matches and nothing is compared.
FILTERS = st.lists(st.sampled_from(sorted(VALUES)), max_size=2, unique=True).flatmap(
    lambda names: st.fixed_dictionaries({name: VALUES[name] for name in names})
)


@settings(max_examples=150, deadline=None)
@given(st.lists(events(), max_size=12), FILTERS)
def test_the_in_memory_match_selects_what_sql_selects(
    stored: list[Event], filters: dict[str, Any]
) -> None:
    store = SqliteStore(":memory:")
    store.add(stored)
    assert sum(matches(event, filters) for event in stored) == store.count_events(filters)
    store.close()


def _at(time: str, **fields: Any) -> Event:
    base: dict[str, Any] = {
        "vendor": "lucidworks", "endpoint": "/x", "type": "click", "namespace": "a",
        "tenant": None, "user": None, "session": None, "query": None, "query_id": None,
        "items": ["p"], "position": None, "timestamp_ms": None, "payload": "{}",
        "request_id": "r", "received_at": time,
    }  # fmt: skip
    return Event(**{**base, **fields})


BOUNDARIES = [
    {"since": "2026-01-02T00:00:00.000000Z"},  # inclusive
    {"until": "2026-01-02T00:00:00.000000Z"},  # exclusive
    {"since": "2026-01-02T00:00:00.000000Z", "until": "2026-01-03T00:00:00.000000Z"},
    {"item": "p"},
    {"item": "q"},
    {"tenant": "t"},  # a null column never equals a value
]


@pytest.mark.parametrize("filters", BOUNDARIES, ids=str)
def test_the_in_memory_match_agrees_at_the_boundaries(filters: dict[str, Any]) -> None:
    stored = [_at(time) for time in TIMES_LIST] + [_at(TIMES_LIST[1], tenant="t")]
    store = SqliteStore(":memory:")
    store.add(stored)
    assert sum(matches(event, filters) for event in stored) == store.count_events(filters)
    store.close()


def test_a_waiter_counts_each_match_once_whatever_order_ids_are_committed_in() -> None:
    # Servers on one PostgreSQL database take ids in one order and commit in another: the
    # first read sees ids 1 and 3, then 2 is committed, and 3's notice may come after it.
    loop = asyncio.new_event_loop()
    try:
        waiter = Waiter({}, loop)
        waiter.offer(1)  # committed while the first read was running
        waiter.read_in_sql([1, 3])
        waiter.offer(2)
        waiter.offer(3)
        assert waiter.matched == 3
        waiter.reset()
        assert waiter.matched == 0
        assert waiter.recount
        waiter.offer(7)
        waiter.read_in_sql([7])
        assert waiter.matched == 1
    finally:
        loop.close()


def test_an_ordered_waiter_counts_each_match_once_and_keeps_no_ids() -> None:
    # One SQLite writer: ids commit in order, so the highest id read tells what it counted.
    loop = asyncio.new_event_loop()
    try:
        waiter = Waiter({}, loop, ordered=True)
        waiter.offer(5)  # committed while the first read was running: counted by it ...
        waiter.offer(7)  # ... or not
        waiter.read_in_order(matched=5, highest=6)
        assert (waiter.matched, waiter.early) == (6, [])
        waiter.offer(8)
        assert waiter.matched == 7
        waiter.reset()
        waiter.offer(1)  # ids start again after a full reset
        waiter.read_in_order(matched=0, highest=0)
        assert waiter.matched == 1
        assert waiter.seen == set()
    finally:
        loop.close()


def test_an_unfiltered_wait_for_a_million_keeps_no_ids(tmp_path: Any) -> None:
    # 20 waits of count=1000000 over 241k events took RSS from 66 to 468 MiB: each kept the
    # id of every match. Now a wait holds a count and the highest id, and is freed at its end.
    store = SqliteStore(str(tmp_path / "mock.db"))
    event = Event(
        vendor="lucidworks", endpoint="/x", type="click", namespace="default", tenant=None,
        user=None, session=None, query=None, query_id=None, items=(), position=None,
        timestamp_ms=None, payload="{}", request_id="r", received_at=TIMES_LIST[0],
    )  # fmt: skip
    for _ in range(20):
        store.add([event] * 1000)
    api = InspectAPI(store)
    app = Starlette(routes=api.routes())
    seen: list[tuple[int, int, int]] = []

    def look() -> None:
        # Deadlines: on a loaded machine the wait may end first; then this fails, not hangs.
        deadline = time.monotonic() + 10
        while not api.changes._all and time.monotonic() < deadline:
            time.sleep(0.01)
        (waiter,) = api.changes._all
        while not waiter.counted and time.monotonic() < deadline:
            time.sleep(0.01)
        store.add([event] * 10)
        time.sleep(0.2)
        seen.append((waiter.matched, len(waiter.seen), len(waiter.early)))

    with TestClient(app) as client:
        looking = threading.Thread(target=look)
        looking.start()
        response = client.get("/_mock/wait", params={"count": 1_000_000, "timeout": 2})
        looking.join(timeout=15)
    assert response.status_code == 408
    assert response.json()["total"] == 20_010
    assert seen == [(20_010, 0, 0)]
    assert not api.changes._all  # freed when the wait ended
    store.close()


def test_a_wait_answers_at_its_timeout_however_long_the_count_takes(tmp_path: Any) -> None:
    # timeout=4 on 1.08M events answered after 5.7-6.0 s: the count ran past the deadline.
    store = SqliteStore(str(tmp_path / "mock.db"))
    count = store.count_new_events

    def slow_count(filters: Any, after_id: int) -> tuple[int, int]:
        time.sleep(2)
        return count(filters, after_id)

    store.count_new_events = slow_count  # type: ignore[method-assign]
    with TestClient(Starlette(routes=InspectAPI(store).routes())) as client:
        started = time.monotonic()
        response = client.get("/_mock/wait", params={"count": 1, "timeout": 0.5})
        took = time.monotonic() - started
    assert response.status_code == 408
    assert took < 1.5
    store.close()


# -- what a live view (/_mock/stream) is told ---------------------------------------------------


def _what_a_live_view_is_told(
    store: SqliteStore, namespace: str | None, commit: Callable[[], object]
) -> dict[str, Any]:
    """What a live view of ``namespace`` takes once ``commit`` (a write to the store) is done."""

    async def watch() -> dict[str, Any]:
        feed = ChangeFeed(store)
        watcher = feed.watch(namespace)
        commit()
        await asyncio.sleep(0)  # the notes are handed to this loop: let them run
        told = watcher.take() if watcher.woken.is_set() else {}
        feed.unwatch(watcher)
        feed.detach()
        return told

    return asyncio.run(watch())


def test_a_live_view_is_told_of_a_reset_that_deleted_nothing_of_its_namespace() -> None:
    # What it shows may be stale all the same: the dashboard reloads its view on a reset.
    store = SqliteStore(":memory:")
    store.add([_at(TIMES_LIST[0], namespace="other")])
    told = _what_a_live_view_is_told(store, "live", store.reset)
    assert (told["reset"], told["events"]) == (True, 0)
    store.close()


def test_a_live_view_is_told_the_last_id_of_a_batch_commit() -> None:
    # A view reads up to the newest event it was told of: the first id of a batch would hide
    # the rest of it.
    store = SqliteStore(":memory:")
    batch = [_at(TIMES_LIST[0], namespace="live") for _ in range(3)]
    told = _what_a_live_view_is_told(store, "live", lambda: store.add(batch))
    assert (told["events"], told["latest_event_id"]) == (3, 3)
    store.close()


def test_waits_that_time_out_cannot_fill_the_pool_with_their_counts(tmp_path: Any) -> None:
    # A count cannot be stopped once its wait times out: a client looping on short waits over
    # a huge store filled the thread pool, and every read queued behind the counts.
    store = SqliteStore(str(tmp_path / "mock.db"))
    count = store.count_new_events
    release = threading.Event()

    def slow_count(filters: Any, after_id: int) -> tuple[int, int]:
        release.wait(10)
        return count(filters, after_id)

    store.count_new_events = slow_count  # type: ignore[method-assign]
    api = InspectAPI(store)
    with TestClient(Starlette(routes=api.routes())) as client:
        statuses = [
            client.get("/_mock/wait", params={"count": 1, "timeout": 0.05}).status_code
            for _ in range(MAX_ABANDONED_COUNTS + 2)
        ]
        assert statuses == [408] * MAX_ABANDONED_COUNTS + [503, 503]
        release.set()
        deadline = time.monotonic() + 10
        while api.abandoned_counts and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.get("/_mock/wait", params={"count": 1, "timeout": 0.05}).status_code == 408
    store.close()

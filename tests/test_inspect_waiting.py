"""The in-memory match of /_mock/wait selects exactly what the store's SQL filters select, and
a waiter counts each match once."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mockserver.events import QUERY_FOLLOWS, UNKNOWN_QUERY, Attempt, Event, Rejection
from mockserver.inspect.api import MAX_ABANDONED_COUNTS, InspectAPI
from mockserver.inspect.waiting import ChangeFeed, Waiter, Watcher, matches, read_time
from mockserver.storage import SqliteStore
from mockserver.storage.base import Change
from mockserver.vendors.registry import ANALYTICS

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


def _at(time: str, **fields: Any) -> Event:
    base: dict[str, Any] = {
        "vendor": "lucidworks", "endpoint": "/x", "type": "click", "namespace": "a",
        "tenant": None, "user": None, "session": None, "query": None, "query_id": None,
        "items": ["p"], "position": None, "timestamp_ms": None, "payload": "{}",
        "request_id": "r", "received_at": time,
    }  # fmt: skip
    return Event(**{**base, **fields})


# Examples tried first, before any random ones (and without shrinking, so a mutant that
# breaks them fails at once): free text in a list of items beside null fields, and the
# inclusive start of the event time.
@settings(max_examples=150, deadline=None)
@given(st.lists(events(), max_size=12), FILTERS)
@example([_at(TIMES_LIST[0], items=["b"])], {"text": "a"})
@example([_at(TIMES_LIST[0], timestamp_ms=2000)], {"event_since": 2000})
def test_the_in_memory_match_selects_what_sql_selects(
    stored: list[Event], filters: dict[str, Any]
) -> None:
    store = SqliteStore(":memory:", ANALYTICS)
    store.add(stored)
    assert sum(matches(event, filters) for event in stored) == store.count_events(filters)
    store.close()


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
    store = SqliteStore(":memory:", ANALYTICS)
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
    store = SqliteStore(str(tmp_path / "mock.db"), ANALYTICS)
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
    store = SqliteStore(str(tmp_path / "mock.db"), ANALYTICS)
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
    store = SqliteStore(":memory:", ANALYTICS)
    store.add([_at(TIMES_LIST[0], namespace="other")])
    told = _what_a_live_view_is_told(store, "live", store.reset)
    assert (told["reset"], told["events"]) == (True, 0)
    store.close()


def test_a_live_view_is_told_the_last_id_of_a_batch_commit() -> None:
    # A view reads up to the newest event it was told of: the first id of a batch would hide
    # the rest of it.
    store = SqliteStore(":memory:", ANALYTICS)
    batch = [_at(TIMES_LIST[0], namespace="live") for _ in range(3)]
    told = _what_a_live_view_is_told(store, "live", lambda: store.add(batch))
    assert (told["events"], told["latest_event_id"]) == (3, 3)
    store.close()


def test_waits_that_time_out_cannot_fill_the_pool_with_their_counts(tmp_path: Any) -> None:
    # A count cannot be stopped once its wait times out: a client looping on short waits over
    # a huge store filled the thread pool, and every read queued behind the counts.
    store = SqliteStore(str(tmp_path / "mock.db"), ANALYTICS)
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


# -- what `make mutate` on the inspect group found unpinned (issue 29, third round) ------------

RULE = "missing-user"  # a warning stored with the event at intake
PLAIN = _at(TIMES_LIST[0])
WARNED = _at(TIMES_LIST[0], warnings=[{"rule": RULE, "path": "/", "message": "m"}])
FOLLOWS = _at(TIMES_LIST[0], query_id="q1", query_link=QUERY_FOLLOWS)  # its search never came
BOTH = replace(WARNED, query_id="q1", query_link=QUERY_FOLLOWS)


@pytest.mark.parametrize(
    ("filters", "may_match"),
    [
        ({}, [True, True, True, True]),
        ({"warning": RULE}, [False, True, False, True]),
        ({"warning": UNKNOWN_QUERY}, [False, False, True, True]),
        ({"warned": True}, [False, True, True, True]),
        ({"warned": False}, [True, False, True, False]),
        ({"warning": RULE, "warned": True}, [False, True, False, True]),
        ({"warning": RULE, "warned": False}, [False, False, False, False]),
        ({"warning": UNKNOWN_QUERY, "warned": True}, [False, False, True, True]),
    ],
    ids=str,
)
def test_a_wait_on_warnings_takes_every_event_the_store_may_count(
    filters: dict[str, Any], may_match: list[bool]
) -> None:
    # Plain, warned at intake, following a search (unknown-query is decided as of a read),
    # and both. In memory: exact for stored warnings, "may" for unknown-query, which the
    # store decides when it counts; it never leaves out an event the store counts.
    stored = [PLAIN, WARNED, FOLLOWS, BOTH]
    assert [matches(event, filters) for event in stored] == may_match
    store = SqliteStore(":memory:", ANALYTICS)
    store.add(stored)
    in_sql = {event_id - 1 for event_id in store.matching_event_ids(filters, 10)}
    assert in_sql <= {index for index, may in enumerate(may_match) if may}
    if not read_time(filters):
        assert in_sql == {index for index, may in enumerate(may_match) if may}
    store.close()


@pytest.mark.parametrize(
    ("filters", "decided_by_the_store"),
    [
        ({}, False),
        ({"warning": RULE}, False),
        ({"warning": UNKNOWN_QUERY}, True),
        ({"warned": True}, True),
        ({"warned": False}, True),
        ({"type": "click"}, False),
    ],
    ids=str,
)
def test_only_a_wait_on_unknown_query_or_on_warned_is_counted_again_in_sql(
    filters: dict[str, Any], decided_by_the_store: bool
) -> None:
    # An event's unknown-query warning goes when its search arrives: such a wait cannot
    # trust what it matched in memory.
    assert read_time(filters) is decided_by_the_store

    async def subscribe() -> bool:
        store = SqliteStore(":memory:", ANALYTICS)
        recounts = ChangeFeed(store).subscribe(filters).recounts
        store.close()
        return recounts

    assert asyncio.run(subscribe()) is decided_by_the_store


def test_an_ordered_waiter_does_not_count_again_an_event_its_read_counted() -> None:
    # One SQLite writer: a read may see an event before the event's notice arrives.
    loop = asyncio.new_event_loop()
    try:
        waiter = Waiter({}, loop, ordered=True)
        waiter.offer(6)  # committed while the read ran, and seen by it (its highest id)
        waiter.read_in_order(matched=5, highest=6)
        assert waiter.matched == 5
        waiter.offer(6)  # its notice, late
        waiter.offer(4)
        assert waiter.matched == 5
        waiter.offer(9)
        assert waiter.matched == 6
    finally:
        loop.close()


def test_a_waiter_counts_in_memory_once_read_and_in_sql_again_after_a_reset() -> None:
    loop = asyncio.new_event_loop()
    try:
        waiters = [Waiter({}, loop), Waiter({}, loop, ordered=True), Waiter({}, loop)]
        waiters[2].in_memory = False  # several processes on one SQLite file
        waiters[0].read_in_sql([1, 2])
        waiters[1].read_in_order(matched=2, highest=2)
        waiters[2].counted_in_sql(matched=2, highest=2)
        assert [(w.counted, w.recount, w.matched) for w in waiters] == [(True, False, 2)] * 3
        for waiter in waiters[:2]:
            waiter.reset()
        assert [(w.recount, w.matched) for w in waiters[:2]] == [(True, 0)] * 2
        assert not waiters[1].counted  # ids offered now wait for the read after the reset
    finally:
        loop.close()


def test_every_reset_tells_a_read_in_progress_it_was_overtaken() -> None:
    # A read started after one reset and overtaken by a second must be read again.
    loop = asyncio.new_event_loop()
    try:
        waiter = Waiter({}, loop, ordered=True)
        waiter.reset()
        started = waiter.resets
        waiter.reset()
        assert waiter.resets != started
    finally:
        loop.close()


def test_a_live_view_is_told_the_sum_since_it_last_took_and_nothing_twice() -> None:
    loop = asyncio.new_event_loop()
    try:
        watcher = Watcher(None, loop)
        watcher.note(2, 1, 3, 5, False)
        watcher.note(1, 2, 1, 4, True)
        assert watcher.take() == {
            "events": 3, "rejections": 3, "attempts": 4, "latest_event_id": 5, "reset": True,
        }  # fmt: skip
        assert not watcher.woken.is_set()
        watcher.note(1, 0, 0, 6, False)
        assert watcher.take() == {
            "events": 1, "rejections": 0, "attempts": 0, "latest_event_id": 6, "reset": False,
        }  # fmt: skip
    finally:
        loop.close()


def _rejection(namespace: str) -> Rejection:
    return Rejection(
        vendor=None, method="POST", endpoint="/", namespace=namespace, tenant=None, status=404,
        errors=[], headers={}, body=None, request_id="r", received_at=TIMES_LIST[0],
    )  # fmt: skip


def _attempt(namespace: str) -> Attempt:
    return Attempt(
        request_id="r", rule_id=1, fault="status", vendor="lucidworks", endpoint="/x",
        namespace=namespace, tenant=None, status=503, stored=False, received_at=TIMES_LIST[0],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("namespace", "rejections", "attempts"), [("live", 2, 1), (None, 3, 3)], ids=str
)
def test_a_live_view_is_told_its_namespaces_rejections_and_fault_attempts(
    namespace: str | None, rejections: int, attempts: int
) -> None:
    store = SqliteStore(":memory:", ANALYTICS)

    def commit() -> None:
        store.add(
            rejections=[_rejection("live"), _rejection("live"), _rejection("other")],
            attempts=[_attempt("live"), _attempt("other"), _attempt("other")],
        )

    told = _what_a_live_view_is_told(store, namespace, commit)
    assert told == {
        "events": 0, "rejections": rejections, "attempts": attempts, "latest_event_id": 0,
        "reset": False,
    }  # fmt: skip
    store.close()


class _HeardStore(SqliteStore):
    """Keeps what each listener said about whether it wants other processes' commits."""

    def __init__(self) -> None:
        super().__init__(":memory:")
        self.wanted: list[Callable[[], bool]] = []

    def add_listener(
        self, listener: Callable[[Change], None], wanted: Callable[[], bool] = lambda: True
    ) -> Callable[[], None]:
        self.wanted.append(wanted)
        return super().add_listener(listener, wanted)


def test_the_feed_wants_other_servers_commits_only_while_a_wait_or_a_live_view_is_open() -> None:
    # With PostgreSQL, every other server's commit is read back while a listener wants it.
    async def follow() -> list[bool]:
        store = _HeardStore()
        feed = ChangeFeed(store)
        (wanted,) = store.wanted
        seen = [wanted()]
        watcher = feed.watch(None)
        seen.append(wanted())
        feed.unwatch(watcher)
        seen.append(wanted())
        waiter = feed.subscribe({"user": "u"})
        seen.append(wanted())
        feed.unsubscribe(waiter)
        seen.append(wanted())
        store.close()
        return seen

    assert asyncio.run(follow()) == [False, True, False, True, False]


def test_a_detached_feed_hears_nothing_until_it_is_attached_again() -> None:
    async def follow() -> list[bool]:
        store = _HeardStore()
        feed = ChangeFeed(store)
        watcher = feed.watch(None)
        heard = []
        feed.detach()
        store.add([_at(TIMES_LIST[0])])
        await asyncio.sleep(0)
        heard.append(watcher.woken.is_set())
        feed.attach()
        feed.attach()  # attached already: still one listener
        store.add([_at(TIMES_LIST[0])])
        await asyncio.sleep(0)
        heard.append(watcher.woken.is_set())
        heard.append(len(store.wanted) == 2)
        heard.append(store.wanted[-1]())  # the live view is open ...
        feed.unwatch(watcher)
        heard.append(store.wanted[-1]())  # ... and now closed
        store.close()
        return heard

    assert asyncio.run(follow()) == [False, True, True, True, False]


def test_waiters_are_offered_what_matches_them_whichever_filter_indexes_them() -> None:
    # Indexed by their most selective equality filter; unfiltered ones see every event. A
    # waiter that ends leaves nothing behind, and the others on its index still hear.
    async def follow() -> tuple[set[tuple[str, Any]], list[bool], bool]:
        store = SqliteStore(":memory:", ANALYTICS)
        feed = ChangeFeed(store)
        by_user = feed.subscribe({"vendor": "lucidworks", "user": "u"})
        also_by_user = feed.subscribe({"user": "u"})
        by_vendor = feed.subscribe({"vendor": "lucidworks"})
        anything = feed.subscribe({})
        other_user = feed.subscribe({"user": "w"})
        keys = set(feed._by_key)
        feed.unsubscribe(by_user)
        store.add([_at(TIMES_LIST[0], user="u")])
        await asyncio.sleep(0)
        woken = [w.woken.is_set() for w in (also_by_user, by_vendor, anything, other_user)]
        for waiter in (also_by_user, by_vendor, anything, other_user):
            feed.unsubscribe(waiter)
        left = bool(feed._all or feed._by_key or feed._unkeyed)
        store.close()
        return keys, woken, left

    keys, woken, left = asyncio.run(follow())
    assert keys == {("user", "u"), ("vendor", "lucidworks"), ("user", "w")}
    assert woken == [True, True, True, False]
    assert not left


def test_a_waiter_is_ordered_and_in_memory_unless_told_otherwise() -> None:
    async def subscribe() -> list[tuple[bool, bool]]:
        store = SqliteStore(":memory:", ANALYTICS)
        feed = ChangeFeed(store)
        made = [feed.subscribe({}), feed.subscribe({}, in_memory=False)]
        store.close()
        return [(waiter.ordered, waiter.in_memory) for waiter in made]

    assert asyncio.run(subscribe()) == [(True, True), (True, False)]

"""The in-memory match of /_mock/wait selects exactly what the store's SQL filters select, and
a waiter counts each match once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.events import Event
from mockserver.inspect.waiting import Waiter, matches
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

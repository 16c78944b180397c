"""The in-memory match of /_mock/wait selects exactly what the store's SQL filters select."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.events import Event
from mockserver.inspect.waiting import matches
from mockserver.storage import SqliteStore

WORDS = st.sampled_from(["a", "b", "c"])
TIMES = st.sampled_from(
    ["2026-01-01T00:00:00.000000Z", "2026-01-02T00:00:00.000000Z", "2026-01-03T00:00:00.000000Z"]
)


@st.composite
def events(draw: st.DrawFn) -> Event:
    maybe = st.none() | WORDS
    return Event(
        vendor=draw(st.sampled_from(["neuralens", "lucidworks"])), endpoint="/x",
        type=draw(WORDS), namespace=draw(WORDS), tenant=draw(maybe), user=draw(maybe),
        session=draw(maybe), query=draw(maybe), query_id=draw(maybe),
        items=draw(st.lists(WORDS, max_size=3)), position=None, timestamp_ms=None,
        payload="{}", request_id="r", received_at=draw(TIMES),
    )  # fmt: skip


FILTERS = st.fixed_dictionaries(
    {},
    optional={
        name: st.sampled_from(["neuralens", "lucidworks"]) if name == "vendor" else WORDS
        for name in (
            "namespace",
            "vendor",
            "type",
            "tenant",
            "user",
            "session",
            "query",
            "query_id",
            "item",
        )
    }
    | {"since": TIMES, "until": TIMES},
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

"""The analytics' running totals on PostgreSQL (``storage/totals_sql.py``), against a real
server: they answer what the from-the-events computation answers, whatever order events are
committed and folded in, through resets, and with two stores (two servers) writing and
folding on one database at once."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.events import Event
from mockserver.storage.base import AnalyticsQuery
from mockserver.storage.filters import event_row
from mockserver.storage.postgres import _INSERT, PostgresStore
from mockserver.storage.totals import answers
from mockserver.vendors.registry import ANALYTICS
from tests.postgres_server import PostgresServer
from tests.test_storage_totals import GAPS, MINUTE, QUERIES, T0, counted, events

pytestmark = pytest.mark.slow  # a real PostgreSQL server


@pytest.fixture(scope="module")
def pg_store(postgres_server: PostgresServer) -> Iterator[PostgresStore]:
    store = PostgresStore(postgres_server.database(), ANALYTICS)
    yield store
    store.close()


def from_events(store: PostgresStore, query: AnalyticsQuery) -> dict[str, Any]:
    return counted(store.analytics_from_events(query))


def assert_totals_answer_what_the_events_do(store: PostgresStore) -> None:
    store.fold_analytics()
    assert store.unfolded() == 0
    for query in QUERIES:
        assert answers(query, GAPS)
        assert counted(store.analytics(query)) == from_events(store, query), query


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(st.lists(events(), min_size=1, max_size=12), min_size=1, max_size=6),
    events_a_fold=st.integers(1, 4),
    fold_after=st.lists(st.booleans(), min_size=6, max_size=6),
    reset=st.sampled_from([None, "a", "all"]),
)
def test_the_totals_answer_what_the_events_do(
    pg_store: PostgresStore,
    monkeypatch: pytest.MonkeyPatch,
    batches: list[list[Event]],
    events_a_fold: int,
    fold_after: list[bool],
    reset: str | None,
) -> None:
    store = pg_store
    store.reset()
    monkeypatch.setattr(store, "FOLD_EVENTS", events_a_fold)
    for number, batch in enumerate(batches):
        half = len(batch) // 2  # commits of one event and of several; folds take a few
        store.add(batch[:half])
        for event in batch[half:]:
            store.add([event])
        if fold_after[number]:
            store.fold_analytics()
        if reset and number == len(batches) // 2:
            store.reset(None if reset == "all" else reset)
    assert_totals_answer_what_the_events_do(store)


def _lucidworks(kind: str, minute: int, query_id: str = "q1") -> Event:
    return Event(
        vendor="lucidworks", endpoint=f"/retail/signals/{kind}", type=kind, namespace="a",
        tenant="t1", user="u1", session=None, query="sofa", query_id=query_id, items=("p1",),
        position=2, timestamp_ms=T0 + minute * MINUTE, payload="{}", request_id="r",
        received_at="2026-11-30T00:00:00.000000Z",
    )  # fmt: skip


def test_an_event_committed_after_a_later_id_was_folded_is_still_folded(
    pg_store: PostgresStore,
) -> None:
    # Two servers: one takes an id and commits late, the other commits a higher id, which is
    # folded first. Folding "every id above the highest folded" would never fold the first.
    store = pg_store
    store.reset()
    url = store._url
    with psycopg.connect(url) as late:
        (late_id,) = late.execute(  # type: ignore[misc]
            _INSERT[Event], event_row(_lucidworks("query", 0), {})
        ).fetchone()
        late.execute("INSERT INTO totals_pending VALUES (%s)", ([late_id],))
        store.add([_lucidworks("click", 1)])
        store.fold_analytics()
        assert store.analytics(AnalyticsQuery())["searches"] == 0  # the query is not in yet
        late.commit()
    answer = store.analytics(AnalyticsQuery())
    assert (answer["searches"], answer["clicked"]) == (1, 1)
    assert_totals_answer_what_the_events_do(store)


def test_a_late_event_joins_two_sessions_and_their_searches(pg_store: PostgresStore) -> None:
    store = pg_store
    store.reset()
    gap = 30  # minutes: Lucidworks' default session gap
    store.add([_lucidworks("query", 0), _lucidworks("click", 2 * gap - 10, "q2")])
    store.add([_lucidworks("query", 2 * gap - 12, "q2")])
    store.fold_analytics()
    assert store.analytics(AnalyticsQuery())["sessions"] == 2
    store.add([replace(_lucidworks("cartadd", gap - 5), query_id=None)])  # between them
    after = store.analytics(AnalyticsQuery())
    assert (after["sessions"], after["searches"], after["carted"]) == (1, 2, 1)
    assert_totals_answer_what_the_events_do(store)


def test_two_servers_writing_and_folding_at_once_keep_exact_totals(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.database()
    stores = [PostgresStore(url, ANALYTICS) for _ in range(2)]
    try:

        def write(store: PostgresStore, seed: int) -> None:
            for event in _seeded(seed):
                store.add([event])  # each store's own thread folds as events arrive

        threads = [threading.Thread(target=write, args=(s, n)) for n, s in enumerate(stores)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for store in stores:
            assert_totals_answer_what_the_events_do(store)
    finally:
        for store in stores:
            store.close()


def _seeded(seed: int, count: int = 60) -> list[Event]:
    """Lucidworks events of a few users, sessions, queries and namespaces, in time order."""
    chooser = random.Random(seed)
    return [
        replace(
            _lucidworks(chooser.choice(["query", "click", "cartadd", "purchase"]), minute),
            namespace=chooser.choice(["a", "b"]),
            user=chooser.choice(["u1", "u2"]),
            query_id=chooser.choice(["q1", "q2", "q3"]),
            session=chooser.choice([None, "S1"]),
        )
        for minute in sorted(chooser.sample(range(0, 300), count))
    ]


def test_events_stored_before_the_totals_existed_are_folded(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.database()
    store = PostgresStore(url, ANALYTICS)
    store.add(_seeded(7, 30))
    store.close()
    with psycopg.connect(url) as conn:  # the database as a version without the totals left it
        conn.execute(
            "DROP TABLE totals_pending, totals_counts, totals_clicks, totals_sessions, "
            "totals_searches_by_id, totals_searches_by_session"
        )
        conn.execute("DELETE FROM _mockserver_migrations WHERE name LIKE 'm006%'")
    store = PostgresStore(url, ANALYTICS)
    try:
        assert store.analytics(AnalyticsQuery())["sessions"] > 0
        assert_totals_answer_what_the_events_do(store)
    finally:
        store.close()

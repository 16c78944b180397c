"""The analytics' running totals (``storage/totals_sql.py``) answer what computing from the
events answers (``from_events.py``), whatever order events arrive in, however they are folded
in chunks, across resets; and they keep up by themselves."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from mockserver.events import Event
from mockserver.storage import SqliteStore
from mockserver.storage.base import AnalyticsQuery
from mockserver.storage.dialect import SQLITE
from mockserver.storage.from_events import event_counts, position_counts, search_counts
from mockserver.storage.totals import answers
from mockserver.vendors.registry import ANALYTICS

GAPS = {v.vendor: v.session_gap_ms for v in ANALYTICS}

MINUTE = 60_000
T0 = 1_795_000_000_000 // MINUTE * MINUTE  # a whole minute in 2026
LUCIDWORKS = {"query": None, "click": None, "cartadd": None, "purchase": None}
NEURALENS = ("VIEW_PRODUCT", "CLICK_PRODUCT", "ADD_TO_CART", "PURCHASE")


@st.composite
def events(draw: st.DrawFn) -> Event:
    """Few users, queries and ids, times on and just off the session gaps, so that sessions
    split, join and straddle periods."""
    vendor = draw(st.sampled_from(["lucidworks", "neuralens"]))
    minute = draw(st.sampled_from(range(0, 151, 5)))  # often exactly a gap apart
    offset = draw(st.sampled_from([0, 0, 0, 1, -1]))
    common: dict[str, Any] = {
        "namespace": draw(st.sampled_from(["a", "b"])),
        "tenant": draw(st.sampled_from([None, "t1"])),
        "user": draw(st.sampled_from([None, "u1", "u2", "u2", "u3"])),
        "query": draw(st.sampled_from([None, "Sofa", "sofa ", "lamp", "oak"])),
        "timestamp_ms": T0 + minute * MINUTE + offset,
        "position": draw(st.sampled_from([None, 1, 2, 7, 20, 21, 40])),
        "payload": "{}", "request_id": "r", "received_at": "2026-11-30T00:00:00.000000Z",
    }  # fmt: skip
    if vendor == "lucidworks":
        kind = draw(st.sampled_from(list(LUCIDWORKS)))
        return Event(
            vendor=vendor, endpoint=f"/retail/signals/{kind}", type=kind,
            session=draw(st.sampled_from([None, None, "S1", "S2"])),
            query_id=draw(st.sampled_from([None, "q1", "q2", "q3", "q4"])),
            items=tuple(draw(st.lists(st.sampled_from(["p1", "p2"]), max_size=2))),
            revenue=draw(st.sampled_from([None, 10.0, 2.5])) if kind == "purchase" else None,
            **common,
        )  # fmt: skip
    return Event(
        vendor=vendor, endpoint="/analytics/event", type=draw(st.sampled_from(NEURALENS)),
        session=None, query_id=None, items=("n1",),
        page=draw(st.sampled_from(["SEARCH_RESULT_PAGE", "SEARCH_RESULT_PAGE", "PRODUCT_PAGE"])),
        **common,
    )  # fmt: skip


QUERIES = [
    AnalyticsQuery(),
    AnalyticsQuery(namespace="a"),
    AnalyticsQuery(vendor="neuralens", bucket_ms=3_600_000),
    AnalyticsQuery(vendor="lucidworks", tenant="t1"),
    AnalyticsQuery(since_ms=T0 + 30 * MINUTE, until_ms=T0 + 90 * MINUTE),
    AnalyticsQuery(namespace="b", until_ms=T0 + 45 * MINUTE),
]


def counted(counts: dict[str, Any]) -> dict[str, Any]:
    """The counts, with sums of floats rounded (the two ways add them in other orders), and
    without the store's ``signal_quality`` (read from the events on both ways; held to
    hand-worked values in tests/test_storage_signal_quality.py)."""
    counts.pop("signal_quality", None)
    for name in ("revenue", "position_sum"):
        if counts[name] is not None:
            counts[name] = round(counts[name], 6)
    counts["positions"] = {k: v for k, v in counts["positions"].items() if v}
    return counts


@pytest.fixture
def memory_store() -> Iterator[SqliteStore]:
    store = SqliteStore(":memory:", ANALYTICS)
    yield store
    store.close()


def _phases() -> tuple[Phase, ...]:
    """Every phase, but under mutation testing (tests/mutate.py), where only the verdict
    counts: there a failing example is not shrunk (minutes a mutant, most of the run)."""
    if "__mutmut_" not in os.environ.get("MUTANT_UNDER_TEST", ""):  # the mutant's name
        return tuple(Phase)
    return tuple(phase for phase in Phase if phase is not Phase.shrink)


def test_the_totals_answer_what_the_events_do(
    memory_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = memory_store

    # Settings chosen when the test runs, not when it is imported (see _phases).
    @settings(max_examples=60, deadline=None, phases=_phases())
    @given(
        batches=st.lists(st.lists(events(), min_size=1, max_size=12), min_size=1, max_size=6),
        chunk=st.integers(1, 7),
        fold_after=st.lists(st.booleans(), min_size=6, max_size=6),
        reset=st.sampled_from([None, "a", "all"]),
    )
    def check(
        batches: list[list[Event]], chunk: int, fold_after: list[bool], reset: str | None
    ) -> None:
        store.reset()
        monkeypatch.setattr(store, "FOLD_CHUNK", chunk)
        for number, batch in enumerate(batches):
            store.add(batch)
            if fold_after[number]:  # some batches fold at once, some pile up and fold together
                store.fold_analytics()
            if reset and number == len(batches) // 2:
                store.reset(None if reset == "all" else reset)
        store.fold_analytics()
        assert store.unfolded() == 0
        for query in QUERIES:
            assert answers(query, GAPS)
            from_totals = counted(store.analytics(query))
            from_events = counted(store.analytics_from_events(query))
            assert from_totals == from_events, query

    check()


def test_a_late_event_joins_two_sessions_and_their_searches(memory_store: SqliteStore) -> None:
    def nl(minute: int, kind: str, page: str = "SEARCH_RESULT_PAGE") -> Event:
        return Event(
            vendor="neuralens", endpoint="/analytics/event", type=kind, namespace="a",
            tenant=None, user="u1", session=None, query="sofa", query_id=None, items=("n1",),
            position=None, timestamp_ms=T0 + minute * MINUTE, payload="{}", request_id="r",
            received_at="2026-11-30T00:00:00.000000Z", page=page,
        )  # fmt: skip

    store = memory_store
    # 0: a search; 50: a click with the same query (off the results page): two sessions.
    store.add([nl(0, "VIEW_PRODUCT"), nl(50, "CLICK_PRODUCT", "CATEGORY_PAGE")])
    store.fold_analytics()
    before = store.analytics(AnalyticsQuery())
    assert (before["sessions"], before["searches"], before["clicked"]) == (2, 1, 0)
    store.add([nl(25, "ADD_TO_CART", "PRODUCT_PAGE")])  # arrives late, between them
    after = store.analytics(AnalyticsQuery())
    assert (after["sessions"], after["searches"], after["clicked"]) == (1, 1, 1)
    assert after["carted"] == 1


def neuralens(minute: int, kind: str, user: str = "u1", query: str | None = None,
              page: str = "PRODUCT_PAGE", **over: Any) -> Event:  # fmt: skip
    """A Neuralens event ``minute`` minutes after T0 (its session gap is 30 minutes)."""
    return Event(
        vendor="neuralens", endpoint="/analytics/event", type=kind, namespace="a", tenant=None,
        user=user, session=None, query=query, query_id=None, items=("n1",), position=None,
        timestamp_ms=T0 + minute * MINUTE, payload="{}", request_id="r",
        received_at="2026-11-30T00:00:00.000000Z", page=page, **over,
    )  # fmt: skip


def test_late_events_join_three_sessions_into_one_that_keeps_what_each_had(
    memory_store: SqliteStore,
) -> None:
    """u1, three sessions: A a search "sofa" (0), a click on "desk" off the results page (3),
    a purchase (5); B an add-to-cart (40), "sofa" again (41) and clicked (42), a search "desk"
    (43); C a view (80). Views at 20 and 60, arriving late, join them into A's. u2, two
    sessions: a search "lamp" (0), a purchase (40), joined by a view at 20.

    Joined, u1 has two searches: "sofa" at 0 (its first time; clicked in B; followed by B's
    add-to-cart and A's purchase) and "desk" at 43 (clicked, in A; the add-to-cart and the
    purchase came before it); u2's "lamp" is followed by the purchase."""
    store = memory_store
    srp = "SEARCH_RESULT_PAGE"
    store.add(
        [
            neuralens(0, "VIEW_PRODUCT", query="sofa", page=srp),
            neuralens(3, "CLICK_PRODUCT", query="desk", page="CATEGORY_PAGE"),
            neuralens(5, "PURCHASE"),
            neuralens(40, "ADD_TO_CART"),
            neuralens(41, "VIEW_PRODUCT", query="sofa", page=srp),
            neuralens(42, "CLICK_PRODUCT", query="sofa", page=srp),
            neuralens(43, "VIEW_PRODUCT", query="desk", page=srp),
            neuralens(80, "VIEW_PRODUCT"),
            neuralens(0, "VIEW_PRODUCT", "u2", query="lamp", page=srp),
            neuralens(40, "PURCHASE", "u2"),
        ]
    )
    store.fold_analytics()
    figures = ("sessions", "searches", "clicked", "carted", "purchased")
    before = store.analytics(AnalyticsQuery())
    assert [before[name] for name in figures] == [5, 4, 1, 0, 1]
    store.add([neuralens(20, "VIEW_PRODUCT"), neuralens(60, "VIEW_PRODUCT")])
    store.add([neuralens(20, "VIEW_PRODUCT", "u2")])
    after = store.analytics(AnalyticsQuery())
    assert [after[name] for name in figures] == [2, 3, 2, 1, 2]
    assert after["top_queries"] == [("desk", 1, 1), ("lamp", 1, 0), ("sofa", 1, 1)]
    assert store.analytics(AnalyticsQuery(until_ms=T0 + MINUTE))["sessions"] == 2
    assert store.analytics(AnalyticsQuery(since_ms=T0 + 30 * MINUTE))["top_queries"] == [
        ("desk", 1, 1)
    ]


def test_a_neuralens_search_keeps_its_first_time_and_its_click_across_folds(
    memory_store: SqliteStore,
) -> None:
    """One session of u1, folded in two batches. "sofa": seen on the results page at 0 and
    clicked at 1, seen again at 10. "chair": clicked off the results page at 3 (no search
    yet), seen on the results page at 12. "desk": seen at 4, clicked at 13. "lamp": clicked
    off the results page at 2 and 11, never a search."""
    store = memory_store
    store.add(
        [
            neuralens(0, "VIEW_PRODUCT", query="sofa", page="SEARCH_RESULT_PAGE"),
            neuralens(1, "CLICK_PRODUCT", query="sofa", page="SEARCH_RESULT_PAGE"),
            neuralens(2, "CLICK_PRODUCT", query="lamp", page="CATEGORY_PAGE"),
            neuralens(3, "CLICK_PRODUCT", query="chair", page="CATEGORY_PAGE"),
            neuralens(4, "VIEW_PRODUCT", query="desk", page="SEARCH_RESULT_PAGE"),
        ]
    )
    store.fold_analytics()
    store.add(
        [
            neuralens(10, "VIEW_PRODUCT", query="sofa", page="SEARCH_RESULT_PAGE"),
            neuralens(11, "CLICK_PRODUCT", query="lamp", page="CATEGORY_PAGE"),
            neuralens(12, "VIEW_PRODUCT", query="chair", page="SEARCH_RESULT_PAGE"),
            neuralens(13, "CLICK_PRODUCT", query="desk", page="SEARCH_RESULT_PAGE"),
        ]
    )
    store.fold_analytics()
    counts = store.analytics(AnalyticsQuery())
    assert (counts["searches"], counts["clicked"]) == (3, 3)
    assert counts["top_queries"] == [("chair", 1, 1), ("desk", 1, 1), ("sofa", 1, 1)]
    later = store.analytics(AnalyticsQuery(since_ms=T0 + 5 * MINUTE))
    assert later["top_queries"] == [("chair", 1, 1)]  # sofa's search was at 0, desk's at 4


def test_a_search_is_followed_by_the_sessions_last_add_to_cart_and_purchase(
    memory_store: SqliteStore,
) -> None:
    """One session: an add-to-cart and a purchase (0, 1) before the search (10), and again
    after it (20, 21): the search was followed by both."""
    memory_store.add(
        [
            neuralens(0, "ADD_TO_CART"),
            neuralens(1, "PURCHASE"),
            neuralens(10, "VIEW_PRODUCT", query="sofa", page="SEARCH_RESULT_PAGE"),
            neuralens(20, "ADD_TO_CART"),
            neuralens(21, "PURCHASE"),
        ]
    )
    counts = memory_store.analytics(AnalyticsQuery())
    assert [counts[name] for name in ("sessions", "searches", "carted", "purchased")] == [
        1,
        1,
        1,
        1,
    ]


def test_events_arriving_late_before_a_session_leave_it_its_later_add_to_cart_and_purchase(
    memory_store: SqliteStore,
) -> None:
    """Stored: a session with a search (30), an add-to-cart (40) and a purchase (41). Late: an
    add-to-cart and a purchase (20, 21) before it, in the same session: the search is still
    followed by both (the session's last ones are 40 and 41, not 20 and 21)."""
    store = memory_store
    store.add(
        [
            neuralens(30, "VIEW_PRODUCT", query="sofa", page="SEARCH_RESULT_PAGE"),
            neuralens(40, "ADD_TO_CART"),
            neuralens(41, "PURCHASE"),
        ]
    )
    store.fold_analytics()
    store.add([neuralens(20, "ADD_TO_CART"), neuralens(21, "PURCHASE")])
    counts = store.analytics(AnalyticsQuery())
    assert [counts[name] for name in ("sessions", "searches", "carted", "purchased")] == [
        1,
        1,
        1,
        1,
    ]


def lucidworks(minute: int, kind: str, user: str | None, query_id: str | None = None,
               query: str | None = None) -> Event:  # fmt: skip
    return Event(
        vendor="lucidworks", endpoint=f"/retail/signals/{kind}", type=kind, namespace="a",
        tenant=None, user=user, session=None, query=query, query_id=query_id, items=("p1",),
        position=None, timestamp_ms=T0 + minute * MINUTE, payload="{}", request_id="r",
        received_at="2026-11-30T00:00:00.000000Z",
    )  # fmt: skip


def test_a_lucidworks_search_is_its_earliest_query_signal_and_on_a_tie_the_first_stored() -> None:
    """q1: "sofa" and "lamp" at the same time: the first stored, "sofa". q2: "chair" at 10,
    then "desk" at 5: the earlier, "desk". Three events without a user or a session follow
    (each a session alone, so that u's session has a higher id than the events before)."""
    store = SqliteStore(":memory:", ANALYTICS)
    try:
        store.add(
            [
                lucidworks(0, "query", "u", "q1", "sofa"),
                lucidworks(0, "query", "u", "q1", "lamp"),
                lucidworks(10, "query", "u", "q2", "chair"),
                lucidworks(5, "query", "u", "q2", "desk"),
                *(lucidworks(1, "purchase", None) for _ in range(3)),
            ]
        )
        counts = store.analytics(AnalyticsQuery())
        assert counts["top_queries"] == [("desk", 1, 0), ("sofa", 1, 0)]
        from_events = store.analytics_from_events(AnalyticsQuery())
        assert from_events["top_queries"] == counts["top_queries"]
    finally:
        store.close()


def test_unfolded_counts_the_events_not_yet_in_the_totals(tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SqliteStore, "_fold_in_background", lambda self: None)
        store = SqliteStore(str(tmp_path / "mock.db"), ANALYTICS)
    try:
        store.add([neuralens(minute, "VIEW_PRODUCT") for minute in range(3)])
        assert store.unfolded() == 3
        store.fold_analytics()
        assert store.unfolded() == 0
    finally:
        store.close()


def test_the_totals_keep_up_by_themselves(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "mock.db"), ANALYTICS)
    try:
        event = Event(
            vendor="lucidworks", endpoint="/retail/signals/query", type="query", namespace="a",
            tenant="t", user="v", session="s", query="sofa", query_id="q", items=(),
            position=None, timestamp_ms=T0, payload="{}", request_id="r",
            received_at="2026-11-30T00:00:00.000000Z",
        )  # fmt: skip
        store.add([replace(event, query_id=f"q{n}") for n in range(50)])
        deadline = time.monotonic() + 10
        while store.unfolded() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.unfolded() == 0
    finally:
        store.close()
    # Stored by a process that stopped before folding: the next one folds at start.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SqliteStore, "_fold_in_background", lambda self: None)
        store = SqliteStore(str(tmp_path / "mock.db"), ANALYTICS)
        store.add([replace(event, query_id="late")])
        store.close()
    store = SqliteStore(str(tmp_path / "mock.db"), ANALYTICS)
    try:
        assert store.analytics(AnalyticsQuery())["searches"] == 51
    finally:
        store.close()


@pytest.mark.parametrize(
    ("query", "answered"),
    [
        (AnalyticsQuery(), True),
        (AnalyticsQuery(since_ms=T0 + 5 * MINUTE), True),
        (AnalyticsQuery(since_ms=T0 + 5 * MINUTE + 1), False),
        (AnalyticsQuery(until_ms=T0 - 30_000), False),
        (AnalyticsQuery(session_gap_ms={**GAPS, "neuralens": 60_000}), False),
    ],
)
def test_periods_of_whole_minutes_at_the_default_gaps_come_from_the_totals(
    query: AnalyticsQuery, answered: bool
) -> None:
    assert answers(query, GAPS) is answered


# -- the shared pieces against hand-worked values (issue 29) ----------------------------------
# The property test above holds the running totals to the counts from the events, but both
# go through floor_div, search_counts, event_counts and position_counts: a bug there moves
# both sides at once. These hold them to values worked out by hand.


@pytest.mark.parametrize(
    ("number", "divisor", "floor"),
    [
        (7, 2, 3),
        (-7, 2, -4),  # SQLite's / gives -3
        (-8, 2, -4),  # exact: no step down
        (0, 60_000, 0),
        (-1, 60_000, -1),  # 1 ms before the epoch is in the minute before it
        (-60_000, 60_000, -1),
        (-60_001, 60_000, -2),
        (2**63 - 1, 3_600_000, 2_562_047_788_015),
        (-(2**63), 3_600_000, -2_562_047_788_016),  # number - number % divisor overflows
    ],
)
def test_floor_div_rounds_down_as_python_does(number: int, divisor: int, floor: int) -> None:
    conn = sqlite3.connect(":memory:")
    (got,) = conn.execute(
        f"SELECT {SQLITE.floor_div(':n', ':d')}", {"n": number, "d": divisor}
    ).fetchone()
    conn.close()
    assert got == floor == number // divisor


# One row a query as compared: searches, clicked, carted, purchased, clicked and carted,
# clicked and carted and purchased, with zero results.
QUERY_ROWS = [
    ("lamp", 3, 1, 1, 0, 1, 0, 2),
    (None, 2, 0, 0, 0, 0, 0, 0),  # searches without a query
    ("sofa", 2, 2, 1, 1, 1, 1, 0),
    ("chair", 1, 0, 0, 0, 0, 0, 1),
]


def test_search_counts_add_up_the_queries() -> None:
    counts = search_counts(QUERY_ROWS)
    funnel = ("searches", "clicked", "carted", "purchased", "funnel_carted", "funnel_purchased")
    assert [counts[name] for name in funnel] == [8, 3, 2, 1, 2, 1]


def test_search_counts_list_queries_most_first_then_no_query_then_by_name() -> None:
    counts = search_counts(QUERY_ROWS)
    assert counts["top_queries"] == [("lamp", 3, 1), (None, 2, 0), ("sofa", 2, 2), ("chair", 1, 0)]
    # Searches without a click: lamp 2, none 2, chair 1; sofa's were all clicked.
    assert counts["no_click_queries"] == [(None, 2), ("lamp", 2), ("chair", 1)]
    assert counts["zero_result_queries"] == [("lamp", 2), ("chair", 1)]


def test_search_counts_keep_the_twenty_queries_with_the_most() -> None:
    rows = [(f"q{n:02}", 1 + (n == 20), 0, 0, 0, 0, 0, 1) for n in range(21)]
    top = [q for q, *_ in search_counts(rows)["top_queries"]]
    assert top == ["q20", *(f"q{n:02}" for n in range(19))]  # q19 is the 21st


def test_event_counts_add_up_purchases_revenue_and_clicks_of_both_vendors() -> None:
    # (bucket, type, events, their revenue, how many carried one, how many were clicks, how
    # many were purchases)
    rows = [
        (-1, "purchase", 2, 150.0, 2, 0, 2),
        (0, "purchase", 1, 0.0, 0, 0, 1),  # no revenue: counts as a purchase, adds nothing
        (0, "PURCHASE", 3, 0.0, 0, 0, 3),
        (0, "click", 4, 0.0, 0, 4, 0),
        (0, "CLICK_PRODUCT", 5, 0.0, 0, 5, 0),
        (1, "query", 6, 0.0, 0, 0, 0),
    ]
    counts = event_counts(rows)
    assert counts["series"] == [(bucket, kind, n) for bucket, kind, n, *_ in rows]
    assert (counts["purchases"], counts["clicks"]) == (6, 9)
    assert (counts["revenue"], counts["revenue_purchases"]) == (150.0, 2)


def test_event_counts_give_no_revenue_when_no_purchase_carried_one() -> None:
    counts = event_counts([(0, "purchase", 1, 0.0, 0, 0, 1), (0, "PURCHASE", 2, 0.0, 0, 0, 2)])
    assert (counts["purchases"], counts["revenue"]) == (3, None)


def test_position_counts_count_each_position_and_sum_them() -> None:
    # (position, 21 for beyond 20; clicks; the sum of their positions)
    counts = position_counts([(1, 3, 3.0), (2, 1, 2.0), (21, 2, 65.0)])
    assert counts == {"positions": {1: 3, 2: 1, 21: 2}, "position_sum": 70.0, "position_count": 6}


# -- folding, pinned directly (issue 29) --------------------------------------------------------


@pytest.fixture
def quiet_store() -> Iterator[SqliteStore]:
    """A store that folds only when told: no background folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SqliteStore, "_fold_in_background", lambda self: None)
        store = SqliteStore(":memory:", ANALYTICS)
    yield store
    store.close()


def test_fold_some_folds_up_to_its_limit_and_says_when_nothing_is_left(
    quiet_store: SqliteStore,
) -> None:
    quiet_store.add([neuralens(minute, "VIEW_PRODUCT") for minute in range(3)])
    conn = quiet_store.db.conn
    with quiet_store._lock:
        quiet_store.FOLD_CHUNK = 2
        assert quiet_store._fold_some(conn, through=3) is True
        assert quiet_store.unfolded() == 1  # the fold is remembered: not folded twice
        assert quiet_store._fold_some(conn, through=3) is True
        assert quiet_store.unfolded() == 0
        assert quiet_store._fold_some(conn, through=3) is False


def test_the_background_fold_lets_the_writer_go_between_chunks_and_a_reader_does_not_wait(
    quiet_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet_store.add([neuralens(minute, "VIEW_PRODUCT") for minute in range(5)])
    quiet_store.FOLD_CHUNK = 2
    free_while_pausing: list[bool] = []

    def pause(seconds: float) -> None:  # another thread (the event loop's) can take the lock
        def take() -> None:
            free_while_pausing.append(quiet_store._lock.acquire(blocking=False))
            if free_while_pausing[-1]:
                quiet_store._lock.release()

        other = threading.Thread(target=take)
        other.start()
        other.join()

    monkeypatch.setattr(time, "sleep", pause)  # the module sqlite.py pauses with
    assert quiet_store.fold_analytics(wait=False) is True
    assert quiet_store.unfolded() == 0
    assert free_while_pausing == [True, True, True]  # after each of the three chunks
    quiet_store.add([neuralens(minute, "VIEW_PRODUCT") for minute in range(5)])
    assert quiet_store.fold_analytics() is True
    assert (quiet_store.unfolded(), len(free_while_pausing)) == (0, 3)


def test_a_fold_takes_the_events_stored_when_it_began_and_leaves_later_ones_to_the_next(
    quiet_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A steady client commits during every pause of the background fold: a fold that chased
    those commits never ended, folding one or two a chunk."""
    quiet_store.add([neuralens(minute, "VIEW_PRODUCT") for minute in range(5)])
    quiet_store.FOLD_CHUNK = 2
    chunks = 0

    def pause(seconds: float) -> None:  # a client's event is committed meanwhile
        nonlocal chunks
        chunks += 1
        if chunks <= 10:  # (a fold that chased them would end after ten more chunks)
            quiet_store.add([neuralens(10 + chunks, "VIEW_PRODUCT")])

    monkeypatch.setattr(time, "sleep", pause)
    assert quiet_store.fold_analytics(wait=False) is True
    assert (chunks, quiet_store.unfolded()) == (3, 3)  # the three stored meanwhile wait
    assert quiet_store.fold_analytics() is True
    assert quiet_store.unfolded() == 0


def test_a_neuralens_search_in_one_batch_is_at_its_earliest_view_and_keeps_its_click(
    quiet_store: SqliteStore,
) -> None:
    """One batch, one session: "sofa" seen on the results page at 10, clicked at 11, and seen
    at 5 in an event stored after both: the search was at 5 (before a period from 7), and a
    view after the click does not undo it."""
    srp = "SEARCH_RESULT_PAGE"
    quiet_store.add(
        [
            neuralens(10, "VIEW_PRODUCT", query="sofa", page=srp),
            neuralens(11, "CLICK_PRODUCT", query="sofa", page=srp),
            neuralens(5, "VIEW_PRODUCT", query="sofa", page=srp),
        ]
    )
    counts = quiet_store.analytics(AnalyticsQuery())
    assert (counts["searches"], counts["clicked"]) == (1, 1)
    assert counts["top_queries"] == [("sofa", 1, 1)]
    assert quiet_store.analytics(AnalyticsQuery(since_ms=T0 + 7 * MINUTE))["searches"] == 0
    assert quiet_store.analytics(AnalyticsQuery(since_ms=T0 + 5 * MINUTE))["searches"] == 1


def folded_one_by_one(store: SqliteStore, *batches: list[Event]) -> dict[str, Any]:
    """Each batch stored and folded before the next; the totals' counts, held to the counts
    from the events."""
    for batch in batches:
        store.add(batch)
        store.fold_analytics()
    counts = store.analytics(AnalyticsQuery())
    assert counted(dict(counts)) == counted(store.analytics_from_events(AnalyticsQuery()))
    return counts


def test_a_lucidworks_search_keeps_its_first_signal_across_folds(quiet_store: SqliteStore) -> None:
    """q1 "sofa" at 5, clicked in a later fold, signalled again as "lamp" at 10 (later: not its
    query), then as "desk" at 1 (earlier: now it is)."""
    counts = folded_one_by_one(
        quiet_store,
        [lucidworks(5, "query", "u", "q1", "sofa")],
        [lucidworks(6, "click", "u", "q1")],
        [lucidworks(10, "query", "u", "q1", "lamp")],
    )
    assert counts["top_queries"] == [("sofa", 1, 1)]
    counts = folded_one_by_one(quiet_store, [lucidworks(1, "query", "u", "q1", "desk")])
    assert counts["top_queries"] == [("desk", 1, 1)]


def test_a_lucidworks_search_moves_with_its_session_when_a_late_event_joins_two(
    quiet_store: SqliteStore,
) -> None:
    """u's add-to-cart at 60 is folded first (session 1), its search at 0 next (session 2: 60
    minutes is past the 40-minute gap); a view at 30 joins them into session 1, and the
    search, now in it, was followed by the add-to-cart."""
    counts = folded_one_by_one(
        quiet_store,
        [lucidworks(60, "cartadd", "u")],
        [lucidworks(0, "query", "u", "q1", "sofa")],
    )
    assert (counts["sessions"], counts["searches"], counts["carted"]) == (2, 1, 0)
    counts = folded_one_by_one(quiet_store, [lucidworks(30, "click", "u")])
    assert (counts["sessions"], counts["searches"], counts["carted"]) == (1, 1, 1)


def test_a_vendor_without_declared_analytics_is_counted_and_never_split_into_sessions(
    quiet_store: SqliteStore,
) -> None:
    """Events of a vendor the store was given no declaration for: counted by type, never a
    search or a click, and a user's events are one session however far apart."""
    other = [replace(neuralens(m, "tap"), vendor="other", page=None) for m in (0, 120, 600)]
    counts = folded_one_by_one(quiet_store, other)
    assert (counts["events"], counts["sessions"], counts["searches"], counts["clicks"]) == (
        3, 1, 0, 0,
    )  # fmt: skip

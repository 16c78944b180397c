"""A vendor's analytics are what its SPEC declares (``VendorAnalytics``): the store names no
vendor. Two vendors declared here alone, one of each way of telling searches apart, get their
analytics on both stores with nothing under ``mockserver/`` knowing them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mockserver.events import Event
from mockserver.storage import SqliteStore, Store, open_store
from mockserver.storage.base import AnalyticsQuery
from mockserver.storage.semantics import VendorAnalytics
from mockserver.vendors.registry import ANALYTICS
from tests.test_storage_totals import MINUTE, T0, counted

ACME = VendorAnalytics(  # searches told apart by queryId, sessions by session id
    vendor="acme", session_gap_ms=10 * MINUTE, clicks=("select",), cart_adds=("basket",),
    purchases=("order",), search_by="query_id", search_types=("search",), session_ids=True,
    empty_means_no_results=True,
)  # fmt: skip
ZETA = VendorAnalytics(  # by session and query, sessions by a user's gaps
    vendor="zeta", session_gap_ms=5 * MINUTE, clicks=("tap",), cart_adds=("add",),
    purchases=("buy",), search_by="session_query", search_pages=("results",),
)  # fmt: skip
VENDORS = (*ANALYTICS, ACME, ZETA)

STORES: dict[str, Callable[[pytest.FixtureRequest, Path], Store]] = {
    "sqlite": lambda request, tmp: SqliteStore(str(tmp / "m.db"), VENDORS),
    "postgresql": lambda request, tmp: open_store(request.getfixturevalue("postgres_url"), VENDORS),
}


@pytest.fixture(
    params=[
        pytest.param(name, marks=pytest.mark.slow) if name == "postgresql" else name
        for name in STORES
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made = STORES[request.param](request, tmp_path)
    made.reset()
    made.add(ACME_EVENTS + ZETA_EVENTS)
    yield made
    made.close()


def event(vendor: str, minute: int, kind: str, **over: Any) -> Event:
    fields: dict[str, Any] = {
        "vendor": vendor, "endpoint": f"/{vendor}", "type": kind, "namespace": "n",
        "tenant": None, "user": None, "session": None, "query": None, "query_id": None,
        "items": ("p1",), "position": None, "timestamp_ms": T0 + minute * MINUTE,
        "payload": "{}", "request_id": "r", "received_at": "2026-11-30T00:00:00.000000Z",
    }  # fmt: skip
    return Event(**{**fields, **over})


def acme(minute: int, kind: str, **over: Any) -> Event:
    return event("acme", minute, kind, **{"session": "S1", "user": "u1", **over})


ACME_EVENTS = [
    acme(0, "search", query="Desk", query_id="a1"),
    acme(1, "search", query="desk", query_id="a1"),  # the same search, signalled again
    acme(2, "search", query="lamp", query_id="a2", items=()),  # no results
    acme(3, "select", query_id="a1", position=2),
    acme(4, "basket", revenue=99.0),  # not a purchase: its revenue is not counted
    acme(5, "order", revenue=30.0),
    # u1 again 3 minutes later, under the gap, but in another session by its session id
    acme(8, "search", query="sofa", query_id="a3", session="S2"),
]


def zeta(minute: int, kind: str, **over: Any) -> Event:
    return event("zeta", minute, kind, **{"user": "z1", "page": "product", **over})


ZETA_EVENTS = [
    zeta(0, "view", page="results", query="Cup"),
    zeta(1, "tap", query="cup", position=1),  # off the results page, the same query: a click
    zeta(2, "add"),
    zeta(20, "view", page="results", query="cup"),  # 18 minutes later: a second session
    zeta(21, "buy"),
]


def figures(counts: dict[str, Any]) -> dict[str, Any]:
    names = ("sessions", "searches", "clicked", "carted", "purchased", "funnel_carted",
             "funnel_purchased", "events", "clicks", "purchases", "revenue", "position_count",
             "position_sum", "top_queries", "zero_result_queries")  # fmt: skip
    return {name: counts[name] for name in names}


def test_a_vendor_told_apart_by_query_id_gets_its_analytics(store: Store) -> None:
    """a1 "desk" (two signals, the first's query), clicked; a2 "lamp" with no results; both
    followed in session S1 by the basket and the order. a3 "sofa" in S2, nothing after."""
    counts = store.analytics(AnalyticsQuery(vendor="acme"))
    assert figures(counts) == {
        "sessions": 2, "searches": 3, "clicked": 1, "carted": 2, "purchased": 2,
        "funnel_carted": 1, "funnel_purchased": 1, "events": 7, "clicks": 1, "purchases": 1,
        "revenue": 30.0, "position_count": 1, "position_sum": 2.0,
        "top_queries": [("desk", 1, 1), ("lamp", 1, 0), ("sofa", 1, 0)],
        "zero_result_queries": [("lamp", 1)],
    }  # fmt: skip


def test_a_vendor_told_apart_by_session_and_query_gets_its_analytics(store: Store) -> None:
    """z1's "cup" on the results page at 0 (clicked at 1, carted at 2) and again at 20 in a
    new session (the gap is 5 minutes), followed by the purchase at 21."""
    counts = store.analytics(AnalyticsQuery(vendor="zeta"))
    assert figures(counts) == {
        "sessions": 2, "searches": 2, "clicked": 1, "carted": 1, "purchased": 1,
        "funnel_carted": 1, "funnel_purchased": 0, "events": 5, "clicks": 1, "purchases": 1,
        "revenue": None, "position_count": 1, "position_sum": 1.0,
        "top_queries": [("cup", 2, 1)], "zero_result_queries": [],
    }  # fmt: skip


def test_a_declared_gap_can_be_changed_for_one_query(store: Store) -> None:
    """At 30 minutes z1's events are one session: one search, clicked, carted and bought."""
    counts = store.analytics(AnalyticsQuery(vendor="zeta", session_gap_ms={"zeta": 30 * MINUTE}))
    assert (counts["sessions"], counts["searches"], counts["purchased"]) == (1, 1, 1)


def test_the_totals_answer_what_the_events_do_for_declared_vendors(store: Store) -> None:
    for query in (AnalyticsQuery(), AnalyticsQuery(vendor="acme"), AnalyticsQuery(vendor="zeta")):
        from_events = store.analytics_from_events(query)  # type: ignore[attr-defined]
        assert counted(store.analytics(query)) == counted(from_events)


def test_declared_names_are_quoted_as_sql_text(tmp_path: Path) -> None:
    """A vendor and event types with a quote in them are read as declared."""
    quoted = VendorAnalytics(
        vendor="o'brien", session_gap_ms=MINUTE, clicks=("it's",), cart_adds=(),
        purchases=("paid'",), search_by="query_id", search_types=("q'",),
    )  # fmt: skip
    store = SqliteStore(str(tmp_path / "m.db"), (quoted,))
    try:
        store.add(
            [
                event("o'brien", 0, "q'", query="sofa", query_id="x", user="u", items=()),
                event("o'brien", 1, "it's", query_id="x", user="u", position=3),
                event("o'brien", 2, "paid'", user="u", revenue=5.0),
            ]
        )
        counts = store.analytics(AnalyticsQuery())
        assert figures(counts)["clicks"] == 1
        assert (counts["searches"], counts["clicked"], counts["revenue"]) == (1, 1, 5.0)
        # no product named, but a search with no results is not declared for this vendor
        assert counts["zero_result_queries"] == []
    finally:
        store.close()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def test_a_store_given_no_declarations_counts_events_and_finds_no_searches(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    """Without declarations (a store opened outside the app): events counted by type, each
    user one session, no search, click or purchase; both ways to the counts agree."""
    if kind == "sqlite":
        store: Store = SqliteStore(str(tmp_path / "m.db"))
    else:
        store = open_store(request.getfixturevalue("postgres_url"), ())
        store.reset()
    try:
        store.add(ACME_EVENTS + ZETA_EVENTS)
        counts = store.analytics(AnalyticsQuery())
        assert (counts["events"], counts["sessions"], counts["searches"]) == (12, 2, 0)
        assert (counts["clicks"], counts["purchases"], counts["revenue"]) == (0, 0, None)
        from_events = store.analytics_from_events(AnalyticsQuery())  # type: ignore[attr-defined]
        assert counted(counts) == counted(from_events)
    finally:
        store.close()

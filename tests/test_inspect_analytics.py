"""/_mock/analytics: every figure against values worked out by hand on a small set of events.

The set (minutes after 10:00 UTC on 2 November 2026; LW Lucidworks, tenant shop; NL Neuralens,
tenant app):

    #   vendor minute event                          user session query, queryId    notes
    1   LW      0     query                          v1   S1      "Oak Table " q1   3 products
    2   LW      1     click position 2               v1   S1      q1
    3   LW      2     cartadd                        v1   S1      q1
    4   LW      3     purchase revenue 100           v1   S1      q1
    5   LW     10     query                          v2   S2      "lamp" q2         no products
    6   LW     11     query                          v2   S2      "oak table" q3
    7   LW     20     purchase revenue 50            v3   S3      qx                no search
    8   LW     21     click position 25              v3   S3      qy                no search
    9   LW     30     query                          v4   -       "sofa" q4
    10  LW     70     cartadd                        v4   -       q4                40 min on
    11  LW     30     query                          v5   -       "sofa" q5
    12  LW     69     cartadd                        v5   -       q5                39 min on
    13  NL      0     VIEW_PRODUCT, SRP              u1           "Velvet Sofa"
    14  NL      1     CLICK_PRODUCT, SRP, index 0    u1           "velvet sofa"
    15  NL      2     ADD_TO_CART, PRODUCT_PAGE      u1
    16  NL     32     VIEW_PRODUCT, SRP              u1           "velvet sofa"     30 min on
    17  NL      5     CLICK_PRODUCT, SRP, index 4    -            "chair"           anonymous
    18  NL      6     CLICK_PRODUCT, CATEGORY, idx 2 u2                             no query
    19  LW      9     cartadd                        v2   S2      q0                before q2

Sessions: S1, S2, S3; v4 twice (40 minutes is a new Lucidworks session); v5 once (39 is
not); u1 twice (30 minutes is a new Neuralens session); #17 alone (no user); u2: 10.
Searches: q1 q2 q3 q4 q5, and on Neuralens (u1 first session, velvet sofa), (u1 second
session, velvet sofa), (#17, chair): 8. Clicked: q1, u1's first, #17's: 3. Followed by an
add-to-cart in the session: q1 (#3), q5 (#12), u1's first (#15): 3; q4's cart add (#10)
is in v4's next session, and #19 came before q2 and q3. Followed by a purchase: q1: 1.
Clicks with a position: 2, 25, 1, 5, 3 (Neuralens index + 1): mean 36 / 5.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver.events import Event
from mockserver.inspect.analytics import (
    DEFINITIONS,
    MAX_FILLED_BUCKETS,
    analytics_query,
    figures,
)
from mockserver.storage import SqliteStore
from tests.conftest import ROOT

T0 = int(datetime(2026, 11, 2, 10, 0, tzinfo=UTC).timestamp() * 1000)
NEURALENS = "/analytics/event"

pytestmark = pytest.mark.both_stores  # the inspection API over both stores


def lw(number: int, kind: str, minute: int, user: str, session: str | None, query_id: str,
       query: str | None = None, items: tuple[str, ...] = ("p1",), position: int | None = None,
       revenue: float | None = None) -> Event:  # fmt: skip
    return Event(
        vendor="lucidworks", endpoint=f"/retail/signals/{kind}", type=kind, namespace="default",
        tenant="shop", user=user, session=session, query=query, query_id=query_id,
        items=items, position=position, timestamp_ms=T0 + minute * 60_000, payload="{}",
        request_id=f"r{number}", received_at="2026-11-30T00:00:00.000000Z", revenue=revenue,
    )  # fmt: skip


def nl(number: int, kind: str, page: str, minute: int, user: str | None,
       query: str | None = None, index: int | None = None) -> Event:  # fmt: skip
    return Event(
        vendor="neuralens", endpoint=NEURALENS, type=kind, namespace="default", tenant="app",
        user=user, session=None, query=query, query_id=None, items=("n1",),
        position=None if index is None else index + 1, timestamp_ms=T0 + minute * 60_000,
        payload="{}", request_id=f"r{number}", received_at="2026-11-30T00:00:00.000000Z",
        page=page,
    )  # fmt: skip


EVENTS = [
    lw(1, "query", 0, "v1", "S1", "q1", "Oak Table ", items=("p1", "p2", "p3")),
    lw(2, "click", 1, "v1", "S1", "q1", position=2),
    lw(3, "cartadd", 2, "v1", "S1", "q1"),
    lw(4, "purchase", 3, "v1", "S1", "q1", revenue=100.0),
    lw(5, "query", 10, "v2", "S2", "q2", "lamp", items=()),
    lw(6, "query", 11, "v2", "S2", "q3", "oak table"),
    lw(7, "purchase", 20, "v3", "S3", "qx", revenue=50.0),
    lw(8, "click", 21, "v3", "S3", "qy", position=25),
    lw(9, "query", 30, "v4", None, "q4", "sofa", items=("p9",)),
    lw(10, "cartadd", 70, "v4", None, "q4"),
    lw(11, "query", 30, "v5", None, "q5", "sofa", items=("p9",)),
    lw(12, "cartadd", 69, "v5", None, "q5"),
    nl(13, "VIEW_PRODUCT", "SEARCH_RESULT_PAGE", 0, "u1", "Velvet Sofa", index=0),
    nl(14, "CLICK_PRODUCT", "SEARCH_RESULT_PAGE", 1, "u1", "velvet sofa", index=0),
    nl(15, "ADD_TO_CART", "PRODUCT_PAGE", 2, "u1"),
    nl(16, "VIEW_PRODUCT", "SEARCH_RESULT_PAGE", 32, "u1", "velvet sofa", index=0),
    nl(17, "CLICK_PRODUCT", "SEARCH_RESULT_PAGE", 5, None, "chair", index=4),
    nl(18, "CLICK_PRODUCT", "CATEGORY_PAGE", 6, "u2", index=2),
    lw(19, "cartadd", 9, "v2", "S2", "q0"),
]


@pytest.fixture
def analytics(client: TestClient, store: SqliteStore) -> Any:
    store.add(EVENTS)

    def get(**params: Any) -> dict[str, Any]:
        response = client.get("/_mock/analytics", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return get


def test_totals_count_each_event_type(analytics: Any) -> None:
    totals = analytics()["totals"]
    assert totals["events"] == 19
    assert totals["by_type"] == {
        "query": 5, "cartadd": 4, "CLICK_PRODUCT": 3, "VIEW_PRODUCT": 2, "click": 2,
        "purchase": 2, "ADD_TO_CART": 1,
    }  # fmt: skip


def test_sessions_follow_session_ids_else_the_vendors_inactivity_gaps(analytics: Any) -> None:
    assert analytics()["sessions"] == 10
    # With 41 minutes, v4's cart add at 40 minutes joins its search's session.
    longer = analytics(lucidworks_session_minutes=41)
    assert longer["sessions"] == 9
    assert longer["funnel"][0]["count"] == 8
    assert longer["add_to_cart_rate"] == 4 / 8


def test_searches_clicks_and_what_followed(analytics: Any) -> None:
    body = analytics()
    assert body["searches"] == 8
    assert body["ctr"] == 3 / 8
    assert body["add_to_cart_rate"] == 3 / 8
    assert body["conversion_rate"] == 1 / 8
    assert body["funnel"] == [
        {"step": "searches", "count": 8},
        {"step": "clicked", "count": 3},
        {"step": "added_to_cart", "count": 2},  # #17's click has no cart add after it
        {"step": "purchased", "count": 1},
    ]


def test_click_positions(analytics: Any) -> None:
    body = analytics()
    assert body["avg_click_position"] == 36 / 5
    histogram = body["clicks_by_position"]
    assert list(histogram) == [*map(str, range(1, 21)), "21+"]
    assert {k: v for k, v in histogram.items() if v} == {"1": 1, "2": 1, "3": 1, "5": 1, "21+": 1}


def test_query_lists(analytics: Any) -> None:
    body = analytics()
    assert body["top_queries"] == [
        {"query": "oak table", "searches": 2, "ctr": 0.5},  # "Oak Table " compares as this
        {"query": "sofa", "searches": 2, "ctr": 0.0},
        {"query": "velvet sofa", "searches": 2, "ctr": 0.5},
        {"query": "chair", "searches": 1, "ctr": 1.0},
        {"query": "lamp", "searches": 1, "ctr": 0.0},
    ]
    assert body["no_click_queries"] == [
        {"query": "sofa", "count": 2},
        {"query": "lamp", "count": 1},
        {"query": "oak table", "count": 1},
        {"query": "velvet sofa", "count": 1},
    ]
    assert body["zero_result_queries"] == [{"query": "lamp", "count": 1}]


def test_purchases_and_revenue(analytics: Any) -> None:
    body = analytics()
    assert body["purchases"] == 2
    assert body["revenue"] == 150.0  # #7 bought without a search or a cart add: still revenue


def test_series_by_hour_and_by_day(analytics: Any) -> None:
    (day,) = analytics()["series"]
    assert day["start"] == "2026-11-02T00:00:00Z"
    assert day["total"] == 19
    ten, eleven = analytics(bucket="hour")["series"]
    assert (ten["start"], ten["total"]) == ("2026-11-02T10:00:00Z", 17)
    assert (eleven["start"], eleven["counts"]) == ("2026-11-02T11:00:00Z", {"cartadd": 2})


def test_int64_extremes_in_times_and_positions_still_answer(
    client: TestClient, store: SqliteStore
) -> None:
    # Go accepts any int64 as a Lucidworks timestamp or position, and so does the mock.
    far = lw(20, "query", 0, "v9", "S9", "q9", "far")
    click = lw(21, "click", 0, "v9", "S9", "q9", position=2**63 - 1)
    store.add([
        replace(far, timestamp_ms=2**63 - 1), replace(far, timestamp_ms=-(2**63)), click, click,
    ])  # fmt: skip
    response = client.get("/_mock/analytics", params={"bucket": "hour"})
    assert response.status_code == 200
    body = response.json()
    first, *_, last = body["series"]
    assert (first["start"], last["start"]) == (None, None)
    assert last["start_ms"] > first["start_ms"]
    assert body["avg_click_position"] == float(2**63 - 1)
    assert body["clicks_by_position"]["21+"] == 2


def test_filters_narrow_every_figure(analytics: Any) -> None:
    neuralens = analytics(vendor="neuralens")
    assert (neuralens["totals"]["events"], neuralens["searches"]) == (6, 3)
    assert neuralens["ctr"] == 2 / 3
    assert neuralens["revenue"] is None
    # Event time from 10:30: #9-#12 and #16. #16 now starts u1's first session in the period.
    later = analytics(since="2026-11-02T10:30:00Z")
    assert later["totals"]["events"] == 5
    assert later["searches"] == 3  # q4, q5, (u1, velvet sofa)
    assert later["add_to_cart_rate"] == 1 / 3  # q5
    assert analytics(until="2026-11-02T10:30:00Z")["totals"]["events"] == 14
    assert analytics(tenant="nobody")["totals"]["events"] == 0


def test_an_empty_store_answers_zeros_and_nulls(client: TestClient) -> None:
    body = client.get("/_mock/analytics").json()
    assert body["totals"] == {"events": 0, "by_type": {}}
    assert body["series"] == []
    assert (body["searches"], body["sessions"], body["purchases"]) == (0, 0, 0)
    for rate in ("ctr", "avg_click_position", "add_to_cart_rate", "conversion_rate", "revenue"):
        assert body[rate] is None
    assert body["funnel"][0] == {"step": "searches", "count": 0}
    assert body["top_queries"] == []


def test_every_figure_carries_its_definition_and_the_docs_say_the_same(analytics: Any) -> None:
    body = analytics()
    assert body["definitions"] == DEFINITIONS
    figures = set(body) - {"filters", "definitions", "signal_quality"}
    figures |= set(body["signal_quality"]) - {"counts"}
    assert figures <= set(DEFINITIONS)
    docs = (ROOT / "docs" / "analytics.md").read_text(encoding="utf-8")
    for name, definition in DEFINITIONS.items():
        assert f"| `{name}` | {definition} |" in docs


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"bucket": "week"}, "bucket"),
        ({"since": "yesterday"}, "since"),
        ({"lucidworks_session_minutes": "0"}, "lucidworks_session_minutes"),
        ({"type": "click"}, "type"),
    ],
)
def test_a_bad_parameter_is_a_400_that_names_it(
    client: TestClient, params: dict[str, str], parameter: str
) -> None:
    response = client.get("/_mock/analytics", params=params)
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter


@pytest.mark.parametrize("until", ["2026-11-02T10:01:00Z", "2026-11-02T10:00:30Z"])
def test_a_search_counts_in_its_period_with_what_followed_it_later(
    analytics: Any, until: str
) -> None:
    # Until 10:01 (from the running totals) or 10:00:30 (from the events): the period holds
    # #1 (q1) and #13 (u1's velvet sofa) only; their clicks, cart adds and q1's purchase
    # came after it and still count for them. Sessions S1 and u1's first overlap it.
    body = analytics(until=until)
    assert body["totals"]["events"] == 2
    assert (body["searches"], body["ctr"], body["sessions"]) == (2, 1.0, 2)
    assert (body["add_to_cart_rate"], body["conversion_rate"]) == (1.0, 0.5)
    assert body["avg_click_position"] is None  # no click in the period itself


# -- edge cases worked out by hand (issue 29): both ways to the counts share the code that
# turns rows into figures, so only values worked out by hand catch a bug there.

HOUR = 3_600_000


def _figures(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/_mock/analytics", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_figures_are_the_same_when_each_event_is_its_own_commit(
    client: TestClient, store: SqliteStore
) -> None:
    for event in EVENTS:  # the running totals fold each commit as it comes
        store.add([event])
    body = _figures(client)
    assert (body["totals"]["events"], body["sessions"], body["searches"]) == (19, 10, 8)
    assert (body["ctr"], body["add_to_cart_rate"]) == (3 / 8, 3 / 8)
    assert body["avg_click_position"] == 36 / 5


def test_event_types_are_listed_most_first_then_by_name(analytics: Any) -> None:
    by_type = analytics()["totals"]["by_type"]
    assert list(by_type) == [
        "query", "cartadd", "CLICK_PRODUCT", "VIEW_PRODUCT", "click", "purchase", "ADD_TO_CART",
    ]  # fmt: skip


def test_a_click_without_a_position_is_left_out_of_the_average_position(
    client: TestClient, store: SqliteStore
) -> None:
    # Lucidworks makes selectedPosition optional: a click without one is no click at 0.
    store.add([
        lw(1, "query", 0, "v1", "S1", "q1", "lamp"),
        lw(2, "click", 1, "v1", "S1", "q1", position=3),
        lw(3, "click", 2, "v1", "S1", "q1"),
    ])  # fmt: skip
    assert _figures(client)["avg_click_position"] == 3.0


def test_the_top_lists_hold_twenty_queries_when_more_were_searched(
    client: TestClient, store: SqliteStore
) -> None:
    # 21 queries, none clicked or finding anything: "q00" searched twice, "q01" to "q20" once.
    searches = [lw(n, "query", n, "v1", "S1", f"id{n}", f"q{n:02}", items=()) for n in range(21)]
    store.add([*searches, lw(21, "query", 21, "v1", "S1", "id21", "q00", items=())])
    body = _figures(client)
    expected = ["q00", *(f"q{n:02}" for n in range(1, 20))]  # "q20" is the 21st
    for name in ("top_queries", "no_click_queries", "zero_result_queries"):
        assert [row["query"] for row in body[name]] == expected, name


def test_a_search_without_a_query_is_one_null_query_listed_before_named_ones(
    client: TestClient, store: SqliteStore
) -> None:
    # A blank query and none at all compare as one; among equal counts it comes first.
    store.add([
        lw(1, "query", 0, "v1", "S1", "q1", "lamp"),
        lw(2, "query", 1, "v1", "S1", "q2", "  "),
        lw(3, "query", 2, "v1", "S1", "q3", None),
        lw(4, "query", 3, "v1", "S1", "q4", "lamp"),
    ])  # fmt: skip
    assert _figures(client)["top_queries"] == [
        {"query": None, "searches": 2, "ctr": 0.0},
        {"query": "lamp", "searches": 2, "ctr": 0.0},
    ]


@pytest.mark.parametrize("until", [None, "2030-01-01T00:00:00.5Z"], ids=["totals", "events"])
def test_an_event_before_1970_is_in_the_hour_it_happened(
    client: TestClient, store: SqliteStore, until: str | None
) -> None:
    # Lucidworks takes any int64 timestamp. 1 ms before the epoch is in the hour from 23:00
    # on 31 December 1969, not from 00:00 on 1 January 1970 (a division towards zero).
    store.add([replace(lw(1, "query", 0, "v1", "S1", "q1", "lamp"), timestamp_ms=-1)])
    params = {"bucket": "hour"} if until is None else {"bucket": "hour", "until": until}
    (bucket,) = _figures(client, **params)["series"]
    assert (bucket["start"], bucket["start_ms"]) == ("1969-12-31T23:00:00Z", -HOUR)


def test_empty_buckets_between_the_first_and_the_last_are_listed_as_zeros(
    client: TestClient, store: SqliteStore
) -> None:
    store.add([lw(1, "query", 0, "v1", "S1", "q1", "a"),
               lw(2, "query", 180, "v1", "S1", "q2", "b")])  # fmt: skip
    series = _figures(client, bucket="hour")["series"]
    assert [(b["start"][11:16], b["total"], b["counts"]) for b in series] == [
        ("10:00", 1, {"query": 1}), ("11:00", 0, {}), ("12:00", 0, {}), ("13:00", 1, {"query": 1}),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("hours", "listed"), [(MAX_FILLED_BUCKETS - 1, MAX_FILLED_BUCKETS), (MAX_FILLED_BUCKETS, 2)]
)
def test_empty_buckets_are_filled_up_to_the_limit_and_not_beyond(
    client: TestClient, store: SqliteStore, hours: int, listed: int
) -> None:
    # At most MAX_FILLED_BUCKETS from the first to the last; over a longer span only the
    # buckets with events are listed (a year by the hour would be 8,760 rows).
    store.add([lw(1, "query", 0, "v1", "S1", "q1", "a"),
               lw(2, "query", hours * 60, "v1", "S1", "q2", "b")])  # fmt: skip
    assert len(_figures(client, bucket="hour")["series"]) == listed


# -- what `make mutate` on the inspect group found unpinned (issue 29, second round) -----------


def test_the_answer_echoes_the_filters_it_was_counted_with(analytics: Any) -> None:
    body = analytics(
        namespace="default", vendor="lucidworks", tenant="shop", since="2026-11-02T10:30:00Z",
        until="2026-11-02T11:00:00Z", bucket="hour", lucidworks_session_minutes=41,
    )  # fmt: skip
    assert body["filters"] == {
        "namespace": "default", "vendor": "lucidworks", "tenant": "shop",
        "since": "2026-11-02T10:30:00Z", "until": "2026-11-02T11:00:00Z", "bucket": "hour",
        "session_minutes": {"lucidworks": 41, "neuralens": 30},
    }  # fmt: skip
    assert analytics()["filters"] == {
        "namespace": None, "vendor": None, "tenant": None, "since": None, "until": None,
        "bucket": "day", "session_minutes": {"lucidworks": 40, "neuralens": 30},
    }  # fmt: skip


def test_the_namespace_filter_counts_only_that_namespaces_events(
    client: TestClient, store: SqliteStore
) -> None:
    store.add([*EVENTS, replace(EVENTS[0], namespace="team-b", request_id="rb")])
    assert _figures(client, namespace="team-b")["totals"] == {"events": 1, "by_type": {"query": 1}}
    assert _figures(client, namespace="default")["totals"]["events"] == 19
    assert _figures(client, namespace="nowhere")["totals"]["events"] == 0


def test_totals_by_the_hour_add_up_each_type_over_every_hour(analytics: Any) -> None:
    # The cart adds are in two hours (two at 10:xx, two at 11:xx): the total is all four.
    by_day, by_hour = analytics()["totals"], analytics(bucket="hour")["totals"]
    assert by_hour == by_day
    assert by_hour["by_type"]["cartadd"] == 4


def test_positions_without_clicks_are_listed_as_zero(analytics: Any) -> None:
    histogram = analytics()["clicks_by_position"]
    assert histogram == {
        **{str(p): 0 for p in range(1, 21)}, "1": 1, "2": 1, "3": 1, "5": 1, "21+": 1,
    }  # fmt: skip
    assert analytics(vendor="neuralens")["clicks_by_position"]["21+"] == 0


def test_an_empty_store_lists_every_position_with_zero_clicks(client: TestClient) -> None:
    histogram = _figures(client)["clicks_by_position"]
    assert histogram == {**{str(p): 0 for p in range(1, 21)}, "21+": 0}


def test_clicks_whose_positions_add_up_to_zero_average_zero(
    client: TestClient, store: SqliteStore
) -> None:
    # Go takes any int64 as a Lucidworks selectedPosition, 0 and negatives too.
    store.add([
        lw(1, "query", 0, "v1", "S1", "q1", "lamp"),
        lw(2, "click", 1, "v1", "S1", "q1", position=0),
    ])  # fmt: skip
    assert _figures(client)["avg_click_position"] == 0.0


# -- what `make mutate` on the inspect group found unpinned (issue 29, third round) ------------


def _counts(**changed: Any) -> dict[str, Any]:
    """The store's counts (``Store.analytics``) for nothing stored, with ``changed`` set."""
    quality = {
        "clicks": 0, "clicks_with_position": 0, "follow_signals": 0, "tied_to_query": 0,
        "events": 0, "with_warnings": 0, "by_rule": [],
    }  # fmt: skip
    counts = {
        "series": [], "searches": 0, "positions": {}, "sessions": 0, "clicked": 0,
        "position_sum": None, "position_count": 0, "no_click_queries": [],
        "zero_result_queries": [], "top_queries": [], "carted": 0, "purchased": 0,
        "purchases": 0, "revenue": None, "funnel_carted": 0, "funnel_purchased": 0,
        "signal_quality": quality,
    }  # fmt: skip
    return {**counts, **changed}


def test_each_signal_quality_rate_is_its_part_over_its_own_whole() -> None:
    quality = {
        "clicks": 4, "clicks_with_position": 3, "follow_signals": 5, "tied_to_query": 2,
        "events": 10, "with_warnings": 1, "by_rule": [("missing-user", 3), ("unknown-query", 1)],
    }  # fmt: skip
    shown = figures(_counts(signal_quality=quality), analytics_query({}), "day")
    assert shown["signal_quality"] == {
        "clicks_with_position": 3 / 4, "signals_tied_to_query": 2 / 5,
        "signals_with_warnings": 1 / 10,
        "top_rules": [{"rule": "missing-user", "count": 3}, {"rule": "unknown-query", "count": 1}],
        "counts": {name: quality[name] for name in (
            "clicks", "clicks_with_position", "follow_signals", "tied_to_query", "events",
            "with_warnings",
        )},
    }  # fmt: skip


def test_session_gaps_are_echoed_as_whole_minutes(analytics: Any) -> None:
    # 40, not 40.0: a client comparing the echo with what it sent reads an int.
    echoed = analytics(neuralens_session_minutes=7)["filters"]["session_minutes"]
    assert [(vendor, type(minutes)) for vendor, minutes in echoed.items()] == [
        ("lucidworks", int),
        ("neuralens", int),
    ]
    assert echoed == {"lucidworks": 40, "neuralens": 7}


def test_event_types_with_the_same_count_are_listed_by_name_whatever_order_they_came_in() -> None:
    rows = [(0, "query", 1), (0, "click", 1), (0, "VIEW_PRODUCT", 2)]
    by_type = figures(_counts(series=rows), analytics_query({}), "day")["totals"]["by_type"]
    assert list(by_type.items()) == [("VIEW_PRODUCT", 2), ("click", 1), ("query", 1)]


def test_empty_buckets_are_filled_one_bucket_apart() -> None:
    # Any bucket width: the gap between two buckets with events is filled bucket by bucket.
    query = replace(analytics_query({}), bucket_ms=10)
    rows = [(0, "query", 1), (3, "click", 2)]
    series = figures(_counts(series=rows), query, "day")["series"]
    assert [(b["start_ms"], b["total"]) for b in series] == [(0, 1), (10, 0), (20, 0), (30, 2)]


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A server whose local time is 5 h 45 min ahead of UTC (a POSIX TZ: no tz database)."""
    monkeypatch.setenv("TZ", "XXX-5:45")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("far_from_utc")
def test_times_are_shown_in_utc_whatever_the_servers_time_zone(analytics: Any) -> None:
    body = analytics(since="2026-11-02T10:30:00Z", bucket="hour")
    assert body["filters"]["since"] == "2026-11-02T10:30:00Z"
    assert [bucket["start"] for bucket in body["series"]][:2] == [
        "2026-11-02T10:00:00Z",
        "2026-11-02T11:00:00Z",
    ]


def test_a_time_before_the_year_1000_is_written_with_four_digits(analytics: Any) -> None:
    # Lucidworks timestamps are any int64: strftime wrote the year 385 as "385".
    body = analytics(since="0385-07-25T07:00:00Z", until="0385-07-25T09:00:00Z", bucket="hour")
    assert body["filters"]["since"] == "0385-07-25T07:00:00Z"
    assert body["filters"]["until"] == "0385-07-25T09:00:00Z"

"""Signal-quality warnings in the store, on every implementation: stored with the event,
``unknown-query`` evaluated when read, the ``warned``/``warning`` filters, the summary's
counts and the analytics' ``signal_quality`` counts, against hand-worked values."""

from __future__ import annotations

from typing import Any

from mockserver.events import QUERY_FOLLOWS, QUERY_SEARCH, UNKNOWN_QUERY, UNKNOWN_QUERY_WARNING
from mockserver.storage import Store
from mockserver.storage.base import AnalyticsQuery
from tests.test_storage_conformance import any_store, event

__all__ = ["any_store"]  # the fixture, parametrised over every store

SECONDS = {"rule": "timestamp-in-seconds", "path": "$.timestamp", "message": "ms, please"}
NO_POSITION = {"rule": "click-without-position", "path": "$.selectedPosition", "message": "m"}


def click(query_id: str = "q1", **over: Any) -> Any:
    return event(type="click", query_id=query_id, query=None, query_link=QUERY_FOLLOWS, **over)


def search(query_id: str = "q1", **over: Any) -> Any:
    return event(type="query", query_id=query_id, query="chair", query_link=QUERY_SEARCH, **over)


def rules(row: dict[str, Any]) -> list[str]:
    return [w["rule"] for w in row["warnings"]]


def test_stored_warnings_read_back_and_none_is_an_empty_list(any_store: Store) -> None:
    any_store.add([event(warnings=[SECONDS]), event(request_id="r2")])
    newest, oldest = any_store.events({}).rows
    assert newest["warnings"] == []
    assert oldest["warnings"] == [SECONDS]
    assert any_store.event(oldest["id"]) == oldest
    assert "query_link" not in oldest  # the store's own column


def test_unknown_query_is_as_of_the_read(any_store: Store) -> None:
    any_store.add([click("q1")])
    (row,) = any_store.events({}).rows
    assert rules(row) == [UNKNOWN_QUERY]
    assert row["warnings"][0]["path"] == "$.queryId"
    # A search in another namespace, another tenant or another vendor does not tie it ...
    any_store.add([search("q1", namespace="other")])
    any_store.add([search("q1", tenant="other-shop")])
    any_store.add([search("q1", vendor="neuralens")])
    assert rules(any_store.event(row["id"]) or {}) == [UNKNOWN_QUERY]
    # ... nor a follower with the same queryId; the search itself, arriving later, does.
    any_store.add([click("q1", request_id="r2")])
    assert rules(any_store.event(row["id"]) or {}) == [UNKNOWN_QUERY]
    any_store.add([search("q1")])
    assert rules(any_store.event(row["id"]) or {}) == []


def test_unknown_query_matches_a_missing_tenant_with_a_missing_tenant(any_store: Store) -> None:
    any_store.add([click("q1", tenant=None), search("q1", tenant=None)])
    assert [rules(row) for row in any_store.events({}).rows] == [[], []]


def test_only_followers_can_be_unknown(any_store: Store) -> None:
    any_store.add([event(query_id="nowhere"), search("q9"), event(type="purchase")])
    assert [rules(row) for row in any_store.events({}).rows] == [[], [], []]


def _seeded(store: Store) -> None:
    store.add(
        [
            click("q1", warnings=[NO_POSITION], position=None),  # and unknown: no search yet
            click("q2", warnings=[SECONDS, NO_POSITION], position=None),
            search("q2"),
            event(type="purchase"),  # no warning
            click("q3", namespace="other", warnings=[SECONDS]),  # unknown too
        ]
    )


def _ids(store: Store, **filters: Any) -> list[int]:
    page = store.events(filters)
    assert store.count_events(filters) == page.total == len(page.rows)
    assert sorted(store.matching_event_ids(filters, 100)) == sorted(r["id"] for r in page.rows)
    assert store.count_new_events(filters, 0)[0] == page.total
    return sorted(row["id"] for row in page.rows)


def test_the_warned_and_warning_filters(any_store: Store) -> None:
    _seeded(any_store)
    assert _ids(any_store, warned=True) == [1, 2, 5]
    assert _ids(any_store, warned=False) == [3, 4]
    assert _ids(any_store, warning="click-without-position") == [1, 2]
    assert _ids(any_store, warning="timestamp-in-seconds") == [2, 5]
    assert _ids(any_store, warning=UNKNOWN_QUERY) == [1, 5]
    assert _ids(any_store, warning=UNKNOWN_QUERY, namespace="default") == [1]
    assert _ids(any_store, warning="personal-data-in-id") == []
    assert _ids(any_store, warned=True, warning="timestamp-in-seconds", namespace="other") == [5]


def test_the_summary_counts_events_by_rule(any_store: Store) -> None:
    _seeded(any_store)
    assert any_store.summary()["warnings"] == {
        "click-without-position": 2,
        "timestamp-in-seconds": 2,
        UNKNOWN_QUERY: 2,
    }
    assert any_store.summary("default")["warnings"] == {
        "click-without-position": 2,
        "timestamp-in-seconds": 1,
        UNKNOWN_QUERY: 1,
    }
    assert any_store.summary("nowhere")["warnings"] == {}


def test_the_analytics_signal_quality_counts(any_store: Store) -> None:
    """By hand, over the seeded events: 5 events, 3 with warnings (1, 2, 5); clicks 1, 2, 5,
    of which 5 has a position (1 and 2 have none); the followers 1, 2, 5, of which 2 has its
    search (1 and 5 have none: unknown-query)."""
    _seeded(any_store)
    counts = any_store.analytics(AnalyticsQuery())["signal_quality"]
    assert counts == {
        "events": 5,
        "with_warnings": 3,
        "clicks": 3,
        "clicks_with_position": 1,
        "follow_signals": 3,
        "tied_to_query": 1,
        "by_rule": [
            ("click-without-position", 2),
            ("timestamp-in-seconds", 2),
            (UNKNOWN_QUERY, 2),
        ],
    }
    one = any_store.analytics(AnalyticsQuery(namespace="other"))["signal_quality"]
    assert (one["events"], one["with_warnings"], one["tied_to_query"]) == (1, 1, 0)
    # Through the running totals' path and off it (a period not on whole minutes): the same.
    odd = any_store.analytics(AnalyticsQuery(since_ms=0, until_ms=10_001))["signal_quality"]
    assert odd == counts
    late = any_store.analytics(AnalyticsQuery(since_ms=2))["signal_quality"]
    assert late["events"] == 0
    assert late["by_rule"] == []


def test_the_analytics_list_the_rules_with_the_most_events_first_then_by_name(
    any_store: Store,
) -> None:
    def warned(rule: str) -> dict[str, str]:
        return {"rule": rule, "path": "$", "message": "m"}

    any_store.add(
        [
            event(warnings=[warned("zz-rule")]),
            click("q7"),  # unknown-query: no search has q7
            *(event(warnings=[SECONDS]) for _ in range(3)),
            *(event(warnings=[NO_POSITION]) for _ in range(2)),
            event(warnings=[warned("aa-rule")]),
        ]
    )
    assert any_store.analytics(AnalyticsQuery())["signal_quality"]["by_rule"] == [
        ("timestamp-in-seconds", 3),
        ("click-without-position", 2),
        ("aa-rule", 1),
        (UNKNOWN_QUERY, 1),
        ("zz-rule", 1),
    ]


def test_the_analytics_count_unknown_query_as_the_summary_does(any_store: Store) -> None:
    """Intake never stores an ``unknown-query`` warning, but the store keeps whatever warnings
    an event comes with: a stored one adds to those evaluated when read, as in the summary,
    so that the two never disagree."""
    any_store.add(
        [
            event(type="purchase", query_link=None, warnings=[dict(UNKNOWN_QUERY_WARNING)]),
            click("q7"),  # unknown-query when read: no search has q7
        ]
    )
    by_rule = dict(any_store.analytics(AnalyticsQuery())["signal_quality"]["by_rule"])
    assert by_rule == {UNKNOWN_QUERY: 2} == any_store.summary()["warnings"]

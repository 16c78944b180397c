"""The store conformance suite: every implementation of ``storage.base.Store`` must pass it.

Parametrised over implementations (SQLite in memory and in a file, PostgreSQL on a real
server the tests start); a new store adds itself to ``IMPLEMENTATIONS`` and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mockserver.events import Attempt, Event, Rejection, UpstreamCall
from mockserver.storage import SqliteStore, Store, open_store
from mockserver.storage.base import Change
from mockserver.vendors.registry import ANALYTICS

IMPLEMENTATIONS: dict[str, Callable[[pytest.FixtureRequest, Path], Store]] = {
    "sqlite-memory": lambda request, tmp: SqliteStore(":memory:", ANALYTICS),
    "sqlite-file": lambda request, tmp: SqliteStore(str(tmp / "conformance.db"), ANALYTICS),
    "postgresql": lambda request, tmp: open_store(
        request.getfixturevalue("postgres_url"), ANALYTICS
    ),
}


@pytest.fixture(
    params=[
        pytest.param(name, marks=pytest.mark.slow) if name == "postgresql" else name
        for name in IMPLEMENTATIONS
    ]
)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    store = IMPLEMENTATIONS[request.param](request, tmp_path)
    yield store
    store.close()


def event(**over: object) -> Event:
    fields: dict[str, object] = {
        "vendor": "lucidworks", "endpoint": "/retail/signals/click", "type": "click",
        "namespace": "default", "tenant": "shop", "user": "u1", "session": "s1",
        "query": "chair", "query_id": "q1", "items": ["p1"], "position": 1,
        "timestamp_ms": 1, "payload": '{"a":1}', "request_id": "r1",
        "received_at": "2026-01-01T00:00:00.000000Z",
    }  # fmt: skip
    fields.update(over)
    return Event(**fields)  # type: ignore[arg-type]


def rejection(**over: object) -> Rejection:
    fields: dict[str, object] = {
        "vendor": "neuralens", "method": "POST", "endpoint": "/analytics/event",
        "namespace": "default", "tenant": "app", "status": 400,
        "errors": [{"path": "$.uid", "rule": "type", "layer": "schema", "message": "m"}],
        "headers": {"content-type": "application/json"}, "body": "{}", "request_id": "r9",
        "received_at": "2026-01-01T00:00:00.000000Z",
    }  # fmt: skip
    fields.update(over)
    return Rejection(**fields)  # type: ignore[arg-type]


def test_an_added_event_reads_back_whole(any_store: Store) -> None:
    any_store.add([event(items=["p1", "p2"], payload='{"visitorId":"u1"}')])
    (row,) = any_store.events({}).rows
    assert row["items"] == ["p1", "p2"]
    assert row["payload"] == {"visitorId": "u1"}
    assert (row["vendor"], row["type"], row["tenant"], row["position"]) == (
        "lucidworks",
        "click",
        "shop",
        1,
    )
    assert any_store.event(row["id"]) == row


def test_a_missing_event_is_none(any_store: Store) -> None:
    assert any_store.event(12345) is None


def test_events_come_newest_first_and_pages_keep_the_total(any_store: Store) -> None:
    any_store.add([event(user=f"u{n}") for n in range(5)])
    page = any_store.events({}, limit=2, offset=1)
    assert page.total == 5
    assert [row["user"] for row in page.rows] == ["u3", "u2"]


@pytest.mark.parametrize(
    ("filters", "total"),
    [
        ({"vendor": "neuralens"}, 1),
        ({"type": "click"}, 2),
        ({"tenant": "other"}, 1),
        ({"user": "u2"}, 1),
        ({"session": "s1"}, 2),
        ({"query": "sofa"}, 1),
        ({"query_id": "q1"}, 2),
        ({"item": "p2"}, 1),
        ({"namespace": "ns"}, 1),
        ({"type": "click", "tenant": "other"}, 1),
        ({"user": "u1' OR '1'='1"}, 0),  # values are bound, never spliced into SQL
        ({"text": "SOF"}, 1),  # free text: part of the query, any ASCII case
        ({"text": "U2"}, 1),  # ... of the user
        ({"text": "p2"}, 1),  # ... of a product id
        ({"text": "1"}, 3),  # every event has u1 or p1
        ({"text": '","'}, 0),  # never the JSON between product ids
        ({"text": "%"}, 0),  # no wildcards
    ],
)
def test_each_filter_narrows_the_events(
    any_store: Store, filters: dict[str, str], total: int
) -> None:
    any_store.add(
        [
            event(),
            event(tenant="other", user="u2", items=["p1", "p2"], namespace="ns"),
            event(vendor="neuralens", type="CLICK_PRODUCT", query="sofa", session=None,
                  query_id=None),
        ]
    )  # fmt: skip
    assert any_store.events(filters).total == total
    assert any_store.count_events(filters) == total
    ids = {row["id"] for row in any_store.events(filters).rows}
    assert set(any_store.matching_event_ids(filters, 10)) == ids  # what a wait reads first
    assert len(any_store.matching_event_ids(filters, 1)) == min(total, 1)


def test_time_filters_are_inclusive_since_and_exclusive_until(any_store: Store) -> None:
    any_store.add([event(received_at=f"2026-01-0{day}T00:00:00.000000Z") for day in (1, 2, 3)])
    page = any_store.events(
        {"since": "2026-01-02T00:00:00.000000Z", "until": "2026-01-03T00:00:00.000000Z"}
    )
    assert [row["received_at"][:10] for row in page.rows] == ["2026-01-02"]


def test_rejections_keep_their_reasons_and_filter_by_status(any_store: Store) -> None:
    any_store.add(rejections=[rejection(), rejection(status=401, vendor="lucidworks")])
    assert any_store.rejections({"status": 401}).total == 1
    row = any_store.rejections({"vendor": "neuralens"}).rows[0]
    assert row["errors"] == [{"path": "$.uid", "rule": "type", "layer": "schema", "message": "m"}]
    assert row["headers"] == {"content-type": "application/json"}


def test_the_events_of_a_request_keep_its_headers(any_store: Store) -> None:
    headers = {"authorization": "hmac-sha256:0123", "accept": "*/*"}
    any_store.add(
        [event(request_id="a"), event(request_id="a"), event(request_id="b")],
        headers={"a": json.dumps(headers)},
    )
    rows = sorted(any_store.events({}).rows, key=lambda row: row["id"])
    assert [row["headers"] for row in rows] == [headers, headers, None]


def test_a_rejection_keeps_its_requests_headers_as_stored(any_store: Store) -> None:
    stored = {"authorization": "hmac-sha256:0123", "accept": "*/*"}
    any_store.add(rejections=[rejection(request_id="r9")], headers={"r9": json.dumps(stored)})
    assert any_store.rejections({}).rows[0]["headers"] == stored


def test_an_event_that_repeats_an_earlier_one_points_at_it(any_store: Store) -> None:
    at = "2026-01-01T00:00:{:02d}.000000Z".format
    any_store.add([event(payload='{"a":1}', received_at=at(0))])
    any_store.add([event(payload='{"a":1}', received_at=at(5))])  # a retry: a repeat
    any_store.add([event(payload='{"a":2}', received_at=at(6))])  # another event
    any_store.add([event(payload='{"a":1}', received_at=at(7), namespace="other")])
    any_store.add([event(payload='{"a":1}', received_at=at(8), endpoint="/retail/signals/query")])
    rows = sorted(any_store.events({}).rows, key=lambda row: row["id"])
    first = rows[0]["id"]
    assert [row["duplicate_of"] for row in rows] == [None, first, None, None, None]
    assert any_store.event(rows[1]["id"])["duplicate_of"] == first  # type: ignore[index]
    assert "payload_hash" not in rows[0]  # the store's own


def test_a_repeat_after_the_window_is_a_new_event(any_store: Store) -> None:
    any_store.add([event(payload="{}", received_at="2026-01-01T00:00:00.000000Z")])
    any_store.add([event(payload="{}", received_at="2026-01-01T00:10:01.000000Z")])
    assert [row["duplicate_of"] for row in any_store.events({}).rows] == [None, None]


def test_rejections_filter_by_reason_and_text(any_store: Store) -> None:
    def reason(path: str, rule: str) -> dict[str, str]:
        return {"path": path, "rule": rule, "layer": "validator", "message": f"{path} {rule}"}

    any_store.add(
        rejections=[
            rejection(errors=[reason("$[0].a", "required"), reason("$[0].b", "iso4217")]),
            rejection(errors=[reason("$[0].a", "iso4217")], body='{"query":"Red Chair"}'),
        ]
    )
    assert any_store.rejections({"rule": "iso4217"}).total == 2
    assert any_store.rejections({"path": "$[0].a"}).total == 2
    # Both given: one reason must have both (the first rejection has each, on two reasons).
    assert any_store.rejections({"rule": "iso4217", "path": "$[0].a"}).total == 1
    assert any_store.rejections({"text": "red chair"}).total == 1
    assert any_store.rejections({"text": "nothing like it"}).total == 0
    (row,) = any_store.rejections({"text": "red chair"}).rows
    assert any_store.rejection(row["id"]) == row
    assert any_store.rejection(row["id"] + 100) is None


def test_rejection_reasons_group_by_rule_and_path_most_frequent_first(any_store: Store) -> None:
    def reason(path: str, rule: str, message: str = "m") -> dict[str, str]:
        return {"path": path, "rule": rule, "layer": "validator", "message": message}

    any_store.add(
        rejections=[
            rejection(errors=[reason("$[0].c", "iso4217"), reason("$[0].s", "required")]),
            rejection(errors=[reason("$[0].c", "iso4217", "other words")]),
            rejection(errors=[reason("$[0].c", "iso4217")], namespace="elsewhere"),
            rejection(errors=[reason("$[0].c", "iso4217"), reason("$[0].c", "iso4217")]),
        ]
    )
    reasons = any_store.rejection_reasons({"namespace": "default"})
    assert [(r["count"], r["path"], r["rule"], r["layer"]) for r in reasons] == [
        (3, "$[0].c", "iso4217", "validator"),  # a rejection naming it twice counts once
        (1, "$[0].s", "required", "validator"),
    ]
    assert reasons[0]["message"] in ("m", "other words")
    assert len(any_store.rejection_reasons({}, limit=1)) == 1
    assert any_store.rejection_reasons({"vendor": "lucidworks"}) == []


def test_events_and_rejections_commit_together(any_store: Store) -> None:
    any_store.add([event()], [rejection()])
    assert (any_store.events({}).total, any_store.rejections({}).total) == (1, 1)


def test_summary_counts_by_vendor_type_tenant_and_status(any_store: Store) -> None:
    any_store.add(
        [event(), event(), event(vendor="neuralens", type="CLICK_PRODUCT", tenant=None)],
        [rejection(vendor=None, status=404), rejection()],
    )
    summary = any_store.summary()
    assert summary["events"] == {
        "total": 3,
        "by_vendor": {"lucidworks": 2, "neuralens": 1},
        "by_type": {"click": 2, "CLICK_PRODUCT": 1},
        "by_tenant": {"shop": 2, "unknown": 1},
        "by_namespace": {"default": 3},
    }
    assert summary["rejections"] == {
        "total": 2,
        "by_vendor": {"neuralens": 1, "unknown": 1},
        "by_status": {"400": 1, "404": 1},
        "by_namespace": {"default": 2},
    }
    assert any_store.summary("elsewhere")["events"]["total"] == 0


def test_reset_one_namespace_leaves_the_others(any_store: Store) -> None:
    any_store.add([event(namespace="a"), event(namespace="b")], [rejection(namespace="a")])
    any_store.reset("a")
    assert [row["namespace"] for row in any_store.events({}).rows] == ["b"]
    assert any_store.rejections({}).total == 0
    any_store.reset()
    assert any_store.events({}).total == 0


def test_listeners_hear_each_commit_with_its_events_numbered_until_removed(
    any_store: Store,
) -> None:
    heard: list[Change] = []
    remove = any_store.add_listener(heard.append)
    any_store.add([event(user="a"), event(user="b")])
    any_store.add(rejections=[rejection()])
    any_store.add([event(user="c")])
    stored = {row["id"]: row["user"] for row in any_store.events({}).rows}
    any_store.reset()
    remove()
    any_store.add([event()])
    assert [change.reset for change in heard] == [False, False, False, True]
    # Each event comes numbered with the id it was stored under.
    assert dict(i_and_user for change in heard for i_and_user in _users(change)) == stored


def _users(change: Change) -> list[tuple[int, str | None]]:
    return [(i, e.user) for i, e in change.numbered()]


def test_a_store_that_takes_writes_has_no_problem(any_store: Store) -> None:
    assert any_store.problem() is None
    any_store.add([event()])
    assert any_store.problem() is None


def test_upstream_calls_are_kept_filtered_counted_and_reset_with_their_namespace(
    any_store: Store,
) -> None:
    def call(**over: object) -> UpstreamCall:
        fields: dict[str, object] = {
            "request_id": "r1", "vendor": "lucidworks", "endpoint": "/retail/signals/click",
            "namespace": "a", "tenant": "shop", "profile": "strict", "mode": "shadow",
            "mock_status": 400, "upstream_url": "https://shop.example/retail/signals/click",
            "mock_errors": [{"path": "$[0].ipAddress", "rule": "type", "layer": "openapi",
                             "message": "null is not a string"}],
            "upstream_status": 202, "upstream_body": "", "upstream_ms": 12.5,
            "upstream_error": None, "outcome": "disagree", "body": '[{"ipAddress":null}]',
            "received_at": "2026-01-01T00:00:00.000000Z",
        }  # fmt: skip
        fields.update(over)
        return UpstreamCall(**fields)  # type: ignore[arg-type]

    any_store.add(
        upstream_calls=[
            call(),
            call(request_id="r2", mock_status=202, mock_errors=[], outcome="agree", body=None),
            call(request_id="r3", upstream_status=None, upstream_error="ConnectTimeout",
                 upstream_body=None, upstream_ms=None, outcome="upstream-unavailable", body=None),
            call(request_id="r4", namespace="b"),
        ]
    )  # fmt: skip
    assert any_store.upstream_calls({}).total == 4
    (first,) = any_store.upstream_calls({"namespace": "a", "outcome": "disagree"}).rows
    assert first["mock_errors"][0]["path"] == "$[0].ipAddress"  # read back as JSON
    assert (first["upstream_status"], first["upstream_ms"]) == (202, 12.5)
    assert any_store.upstream_calls({"text": "IPADDRESS"}).total == 2  # the bodies kept
    (lost,) = any_store.upstream_calls({"outcome": "upstream-unavailable"}).rows
    assert (lost["upstream_status"], lost["upstream_error"]) == (None, "ConnectTimeout")
    summary = any_store.summary()
    assert summary["upstream"] == {
        "total": 4, "by_outcome": {"disagree": 2, "agree": 1, "upstream-unavailable": 1}
    }  # fmt: skip
    assert summary["disagreements"] == 2
    assert any_store.summary("b")["disagreements"] == 1
    any_store.reset("a")
    assert [row["request_id"] for row in any_store.upstream_calls({}).rows] == ["r4"]


def test_attempts_are_kept_filtered_and_reset_with_their_namespace(any_store: Store) -> None:
    def attempt(**over: object) -> Attempt:
        fields: dict[str, object] = {
            "request_id": "r1", "rule_id": 1, "fault": "status", "vendor": "lucidworks",
            "endpoint": "/retail/signals/click", "namespace": "a", "tenant": "shop",
            "status": 503, "stored": False, "received_at": "2026-01-01T00:00:00.000000Z",
        }  # fmt: skip
        fields.update(over)
        return Attempt(**fields)  # type: ignore[arg-type]

    any_store.add(
        attempts=[attempt(), attempt(rule_id=2, fault="ack_lost", status=None, stored=True),
                  attempt(namespace="b")]
    )  # fmt: skip
    assert any_store.attempts({}).total == 3
    (lost,) = any_store.attempts({"fault": "ack_lost"}).rows
    assert (lost["status"], lost["stored"], lost["rule_id"]) == (None, True, 2)
    assert any_store.attempts({"rule": 1, "namespace": "a"}).total == 1
    any_store.reset("a")
    assert [row["namespace"] for row in any_store.attempts({}).rows] == ["b"]

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from mockserver import MockClient, MockServer, MockTimeout
from mockserver.inspect import api as inspect_api
from mockserver.storage import base, filters
from mockserver.testing import client as testing_client
from tests.conftest import LUCIDWORKS_HEADERS, NEURALENS_HEADERS, load_fixture

CLICKS = load_fixture("lucidworks", "valid", "click-batch-of-three.json")
EVENT = load_fixture("neuralens", "valid", "click-product-docs-example-fixed.json")


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer() as running:
        yield running


@pytest.fixture
def client(server: MockServer, request: pytest.FixtureRequest) -> Iterator[MockClient]:
    with server.client(namespace=request.node.name.replace("[", "-").strip("]")[:60]) as bound:
        bound.reset()
        yield bound


def _post(url: str, body: object, headers: dict[str, str]) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def _send_clicks(client: MockClient, body: object = CLICKS) -> int:
    return _post(client.lucidworks_signal_url("click", "shop"), body, LUCIDWORKS_HEADERS)


def test_a_bound_client_sees_only_its_namespace(server: MockServer, client: MockClient) -> None:
    _send_clicks(client)
    _post(server.neuralens_event_url, EVENT, NEURALENS_HEADERS)  # namespace "default"
    assert len(client.events()) == 3
    assert client.summary()["events"]["total"] == 3
    assert client.analytics()["totals"]["events"] == 3
    assert client.analytics(vendor="neuralens")["totals"]["events"] == 0
    with server.client() as everything:
        assert len(everything.events(namespace=client.namespace)) == 3
        assert len(everything.events(vendor="neuralens")) >= 1


def test_base_urls_and_endpoints_say_which_is_which(client: MockClient) -> None:
    # url and *_base_url are bases (append the vendor's path), the others endpoints: as
    # NEURALENS_BASE_URL, LUCIDWORKS_BASE_URL and NEURALENS_EVENT_URL under `mockserver run`.
    assert client.url.endswith(f"/ns/{client.namespace}")
    assert client.neuralens_base_url == client.url
    assert client.neuralens_event_url == client.url + "/analytics/event"
    assert client.lucidworks_base_url() == client.url
    assert client.lucidworks_base_url("shop") == client.url + "/signal-store/shop"
    assert client.lucidworks_signal_url("query") == client.url + "/retail/signals/query"
    shop_click = client.url + "/signal-store/shop/retail/signals/click"
    assert client.lucidworks_signal_url("click", "shop") == shop_click


def test_the_first_url_names_still_work_and_say_what_replaced_them(
    server: MockServer, client: MockClient
) -> None:
    # neuralens_url was an endpoint and lucidworks_url() a base URL: names that said neither.
    for holder in (server, client):
        with pytest.deprecated_call(match="use neuralens_event_url"):
            assert holder.neuralens_url == holder.neuralens_event_url
        with pytest.deprecated_call(match=r"use lucidworks_base_url\(\)"):
            assert holder.lucidworks_url("s") == holder.lucidworks_base_url("s")


def test_reset_clears_only_the_bound_namespace(server: MockServer, client: MockClient) -> None:
    _send_clicks(client)
    _post(server.neuralens_event_url, EVENT, NEURALENS_HEADERS)
    client.reset()
    assert client.events() == []
    with server.client() as everything:
        assert everything.events(vendor="neuralens")


def test_wait_for_returns_as_soon_as_the_event_lands(
    client: MockClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server runs in this process: with its safety re-check pushed past the test, only
    # the write's notification can wake the wait.
    monkeypatch.setattr(inspect_api, "RECHECK_SECONDS", 60.0)
    sender = threading.Timer(0.3, _send_clicks, args=(client,))
    started = time.monotonic()
    sender.start()
    events = client.wait_for(count=3, timeout=30, type="click")
    elapsed = time.monotonic() - started
    sender.join()
    assert len(events) == 3
    assert elapsed < 10  # well before the 30 s timeout


def test_wait_for_timeout_says_what_arrived(client: MockClient) -> None:
    _send_clicks(client)
    _send_clicks(client, [{"timestamp": 1.0}])
    with pytest.raises(MockTimeout) as failure:
        client.wait_for(count=1, timeout=0.2, vendor="neuralens")
    message = str(failure.value)
    assert "waited 0.2s for at least 1 event matching vendor='neuralens'" in message
    assert "Closest of the 3 events received" in message
    assert "[decode/integer]" in message


def test_assert_received_returns_the_matching_events(client: MockClient) -> None:
    _send_clicks(client)
    assert len(client.assert_received(type="click", tenant="shop")) == 3
    assert len(client.assert_received(3, item="1234567")) == 3


def test_assert_received_failure_shows_near_misses_and_rejections(client: MockClient) -> None:
    _send_clicks(client)
    _send_clicks(client, [{**CLICKS[0], "ipAddress": "111.222.333"}])
    with pytest.raises(AssertionError) as failure:
        client.assert_received(type="click", user="someone-else")
    message = str(failure.value)
    assert f"user={CLICKS[0]['visitorId']!r} (wanted 'someone-else')" in message
    assert "#" in message
    assert "400 POST /retail/signals/click" in message
    assert "[validator/ip]" in message


def test_a_near_miss_of_another_event_type_is_marked(client: MockClient) -> None:
    _send_clicks(client, CLICKS[:1])
    with pytest.raises(AssertionError) as failure:
        client.assert_received(type="query")
    assert "lucidworks click (wanted 'query')" in str(failure.value)


def test_assert_received_with_a_count_is_exact(client: MockClient) -> None:
    _send_clicks(client)
    with pytest.raises(AssertionError, match="expected 2 event"):
        client.assert_received(2, type="click")


def test_assert_no_rejections_lists_every_reason(client: MockClient) -> None:
    client.assert_no_rejections()
    _send_clicks(client, [{**CLICKS[0], "timestamp": 0}])
    with pytest.raises(AssertionError) as failure:
        client.assert_no_rejections()
    assert "rejected 1 request in namespace" in str(failure.value)
    assert "$[0].timestamp  [validator/required]" in str(failure.value)
    # The body as sent: its quotes are not escaped a second time.
    assert '      body: [{"timestamp": 0, ' in str(failure.value)


QUERY = load_fixture("lucidworks", "valid", "query-example.json")  # the queryId of CLICKS


def _send_query(client: MockClient) -> int:
    return _post(client.lucidworks_signal_url("query", "shop"), QUERY, LUCIDWORKS_HEADERS)


def test_warnings_lists_each_warning_with_its_event(client: MockClient) -> None:
    _send_query(client)
    seconds = {**CLICKS[0], "timestamp": 1744305461}
    del seconds["selectedPosition"]  # a second warning on the same event
    email = {**CLICKS[1], "visitorId": "jane.doe@example.com"}
    assert _send_clicks(client, [seconds, email, CLICKS[2]]) == 202
    warnings = client.warnings()
    assert sorted(w["rule"] for w in warnings) == [
        "click-without-position", "personal-data-in-id", "timestamp-in-seconds",
    ]  # fmt: skip
    (in_seconds,) = client.warnings("timestamp-in-seconds")  # that rule's, not its event's all
    assert in_seconds["path"] == "$.timestamp"
    (event,) = client.events(user=CLICKS[0]["visitorId"], limit=1000, warned="true")
    assert in_seconds["event"] == event["id"]
    assert in_seconds["message"]
    assert client.warnings(type="query") == []  # filters as events() takes them
    assert [e["user"] for e in client.warned_events("personal-data-in-id")] == [
        "jane.doe@example.com"
    ]


def test_an_unknown_query_warning_goes_when_its_query_arrives(client: MockClient) -> None:
    _send_clicks(client, CLICKS[:1])
    assert [w["rule"] for w in client.warnings()] == ["unknown-query"]
    _send_query(client)
    assert client.warnings() == []  # read-time: as of the call


def test_assert_no_warnings_lists_each_warned_event_and_why(client: MockClient) -> None:
    _send_query(client)
    _send_clicks(client)
    client.assert_no_warnings()
    _send_clicks(client, [{k: v for k, v in CLICKS[0].items() if k != "selectedPosition"}])
    client.assert_no_warnings("timestamp-in-seconds")  # another rule: passes
    with pytest.raises(AssertionError) as failure:
        client.assert_no_warnings()
    text = str(failure.value)
    assert "accepted 1 event in namespace" in text
    assert "with 1 signal-quality warning:" in text
    assert "lucidworks click" in text
    assert "\n      $.selectedPosition  [click-without-position]  the click has no" in text


def test_bad_filters_raise_a_clear_error(client: MockClient) -> None:
    with pytest.raises(ValueError, match="vendr: unknown parameter"):
        client.events(vendr="neuralens")


def test_a_url_that_is_not_a_mockserver_gives_a_readable_error() -> None:
    with (
        MockServer() as server,
        MockClient(server.url + "/analytics") as lost,
        pytest.raises(ValueError, match="404"),
    ):
        lost.events()


def test_a_fault_applies_inside_the_block_only_and_to_this_namespace_only(
    server: MockServer, client: MockClient
) -> None:
    with client.fault(vendor="lucidworks", status=503, times=2) as rule:
        assert rule["fault"] == "status"  # implied by status=503
        assert rule["namespace"] == client.namespace
        assert [_send_clicks(client) for _ in range(3)] == [503, 503, 202]
        with server.client(namespace="elsewhere") as other:
            assert _send_clicks(other) == 202  # another namespace never meets it
        assert client.faults()[0]["hits"] == 2
    assert client.faults() == []
    assert _send_clicks(client) == 202


def test_a_fault_is_removed_even_when_the_block_fails(client: MockClient) -> None:
    with pytest.raises(RuntimeError), client.fault(fault="reset"):
        raise RuntimeError("the test failed inside the block")
    assert client.faults() == []


def test_a_fault_needs_its_kind(client: MockClient) -> None:
    with pytest.raises(ValueError, match="say which fault"):
        client.add_fault(times=2)
    with pytest.raises(ValueError, match="status: must be one of"):
        client.add_fault(status=418)


def test_the_near_miss_fields_are_the_event_filters_that_compare_a_field_of_the_same_name() -> None:
    # The client names what a near miss differs in from the declared filters' own fields (the
    # client's namespace is its own, and never a near miss).
    compared = [name for name in base.EVENT_FILTERS if filters._EQUALS.get(name) == name]
    assert [*testing_client._FIELD_FILTERS] == [n for n in compared if n != "namespace"]

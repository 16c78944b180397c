from __future__ import annotations

import json
import time

import pytest
from starlette.testclient import TestClient

from tests.conftest import FIXTURES, NEURALENS_HEADERS, ClientFactory, load_fixture, post_neuralens

CLICK = load_fixture("neuralens", "valid", "click-product-docs-example-fixed.json")

pytestmark = pytest.mark.both_stores  # what is stored, on both stores


def _rejection(client: TestClient) -> dict[str, object]:
    rejection: dict[str, object] = client.get("/_mock/rejections").json()["rejections"][0]
    return rejection


def test_success_reply_is_the_documented_body(client: TestClient) -> None:
    response = post_neuralens(client, CLICK)
    assert response.status_code == 200
    assert response.json() == {"status": "success", "message": ""}


def test_event_is_stored_in_the_common_shape(client: TestClient) -> None:
    post_neuralens(client, CLICK)
    event = client.get("/_mock/events").json()["events"][0]
    assert event["vendor"] == "neuralens"
    assert event["endpoint"] == "/analytics/event"
    assert event["type"] == "CLICK_PRODUCT"
    assert event["namespace"] == "default"
    assert event["tenant"] == "shop-app"
    assert event["user"] == "3845"
    assert event["query"] == "solid wood chair"
    assert event["items"] == ["AV768"]
    assert event["position"] == 4  # index 3 is 0-based; positions are 1-based for both vendors
    assert event["timestamp_ms"] == 1715644800 * 1000
    assert event["payload"] == CLICK


def test_bad_body_gets_a_failure_in_plain_words(client: TestClient) -> None:
    verbatim = (FIXTURES / "neuralens" / "invalid" / "docs-example-verbatim.json").read_bytes()
    response = client.post("/analytics/event", content=verbatim, headers=NEURALENS_HEADERS)
    assert response.status_code == 400
    assert response.json()["status"] == "failure"
    assert "trailing comma" in response.json()["message"]


def test_failure_message_names_each_field(client: TestClient) -> None:
    response = post_neuralens(client, {**CLICK, "page": "SEARCH", "index": -1})
    message = response.json()["message"]
    assert "page:" in message
    assert "index:" in message
    assert "0-based" in message  # the schema's hint for index


@pytest.mark.parametrize(
    ("key_header", "rule"),
    [
        (None, "missing-key"),
        ("test-key", "key-format"),
        ("Bearer ", "key-format"),
        ("Token test-key", "key-format"),
    ],
)
def test_missing_or_malformed_key_is_401(
    client: TestClient, key_header: str | None, rule: str
) -> None:
    headers = {k: v for k, v in NEURALENS_HEADERS.items() if k != "X-Neuralens-API-Key"}
    if key_header is not None:
        headers["X-Neuralens-API-Key"] = key_header
    response = client.post("/analytics/event", json=CLICK, headers=headers)
    assert response.status_code == 401
    assert response.json()["status"] == "failure"
    errors = _rejection(client)["errors"]
    assert [(e["layer"], e["rule"]) for e in errors] == [("auth", rule)]  # type: ignore[attr-defined]


def test_the_bearer_scheme_is_read_in_any_case(client: TestClient) -> None:
    assert post_neuralens(client, CLICK, **{"X-Neuralens-API-Key": "bearer test-key"}).json() == {
        "status": "success",
        "message": "",
    }


def test_configured_keys_are_the_only_ones_accepted(client_with: ClientFactory) -> None:
    keyed_client = client_with(neuralens_keys=("good-key",))
    assert post_neuralens(keyed_client, CLICK).status_code == 401
    good = {"X-Neuralens-API-Key": "Bearer good-key"}
    assert post_neuralens(keyed_client, CLICK, **good).status_code == 200


def test_missing_application_id_is_a_400_header_error(client: TestClient) -> None:
    headers = {k: v for k, v in NEURALENS_HEADERS.items() if k != "X-Neuralens-Application-ID"}
    response = client.post("/analytics/event", json=CLICK, headers=headers)
    assert response.status_code == 400
    assert "X-Neuralens-Application-ID" in response.json()["message"]


def test_wrong_method_is_405_and_recorded(client: TestClient) -> None:
    response = client.get("/analytics/event", headers=NEURALENS_HEADERS)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["status"] == "failure"
    assert _rejection(client)["status"] == 405


def test_namespace_prefix_keeps_events_apart(client: TestClient) -> None:
    response = client.post("/ns/test-42/analytics/event", json=CLICK, headers=NEURALENS_HEADERS)
    assert response.status_code == 200
    post_neuralens(client, CLICK)
    ours = client.get("/_mock/events", params={"namespace": "test-42"}).json()
    assert ours["total"] == 1
    assert ours["events"][0]["namespace"] == "test-42"
    assert client.get("/_mock/events").json()["total"] == 2


def test_invalid_namespace_name_is_404(client: TestClient) -> None:
    response = client.post("/ns/a%20b/analytics/event", json=CLICK, headers=NEURALENS_HEADERS)
    assert response.status_code == 404
    assert _rejection(client)["status"] == 404


@pytest.mark.parametrize("field", ["event", "page"])
def test_a_list_where_a_name_belongs_is_a_400_not_a_crash(client: TestClient, field: str) -> None:
    # Found by tests/test_fuzz.py: the cross-field rules once hashed whatever was sent.
    response = post_neuralens(client, {**CLICK, field: ["CLICK_PRODUCT"]})
    assert response.status_code == 400
    assert f"{field}:" in response.json()["message"]


def test_an_index_beyond_64_bits_is_stored_without_a_position(client: TestClient) -> None:
    event = {**CLICK, "index": 2**70}
    assert post_neuralens(client, event).status_code == 200
    (stored,) = client.get("/_mock/events").json()["events"]
    assert stored["position"] is None
    assert stored["payload"]["index"] == 2**70


# -- each hint where it fits the error, and only there -------------------------------------


def _message(client: TestClient, **changes: object) -> str:
    response = post_neuralens(client, {**CLICK, **changes})
    assert response.status_code == 400
    message: str = response.json()["message"]
    return message


@pytest.mark.parametrize(
    ("field", "sent", "meant"),
    [
        ("event", "click_product", "CLICK_PRODUCT"),  # the right value in the wrong case
        ("page", "search_result_page", "SEARCH_RESULT_PAGE"),
        ("event", "CLIK_PRODUCT", "CLICK_PRODUCT"),  # one edit
        ("event", "Add_To_Cart_", "ADD_TO_CART"),  # case and one edit
        ("page", "PRODCUT_PAGE", "PRODUCT_PAGE"),  # two letters swapped: one edit
        ("event", "VIEW_PRODUCTS", "VIEW_PRODUCT"),
        ("page", "CATEGORY_PAG", "CATEGORY_PAGE"),
    ],
)
def test_an_enum_near_miss_is_told_what_was_meant(
    client: TestClient, field: str, sent: str, meant: str
) -> None:
    assert _message(client, **{field: sent}).endswith(f"(did you mean {meant}?)")


@pytest.mark.parametrize(
    ("field", "sent"),
    [
        ("event", "CLICK"),  # a word of CLICK_PRODUCT, eight edits away
        ("event", "VIEW"),
        ("page", "HOME"),
        ("event", "PURCHASED_ITEM"),
        ("event", ""),
        ("event", 5),
        ("page", "SEARCH"),
    ],
)
def test_a_value_near_no_allowed_one_gets_no_guess(
    client: TestClient, field: str, sent: object
) -> None:
    assert "did you mean" not in _message(client, **{field: sent})


def test_a_number_sent_as_a_string_is_a_type_error_not_a_unit_problem(client: TestClient) -> None:
    message = _message(client, index="3")
    assert message == (
        'index: "3" is not of type "integer" (index is a JSON number, not a string: send 3 '
        "without quotes)"
    )


def test_a_date_string_timestamp_is_told_it_is_a_number_not_milliseconds(
    client: TestClient,
) -> None:
    message = _message(client, timestamp="2024-05-14T00:00:00Z")
    assert message.endswith("(timestamp is a JSON number, not a string)")
    assert "milliseconds" not in message


@pytest.mark.parametrize(
    ("changes", "hint"),
    [
        ({"index": -1}, "Neuralens positions are 0-based: the first result is 0"),
        ({"timestamp": 1715644800000}, "epoch seconds (1715644800), not milliseconds"),
        ({"timestamp": 0}, "Neuralens timestamps are epoch seconds, such as 1715644800"),
    ],
)
def test_a_number_that_breaks_a_bound_keeps_its_unit_hint(
    client: TestClient, changes: dict[str, object], hint: str
) -> None:
    assert _message(client, **changes).endswith(f"{hint})")


def test_a_fraction_where_an_integer_belongs_gets_no_unit_or_string_hint(
    client: TestClient,
) -> None:
    assert _message(client, index=1.5) == 'index: 1.5 is not of type "integer"'


# -- what a client reads in a refusal, word for word ---------------------------------------


def test_a_malformed_key_is_told_where_the_word_bearer_goes(client: TestClient) -> None:
    response = post_neuralens(client, CLICK, **{"X-Neuralens-API-Key": "test-key"})
    assert response.json() == {
        "status": "failure",
        "message": "X-Neuralens-API-Key must read 'Bearer <your API key>' (the word Bearer "
        "goes inside this header)",
    }


def test_an_unknown_key_is_told_it_is_not_one_the_server_knows(
    client_with: ClientFactory,
) -> None:
    keyed_client = client_with(neuralens_keys=("good-key",))
    response = post_neuralens(keyed_client, CLICK)
    assert response.status_code == 401
    assert response.json() == {
        "status": "failure",
        "message": "this API key is not one the server was started with",
    }
    assert _rejection(keyed_client)["errors"] == [
        {
            "path": "header:X-Neuralens-API-Key",
            "rule": "unknown-key",
            "layer": "auth",
            "message": "this API key is not one the server was started with",
        }
    ]


def test_spaces_around_the_key_are_not_part_of_it(client_with: ClientFactory) -> None:
    keyed_client = client_with(neuralens_keys=("good-key",))
    spaced = {"X-Neuralens-API-Key": "Bearer   good-key "}
    assert post_neuralens(keyed_client, CLICK, **spaced).status_code == 200


def test_a_missing_application_id_is_a_required_header_error(client: TestClient) -> None:
    headers = {**NEURALENS_HEADERS, "X-Neuralens-Application-ID": " "}
    response = client.post("/analytics/event", json=CLICK, headers=headers)
    assert response.json() == {
        "status": "failure",
        "message": "send X-Neuralens-Application-ID: <your application id>",
    }
    assert _rejection(client)["errors"] == [
        {
            "path": "header:X-Neuralens-Application-ID",
            "rule": "required",
            "layer": "header",
            "message": "send X-Neuralens-Application-ID: <your application id>",
        }
    ]


# -- what is stored --------------------------------------------------------------------------


def test_the_page_and_the_requests_headers_of_an_event_are_stored(client: TestClient) -> None:
    post_neuralens(client, {**CLICK, "page": "SEARCH_RESULT_PAGE"})
    (event,) = client.get("/_mock/events").json()["events"]
    assert event["page"] == "SEARCH_RESULT_PAGE"
    assert event["request_id"]
    assert event["headers"]["x-neuralens-application-id"] == "shop-app"  # tied by request id


def test_the_largest_64_bit_index_is_stored_without_a_position(client: TestClient) -> None:
    # Its position, index + 1, would be one past what a 64-bit column holds.
    assert post_neuralens(client, {**CLICK, "index": 2**63 - 1}).status_code == 200
    assert post_neuralens(client, {**CLICK, "index": 2**63 - 2}).status_code == 200
    positions = [e["position"] for e in client.get("/_mock/events").json()["events"]]
    assert sorted(positions, key=str) == sorted([None, 2**63 - 1], key=str)


def test_a_lenient_event_with_bytes_that_are_not_utf_8_is_stored_with_replacements(
    client_with: ClientFactory,
) -> None:
    lenient = client_with(profile="lenient")
    body = json.dumps({**CLICK, "query": "caf\u00e9"}).encode().replace(b"\\u00e9", b"\xe9")
    response = lenient.post("/analytics/event", content=body, headers=NEURALENS_HEADERS)
    assert response.status_code == 200
    (event,) = lenient.get("/_mock/events").json()["events"]
    assert event["payload"]["query"] == "caf\ufffd"


@pytest.mark.parametrize(("ahead_seconds", "warned"), [(86_400 - 600, False), (86_400 + 600, True)])
def test_an_event_more_than_a_day_ahead_is_warned_about_its_timestamp(
    client: TestClient, ahead_seconds: int, warned: bool
) -> None:
    timestamp = int(time.time()) + ahead_seconds
    assert post_neuralens(client, {**CLICK, "timestamp": timestamp}).status_code == 200
    (event,) = client.get("/_mock/events").json()["events"]
    future = [w for w in event["warnings"] if w["rule"] == "timestamp-in-future"]
    assert [w["path"] for w in future] == (["$.timestamp"] if warned else [])


def test_a_lenient_event_with_a_lone_surrogate_escape_is_stored_as_its_decoded_value(
    client_with: ClientFactory,
) -> None:
    lenient = client_with(profile="lenient")
    body = json.dumps({**CLICK, "query": "chair \ud800"})  # the escape as sent: \ud800
    response = lenient.post("/analytics/event", content=body, headers=NEURALENS_HEADERS)
    assert response.status_code == 200
    (event,) = lenient.get("/_mock/events").json()["events"]
    assert event["payload"] == {**CLICK, "query": "chair \ufffd"}

from __future__ import annotations

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

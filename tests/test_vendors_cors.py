"""Browser access: pages on this machine (and --cors-origin ones) may send vendor events."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver.settings import Settings
from tests.conftest import LUCIDWORKS_HEADERS, NEURALENS_HEADERS, ClientFactory, load_fixture

CLICK = load_fixture("lucidworks", "valid", "click-full.json")
EVENT = load_fixture("neuralens", "valid", "click-product-docs-example-fixed.json")


def _preflight(client: TestClient, path: str, origin: str, headers: str) -> Any:
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


@pytest.mark.parametrize(
    "origin", ["http://localhost:5173", "http://127.0.0.1:3000", "https://[::1]:8443"]
)
def test_a_preflight_from_this_machine_is_204_and_not_recorded(
    client: TestClient, origin: str
) -> None:
    response = _preflight(
        client, "/retail/signals/click", origin, "authorization, content-type, accept"
    )
    assert response.status_code == 204
    allowed = response.headers
    assert allowed["access-control-allow-origin"] == origin
    assert "POST" in allowed["access-control-allow-methods"]
    assert client.get("/_mock/summary").json()["rejections"]["total"] == 0


def test_the_neuralens_headers_are_allowed(client: TestClient) -> None:
    response = _preflight(
        client,
        "/ns/shop/analytics/event",
        "http://localhost:8000",
        "x-neuralens-api-key, x-neuralens-application-id, content-type",
    )
    assert response.status_code == 204


def test_a_cross_origin_event_is_stored_and_its_reply_readable(client: TestClient) -> None:
    headers = {**NEURALENS_HEADERS, "Origin": "http://localhost:5173"}
    response = client.post("/analytics/event", json=EVENT, headers=headers)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert client.get("/_mock/events").json()["total"] == 1


def test_another_origin_is_not_allowed_unless_named(client_with: ClientFactory) -> None:
    default = client_with()
    refused = _preflight(default, "/retail/signals/click", "https://shop.example", "content-type")
    assert refused.status_code == 400
    assert default.get("/_mock/summary").json()["rejections"]["total"] == 0
    named = client_with(cors_origins=("https://shop.example",))
    allowed = _preflight(named, "/retail/signals/click", "https://shop.example", "content-type")
    assert allowed.status_code == 204
    anyone = client_with(cors_origins=("*",))
    response = anyone.post(
        "/retail/signals/click",
        json=CLICK,
        headers={**LUCIDWORKS_HEADERS, "Origin": "https://elsewhere.example"},
    )
    assert response.status_code == 202
    assert response.headers["access-control-allow-origin"] == "*"


def test_the_inspection_api_stays_same_origin(client: TestClient) -> None:
    response = client.get("/_mock/events", headers={"Origin": "http://localhost:5173"})
    assert "access-control-allow-origin" not in response.headers


def test_cors_origins_come_from_the_environment_too() -> None:
    env = {"MOCKSERVER_CORS_ORIGINS": "https://a.example,https://b.example"}
    assert Settings.load({}, env).cors_origins == ("https://a.example", "https://b.example")


def test_a_page_on_localhost_without_a_port_may_send_events(client: TestClient) -> None:
    # http://localhost is port 80: a page from a local web server on its default port.
    response = _preflight(client, "/retail/signals/click", "http://localhost", "content-type")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "http://localhost"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_a_preflight_for_any_method_but_post_is_refused(client: TestClient, method: str) -> None:
    # The vendor routes take POST only: a browser is told so before it sends anything.
    response = client.options(
        "/retail/signals/click",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 400
    assert response.headers["access-control-allow-methods"] == "POST"


def test_a_preflight_reply_has_no_body_and_says_of_none(client: TestClient) -> None:
    # Starlette's own 200 carries "OK" with its type and length; a 204 must carry neither.
    response = _preflight(client, "/analytics/event", "http://localhost:5173", "content-type")
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers
    assert "content-length" not in response.headers
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"

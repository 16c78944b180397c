from __future__ import annotations

import copy
import dataclasses
import json
import time
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from mockserver.validation import Contracts
from mockserver.validation.openapi import HeaderParameter
from mockserver.vendors.base import Routed
from mockserver.vendors.intake import Intake
from mockserver.vendors.lucidworks import (
    LucidworksSignals,
    _product_ids,
    _revenue,
    signal_store_from_host,
)
from tests.conftest import LUCIDWORKS_HEADERS, ROOT, ClientFactory, load_fixture, post_lucidworks

BATCH = load_fixture("lucidworks", "valid", "click-batch-of-three.json")
CLICK = load_fixture("lucidworks", "valid", "click-full.json")

pytestmark = pytest.mark.both_stores  # what is stored, on both stores


def _errors(client: TestClient) -> list[tuple[str, str, str]]:
    rejection = client.get("/_mock/rejections").json()["rejections"][0]
    return [(e["layer"], e["rule"], e["path"]) for e in rejection["errors"]]


def test_accepted_reply_is_202_with_an_empty_body(client: TestClient) -> None:
    response = post_lucidworks(client, "click", CLICK)
    assert response.status_code == 202
    assert response.content == b""


def test_each_signal_in_the_array_is_one_event(client: TestClient) -> None:
    post_lucidworks(client, "click", BATCH, Host="mystore.localhost:8080")
    events = client.get("/_mock/events").json()["events"]
    assert len(events) == 3
    assert {e["request_id"] for e in events} == {events[0]["request_id"]}
    assert sorted(e["position"] for e in events) == [1, 2, 3]
    first = events[-1]
    assert first["type"] == "click"
    assert first["tenant"] == "mystore"
    assert first["user"] == BATCH[0]["visitorId"]
    assert first["session"] == BATCH[0]["sessionId"]
    assert first["query_id"] == BATCH[0]["queryId"]
    assert first["items"] == ["1234567"]
    assert first["timestamp_ms"] == BATCH[0]["timestamp"]
    assert first["payload"] == BATCH[0]


def test_query_signal_records_its_search_terms(client: TestClient) -> None:
    body = load_fixture("lucidworks", "valid", "query-example.json")
    assert post_lucidworks(client, "query", body).status_code == 202
    event = client.get("/_mock/events").json()["events"][0]
    assert (event["type"], event["query"]) == ("query", body[0]["searchTerms"])


@pytest.mark.parametrize(
    ("host", "store_id"),
    [
        ("mystore.applications.lucidworks.com", "mystore"),
        ("MyStore.Applications.Lucidworks.com:443", "mystore"),
        ("mystore.localhost:8080", "mystore"),
        ("localhost:8080", "default"),
        ("127.0.0.1:8080", "default"),
        ("[::1]:8080", "default"),
        ("mock.internal:8080", "default"),
        ("", "default"),
    ],
)
def test_signal_store_comes_from_the_host(host: str, store_id: str) -> None:
    assert signal_store_from_host(host) == store_id


@pytest.mark.parametrize("header", ["Accept", "Content-Type"])
def test_missing_required_header_is_400(client: TestClient, header: str) -> None:
    # Sent empty: the test client adds "Accept: */*" to any request that lacks one.
    headers = {**LUCIDWORKS_HEADERS, header: ""}
    response = client.post("/retail/signals/click", content=b"[]", headers=headers)
    assert response.status_code == 400
    # Missing is one problem, said once: not also a wrong media type.
    assert _errors(client) == [("header", "required", f"header:{header}")]


def test_content_type_must_be_json(client: TestClient) -> None:
    response = post_lucidworks(client, "click", CLICK, **{"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert ("header", "content-type", "header:Content-Type") in _errors(client)


def test_header_and_body_problems_are_reported_together(client: TestClient) -> None:
    headers = {**LUCIDWORKS_HEADERS, "Accept": ""}
    response = client.post("/retail/signals/click", content=b"{}", headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400
    assert {(e["layer"], e["rule"]) for e in problem["errors"]} == {
        ("header", "required"),
        ("decode", "type"),
    }


@pytest.mark.parametrize(
    ("authorization", "rule"),
    [
        (None, "missing-token"),
        ("", "missing-token"),
        ("Bearer embed-token-123", "token-format"),
        ("bearer embed-token-123", "token-format"),  # schemes are case-insensitive
    ],
)
def test_missing_or_bearer_token_is_401(
    client: TestClient, authorization: str | None, rule: str
) -> None:
    headers = {k: v for k, v in LUCIDWORKS_HEADERS.items() if k != "Authorization"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = client.post("/retail/signals/click", json=[CLICK[0]], headers=headers)
    assert response.status_code == 401
    assert _errors(client) == [("auth", rule, "header:Authorization")]


def test_configured_tokens_are_the_only_ones_accepted(client_with: ClientFactory) -> None:
    token_client = client_with(lucidworks_tokens=("t-1", "t-2"))
    assert post_lucidworks(token_client, "click", CLICK).status_code == 401
    assert post_lucidworks(token_client, "click", CLICK, Authorization="t-2").status_code == 202


def test_unknown_signal_is_a_recorded_404(client: TestClient) -> None:
    response = post_lucidworks(client, "pageview", CLICK)
    assert response.status_code == 404
    assert "click" in response.json()["detail"]
    rejection = client.get("/_mock/rejections").json()["rejections"][0]
    assert (rejection["vendor"], rejection["status"]) == ("lucidworks", 404)


def test_all_four_signal_endpoints_are_served(client: TestClient) -> None:
    for name in ("click-full", "query-example", "cartadd-example", "purchase-example"):
        signal = name.split("-")[0]
        body = load_fixture("lucidworks", "valid", f"{name}.json")
        assert post_lucidworks(client, signal, body).status_code == 202
    by_type = client.get("/_mock/summary").json()["events"]["by_type"]
    assert by_type == {"cartadd": 1, "click": 1, "purchase": 1, "query": 1}


def test_signal_store_can_come_from_the_path(client: TestClient) -> None:
    # For HTTP clients whose resolver does not map mystore.localhost to 127.0.0.1.
    response = client.post(
        "/ns/t-1/signal-store/shop-nl/retail/signals/click",
        json=CLICK,
        headers={**LUCIDWORKS_HEADERS, "Host": "other.localhost"},
    )
    assert response.status_code == 202
    event = client.get("/_mock/events").json()["events"][0]
    assert (event["tenant"], event["namespace"], event["endpoint"]) == (
        "shop-nl",
        "t-1",
        "/retail/signals/click",
    )


@pytest.mark.parametrize(
    "host", ["<script>.localhost", "../../etc.localhost", "x" * 300 + ".localhost"]
)
def test_a_malformed_signal_store_in_the_host_is_400_and_not_recorded_as_a_tenant(
    client: TestClient, host: str
) -> None:
    response = post_lucidworks(client, "click", CLICK, Host=host)
    assert response.status_code == 400
    assert ("header", "signal-store", "header:Host") in _errors(client)
    (rejection,) = client.get("/_mock/rejections").json()["rejections"]
    assert rejection["tenant"] is None


def test_a_malformed_signal_store_in_the_path_is_404(client: TestClient) -> None:
    response = client.post(
        "/signal-store/a%20b/retail/signals/click", json=CLICK, headers=LUCIDWORKS_HEADERS
    )
    assert response.status_code == 404


# -- what the vendor documents as valid is accepted, in both profiles ----------------------

CLICK_SPEC = ROOT / "schemas" / "lucidworks" / "lucidworks-signals-click.openapi.yaml"
PROFILES = ("strict", "lenient")


def _example(schema: dict[str, Any], schemas: dict[str, Any]) -> Any:
    """A value built from the spec's own ``example`` (else ``default``) of every property."""
    if "$ref" in schema:
        return _example(schemas[schema["$ref"].rsplit("/", 1)[1]], schemas)
    if "properties" in schema:
        return {name: _example(sub, schemas) for name, sub in schema["properties"].items()}
    if schema.get("type") == "array":
        return [_example(schema["items"], schemas)]
    return schema.get("example", schema.get("default"))


def _spec_click() -> dict[str, Any]:
    """The click spec's property examples as one signal. sourceId has no example (any text
    passes), selectedPosition none either ("the first item is 1")."""
    schemas = yaml.safe_load(CLICK_SPEC.read_text(encoding="utf-8"))["components"]["schemas"]
    click: dict[str, Any] = _example(schemas["RetailClick"], schemas)
    assert click["ipAddress"] == "111.222.333"  # the spec's own example: no address
    return {**click, "sourceId": "web", "selectedPosition": 1}


def _documented_bodies() -> dict[str, tuple[str, list[dict[str, Any]]]]:
    click = _spec_click()
    without_ip = {k: v for k, v in click.items() if k != "ipAddress"}
    bodies = {
        "click from the spec's examples, no ipAddress": ("click", [without_ip]),
        "click from the spec's examples, a valid ipAddress": (
            "click",
            [{**click, "ipAddress": "203.0.113.7"}],
        ),
    }
    for signal in ("query", "purchase"):  # the docs' curl examples, verbatim but for the address
        (example,) = load_fixture("lucidworks", "invalid", f"{signal}-docs-example.json")
        example.pop("ipAddress")
        bodies[f"the {signal} docs example, its ipAddress removed"] = (signal, [example])
    return bodies


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("case", sorted(_documented_bodies()))
def test_what_the_vendor_documents_is_accepted_in_both_profiles(
    client_with: ClientFactory, profile: str, case: str
) -> None:
    signal, body = _documented_bodies()[case]
    client = client_with(profile=profile)
    response = post_lucidworks(client, signal, body)
    assert response.status_code == 202, response.text
    assert client.get("/_mock/events").json()["total"] == 1


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("signal", ["click", "query", "cartadd", "purchase"])
def test_an_absent_ip_address_is_accepted_for_every_signal(
    client_with: ClientFactory, profile: str, signal: str
) -> None:
    # "If it is not passed in the signal, it is extracted from the request"
    name = {"click": "click-full.json"}.get(signal, f"{signal}-example.json")
    (example,) = load_fixture("lucidworks", "valid", name)
    example.pop("ipAddress")
    response = post_lucidworks(client_with(profile=profile), signal, [example])
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("profile", "ip", "expected"),
    [
        ("strict", None, [("openapi", "type", "$[0].ipAddress")]),  # type: string, not nullable
        ("lenient", None, []),  # a nil pointer, as absent
        ("strict", "", [("validator", "ip", "$[0].ipAddress")]),
        ("lenient", "", [("validator", "ip", "$[0].ipAddress")]),
    ],
)
def test_a_null_or_empty_ip_address(
    client_with: ClientFactory, profile: str, ip: str | None, expected: list[tuple[str, ...]]
) -> None:
    client = client_with(profile=profile)
    response = post_lucidworks(client, "click", [{**CLICK[0], "ipAddress": ip}])
    assert response.status_code == (400 if expected else 202)
    if expected:
        assert _errors(client) == expected


# -- refusals that point at the fix --------------------------------------------------------


def _messages(client: TestClient, body: bytes, signal: str = "click") -> list[str]:
    response = client.post(f"/retail/signals/{signal}", content=body, headers=LUCIDWORKS_HEADERS)
    assert response.status_code == 400
    return [error["message"] for error in response.json()["errors"]]


@pytest.mark.parametrize("profile", PROFILES)
def test_one_object_instead_of_an_array_is_told_to_wrap_it(
    client_with: ClientFactory, profile: str
) -> None:
    body = json.dumps(CLICK[0]).encode()
    assert _messages(client_with(profile=profile), body) == [
        "json: cannot unmarshal object into Go value of type []RetailClick; the body must be "
        "a JSON array of signals: wrap the object in [ ]"
    ]


def test_an_array_of_the_wrong_elements_gets_no_wrapping_hint(client: TestClient) -> None:
    (message,) = _messages(client, b"[1]")
    assert "wrap" not in message


def test_selected_position_zero_is_told_positions_are_1_based(client: TestClient) -> None:
    (message,) = _messages(client, json.dumps([{**CLICK[0], "selectedPosition": 0}]).encode())
    assert message.endswith("(positions are 1-based: the first result is 1)")


def test_a_number_sent_as_a_string_is_told_it_is_a_json_number(client: TestClient) -> None:
    body = json.dumps([{**CLICK[0], "timestamp": "1744305461169"}]).encode()
    assert _messages(client, body) == [
        "json: cannot unmarshal string into Go struct field RetailClick.timestamp of type int64; "
        "timestamp is a JSON number, not a string: send 1744305461169 without quotes"
    ]


def test_a_null_optional_field_is_told_to_leave_it_out(client: TestClient) -> None:
    (message,) = _messages(client, json.dumps([{**CLICK[0], "ipAddress": None}]).encode())
    assert message.endswith("(ipAddress is optional: leave it out rather than send null)")


# -- every refusal, word for word: the problem a person reads ------------------------------

NO_TOKEN = {k: v for k, v in LUCIDWORKS_HEADERS.items() if k != "Authorization"}
STORE_NAMES = "names are 1-64 letters, digits, '.', '_' or '-'"


def _problem(response: Any) -> tuple[int, str, str, list[tuple[str, str, str]]]:
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "about:blank"
    assert problem["status"] == response.status_code
    errors = [(e["path"], e["rule"], e["layer"]) for e in problem["errors"]]
    assert problem["detail"] == "; ".join(e["message"] for e in problem["errors"])
    return response.status_code, problem["title"], problem["detail"], errors


def test_a_request_without_a_token_is_told_what_to_send(client: TestClient) -> None:
    response = client.post("/retail/signals/click", json=CLICK, headers=NO_TOKEN)
    assert _problem(response) == (
        401,
        "Unauthorized",
        "send Authorization: <embed token>",
        [("header:Authorization", "missing-token", "auth")],
    )


def test_a_bearer_token_is_told_to_drop_the_word_bearer(client: TestClient) -> None:
    response = post_lucidworks(client, "click", CLICK, Authorization="Bearer embed-token-123")
    assert _problem(response)[2] == (
        "send the embed token as is (Authorization: <token>), without 'Bearer '"
    )


def test_an_unknown_token_is_told_it_is_not_one_the_server_knows(
    client_with: ClientFactory,
) -> None:
    response = post_lucidworks(client_with(lucidworks_tokens=("t-1",)), "click", CLICK)
    assert _problem(response) == (
        401,
        "Unauthorized",
        "this embed token is not one the server was started with",
        [("header:Authorization", "unknown-token", "auth")],
    )


def test_a_token_with_spaces_around_it_is_the_token(client_with: ClientFactory) -> None:
    token_client = client_with(lucidworks_tokens=("t-1",))
    assert post_lucidworks(token_client, "click", CLICK, Authorization=" t-1 ").status_code == 202


def test_a_missing_header_is_named(client: TestClient) -> None:
    response = post_lucidworks(client, "click", CLICK, Accept=" ")
    assert _problem(response) == (
        400,
        "Bad Request",
        "the Accept header is required",
        [("header:Accept", "required", "header")],
    )


def test_a_wrong_content_type_is_told_what_to_send(client: TestClient) -> None:
    response = post_lucidworks(client, "click", CLICK, **{"Content-Type": "Text/Plain; x=1"})
    assert _problem(response) == (
        400,
        "Bad Request",
        "Content-Type 'text/plain' is not accepted; send application/json",
        [("header:Content-Type", "content-type", "header")],
    )


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", " Application/JSON "])
def test_json_with_parameters_or_in_any_case_is_json(client: TestClient, content_type: str) -> None:
    response = post_lucidworks(client, "click", CLICK, **{"Content-Type": content_type})
    assert response.status_code == 202


def test_a_malformed_signal_store_in_the_host_is_told_its_form(client: TestClient) -> None:
    response = post_lucidworks(client, "click", CLICK, Host="<x>.localhost")
    assert _problem(response) == (
        400,
        "Bad Request",
        "the signal store named in the Host must be 1-64 letters, digits, '.', '_' or '-' "
        "(as in mystore.localhost)",
        [("header:Host", "signal-store", "header")],
    )


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/ns/a%20b/retail/signals/click", f"namespace {STORE_NAMES}"),
        ("/signal-store/a%20b/retail/signals/click", f"store {STORE_NAMES}"),
        (
            "/retail/signals/pageview",
            "/retail/signals/pageview is not a Lucidworks signal endpoint; "
            "served: POST /retail/signals/{click,query,cartadd,purchase}",
        ),
    ],
)
def test_a_path_lucidworks_does_not_serve_is_a_404_that_says_why(
    client: TestClient, path: str, detail: str
) -> None:
    response = client.post(path, json=CLICK, headers=LUCIDWORKS_HEADERS)
    rule = {"namespace": "namespace", "store": "store"}.get(detail.split()[0], "not-found")
    assert _problem(response) == (404, "Not Found", detail, [("$", rule, "http")])


def test_a_get_is_a_405_that_names_post(client: TestClient) -> None:
    response = client.get("/retail/signals/click", headers=LUCIDWORKS_HEADERS)
    assert response.headers["allow"] == "POST"
    assert _problem(response) == (
        405,
        "Method Not Allowed",
        "GET is not allowed here; use POST",
        [("$", "method", "http")],
    )


def test_a_body_over_the_limit_is_a_413_that_closes_the_connection(
    client_with: ClientFactory,
) -> None:
    response = post_lucidworks(client_with(max_body_bytes=10), "click", CLICK)
    assert response.headers["connection"] == "close"
    status, title, detail, errors = _problem(response)
    assert (status, title, errors) == (413, "Content Too Large", [("$", "body-too-large", "http")])
    assert detail.endswith("over the limit of 10 bytes (--max-body-bytes)")


def test_headers_over_a_megabyte_are_a_431_that_says_the_limit(client: TestClient) -> None:
    response = post_lucidworks(client, "click", CLICK, **{"X-Big": "x" * (1024 * 1024)})
    status, title, detail, errors = _problem(response)
    assert (status, title, errors) == (
        431,
        "Request Header Fields Too Large",
        [("header:*", "header-too-large", "http")],
    )
    assert detail.startswith("the headers are ")
    assert detail.endswith(
        " bytes, over the limit of 1048576 (Go's default, http.DefaultMaxHeaderBytes)"
    )


def test_a_status_with_no_title_of_its_own_is_an_error(contracts: Contracts) -> None:
    reply = LucidworksSignals(contracts.lucidworks).error_reply(429, [], {"Retry-After": "3"})
    assert json.loads(reply.body)["title"] == "Error"
    assert (b"retry-after", b"3") in reply.headers


# -- what is stored --------------------------------------------------------------------------


def test_a_purchase_stores_its_revenue_and_product_ids(client: TestClient) -> None:
    body = load_fixture("lucidworks", "valid", "purchase-example.json")
    assert post_lucidworks(client, "purchase", body).status_code == 202
    (event,) = client.get("/_mock/events").json()["events"]
    assert event["revenue"] == 2592.0
    assert event["items"] == ["1234567"]
    assert event["headers"]["authorization"].startswith("hmac-sha256:")


@pytest.mark.parametrize(
    ("revenue", "stored"), [(12.5, 12.5), (7, 7.0), (True, None), ("12", None), (None, None)]
)
def test_only_a_number_is_revenue(revenue: Any, stored: float | None) -> None:
    assert _revenue({"revenue": revenue}) == stored
    assert type(_revenue({"revenue": revenue})) is type(stored)


@pytest.mark.parametrize(
    ("details", "ids"),
    [
        ([{"product": {"productId": "a"}}, {"product": {"productId": "b"}}], ["a", "b"]),
        ([{"product": {"productId": ""}}, {"product": {"productId": 5}}], []),
        ([{"product": None}, {"product": "a"}, "a", {"quantity": 1}], []),
        (None, []),
    ],
)
def test_product_ids_are_the_non_empty_strings_named_as_such(details: Any, ids: list[str]) -> None:
    assert _product_ids({"productDetails": details}) == ids
    assert _product_ids({}) == []


@pytest.mark.parametrize(
    ("host", "store_id"),
    [
        ("mystore.localhost", "mystore"),
        ("a.mystore.localhost:8080", "mystore"),
        (" MyStore.localhost ", "mystore"),
        (".localhost", "default"),
        ("localhost", "default"),
        ("::1", "default"),
        ("[::1]", "default"),
        ("mystore.localhost.example.com", "default"),
        # Neither a name with one port nor an IPv6 literal: no store is read from it.
        ("a:mystore.localhost:8080", "default"),
        ("[::1]:mystore.localhost", "default"),
    ],
)
def test_the_signal_store_is_the_label_before_the_known_suffix(host: str, store_id: str) -> None:
    assert signal_store_from_host(host) == store_id


@pytest.mark.parametrize(
    ("path", "routed"),
    [
        ("/retail/signals/click", Routed("/retail/signals/click", None)),
        ("/retail/signals/pageview", Routed("/retail/signals/pageview", None)),  # its own 404
        ("/signal-store/s-1/retail/signals/query", Routed("/retail/signals/query", "s-1")),
        ("/retail/signals/", None),
        ("/retail/signals/click/more", None),
        ("/retail/signal/click", None),
        ("/signal-store/s-1", None),
        ("/analytics/event", None),
    ],
)
def test_lucidworks_answers_its_signal_paths_and_no_others(
    contracts: Contracts, path: str, routed: Routed | None
) -> None:
    assert LucidworksSignals(contracts.lucidworks).route(path) == routed


def test_lucidworks_needs_a_contract_for_every_signal(contracts: Contracts) -> None:
    some = {name: contracts.lucidworks[name] for name in ("click", "query")}
    with pytest.raises(ValueError, match=r"^no Lucidworks contract for cartadd, purchase$"):
        LucidworksSignals(some)


@pytest.mark.parametrize(
    ("ahead_ms", "warned"), [(86_400_000 - 600_000, False), (86_400_000 + 600_000, True)]
)
def test_a_signal_more_than_a_day_ahead_is_warned_about_its_timestamp(
    client: TestClient, ahead_ms: int, warned: bool
) -> None:
    timestamp = time.time_ns() // 1_000_000 + ahead_ms
    assert (
        post_lucidworks(client, "click", [{**CLICK[0], "timestamp": timestamp}]).status_code == 202
    )
    (event,) = client.get("/_mock/events").json()["events"]
    future = [w["path"] for w in event["warnings"] if w["rule"] == "timestamp-in-future"]
    assert future == (["$.timestamp"] if warned else [])


def _header_errors(signals: LucidworksSignals, **headers: str) -> list[tuple[str, str, str]]:
    raw = [
        (name.lower().replace("_", "-").encode(), value.encode()) for name, value in headers.items()
    ]
    scope = {"type": "http", "method": "POST", "path": "/retail/signals/click", "headers": raw}

    async def nothing() -> Any:
        raise AssertionError("not read")

    intake = Intake.of(scope, nothing, "lucidworks", "/retail/signals/click")
    return [(e.path, e.rule, e.message) for e in signals.header_errors(intake, "shop")]


def test_only_the_headers_a_contract_requires_are_refused_when_missing(
    contracts: Contracts,
) -> None:
    # A contract (Settings.schema_dir) may declare an optional header: it is not required.
    click = copy.copy(contracts.lucidworks["click"])
    click.headers = (*click.headers, HeaderParameter("X-Trace", required=False))
    signals = LucidworksSignals({**contracts.lucidworks, "click": click})
    assert _header_errors(signals) == [  # Authorization is the auth layer's: a 401
        ("header:Accept", "required", "the Accept header is required"),
        ("header:Content-Type", "required", "the Content-Type header is required"),
    ]


def test_a_content_type_is_read_up_to_its_first_parameter(contracts: Contracts) -> None:
    signals = LucidworksSignals(contracts.lucidworks)
    sent = "Application/JSON; charset=utf-8; version=2"
    assert _header_errors(signals, accept="application/json", content_type=sent) == []


def test_a_refused_content_type_is_told_each_media_type_the_contract_accepts(
    contracts: Contracts,
) -> None:
    click = copy.copy(contracts.lucidworks["click"])
    types = ("application/json", "text/plain")
    click.operation = dataclasses.replace(click.operation, body_media_types=types)
    signals = LucidworksSignals({**contracts.lucidworks, "click": click})
    assert _header_errors(signals, accept="*/*", content_type="text/html") == [
        (
            "header:Content-Type",
            "content-type",
            "Content-Type 'text/html' is not accepted; send application/json or text/plain",
        )
    ]

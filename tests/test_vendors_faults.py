"""Faults against real clients on a real socket: what each does to a retrying client, and
what is stored. The rules come through the runtime API, as a user's test would set them."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest
import requests
from requests.adapters import HTTPAdapter
from starlette.testclient import TestClient
from urllib3.util.retry import Retry

from mockserver import MockServer, Settings, create_app
from mockserver.faults.book import MAX_RULES, FaultBook
from mockserver.http11 import Connection
from mockserver.validation import Contracts
from mockserver.vendors import faults
from mockserver.vendors.faults import MALFORMED, FaultInjector
from mockserver.vendors.intake import Intake
from mockserver.vendors.registry import vendor as vendor_spec
from mockserver.vendors.reply import NO_REPLY, Reply
from tests.conftest import LUCIDWORKS_HEADERS, ClientFactory, load_fixture

CLICK = load_fixture("lucidworks", "valid", "click-full.json")


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer() as running:
        yield running


def _faults(server: MockServer, *rules: dict[str, Any]) -> None:
    response = httpx.put(f"{server.url}/_mock/faults", json={"rules": list(rules)})
    assert response.status_code == 200, response.text


def _click_url(server: MockServer) -> str:
    return server.lucidworks_signal_url("click")


def _stored(server: MockServer) -> int:
    return int(httpx.get(f"{server.url}/_mock/events").json()["total"])


def _retrying(retry: Retry) -> requests.Session:
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


def test_a_burst_of_503_is_retried_and_the_event_stored_once(server: MockServer) -> None:
    _faults(server, {"vendor": "lucidworks", "fault": "status", "status": 503, "times": 2})
    retry = Retry(total=3, backoff_factor=0, status_forcelist=[503], allowed_methods=None)
    with _retrying(retry) as session:
        response = session.post(_click_url(server), json=CLICK, headers=LUCIDWORKS_HEADERS)
    assert response.status_code == 202
    assert _stored(server) == 1
    (rule,) = httpx.get(f"{server.url}/_mock/faults").json()["rules"]
    assert rule["hits"] == 2


@pytest.mark.slow  # waits on purpose
def test_429_with_retry_after_is_honoured_by_urllib3(server: MockServer) -> None:
    _faults(server, {"fault": "rate_limit", "retry_after": 1, "times": 1})
    retry = Retry(total=2, status_forcelist=[429], allowed_methods=None,
                  respect_retry_after_header=True)  # fmt: skip
    started = time.monotonic()
    with _retrying(retry) as session:
        response = session.post(_click_url(server), json=CLICK, headers=LUCIDWORKS_HEADERS)
    assert response.status_code == 202
    assert time.monotonic() - started >= 1.0  # it waited as told
    assert _stored(server) == 1


def test_a_429_says_why_in_the_vendors_own_shape(server: MockServer) -> None:
    _faults(server, {"fault": "rate_limit", "retry_after": 7})
    response = httpx.post(_click_url(server), json=CLICK, headers=LUCIDWORKS_HEADERS)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json()["errors"][0]["rule"] == "fault"  # problem+json, as Lucidworks' 4xx


@pytest.mark.parametrize(
    ("fault", "requests_error", "httpx_error"),
    [
        ("reset", requests.ConnectionError, (httpx.ReadError, httpx.RemoteProtocolError)),
        ("empty", requests.ConnectionError, (httpx.RemoteProtocolError,)),
        ("malformed", requests.ConnectionError, (httpx.RemoteProtocolError,)),
    ],
)
def test_broken_connections_raise_each_clients_own_error_and_store_nothing(
    server: MockServer,
    fault: str,
    requests_error: type[Exception],
    httpx_error: tuple[type[Exception], ...],
) -> None:
    _faults(server, {"fault": fault})
    with pytest.raises(requests_error):
        requests.post(_click_url(server), json=CLICK, headers=LUCIDWORKS_HEADERS, timeout=5)
    with pytest.raises(httpx_error):
        httpx.post(_click_url(server), json=CLICK, headers=LUCIDWORKS_HEADERS)
    _faults(server)  # none
    assert _stored(server) == 0


@pytest.mark.slow  # waits on purpose
def test_latency_beyond_the_clients_timeout_times_it_out_but_the_event_is_stored(
    server: MockServer,
) -> None:
    _faults(server, {"fault": "latency", "ms": 800})
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(_click_url(server), json=CLICK, headers=LUCIDWORKS_HEADERS, timeout=0.2)
    started = time.monotonic()
    response = httpx.post(_click_url(server), json=CLICK, headers=LUCIDWORKS_HEADERS, timeout=5)
    assert response.status_code == 202
    assert time.monotonic() - started >= 0.8
    assert _stored(server) == 2  # served before the wait: a timed-out client still sent it


@pytest.mark.slow  # waits on purpose
def test_hang_holds_the_request_until_the_client_gives_up(server: MockServer) -> None:
    _faults(server, {"fault": "hang", "seconds": 30})
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(_click_url(server), json=CLICK, headers=LUCIDWORKS_HEADERS, timeout=0.3)
    assert time.monotonic() - started < 5
    assert _stored(server) == 0


def _raw_click(body: bytes) -> bytes:
    """A Lucidworks click request as bytes on the wire, for a test that holds the socket."""
    head = "".join(f"{name}: {value}\r\n" for name, value in LUCIDWORKS_HEADERS.items())
    return (
        f"POST /retail/signals/click HTTP/1.1\r\nHost: x\r\n{head}"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def test_a_hang_whose_client_gives_up_is_recorded_and_throws_nothing(
    server: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    # The hang's normal use (curl -m 1): the client closes its socket while the server holds
    # the request. Under uvloop resetting the gone connection raised ValueError ("negative
    # file descriptor"), logged as a traceback, and the attempt went unrecorded.
    _faults(server, {"vendor": "lucidworks", "fault": "hang", "seconds": 30})
    body = json.dumps(CLICK).encode()
    request = _raw_click(body)
    host, port = server.url.removeprefix("http://").split(":")
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            with socket.create_connection((host, int(port)), timeout=5) as sock:
                sock.sendall(request)
                time.sleep(0.2)  # held: nothing comes back
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            attempts = httpx.get(f"{server.url}/_mock/attempts").json()
            if attempts["total"] == 3:
                break
            time.sleep(0.05)
    rows = [(a["fault"], a["status"], a["stored"]) for a in attempts["attempts"]]
    assert rows == [("hang", None, False)] * 3
    assert _stored(server) == 0
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_ack_lost_stores_the_event_and_a_retrying_client_sends_it_twice(
    server: MockServer,
) -> None:
    _faults(server, {"fault": "ack_lost", "times": 1})
    body = json.dumps(CLICK)
    attempts = 0
    with httpx.Client(timeout=5) as client:
        while True:  # a client that retries whatever fails, as many do
            attempts += 1
            try:
                response = client.post(_click_url(server), content=body,
                                       headers=LUCIDWORKS_HEADERS)  # fmt: skip
                break
            except httpx.TransportError:
                assert attempts < 3
    assert (attempts, response.status_code) == (2, 202)
    second, first = httpx.get(f"{server.url}/_mock/events").json()["events"]
    assert second["payload"] == first["payload"]
    assert (first["duplicate_of"], second["duplicate_of"]) == (None, first["id"])


def test_down_fails_everything_until_cleared(server: MockServer) -> None:
    _faults(server, {"fault": "down", "vendor": "lucidworks"})
    for _ in range(3):
        with pytest.raises(httpx.TransportError):
            httpx.post(_click_url(server), json=CLICK, headers=LUCIDWORKS_HEADERS)
    assert httpx.delete(f"{server.url}/_mock/faults").json() == {"removed": 1}
    response = httpx.post(_click_url(server), json=CLICK, headers=LUCIDWORKS_HEADERS)
    assert response.status_code == 202


def test_the_same_seed_gives_the_same_pass_and_fail_sequence(server: MockServer) -> None:
    def run() -> list[int]:
        _faults(server, {"fault": "status", "status": 500, "probability": 0.5, "seed": 11})
        with httpx.Client() as client:
            return [
                client.post(_click_url(server), json=CLICK, headers=LUCIDWORKS_HEADERS).status_code
                for _ in range(12)
            ]

    first = run()
    assert set(first) == {202, 500}
    assert run() == first


def test_the_api_adds_lists_and_clears_rules_per_namespace(client: TestClient) -> None:
    added = client.post("/_mock/faults", json={"fault": "reset", "namespace": "a"})
    assert added.status_code == 201
    client.post("/_mock/faults", json={"fault": "status", "status": 502, "namespace": "b"})
    assert [r["namespace"] for r in client.get("/_mock/faults").json()["rules"]] == ["a", "b"]
    assert client.get("/_mock/faults?namespace=b").json()["rules"][0]["status"] == 502
    assert client.delete("/_mock/faults?namespace=a").json() == {"removed": 1}
    assert len(client.get("/_mock/faults").json()["rules"]) == 1


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("post", {"fault": "boom"}, "fault"),
        ("post", {"fault": "status", "status": 503, "colour": "red"}, "colour"),
        ("put", {"rules": [{"fault": "latency"}]}, "ms"),
        ("put", {"rules": [{"fault": "down", "vendor": "algolia"}]}, "vendor"),
    ],
)
def test_a_wrong_rule_is_a_400_naming_the_field(
    client: TestClient, method: str, body: dict[str, Any], field: str
) -> None:
    response = client.request(method.upper(), "/_mock/faults", json=body)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert client.get("/_mock/faults").json()["rules"] == []


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_json_nested_a_thousand_deep_is_a_400(client: TestClient, method: str) -> None:
    for depth in (1_000, 100_000):
        body = "[" * depth + "]" * depth
        headers = {"Content-Type": "application/json"}
        response = client.request(method, "/_mock/faults", content=body, headers=headers)
        assert response.status_code == 400
        assert "nested too deep" in response.json()["error"]


def test_a_fault_body_over_the_cap_is_a_413_read_no_further(client: TestClient) -> None:
    rules = [{"fault": "down", "namespace": f"n{i}"} for i in range(20_000)]
    response = client.put("/_mock/faults", json={"rules": rules})
    assert response.status_code == 413
    chunked = client.put(
        "/_mock/faults",
        content=iter([b'{"rules": [', b'{"fault": "down"},' * 20_000, b"]}"]),
        headers={"Content-Type": "application/json"},
    )
    assert chunked.status_code == 413
    assert client.get("/_mock/faults").json()["rules"] == []


def test_more_rules_than_the_cap_are_a_400(client: TestClient) -> None:
    rules = [{"fault": "down", "namespace": f"n{i}"} for i in range(MAX_RULES + 1)]
    response = client.put("/_mock/faults", json={"rules": rules})
    assert (response.status_code, response.json()["field"]) == (400, "rules")


def test_head_on_the_faults_is_a_get_without_a_body(client: TestClient) -> None:
    response = client.head("/_mock/faults")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


def test_an_overflowing_latency_rule_is_refused_before_anything_is_stored(
    client: TestClient,
) -> None:
    rule = {"fault": "latency", "median_ms": 1, "sigma": 1e308}
    response = client.post("/_mock/faults", json=rule)
    assert (response.status_code, response.json()["field"]) == (400, "sigma")
    assert (
        client.post("/retail/signals/click", json=CLICK, headers=LUCIDWORKS_HEADERS).status_code
        == 202
    )
    assert client.get("/_mock/events").json()["total"] == 1


def test_the_faults_api_needs_the_admin_token(client_with: ClientFactory) -> None:
    guarded = client_with(admin_token="s3cret")
    assert guarded.get("/_mock/faults").status_code == 401
    assert guarded.put("/_mock/faults", json={"rules": []}).status_code == 401


def test_rules_from_the_settings_apply_from_the_start(client_with: ClientFactory) -> None:
    faulty = client_with(faults=("lucidworks.click:status=503", "neuralens:rate_limit=3"))
    response = faulty.post("/retail/signals/click", json=CLICK, headers=LUCIDWORKS_HEADERS)
    assert response.status_code == 503
    rules = faulty.get("/_mock/faults").json()["rules"]
    assert [(r["fault"], r["hits"]) for r in rules] == [("status", 1), ("rate_limit", 0)]


def test_every_request_a_fault_touched_is_recorded_with_what_came_of_it(
    server: MockServer,
) -> None:
    _faults(
        server,
        {"fault": "status", "status": 503, "times": 1},
        {"fault": "ack_lost", "times": 1},
        {"fault": "reset", "times": 1},
    )
    statuses: list[int | None] = []
    for _ in range(4):
        try:
            response = httpx.post(_click_url(server), json=CLICK, headers=LUCIDWORKS_HEADERS)
            statuses.append(response.status_code)
        except httpx.TransportError:
            statuses.append(None)
    assert statuses == [503, None, None, 202]
    attempts = httpx.get(f"{server.url}/_mock/attempts").json()
    assert attempts["total"] == 3  # the fourth met no rule
    assert [(a["fault"], a["status"], a["stored"]) for a in reversed(attempts["attempts"])] == [
        ("status", 503, False),
        ("ack_lost", None, True),
        ("reset", None, False),
    ]
    only = httpx.get(f"{server.url}/_mock/attempts", params={"fault": "ack_lost"}).json()
    assert only["total"] == 1
    assert _stored(server) == 2  # ack_lost's and the last one's


def test_a_client_gone_mid_body_leaves_nothing_behind_in_the_fault_seam() -> None:
    book = FaultBook()
    injector = FaultInjector(book)
    book.add({"fault": "latency", "ms": 1})  # an after-serving fault: kept until served
    app = create_app(Settings(db=":memory:"), faults=injector)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/retail/signals/click", "raw_path": b"/retail/signals/click",
        "query_string": b"", "root_path": "",
        "headers": [(b"host", b"x"), (b"authorization", b"t"), (b"content-length", b"100"),
                    (b"content-type", b"application/json")],
    }  # fmt: skip

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}  # gone before the body arrived

    async def send(message: Any) -> None:
        pass

    asyncio.run(app(scope, receive, send))
    assert book.listing()[0]["hits"] == 1  # the rule met it...
    assert (injector._pending, injector._touched) == ({}, {})  # ...and nothing is kept for it


# -- what the fault-seam survivors of issue 29 changed ----------------------------------------


def test_ack_lost_lets_a_refused_request_have_its_reply(server: MockServer) -> None:
    # Nothing was stored, so there is no acknowledgement to lose: the client reads why.
    _faults(server, {"fault": "ack_lost"})
    response = httpx.post(_click_url(server), json=[{"visitorId": 7}], headers=LUCIDWORKS_HEADERS)
    assert response.status_code == 400
    assert _stored(server) == 0


def test_empty_reads_a_large_body_before_closing_so_the_client_sees_no_reset(
    server: MockServer,
) -> None:
    # Closing with unread bytes makes the kernel send a reset, which a client tells apart
    # from the orderly close that `empty` is.
    _faults(server, {"fault": "empty"})
    body = b"[" + b" " * 2_000_000 + b"]"
    request = _raw_click(body)
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        assert sock.recv(1024) == b""  # the end of the stream, not ConnectionResetError


def test_in_process_a_connection_fault_sends_no_reply_and_stores_nothing(
    client: TestClient,
) -> None:
    # A test client has no connection to break: it gets no reply, as a socket client would.
    client.post("/_mock/faults", json={"fault": "reset"})
    with pytest.raises(AssertionError, match="did not receive any response"):
        client.post("/retail/signals/click", json=CLICK, headers=LUCIDWORKS_HEADERS)
    assert client.get("/_mock/events").json()["total"] == 0


# -- the seam itself, in-process: what a rule does to one request -----------------------------


class BrokenOnPurpose:
    """A connection that keeps what a fault did to it."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.written = b""

    def reset(self) -> None:
        self.done.append("reset")

    def close(self) -> None:
        self.done.append("close")

    def write_and_close(self, data: bytes) -> None:
        self.done.append("write_and_close")
        self.written += data


def _seam_intake(
    path: str, messages: list[dict[str, Any]], connection: BrokenOnPurpose | None = None
) -> Intake:
    async def receive() -> Any:
        return messages.pop(0)

    headers = [(b"x-neuralens-application-id", b"app"), (b"host", b"shop.localhost")]
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    vendor = "neuralens" if path == "/analytics/event" else "lucidworks"
    intake = Intake.of(scope, receive, vendor, path)
    return dataclasses.replace(intake, connection=cast(Connection, connection))


def _vendor(contracts: Contracts, name: str) -> Any:
    return vendor_spec(name).build(contracts, Settings())


def test_an_injected_status_says_which_rule_sent_it(contracts: Contracts) -> None:
    book = FaultBook()
    rule = book.add({"fault": "status", "status": 502})
    intake = _seam_intake("/retail/signals/click", [])
    reply = asyncio.run(FaultInjector(book).before(_vendor(contracts, "lucidworks"), intake))
    assert reply is not None
    assert reply.status == 502
    assert json.loads(reply.body)["errors"] == [
        {
            "path": "$",
            "rule": "fault",
            "layer": "http",
            "message": f"injected fault (rule {rule.id}): status 502",
        }
    ]


def test_latency_in_process_delays_the_reply(contracts: Contracts) -> None:
    book = FaultBook()
    book.add({"fault": "latency", "ms": 60})
    injector = FaultInjector(book)
    vendor = _vendor(contracts, "neuralens")
    intake = _seam_intake("/analytics/event", [])

    async def serve() -> Any:
        assert await injector.before(vendor, intake) is None  # served first
        return await injector.after(intake, vendor.accepted)

    started = time.monotonic()
    assert asyncio.run(serve()) is vendor.accepted
    assert time.monotonic() - started >= 0.06


@pytest.mark.parametrize(
    ("vendor_name", "path"),
    [("neuralens", "/analytics/event"), ("lucidworks", "/retail/signals/click")],
)
def test_ack_lost_resets_the_connection_instead_of_each_vendors_acknowledgement(
    contracts: Contracts, vendor_name: str, path: str
) -> None:
    book = FaultBook()
    book.add({"fault": "ack_lost"})
    injector = FaultInjector(book)
    vendor = _vendor(contracts, vendor_name)
    connection = BrokenOnPurpose()
    intake = _seam_intake(path, [], connection)

    async def serve() -> Any:
        assert await injector.before(vendor, intake) is None
        return await injector.after(intake, vendor.accepted)

    assert asyncio.run(serve()) is None
    assert connection.done == ["reset"]


def test_hang_holds_the_request_until_the_client_hangs_up(contracts: Contracts) -> None:
    book = FaultBook()
    book.add({"fault": "hang", "seconds": 5})
    connection = BrokenOnPurpose()
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b"[]", "more_body": False},
        {"type": "http.disconnect"},
    ]
    intake = _seam_intake("/retail/signals/click", messages, connection)
    started = time.monotonic()
    reply = asyncio.run(FaultInjector(book).before(_vendor(contracts, "lucidworks"), intake))
    assert reply is NO_REPLY
    assert messages == []  # read up to the hang-up, past the body
    assert connection.done == ["reset"]
    assert time.monotonic() - started < 1


def test_a_rule_for_a_namespace_meets_only_that_namespaces_requests(contracts: Contracts) -> None:
    book = FaultBook()
    book.add({"fault": "status", "status": 503, "namespace": "team-a"})
    injector = FaultInjector(book)
    vendor = _vendor(contracts, "neuralens")

    def status(namespace: str) -> int | None:
        intake = dataclasses.replace(_seam_intake("/analytics/event", []), namespace=namespace)
        reply = asyncio.run(injector.before(vendor, intake))
        return None if reply is None else reply.status

    assert status("team-b") is None
    assert status("team-a") == 503


def test_a_rate_limit_per_second_counts_each_tenant_apart(contracts: Contracts) -> None:
    book = FaultBook(clock=lambda: 1000.0)
    book.add({"fault": "rate_limit", "per_second": 1, "retry_after": 1})
    injector = FaultInjector(book)
    vendor = _vendor(contracts, "neuralens")

    def status(tenant: str) -> int | None:
        intake = _seam_intake("/analytics/event", [])
        headers = {**intake.headers, "x-neuralens-application-id": tenant}
        reply = asyncio.run(injector.before(vendor, dataclasses.replace(intake, headers=headers)))
        return None if reply is None else reply.status

    assert [status("app-1"), status("app-2"), status("app-1")] == [None, None, 429]


def test_a_rate_limit_says_which_rule_sent_it_and_when_to_retry(contracts: Contracts) -> None:
    book = FaultBook()
    rule = book.add({"fault": "rate_limit", "retry_after": 7})
    intake = _seam_intake("/retail/signals/click", [])
    reply = asyncio.run(FaultInjector(book).before(_vendor(contracts, "lucidworks"), intake))
    assert reply is not None
    assert reply.status == 429
    assert (b"retry-after", b"7") in reply.headers
    message = f"injected fault (rule {rule.id}): rate limited: retry after 7 s"
    assert [error["message"] for error in json.loads(reply.body)["errors"]] == [message]


@pytest.mark.parametrize(
    ("fault", "done", "written"),
    [("empty", ["close"], b""), ("malformed", ["write_and_close"], MALFORMED)],
)
def test_empty_and_malformed_read_the_body_then_close_in_order(
    contracts: Contracts, fault: str, done: list[str], written: bytes
) -> None:
    book = FaultBook()
    book.add({"fault": fault})
    connection = BrokenOnPurpose()
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b"[", "more_body": True},
        {"type": "http.request", "body": b"]", "more_body": False},
    ]
    intake = _seam_intake("/retail/signals/click", messages, connection)
    reply = asyncio.run(FaultInjector(book).before(_vendor(contracts, "lucidworks"), intake))
    assert reply is NO_REPLY
    assert messages == []  # the whole body read: the close is a FIN, not a reset
    assert (connection.done, connection.written) == (done, written)


async def _a_client_that_sends_nothing_more() -> Any:
    await asyncio.Event().wait()


def _before_within_a_second(contracts: Contracts, book: FaultBook, connection: Any) -> Any:
    intake = _seam_intake("/retail/signals/click", [], connection)
    intake = dataclasses.replace(intake, receive=_a_client_that_sends_nothing_more)
    before = FaultInjector(book).before(_vendor(contracts, "lucidworks"), intake)

    async def bounded() -> Any:
        return await asyncio.wait_for(before, 1)

    return asyncio.run(bounded())


@pytest.mark.parametrize("fault", ["empty", "malformed"])
def test_a_client_that_stops_sending_its_body_is_closed_once_the_drain_time_is_up(
    contracts: Contracts, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    monkeypatch.setattr(faults, "DRAIN_SECONDS", 0.02)
    book = FaultBook()
    book.add({"fault": fault})
    connection = BrokenOnPurpose()
    assert _before_within_a_second(contracts, book, connection) is NO_REPLY
    assert len(connection.done) == 1


def test_hang_resets_after_its_seconds_even_if_the_client_stays(contracts: Contracts) -> None:
    book = FaultBook()
    book.add({"fault": "hang", "seconds": 0})
    connection = BrokenOnPurpose()
    assert _before_within_a_second(contracts, book, connection) is NO_REPLY
    assert connection.done == ["reset"]


def test_hang_without_seconds_resets_after_the_default_hang(
    contracts: Contracts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(faults, "DEFAULT_HANG_SECONDS", 0.02)  # 300 s as shipped
    book = FaultBook()
    book.add({"fault": "hang"})
    connection = BrokenOnPurpose()
    assert _before_within_a_second(contracts, book, connection) is NO_REPLY
    assert connection.done == ["reset"]


@pytest.mark.parametrize(("status", "lost"), [(200, True), (299, True), (300, False), (400, False)])
def test_ack_lost_withholds_only_a_2xx_acknowledgement(
    contracts: Contracts, status: int, lost: bool
) -> None:
    # In passthrough mode the reply is the upstream's, whatever its status.
    book = FaultBook()
    book.add({"fault": "ack_lost"})
    injector = FaultInjector(book)
    vendor = _vendor(contracts, "lucidworks")
    connection = BrokenOnPurpose()
    intake = _seam_intake("/retail/signals/click", [], connection)
    reply = Reply(status)

    async def serve() -> Any:
        assert await injector.before(vendor, intake) is None
        return await injector.after(intake, reply)

    assert asyncio.run(serve()) is (None if lost else reply)
    assert connection.done == (["reset"] if lost else [])

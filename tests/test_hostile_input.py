"""Hostile input against a real server on a socket: each case has the outcome a user relies on,
and the server answers normally afterwards."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

import mockserver.testing.server
from mockserver import MockServer, Settings, http11
from mockserver.serving import uvicorn_config
from tests.conftest import LUCIDWORKS_HEADERS, load_fixture

CLICK = load_fixture("lucidworks", "valid", "click-full.json")

pytestmark = pytest.mark.both_stores  # what is stored, on both stores


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(Settings(db=":memory:", port=0, max_body_bytes=1024 * 1024)) as running:
        yield running


def _address(server: MockServer) -> tuple[str, int]:
    parts = urlsplit(server.url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _post_click(server: MockServer, body: object = CLICK) -> httpx.Response:
    return httpx.post(
        server.url + "/retail/signals/click", json=body, headers=LUCIDWORKS_HEADERS, timeout=30
    )


def _click_head(path: str = "/retail/signals/click", **headers: str) -> bytes:
    """A Lucidworks click request's head, for tests that write to the socket themselves."""
    fixed = ["Host: x", "Authorization: t", "Accept: application/json"]
    lines = [f"POST {path} HTTP/1.1", *fixed, "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _still_serving(server: MockServer) -> None:
    assert _post_click(server).status_code == 202


def test_a_huge_array_of_bad_signals_is_one_bounded_rejection(server: MockServer) -> None:
    response = _post_click(server, [{}] * 100_000)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == 101
    assert errors[-1]["rule"] == "error-limit"
    _still_serving(server)


def test_an_oversized_body_is_refused_before_it_is_sent(server: MockServer) -> None:
    head = _click_head(**{"Content-Length": str(50 * 1024 * 1024)}) + b"["
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(head)  # then nothing more of the 50 MiB
        reply = sock.recv(4096).decode("latin-1")
    assert reply.startswith("HTTP/1.1 413")
    _still_serving(server)


def test_a_client_that_writes_its_whole_body_first_reads_the_413(server: MockServer) -> None:
    # urllib sends Connection: close and the whole body before it reads: answered before the
    # body was drained, it got ConnectionResetError most of the time.
    body = b"[" + b" " * (3 * 1024 * 1024) + b"]"  # three times the limit
    for _ in range(10):
        request = urllib.request.Request(
            server.url + "/retail/signals/click", data=body, headers=LUCIDWORKS_HEADERS
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 413
        assert refused.value.headers["Connection"] == "close"
        refused.value.close()
    _still_serving(server)


def test_an_early_413_to_expect_100_continue_closes_the_connection(server: MockServer) -> None:
    head = _click_head(**{"Expect": "100-continue", "Content-Length": str(2 * 1024 * 1024)})
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(head)
        reply = b""
        while chunk := sock.recv(65536):  # the server closes: no request can follow
            reply += chunk
    text = reply.decode("latin-1")
    assert text.startswith("HTTP/1.1 413")
    assert "connection: close" in text.lower()
    _still_serving(server)


def test_a_slow_client_does_not_hold_up_others(server: MockServer) -> None:
    body = json.dumps(CLICK).encode()
    head = _click_head(**{"Content-Length": str(len(body))})
    done = threading.Event()

    def trickle() -> None:
        with socket.create_connection(_address(server), timeout=30) as sock:
            sock.sendall(head)
            for offset in range(0, len(body), 64):
                sock.sendall(body[offset : offset + 64])
                time.sleep(0.05)
            assert sock.recv(4096).startswith(b"HTTP/1.1 202")
        done.set()

    slow = threading.Thread(target=trickle)
    slow.start()
    time.sleep(0.1)
    assert not done.is_set()
    _still_serving(server)  # answered while the slow body is still arriving
    assert not done.is_set()
    slow.join(30)
    assert done.is_set()


def test_many_idle_connections_do_not_block_service(server: MockServer) -> None:
    idle = [socket.create_connection(_address(server), timeout=10) for _ in range(200)]
    try:
        _still_serving(server)
    finally:
        for sock in idle:
            sock.close()


def test_headers_over_a_megabyte_are_a_431_recorded_in_short(server: MockServer) -> None:
    huge = "x" * (2 * 1024 * 1024)
    response = httpx.post(
        server.url + "/ns/big-headers/retail/signals/click",
        json=CLICK,
        headers={**LUCIDWORKS_HEADERS, "X-Trace": huge},
        timeout=30,
    )
    assert response.status_code == 431
    assert "over the limit of 1048576" in response.json()["detail"]
    with server.client(namespace="big-headers") as client:
        (rejection,) = client.rejections()
    stored = rejection["headers"]["x-trace"]
    assert len(stored) < 3000  # a prefix and the size, not two megabytes
    assert stored.endswith(f"… ({len(huge)} characters in all)")
    _still_serving(server)


def test_an_h2c_upgrade_on_a_post_is_ignored_and_its_body_read(server: MockServer) -> None:
    # What `curl --http2` sends to an http:// URL. Go's server, with no h2c handler, reads
    # the body and answers in HTTP/1.1; the body here comes in two writes, as it may.
    body = json.dumps(CLICK).encode()
    head = _click_head(
        "/ns/h2c/retail/signals/click",
        **{
            "Connection": "Upgrade, HTTP2-Settings",
            "Upgrade": "h2c",
            "HTTP2-Settings": "AAMAAABkAAQCAAAA",
            "Content-Length": str(len(body)),
        },
    )
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(head + body[:10])
        time.sleep(0.1)
        sock.sendall(body[10:])
        reply = b""
        while chunk := sock.recv(65536):  # closed after the reply: no request can follow
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 202")
    with server.client(namespace="h2c") as client:
        assert (len(client.events()), len(client.rejections())) == (1, 0)


def test_an_h2c_upgrade_with_a_chunked_body_is_read_whole(server: MockServer) -> None:
    # curl --http2 -H 'Transfer-Encoding: chunked': the body was lost, a false "body is
    # empty" 400 stored. The chunks come split across writes, one size line cut in two.
    body = json.dumps(CLICK).encode()
    chunks = [body[:7], body[7:40], body[40:]]
    framed = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    head = _click_head(
        "/ns/h2c-chunked/retail/signals/click",
        **{
            "Connection": "Upgrade, HTTP2-Settings",
            "Upgrade": "h2c",
            "HTTP2-Settings": "AAMAAABkAAQCAAAA",
            "Transfer-Encoding": "chunked",
        },
    )
    with socket.create_connection(_address(server), timeout=10) as sock:
        for part in (head + framed[:1], framed[1:20], framed[20:]):
            sock.sendall(part)
            time.sleep(0.05)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 202"), reply[:200]
    with server.client(namespace="h2c-chunked") as client:
        assert (len(client.events()), len(client.rejections())) == (1, 0)


@pytest.fixture
def impatient(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    """A server whose header read timeout is half a second, not ten, and which closes a
    connection idle for half a second after a reply, not five."""

    def config(app: Any, *args: Any, **kwargs: Any) -> Any:
        return uvicorn_config(app, *args, timeout_keep_alive=0.5, **kwargs)

    monkeypatch.setattr(http11, "HEADER_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(mockserver.testing.server, "uvicorn_config", config)
    with MockServer(Settings(db=":memory:", port=0)) as server:
        yield server


@pytest.mark.slow  # waits on purpose
def test_a_client_that_stops_halfway_through_its_headers_is_disconnected(
    impatient: MockServer,
) -> None:
    with socket.create_connection(_address(impatient), timeout=10) as sock:
        sock.sendall(b"POST /retail/signals/click HTTP/1.1\r\nHost: x\r\nAccept: app")
        assert _seconds_until_closed(sock) < 5
    _still_serving(impatient)


def _seconds_until_closed(sock: socket.socket) -> float:
    """How long until the server closes ``sock``: closed by it, not by this test's timeout."""
    started = time.monotonic()
    assert sock.recv(1024) == b""
    return time.monotonic() - started


def _click_answered(sock: socket.socket) -> bytes:
    """A whole click sent on ``sock`` and its 202 read; the request's bytes."""
    body = json.dumps(CLICK).encode()
    request = _click_head(**{"Content-Length": str(len(body))}) + body
    sock.sendall(request)
    assert sock.recv(4096).startswith(b"HTTP/1.1 202")
    return request


@pytest.mark.slow  # waits on purpose
def test_the_header_timeout_counts_from_the_head_that_stalls_not_the_first(
    impatient: MockServer,
) -> None:
    with socket.create_connection(_address(impatient), timeout=10) as sock:
        for _ in range(4):  # 1.2 s of whole requests on one connection: it stays open
            _click_answered(sock)
            time.sleep(0.3)
    with socket.create_connection(_address(impatient), timeout=10) as sock:
        request = _click_answered(sock)
        time.sleep(0.3)  # the timer armed for the first head fires 0.2 s into the next
        sock.sendall(request[:40])  # a head that stops: 0.5 s from here, not from the first
        waited = _seconds_until_closed(sock)
    assert 0.4 < waited < 5
    _still_serving(impatient)


@pytest.mark.slow  # waits on purpose
def test_a_connection_idle_after_its_last_reply_is_closed_after_the_keep_alive_timeout(
    impatient: MockServer,
) -> None:
    with socket.create_connection(_address(impatient), timeout=10) as sock:
        for _ in range(3):  # requests 0.3 s apart, past the first reply's deadline: kept open
            _click_answered(sock)
            time.sleep(0.3)
        _click_answered(sock)
        waited = _seconds_until_closed(sock)
    assert 0.4 < waited < 5  # 0.5 s after the last reply, not the first
    _still_serving(impatient)


def test_empty_lines_between_requests_do_not_hold_a_connection_open(
    impatient: MockServer,
) -> None:
    with socket.create_connection(_address(impatient), timeout=10) as sock:
        _click_answered(sock)
        sock.settimeout(0.2)
        started, closed = time.monotonic(), False
        while not closed and time.monotonic() - started < 5:
            try:
                sock.sendall(b"\r\n")  # no request line ever follows
                closed = sock.recv(1024) == b""
            except TimeoutError:
                continue
            except OSError:  # a reset: closed as well
                closed = True
    assert closed
    assert time.monotonic() - started < 2
    _still_serving(impatient)


# -- the /_mock surface under attack (issue 27) ---------------------------------------------


def _mock(server: MockServer, method: str, path: str, **kwargs: object) -> httpx.Response:
    return httpx.request(method, f"{server.url}/_mock{path}", timeout=30, **kwargs)  # type: ignore[arg-type]


def _no_rules_and_serving(server: MockServer) -> None:
    assert _mock(server, "GET", "/faults").json()["rules"] == []
    _still_serving(server)


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status"),
    [
        # item 1: a page on another origin; a simple (text/plain) body
        ("POST", "/faults", {"Origin": "http://evil.com", "Content-Type": "text/plain"},
         b'{"fault":"down"}', 403),
        ("POST", "/reset", {"Origin": "http://evil.com"}, b"", 403),
        ("POST", "/reset", {"Sec-Fetch-Site": "cross-site"}, b"", 403),
        ("PUT", "/faults", {"Origin": "null", "Content-Type": "application/json"},
         b'{"rules":[{"fault":"down"}]}', 403),
        ("POST", "/faults", {"Content-Type": "text/plain"}, b'{"fault":"down"}', 415),
        # items 5 and 6: numbers past any sense; JSON nested a thousand deep
        ("POST", "/faults", {}, {"fault": "latency", "median_ms": 1, "sigma": 1e308}, 400),
        ("POST", "/faults", {}, {"fault": "hang", "seconds": 1e308}, 400),
        ("POST", "/faults", {}, {"fault": "rate_limit", "retry_after": 10**30}, 400),
        ("POST", "/faults", {"Content-Type": "application/json"}, b"[" * 1000 + b"]" * 1000, 400),
        ("PUT", "/faults", {"Content-Type": "application/json"},
         b'{"rules":' + b"[" * 1000 + b"]" * 1000 + b"}", 400),
        # item 7: too many rules, too big a body, names nobody serves
        ("PUT", "/faults", {}, {"rules": [{"fault": "down"}] * 100_000}, 413),
        ("PUT", "/faults", {}, {"rules": [{"fault": "down", "namespace": f"n{i}"}
                                          for i in range(1001)]}, 400),
        ("POST", "/faults", {"Content-Type": "application/json"},
         b'{"fault":"down","namespace":"' + b"x" * 30_000_000 + b'"}', 413),
        ("POST", "/faults", {}, {"fault": "down", "namespace": "<script>alert(1)</script>"}, 400),
        ("POST", "/faults", {}, {"fault": "down", "endpoint": "/nope"}, 400),
        # item 9: HEAD, and repeated single-valued parameters
        ("HEAD", "/faults", {}, None, 200),
        ("GET", "/analytics?vendor=lucidworks&vendor=neuralens", {}, None, 400),
        ("GET", "/events?namespace=a&namespace=b", {}, None, 400),
    ],
)  # fmt: skip
def test_hostile_requests_to_the_mock_api(
    server: MockServer,
    method: str,
    path: str,
    headers: dict[str, str],
    body: object,
    status: int,
) -> None:
    kwargs: dict[str, object] = {"headers": headers}
    if isinstance(body, bytes):
        kwargs["content"] = body
    elif body is not None:
        kwargs["json"] = body
    with server.client() as client:
        before = len(client.events())
    response = _mock(server, method, path, **kwargs)
    assert response.status_code == status, response.text[:300]
    if method != "HEAD":
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]
    with server.client() as client:
        assert len(client.events()) == before  # nothing was reset
    _no_rules_and_serving(server)


@pytest.mark.parametrize(
    "name", ["X-Credentials", "X-Jwt", "X-Signature", "X-Access-Code", "X-Session-Id"]
)
def test_credential_like_headers_are_stored_as_fingerprints(server: MockServer, name: str) -> None:
    secret = f"secret-of-{name}"
    response = httpx.post(
        server.url + "/ns/creds/retail/signals/click",
        json=CLICK,
        headers={**LUCIDWORKS_HEADERS, name: secret},
    )
    assert response.status_code == 202
    with server.client(namespace="creds") as client:
        stored = client.events()[0]["headers"][name.lower()]
        client.reset()
    assert stored.startswith("hmac-sha256:")

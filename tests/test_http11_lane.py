"""The vendor lane (http11.py + vendors/routes.py's VendorLane): vendor requests the server's
protocol serves without ASGI, held to HTTP/1.1 and to the replies and rows of the ASGI way,
through a real server with real clients and raw sockets."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx
import pytest
import requests

from mockserver import MockServer, Settings, http11
from mockserver.vendors.request_path import RequestPath
from tests.conftest import LUCIDWORKS_HEADERS, load_fixture

CLICK = load_fixture("lucidworks", "valid", "click-full.json")
BODY = json.dumps(CLICK).encode()
PATH = "/retail/signals/click"


@pytest.fixture(scope="module")
def running() -> Iterator[MockServer]:
    with MockServer(Settings(db=":memory:", port=0)) as server:
        yield server


@pytest.fixture
def server(running: MockServer) -> MockServer:
    with running.client() as client:
        client.reset()
    return running


def _address(server: MockServer) -> tuple[str, int]:
    parts = urlsplit(server.url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _head(path: str = PATH, version: str = "1.1", **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/{version}", "Host: x", "Authorization: t"]
    lines += ["Accept: application/json", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _request(body: bytes = BODY, path: str = PATH, **headers: str) -> bytes:
    return _head(path, **{"Content-Length": str(len(body)), **headers}) + body


class Reply(NamedTuple):
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


def _read_replies(sock: socket.socket, count: int, method: str = "POST") -> list[Reply]:
    """``count`` replies read off one connection, in order (Content-Length or chunked)."""
    stream = sock.makefile("rb")
    replies = []
    for _ in range(count):
        status_line = stream.readline()
        assert status_line.startswith(b"HTTP/1.1 "), status_line
        headers = {}
        while (line := stream.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if method == "HEAD":
            body = b""
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int(stream.readline().strip(), 16):
                body += stream.read(size + 2)[:-2]
            stream.readline()
        else:
            body = stream.read(int(headers.get("content-length", "0")))
        replies.append(Reply(int(status_line.split()[1]), headers, body))
    return replies


def _stored(server: MockServer) -> list[dict[str, Any]]:
    with server.client() as client:
        return client.events(limit=1000)


def _rejected(server: MockServer) -> list[dict[str, Any]]:
    with server.client() as client:
        return client.rejections()


def test_requests_on_one_kept_alive_connection_are_each_answered_and_stored(
    server: MockServer,
) -> None:
    host, port = _address(server)
    connection = http.client.HTTPConnection(host, port, timeout=10)
    for _ in range(5):
        connection.request("POST", PATH, BODY, LUCIDWORKS_HEADERS)
        reply = connection.getresponse()
        assert (reply.status, reply.read()) == (202, b"")
        assert reply.getheader("Date")
        assert reply.getheader("Connection") is None
    connection.close()
    assert len(_stored(server)) == 5


def test_pipelined_requests_are_answered_in_order_whichever_way_each_takes(
    server: MockServer,
) -> None:
    # A lane click, a refused one, the inspection API (ASGI), a chunked click (ASGI), a click.
    chunked = _head(**{"Transfer-Encoding": "chunked"})
    chunked += f"{len(BODY):x}\r\n".encode() + BODY + b"\r\n0\r\n\r\n"
    pipelined = [
        _request(),
        _request(b"[{}]"),
        b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n\r\n",
        chunked,
        _request(),
    ]
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(b"".join(pipelined))
        replies = _read_replies(sock, len(pipelined))
    assert [r.status for r in replies] == [202, 400, 200, 202, 202]
    assert len(_stored(server)) == 3


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_body_split_at_any_byte_is_read_whole(server: MockServer, framing: str) -> None:
    body = json.dumps([{**CLICK[0], "visitorId": "v"}]).encode()
    if framing == "chunked":
        head = _head(**{"Transfer-Encoding": "chunked"})
        message = head + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    else:
        message = _request(body)
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for cut in range(1, len(message)):
            sock.sendall(message[:cut])
            sock.sendall(message[cut:])
            assert _read_replies(sock, 1)[0].status == 202, cut
    stored = _stored(server)
    assert len(stored) == len(message) - 1
    assert {json.dumps(e["payload"]) for e in stored} == {json.dumps(json.loads(body)[0])}


def test_a_body_sent_a_byte_at_a_time_is_stored_as_sent(server: MockServer) -> None:
    message = _request()
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in message:
            sock.send(bytes([byte]))
        assert _read_replies(sock, 1)[0].status == 202
    assert [e["payload"] for e in _stored(server)] == CLICK


def test_a_client_that_expects_100_continue_is_told_to_go_on(server: MockServer) -> None:
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(_head(**{"Content-Length": str(len(BODY)), "Expect": "100-continue"}))
        assert sock.recv(64).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(BODY)
        assert _read_replies(sock, 1)[0].status == 202
    assert len(_stored(server)) == 1


def test_an_http_1_0_request_is_answered_and_its_connection_closed(server: MockServer) -> None:
    head = _head(version="1.0", **{"Content-Length": str(len(BODY))})
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(head + BODY)
        reply = b""
        while chunk := sock.recv(4096):  # the server closes: recv returns b"" at the end
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 202 Accepted\r\n")
    assert b"\r\nconnection: close\r\n" in reply


def test_a_client_gone_before_its_body_ends_leaves_nothing_stored(server: MockServer) -> None:
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(_request()[:-10])
    assert _stored(server) == []  # a round trip after the client left
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(_request())
        assert _read_replies(sock, 1)[0].status == 202
    assert len(_stored(server)) == 1


def test_many_connections_open_at_once_are_each_answered_and_stored(server: MockServer) -> None:
    sockets = [socket.create_connection(_address(server), timeout=30) for _ in range(300)]
    try:
        for sock in sockets:
            sock.sendall(_request())
        statuses = [_read_replies(sock, 1)[0].status for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    assert statuses == [202] * 300
    assert len(_stored(server)) == 300


@pytest.mark.parametrize("client", ["curl", "requests", "httpx", "urllib"])
def test_real_clients_are_answered_by_the_lane(
    server: MockServer, client: str, tmp_path: Any
) -> None:
    url, headers = server.url + PATH, LUCIDWORKS_HEADERS
    if client == "requests":
        status = requests.post(url, data=BODY, headers=headers, timeout=10).status_code
    elif client == "httpx":
        status = httpx.post(url, content=BODY, headers=headers, timeout=10).status_code
    elif client == "urllib":
        request = urllib.request.Request(url, BODY, headers, method="POST")
        with urllib.request.urlopen(request, timeout=10) as reply:
            status = reply.status
    else:
        import shutil
        import subprocess

        if shutil.which("curl") is None:
            pytest.skip("no curl on this machine")
        flags = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
        result = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", *flags, "--data-binary",
             "@-", url],
            input=BODY, capture_output=True, timeout=30, check=True,
        )  # fmt: skip
        status = int(result.stdout)
    assert status == 202
    assert [e["payload"] for e in _stored(server)] == CLICK


def _exchange(server: MockServer, message: bytes) -> Reply:
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(message)
        reply = _read_replies(sock, 1)[0]
    del reply.headers["date"]
    return reply


def _replies_both_ways(server: MockServer, body: bytes, **headers: str) -> list[Reply]:
    """What the lane answers (a Content-Length) and what the ASGI way answers (chunked)."""
    lane = _exchange(server, _request(body, **headers))
    chunked = _head(**{"Transfer-Encoding": "chunked", **headers})
    chunked += (f"{len(body):x}\r\n".encode() + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
    asgi = _exchange(server, chunked)
    return [lane, asgi]


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (BODY, {}),
        (b"[{}]", {}),
        (b"{not json", {}),
        (b"", {}),
        (BODY, {"Content-Encoding": "gzip"}),
    ],
)
def test_the_lane_answers_and_records_as_the_asgi_way_does(
    server: MockServer, body: bytes, headers: dict[str, str]
) -> None:
    lane, asgi = _replies_both_ways(server, body, **headers)
    assert (lane.status, lane.body, lane.headers) == (asgi.status, asgi.body, asgi.headers)
    if lane.status == 202:
        rows = _stored(server)
        keep = ("vendor", "endpoint", "type", "namespace", "tenant", "payload", "headers")
    else:
        rows = _rejected(server)
        keep = ("vendor", "endpoint", "namespace", "tenant", "status", "errors", "body")
    assert len(rows) == 2
    first, second = ({k: row.get(k) for k in keep} for row in rows)
    # The ASGI way's request said it was chunked; the lane's gave its length.
    for row in (first, second):
        for framing in ("content-length", "transfer-encoding"):
            (row.get("headers") or {}).pop(framing, None)
    assert first == second


def test_what_the_lane_does_not_take_is_served_the_asgi_way(server: MockServer) -> None:
    # A browser's (CORS headers), a HEAD (no body in its reply), a path no vendor serves.
    origin = _exchange(server, _request(Origin="http://localhost:3000"))
    assert origin.status == 202
    assert origin.headers["access-control-allow-origin"] == "http://localhost:3000"
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(b"HEAD /retail/signals/click HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.sendall(_request())  # the reply to HEAD had no body: the next reply follows it
        head, click = _read_replies(sock, 2, method="HEAD")
    assert head.status == 405
    assert click.status == 202
    missing = _exchange(server, _request(path="/retail/signals/nothing-here"))
    assert missing.status == 404


def test_a_bug_on_the_lane_is_a_500_that_closes_the_connection_and_serving_goes_on(
    server: MockServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    failing = threading.Event()
    original = RequestPath.serve_read

    async def buggy(self: RequestPath, *args: Any) -> Any:
        if failing.is_set():
            raise RuntimeError("a bug")
        return await original(self, *args)

    monkeypatch.setattr(RequestPath, "serve_read", buggy)
    failing.set()
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(_request())
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert reply.endswith(b"\r\n\r\nInternal Server Error")
    assert "a bug" in caplog.text
    failing.clear()
    served = httpx.post(server.url + PATH, content=BODY, headers=LUCIDWORKS_HEADERS)
    assert served.status_code == 202


def _quoting(content_type: str) -> bytes:
    """A click refused with a reply that quotes its Content-Type (twice)."""
    head = f"POST {PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: t\r\nAccept: application/json\r\n"
    return f"{head}Content-Type: {content_type}\r\nContent-Length: 2\r\n\r\n[]".encode()


def test_a_client_that_does_not_read_its_replies_is_not_read_either(server: MockServer) -> None:
    # Each refused request's reply quotes its 200 KB Content-Type: with the client reading
    # nothing, the server must stop reading too (as the ASGI way does), not buffer replies
    # without end.
    request = _quoting("t/" + "y" * 200_000)
    sent = 0
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(0.5)
        deadline = time.monotonic() + 1.5
        try:
            while time.monotonic() < deadline:
                sent += sock.send(request)
        except TimeoutError:
            pass  # the server stopped reading: the send buffers are full
    assert sent < 16 * 1024 * 1024, sent


def test_a_large_error_reply_is_not_kept_once_sent(server: MockServer) -> None:
    reply = _exchange(server, _quoting("t/" + "y" * 100_000))
    assert reply.status == 400
    assert len(reply.body) > 100_000
    assert not any(
        len(key[0].body) > 100_000
        for key in list(http11._encoded_replies)
        if isinstance(key, tuple)
    )


def test_the_access_log_names_the_request_target_as_sent(
    server: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        reply = _exchange(server, _request(path="/retail/signals/x%0D%0Ay?q=1"))
    assert reply.status == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any('"POST /retail/signals/x%0D%0Ay?q=1 HTTP/1.1" 404' in line for line in lines)
    assert not any("\n" in line or "\r" in line for line in lines)

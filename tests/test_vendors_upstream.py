"""Shadow mode (vendors/upstream.py): each request the mock judged is forwarded to an
upstream, and both verdicts are kept. The upstreams here are other mockservers on real
sockets: a lenient one disagrees with a strict mock on known bodies, and fault rules make
one flaky."""

from __future__ import annotations

import asyncio
import copy
import gzip
import http.server
import json
import logging
import os
import queue
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, cast

import httpx
import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.cli import main
from mockserver.events import UPSTREAM_BODY_CHARS, UpstreamCall, outcome_of
from mockserver.settings import Settings
from mockserver.testing.server import MockServer
from mockserver.validation import FieldError
from mockserver.vendors.intake import Intake
from mockserver.vendors.recorder import Recorder
from mockserver.vendors.reply import Reply
from mockserver.vendors.upstream import (
    DEFAULT_TIMEOUT_SECONDS,
    MAX_UPSTREAM_BODY_BYTES,
    Forwarded,
    Upstream,
    _passed_back,
    check_upstream,
    parse_upstreams,
)
from tests.conftest import LUCIDWORKS_HEADERS, NEURALENS_HEADERS, load_fixture

CLICK = load_fixture("lucidworks", "valid", "click-full.json")


def without_ip(body: list[dict[str, Any]]) -> list[dict[str, Any]]:
    changed = copy.deepcopy(body)
    changed[0]["ipAddress"] = None  # strict refuses null (type: string); lenient accepts it
    return changed


@pytest.fixture
def lenient_upstream() -> Iterator[MockServer]:
    with MockServer(Settings(profile="lenient")) as server:
        yield server


def mock_before(upstream: MockServer, **settings: Any) -> MockServer:
    target = f"lucidworks={upstream.url}"
    return MockServer(Settings(upstreams=(target,), **{"upstream_timeout": 2, **settings}))


def calls_of(server: MockServer, want: int, path: str = "/_mock/upstream") -> list[Any]:
    """The upstream calls listed, oldest first: read right after the replies, as a test does
    (a shadow call is made after its reply; the read waits for those in flight)."""
    listed = httpx.get(server.url + path, timeout=10).json()
    rows = listed.get("upstream", listed.get("disagreements"))
    assert len(rows) == want
    return list(reversed(rows))


def stored(server: MockServer) -> dict[str, Any]:
    """The server's events and rejections."""
    with server.client() as client:
        return {"events": client.events(), "rejections": client.rejections()}


def post_click(server: MockServer, body: Any, **headers: str) -> httpx.Response:
    url = f"{server.url}/retail/signals/click"
    return httpx.post(
        url, content=json.dumps(body), headers={**LUCIDWORKS_HEADERS, **headers}, timeout=10
    )


def test_in_shadow_mode_the_client_gets_the_mocks_verdict_and_each_disagreement_is_listed(
    lenient_upstream: MockServer,
) -> None:
    with mock_before(lenient_upstream) as mock:
        assert post_click(mock, CLICK).status_code == 202
        refused = post_click(mock, without_ip(CLICK))
        assert refused.status_code == 400  # the mock's strict verdict, not the upstream's 200
        calls = calls_of(mock, 2)
        assert [(c["mock_status"], c["upstream_status"], c["outcome"]) for c in calls] == [
            (202, 202, "agree"),
            (400, 202, "disagree"),
        ]
        disagreement = calls_of(mock, 1, "/_mock/disagreements")[0]
        assert disagreement["mock_errors"][0]["path"] == "$[0].ipAddress"
        assert json.loads(disagreement["body"]) == without_ip(CLICK)
        assert (disagreement["profile"], disagreement["mode"]) == ("strict", "shadow")
        assert disagreement["upstream_url"] == f"{lenient_upstream.url}/retail/signals/click"
        summary = httpx.get(mock.url + "/_mock/summary").json()
        assert summary["disagreements"] == 1
        assert summary["upstream"] == {"total": 2, "by_outcome": {"agree": 1, "disagree": 1}}
    # the upstream stored both: it got what the client sent
    assert len(stored(lenient_upstream)["events"]) == 2


def test_in_passthrough_mode_the_client_gets_the_upstreams_reply(
    lenient_upstream: MockServer,
) -> None:
    with mock_before(lenient_upstream, upstream_mode="passthrough") as mock:
        reply = post_click(mock, without_ip(CLICK))
        assert reply.status_code == 202  # the upstream's: it is lenient
        assert [c["outcome"] for c in calls_of(mock, 1)] == ["disagree"]
        # the mock's own verdict is still recorded where it always is
        assert stored(mock)["rejections"][0]["status"] == 400


def test_the_upstream_gets_the_headers_the_client_sent_and_nothing_of_its_own(
    lenient_upstream: MockServer,
) -> None:
    with mock_before(lenient_upstream) as mock:
        post_click(mock, CLICK, **{"X-Trace": "abc", "User-Agent": "shop/1.0"})
        calls_of(mock, 1)
        sent = stored(mock)["events"][0]["headers"]  # as the mock received them
    got = stored(lenient_upstream)["events"][0]["headers"]
    # not one header more or fewer, but Connection: it is about the client's connection
    assert sorted(got) == sorted(set(sent) - {"connection"})
    for name in set(got) - {"host", "authorization"}:
        assert got[name] == sent[name], name
    assert got["host"] == lenient_upstream.url.removeprefix("http://")
    # the credential went on (each store keeps only its own salted fingerprint of it)
    assert got["authorization"].startswith("hmac-sha256:")


@pytest.mark.parametrize(
    ("fault", "status"),
    [("status=503", 503), ("reset", None), ("empty", None), ("malformed", None)],
)
def test_a_flaky_upstream_is_unavailable_never_a_disagreement(
    fault: str, status: int | None
) -> None:
    flaky = MockServer(Settings(faults=(f"lucidworks:{fault}",)))
    with flaky as upstream, mock_before(upstream) as mock:
        assert post_click(mock, without_ip(CLICK)).status_code == 400  # the mock's, as ever
        (call,) = calls_of(mock, 1)
        assert (call["upstream_status"], call["outcome"]) == (status, "upstream-unavailable")
        assert status is not None or call["upstream_error"]
        assert httpx.get(mock.url + "/_mock/summary").json()["disagreements"] == 0
        assert len(stored(mock)["rejections"]) == 1  # its own record, whatever the upstream did


@pytest.mark.slow  # waits for an upstream's timeout on purpose
def test_an_upstream_that_hangs_neither_delays_the_reply_nor_loses_the_event() -> None:
    slow = MockServer(Settings(faults=("lucidworks:latency,ms=1500",)))
    with slow as upstream, mock_before(upstream, upstream_timeout=1) as mock:
        started = time.monotonic()
        assert post_click(mock, CLICK).status_code == 202
        assert time.monotonic() - started < 1.0
        assert len(stored(mock)["events"]) == 1
        call = calls_of(mock, 1)[0]
        assert call["upstream_status"] is None
        assert "Timeout" in call["upstream_error"]
        assert call["outcome"] == "upstream-unavailable"


def test_an_upstream_nobody_listens_on_is_unavailable_and_passthrough_answers_502() -> None:
    with MockServer() as gone:
        url = gone.url
    settings = Settings(upstreams=(f"lucidworks={url}",), upstream_mode="passthrough")
    with MockServer(settings) as mock:
        reply = post_click(mock, CLICK)
        assert reply.status_code == 502
        assert "no reply came" in reply.json()["detail"]
        assert len(stored(mock)["events"]) == 1  # the mock's own verdict is kept
        assert calls_of(mock, 1)[0]["outcome"] == "upstream-unavailable"


def test_a_lucidworks_upstream_url_names_each_requests_signal_store(
    lenient_upstream: MockServer,
) -> None:
    port = lenient_upstream.url.rsplit(":", 1)[1]
    target = f"lucidworks=http://{{store}}.localhost:{port}"
    with MockServer(Settings(upstreams=(target,))) as mock:
        post_click(mock, CLICK, Host="shop-a.localhost")
        assert calls_of(mock, 1)[0]["upstream_url"].startswith(f"http://shop-a.localhost:{port}/")


@pytest.mark.parametrize(
    ("items", "says"),
    [
        (["lucidworks"], "give VENDOR=URL"),
        (["acme=http://x"], "give VENDOR=URL"),
        (["lucidworks=ftp://x"], "http:// or https://"),
        (["neuralens=https://{store}.x"], "only Lucidworks"),
        (["lucidworks=http://a", "lucidworks=http://b"], "given twice"),
        (["lucidworks=http://a?x=1"], "base URL"),
    ],
)
def test_an_upstream_that_cannot_be_called_is_refused_saying_what_to_write(
    items: list[str], says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        parse_upstreams(items)


def test_a_wrong_upstream_is_told_the_vendors_and_an_example_to_copy() -> None:
    with pytest.raises(ValueError, match="give VENDOR=URL") as refused:
        parse_upstreams(["acme=http://x"])
    assert str(refused.value) == (
        "--upstream 'acme=http://x': give VENDOR=URL, VENDOR one of neuralens, lucidworks "
        "(e.g. lucidworks=https://{store}.applications.lucidworks.com)"
    )


@pytest.mark.parametrize(
    ("item", "url"),
    [
        (" Lucidworks = https://{store}.example.com/ ", "https://{store}.example.com"),
        ("neuralens=http://up.example/api/X//", "http://up.example/api/X"),
    ],
)
def test_an_upstream_url_is_kept_without_its_trailing_slashes(item: str, url: str) -> None:
    vendor = item.split("=")[0].strip().lower()
    assert parse_upstreams([item]) == {vendor: url}


def test_a_wrong_mode_or_an_unreadable_ca_file_is_refused(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="shadow or passthrough"):
        check_upstream((), "mirror", None)
    with pytest.raises(ValueError, match="cannot read it"):
        check_upstream((), "shadow", tmp_path / "missing.pem")


class _Accepting(http.server.BaseHTTPRequestHandler):
    """Answers 202 to every POST, as the real service does to a valid signal."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@pytest.fixture
def tls_upstream(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS upstream on 127.0.0.1 with a self-signed certificate: its URL and the
    certificate, which is its own authority."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Accepting)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", cert
    finally:
        server.shutdown()
        server.server_close()


def test_a_tls_upstream_is_trusted_through_upstream_ca_and_refused_without_it(
    tls_upstream: tuple[str, Path],
) -> None:
    url, cert = tls_upstream
    trusted = Settings(upstreams=(f"lucidworks={url}",), upstream_ca=cert)
    with MockServer(trusted) as mock:
        post_click(mock, CLICK)
        (call,) = calls_of(mock, 1)
        assert (call["upstream_status"], call["outcome"]) == (202, "agree")
    with MockServer(Settings(upstreams=(f"lucidworks={url}",))) as mock:
        post_click(mock, CLICK)
        (call,) = calls_of(mock, 1)
        assert call["outcome"] == "upstream-unavailable"
        assert "CERTIFICATE_VERIFY_FAILED" in call["upstream_error"]


def test_a_neuralens_upstream_gets_its_events_and_disagreements_are_found_alike(
    lenient_upstream: MockServer,
) -> None:
    event = load_fixture("neuralens", "valid", "click-product-docs-example-fixed.json")
    no_query = {k: v for k, v in event.items() if k != "query"}  # a "should" strict enforces
    with MockServer(Settings(upstreams=(f"neuralens={lenient_upstream.url}",))) as mock:
        url = f"{mock.url}/analytics/event"
        for body in (event, no_query):
            httpx.post(url, content=json.dumps(body), headers=NEURALENS_HEADERS)
        calls = calls_of(mock, 2)
    assert [(c["mock_status"], c["upstream_status"]) for c in calls] == [(200, 200), (400, 200)]
    assert calls[1]["upstream_url"] == f"{lenient_upstream.url}/analytics/event"
    assert calls[1]["mock_errors"][0]["rule"] == "query-required"


def test_serve_refuses_an_upstream_it_cannot_call_saying_what_to_write(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--upstream", "acme=http://x", "--port", "0"]) == 2
    assert "give VENDOR=URL, VENDOR one of" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse's own refusal, naming the two modes
        main(["serve", "--upstream", "lucidworks=http://x", "--upstream-mode", "mirror"])
    assert "choose from 'shadow', 'passthrough'" in capsys.readouterr().err


def test_upstreams_come_from_the_environment_and_the_config_file_too(tmp_path: Path) -> None:
    env = {"MOCKSERVER_UPSTREAMS": "lucidworks=http://a,neuralens=http://b"}
    assert Settings.load(env=env).upstreams == ("lucidworks=http://a", "neuralens=http://b")
    config = tmp_path / "mock.toml"
    config.write_text('upstreams = ["lucidworks=http://a"]\nupstream-mode = "passthrough"\n')
    loaded = Settings.load(config_file=config)
    assert (loaded.upstreams, loaded.upstream_mode) == (("lucidworks=http://a",), "passthrough")


@dataclass(frozen=True)
class _Received:
    """A request as the upstream read it off its socket."""

    method: str
    target: str  # the path and query
    headers: list[tuple[str, str]]  # in the order sent, each name in lower case
    body: bytes


class _Scripted(http.server.BaseHTTPRequestHandler):
    """An upstream that answers as ``script`` says: (status, headers, body, seconds before
    each of the body's bytes); a status of None resets the connection instead of replying.
    It keeps what it was sent (``seen``: the headers, ``received``: the whole request) and,
    once each reply is over, how many of the body's bytes it could send (``sent``)."""

    script: ClassVar[tuple[int | None, dict[str, str], bytes, float]] = (202, {}, b"", 0.0)
    seen: ClassVar[list[dict[str, str]]] = []
    received: ClassVar[list[_Received]] = []
    sent: ClassVar[queue.SimpleQueue[int]] = queue.SimpleQueue()

    def do_POST(self) -> None:
        content = self.rfile.read(int(self.headers.get("content-length", 0)))
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()})
        headers = [(k.lower(), v) for k, v in self.headers.items()]
        type(self).received.append(_Received(self.command, self.path, headers, content))
        status, extra, body, pause = self.script
        if status is None:  # a reset (RST), not a close (FIN): no reply at all
            linger = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            os.close(self.connection.detach())
            self.close_connection = True
            return
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **extra}.items():
            self.send_header(name, value)
        self.end_headers()
        step = 1 if pause else 64 * 1024  # byte by byte when it drips
        written = 0
        try:
            for start in range(0, len(body), step):
                time.sleep(pause)
                self.wfile.write(body[start : start + step])
                written += len(body[start : start + step])
        except OSError:  # the caller hung up: what is left cannot be sent
            self.close_connection = True
        finally:
            type(self).sent.put(written)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Threads(http.server.ThreadingHTTPServer):
    daemon_threads = False  # so closing the server waits for each request's thread to end


@pytest.fixture
def scripted() -> Iterator[tuple[str, type[_Scripted]]]:
    """A real upstream on 127.0.0.1, in this process: its URL, and its handler's class (one
    of its own for each test) to script it and read what it was sent."""
    fresh = {"seen": [], "received": [], "sent": queue.SimpleQueue()}
    handler = type("Handler", (_Scripted,), fresh)
    server = _Threads(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()  # joins the requests' threads
        thread.join(timeout=5)


@pytest.mark.slow  # waits for an upstream's timeout on purpose
def test_an_upstream_that_drips_its_reply_is_cut_off_at_the_timeout_in_all(
    scripted: tuple[str, type[_Scripted]],
) -> None:
    url, handler = scripted
    handler.script = (400, {}, b"x" * 10, 0.4)  # 4 s in all, each byte well within a second
    with MockServer(Settings(upstreams=(f"lucidworks={url}",), upstream_timeout=1)) as mock:
        post_click(mock, CLICK)
        started = time.monotonic()
        (call,) = calls_of(mock, 1)
        assert time.monotonic() - started < 2.5
    assert call["upstream_status"] is None
    assert call["upstream_error"] == "TimeoutError: no whole reply within 1 s"


def test_headers_the_clients_connection_header_names_are_not_forwarded(
    scripted: tuple[str, type[_Scripted]],
) -> None:
    url, handler = scripted
    with MockServer(Settings(upstreams=(f"lucidworks={url}",))) as mock:
        post_click(mock, CLICK, Connection="keep-alive, X-Hop", **{"X-Hop": "1", "X-End": "2"})
        calls_of(mock, 1)
    (seen,) = handler.seen
    assert "x-hop" not in seen
    assert seen["x-end"] == "2"


def test_passthrough_passes_a_redirect_and_a_compressed_reply_back_as_they_came(
    scripted: tuple[str, type[_Scripted]],
) -> None:
    url, handler = scripted
    settings = Settings(upstreams=(f"lucidworks={url}",), upstream_mode="passthrough")
    with MockServer(settings) as mock:
        handler.script = (302, {"Location": "https://elsewhere.example/"}, b"", 0.0)
        moved = post_click(mock, CLICK)
        assert (moved.status_code, moved.headers["location"]) == (302, "https://elsewhere.example/")
        packed = gzip.compress(b'{"error": "refused"}')
        handler.script = (400, {"Content-Encoding": "gzip"}, packed, 0.0)
        refused = post_click(mock, CLICK)
        assert (refused.status_code, refused.json()) == (400, {"error": "refused"})
        calls = calls_of(mock, 2)
    assert calls[1]["upstream_body"] == '{"error": "refused"}'  # kept decompressed
    assert calls[1]["outcome"] == "disagree"


def test_a_lucidworks_request_that_names_no_store_is_not_sent_to_a_store_named_default(
    scripted: tuple[str, type[_Scripted]],
) -> None:
    url, handler = scripted
    port = url.rsplit(":", 1)[1]
    target = f"lucidworks=http://{{store}}.localhost:{port}"
    with MockServer(Settings(upstreams=(target,))) as mock:
        post_click(mock, CLICK)  # to 127.0.0.1: no store in the path or the Host
        (call,) = calls_of(mock, 1)
    assert handler.seen == []
    assert call["outcome"] == "upstream-unavailable"
    assert "names no signal store" in call["upstream_error"]


def test_in_process_without_a_lifespan_the_upstream_calls_are_still_recorded(
    lenient_upstream: MockServer,
) -> None:
    app = create_app(Settings(upstreams=(f"lucidworks={lenient_upstream.url}",)))
    client = TestClient(app)  # no `with`: each request runs on a loop of its own
    for _ in range(3):
        client.post("/retail/signals/click", content=json.dumps(CLICK), headers=LUCIDWORKS_HEADERS)
    assert client.get("/_mock/upstream").json()["total"] == 3
    with TestClient(app):  # a lifespan's end closes the upstream's connections
        pass


@pytest.mark.slow  # waits for an upstream's timeout on purpose
def test_the_summary_does_not_wait_for_a_slow_upstream_and_a_reset_does() -> None:
    slow = MockServer(Settings(faults=("lucidworks:latency,ms=1500",)))
    with slow as upstream, mock_before(upstream, upstream_timeout=3) as mock:
        post_click(mock, CLICK)
        started = time.monotonic()
        assert httpx.get(mock.url + "/_mock/summary").json()["events"]["total"] == 1
        assert time.monotonic() - started < 1.0
        assert httpx.post(mock.url + "/_mock/reset").status_code == 204
        assert calls_of(mock, 0) == []  # the call in flight was recorded, then deleted


@pytest.mark.parametrize(
    ("mock", "upstream", "outcome"),
    [
        (202, 202, "agree"), (400, 400, "agree"), (400, 422, "agree"),
        (202, 400, "disagree"), (400, 202, "disagree"),
        (202, 500, "upstream-unavailable"), (202, None, "upstream-unavailable"),
        (202, 429, "upstream-unavailable"), (202, 408, "upstream-unavailable"),
        (202, 401, "not-compared"), (401, 202, "not-compared"), (202, 302, "not-compared"),
        (503, 202, "not-compared"),
    ],
)  # fmt: skip
def test_the_outcome_compares_only_verdicts_on_the_body(
    mock: int, upstream: int | None, outcome: str
) -> None:
    assert outcome_of(mock, upstream) == outcome


def test_an_upstream_ca_file_is_trusted_beside_the_systems_authorities(
    tls_upstream: tuple[str, Path],
) -> None:
    context = check_upstream((), "shadow", tls_upstream[1])
    assert isinstance(context, ssl.SSLContext)
    system = ssl.create_default_context().cert_store_stats()["x509_ca"]
    assert context.cert_store_stats()["x509_ca"] == system + 1


# -- in-process: what is forwarded, and what is kept and passed back of the reply -------------

UPSTREAM_URL = "http://upstream.test"
Scripted = tuple[str, type[_Scripted]]  # the `scripted` fixture: a real upstream's URL, handler


def _upstream(url: str) -> Upstream:
    """An upstream whose calls go over a real socket to ``url``, with the client Upstream
    makes itself (its settings, its headers)."""
    return Upstream({"lucidworks": url}, cast(Recorder, None), "strict")


def _click_intake(*headers: tuple[str, str], query: bytes = b"") -> Intake:
    scope = {
        "type": "http", "method": "POST", "path": "/retail/signals/click", "query_string": query,
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
    }  # fmt: skip

    async def nothing_more() -> Any:
        raise AssertionError("the body was read already")

    return Intake.of(scope, nothing_more, "lucidworks", "/retail/signals/click")


def _forward(upstream: Upstream, intake: Intake, body: bytes = b"[]") -> Forwarded:
    async def run() -> Forwarded:
        try:
            return await upstream.forward(intake, None, body)
        finally:  # close() closes only the client of judged()'s calls; this one is ours
            if upstream._client is not None:
                await upstream._client.aclose()

    return asyncio.run(run())


def test_a_request_without_a_connection_header_is_forwarded_with_every_header_it_has(
    scripted: Scripted,
) -> None:
    url, handler = scripted
    upstream = _upstream(url)
    intake = _click_intake(("Authorization", "token-1"), ("X-Trace", "abc"), query=b"debug=1")
    forwarded = _forward(upstream, intake, b'[{"a": 1}]')
    assert (forwarded.status, forwarded.error) == (202, None)
    (request,) = handler.received
    host = url.removeprefix("http://")
    assert (request.method, request.target) == ("POST", "/retail/signals/click?debug=1")
    # the client's headers and what a new connection needs: nothing of httpx's own
    assert sorted(request.headers) == [
        ("authorization", "token-1"), ("content-length", "10"), ("host", host),
        ("x-trace", "abc"),
    ]  # fmt: skip
    assert request.body == b'[{"a": 1}]'


def test_each_header_a_connection_header_names_is_not_forwarded_however_it_is_spaced(
    scripted: Scripted,
) -> None:
    url, handler = scripted
    hop = ("Connection", "X-Hop,X-Two ,  keep-alive")
    _forward(_upstream(url), _click_intake(hop, ("X-Hop", "1"), ("X-Two", "2"), ("X-End", "3")))
    (request,) = handler.received
    headers = dict(request.headers)
    assert "x-hop" not in headers
    assert "x-two" not in headers
    assert "connection" not in headers
    assert headers["x-end"] == "3"


def test_the_upstream_is_waited_for_as_long_as_upstream_timeout_says_not_httpxs_5_s(
    scripted: Scripted,
) -> None:
    url, handler = scripted
    timeouts: list[Any] = []

    async def sending(request: httpx.Request) -> None:  # each request as the client sends it
        timeouts.append(request.extensions["timeout"])

    upstream = _upstream(url)
    upstream._http().event_hooks["request"].append(sending)  # the client Upstream makes
    _forward(upstream, _click_intake())
    assert timeouts == [{"connect": 10, "read": 10, "write": 10, "pool": 10}]
    assert len(handler.received) == 1  # and it did go out


def test_only_the_first_mebibyte_of_an_upstreams_reply_is_read(scripted: Scripted) -> None:
    url, handler = scripted
    offered = 64 * MAX_UPSTREAM_BODY_BYTES  # far more than the sockets' buffers hold
    handler.script = (200, {}, b"x" * offered, 0.0)
    forwarded = _forward(_upstream(url), _click_intake())
    assert (forwarded.status, forwarded.error) == (200, None)
    # what is kept, and passed back in passthrough, is the first mebibyte exactly
    assert len(forwarded.body) == MAX_UPSTREAM_BODY_BYTES
    # and the rest is never read: the connection is dropped, the upstream cannot send it
    assert handler.sent.get(timeout=5) < offered


def test_a_request_that_names_no_store_for_the_urls_store_is_told_how_to_name_one(
    scripted: Scripted,
) -> None:
    listening, handler = scripted
    url = f"http://{{store}}.localhost:{listening.rsplit(':', 1)[1]}"
    forwarded = _forward(_upstream(url), _click_intake())
    assert (forwarded.url, forwarded.status) == (url, None)
    assert forwarded.error == (
        "the request names no signal store for the upstream URL's {store}: send it to "
        "/signal-store/{id}/… or with a Host of {id}.…, or give --upstream a URL without {store}"
    )
    assert handler.received == []  # nothing is sent


@pytest.fixture
def nobody_listens() -> Iterator[str]:
    """The URL of a port on 127.0.0.1 that is taken (bound) but never listened on: each
    connection to it is refused."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{taken.getsockname()[1]}"


@pytest.mark.parametrize(
    ("upstream", "error"),
    [
        ("nobody-listens", "ConnectError: All connection attempts failed"),
        ("reset", "ReadError"),  # no ": " after a name that says it all (httpx gives none)
    ],
)
def test_an_upstream_that_cannot_be_reached_is_recorded_with_why(
    upstream: str, error: str, request: pytest.FixtureRequest
) -> None:
    if upstream == "reset":  # it reads the request, then resets the connection
        url, handler = request.getfixturevalue("scripted")
        handler.script = (None, {}, b"", 0.0)
    else:
        url = request.getfixturevalue("nobody_listens")
    forwarded = _forward(_upstream(url), _click_intake())
    assert (forwarded.status, forwarded.error) == (None, error)


def _reply(status: int, body: bytes, *headers: tuple[str, str]) -> Forwarded:
    return Forwarded(UPSTREAM_URL, status, body, headers, 1.0)


@pytest.mark.parametrize(
    ("forwarded", "text"),
    [
        (_reply(400, b'{"error": "refused"}'), '{"error": "refused"}'),
        (_reply(400, b"plain", ("content-encoding", " Identity ")), "plain"),
        (_reply(400, b"empty name", ("content-encoding", "")), "empty name"),
        (_reply(400, zlib.compress(b"deflated"), ("content-encoding", "deflate")), "deflated"),
        (_reply(400, gzip.compress(b"gzipped"), ("content-encoding", "GZIP")), "gzipped"),
        (_reply(400, b"\x8b\x00", ("content-encoding", "br")), "(2 bytes, Content-Encoding: br)"),
        (
            _reply(400, b"not gzip", ("content-encoding", "gzip")),
            "(8 bytes, Content-Encoding: gzip, not readable)",
        ),
        (_reply(400, b"caf\xe9 \xff"), "caf\ufffd \ufffd"),  # not UTF-8: kept, marked
        (_reply(400, b"x" * (UPSTREAM_BODY_CHARS + 10)), "x" * UPSTREAM_BODY_CHARS),
        (Forwarded(UPSTREAM_URL, error="ConnectError"), None),
    ],
)
def test_the_upstreams_body_is_recorded_as_text_decompressed_or_said_what_it_is(
    forwarded: Forwarded, text: str | None
) -> None:
    assert forwarded.text() == text


def test_a_compressed_upstream_reply_is_decompressed_no_further_than_what_is_recorded() -> None:
    # 16 MB of zeros in 16 KB of gzip: only the recorded prefix is ever inflated
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    packed = b"".join(packer.compress(bytes(1024 * 1024)) for _ in range(16)) + packer.flush()
    forwarded = _reply(400, packed, ("content-encoding", "gzip"))
    tracemalloc.start()
    try:
        text = forwarded.text()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert text == "\0" * UPSTREAM_BODY_CHARS
    assert peak < 1024 * 1024


def test_passthrough_answers_a_problem_502_that_says_where_the_verdict_is_when_no_reply_came() -> (
    None
):
    forwarded = Forwarded("http://user:secret@upstream.test/x", error="ConnectError: refused")
    reply = _passed_back(forwarded)
    assert reply.status == 502
    assert (b"content-type", b"application/problem+json") in reply.headers
    assert json.loads(reply.body) == {
        "type": "about:blank",
        "title": "Bad Gateway",
        "status": 502,
        "detail": "mockserver forwarded this request to http://user:***@upstream.test/x "
        "(--upstream-mode passthrough) and no reply came: ConnectError: refused; its own "
        "verdict is in /_mock/upstream",
    }


@pytest.mark.parametrize(
    ("status", "length"),
    [(200, b"4"), (202, b"4"), (400, b"4"), (503, b"4"), (204, None), (304, None), (101, None)],
)
def test_a_passed_back_reply_says_its_length_unless_its_status_has_no_body(
    status: int, length: bytes | None
) -> None:
    upstream = _reply(status, b"body", ("content-type", "text/plain"), ("retry-after", "3"))
    reply = _passed_back(upstream)
    assert (reply.status, reply.body) == (status, b"body")
    lengths = [value for name, value in reply.headers if name == b"content-length"]
    assert lengths == ([] if length is None else [length])
    assert (b"content-type", b"text/plain") in reply.headers
    assert (b"retry-after", b"3") in reply.headers


class Calls:
    """A recorder that keeps the upstream calls it is given."""

    def __init__(self) -> None:
        self.calls: list[UpstreamCall] = []

    async def upstream(self, call: UpstreamCall) -> None:
        self.calls.append(call)


def _shadowed(upstream: Upstream, intake: Intake, body: bytes, reply: Reply) -> Reply:
    """What the client gets for ``intake``, once its upstream call is recorded."""

    async def run() -> Reply:
        try:
            errors = [FieldError("$[0].type", "required", "schema", "is required")]
            sent = await upstream.judged(intake, "store-1", body, reply, errors)
            await upstream.settle()
            return sent
        finally:
            await upstream.close()

    return asyncio.run(run())


def test_each_forwarded_request_is_recorded_with_its_tenant_time_and_both_verdicts(
    scripted: Scripted, caplog: pytest.LogCaptureFixture
) -> None:
    url, handler = scripted
    body = b'{"ok": true}'
    handler.script = (202, {}, body, 0.02 / len(body))  # the upstream takes 20 ms (and more)
    upstream = _upstream(url)
    recorder = Calls()
    upstream.recorder = cast(Recorder, recorder)
    intake = _click_intake(("X-Trace", "abc"))
    refused = Reply.json(400, {"refused": True})
    with caplog.at_level(logging.WARNING, "mockserver.upstream"):
        # shadow mode: the client gets the mock's reply
        assert _shadowed(upstream, intake, b"[{\xff}]", refused) is refused
    (call,) = recorder.calls
    assert (call.request_id, call.received_at) == (intake.request_id, intake.received_at)
    assert (call.vendor, call.endpoint, call.tenant) == (
        "lucidworks",
        "/retail/signals/click",
        "store-1",
    )
    assert (call.mock_status, call.upstream_status, call.outcome) == (400, 202, "disagree")
    assert call.mock_errors == [
        {"path": "$[0].type", "rule": "required", "layer": "schema", "message": "is required"}
    ]
    # a disagreement keeps the body, as text even when it is not UTF-8
    assert (call.upstream_body, call.body, call.upstream_error) == (
        '{"ok": true}',
        "[{\ufffd}]",
        None,
    )
    assert isinstance(call.upstream_ms, float)  # to the microsecond
    assert 20 <= call.upstream_ms < 1000
    assert [r.getMessage() for r in caplog.records] == [
        f"disagreement: the mock answered 400, {url}/retail/signals/click "
        "answered 202 (lucidworks /retail/signals/click)"
    ]


def test_an_agreeing_call_keeps_no_copy_of_the_body_and_is_not_logged(
    scripted: Scripted, caplog: pytest.LogCaptureFixture
) -> None:
    upstream = _upstream(scripted[0])  # it answers 202
    recorder = Calls()
    upstream.recorder = cast(Recorder, recorder)
    with caplog.at_level(logging.WARNING, "mockserver.upstream"):
        _shadowed(upstream, _click_intake(), b"[{}]", Reply(202))
    (call,) = recorder.calls
    assert (call.outcome, call.body) == ("agree", None)
    assert caplog.records == []


class BrokenStore:
    async def upstream(self, call: UpstreamCall) -> None:
        raise RuntimeError("disk full")


def test_an_upstream_call_the_store_cannot_keep_is_logged_and_the_client_still_served(
    scripted: Scripted, caplog: pytest.LogCaptureFixture
) -> None:
    upstream = _upstream(scripted[0])  # it answers 202
    upstream.recorder = cast(Recorder, BrokenStore())
    accepted = Reply(202)
    with caplog.at_level(logging.ERROR, "mockserver.upstream"):
        assert _shadowed(upstream, _click_intake(), b"[]", accepted) is accepted
    assert [r.getMessage() for r in caplog.records] == [
        "mockserver could not store the upstream's verdict"
    ]


def test_a_recorded_call_is_not_kept_in_memory_once_done(scripted: Scripted) -> None:
    # A shadow server forwards every request: each reply (up to 1 MiB) must not pile up.
    upstream = _upstream(scripted[0])  # it answers 202
    upstream.recorder = cast(Recorder, Calls())
    for _ in range(3):
        _shadowed(upstream, _click_intake(), b"[]", Reply(202))
    assert upstream._pending == set()


def _calls_thread(url: str, client: httpx.AsyncClient | None = None) -> threading.Thread:
    """The thread the upstream's calls ran on, once the upstream is closed; ``client``: one
    to make them with instead of the one Upstream makes."""
    upstream = Upstream({"lucidworks": url}, cast(Recorder, Calls()), "strict")
    upstream._client = client
    threads = []

    async def sending(request: httpx.Request) -> None:  # runs where the call runs
        threads.append(threading.current_thread())

    upstream._http().event_hooks["request"].append(sending)
    _shadowed(upstream, _click_intake(), b"[]", Reply(202))  # closes it
    (thread,) = threads
    thread.join(timeout=2)
    return thread


def test_the_calls_run_on_a_daemon_thread_that_closing_stops(scripted: Scripted) -> None:
    # A daemon: a process whose app never ran its lifespan's end still exits.
    thread = _calls_thread(scripted[0])
    assert (thread.name, thread.daemon, thread.is_alive()) == ("mockserver-upstream", True, False)


def test_closing_stops_the_calls_thread_even_when_closing_its_connections_fails(
    scripted: Scripted,
) -> None:
    class Failing(httpx.AsyncClient):
        async def aclose(self) -> None:
            await super().aclose()  # its connections are closed, and then it fails
            raise RuntimeError("the pool is broken")

    failing = Failing(timeout=DEFAULT_TIMEOUT_SECONDS, follow_redirects=False)
    failing.headers.clear()  # made as Upstream makes its own
    assert not _calls_thread(scripted[0], failing).is_alive()  # and close raised nothing


def test_an_upstream_timeout_under_a_second_is_refused_however_the_upstream_is_made() -> None:
    with pytest.raises(ValueError, match=r"--upstream-timeout 0\.5: give a number of seconds"):
        Upstream({"lucidworks": UPSTREAM_URL}, cast(Recorder, Calls()), "strict", timeout=0.5)


class StuckStore:
    """A recorder whose write of an upstream call never returns (a store that hangs)."""

    async def upstream(self, call: UpstreamCall) -> None:
        await asyncio.Event().wait()


def test_a_read_waits_for_a_call_that_cannot_be_recorded_only_a_second_past_the_timeout(
    scripted: Scripted,
) -> None:
    upstream = _upstream(scripted[0])  # it answers 202
    upstream.recorder = cast(Recorder, StuckStore())

    async def run() -> float:
        await upstream.judged(_click_intake(), None, b"[]", Reply(202), [])
        upstream.timeout = -0.8  # the bound is the timeout and a second: 0.2 s here
        started = time.monotonic()
        try:
            await asyncio.wait_for(upstream.settle(), 2)
            return time.monotonic() - started
        finally:
            await asyncio.wait_for(upstream.close(), 2)  # stops the loop, the stuck write too

    waited = asyncio.run(run())
    assert 0.1 < waited < 0.7

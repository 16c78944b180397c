"""Shadow mode (vendors/upstream.py): each request the mock judged is forwarded to an
upstream, and both verdicts are kept. The upstreams here are other mockservers on real
sockets: a lenient one disagrees with a strict mock on known bodies, and fault rules make
one flaky."""

from __future__ import annotations

import copy
import gzip
import http.server
import json
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.cli import main
from mockserver.events import outcome_of
from mockserver.settings import Settings
from mockserver.testing.server import MockServer
from mockserver.vendors.upstream import check_upstream, parse_upstreams
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


class _Scripted(http.server.BaseHTTPRequestHandler):
    """An upstream that answers as ``script`` says: (status, headers, body, seconds between
    the body's bytes); and keeps what it was sent."""

    script: ClassVar[tuple[int, dict[str, str], bytes, float]] = (202, {}, b"", 0.0)
    seen: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()})
        status, headers, body, pause = self.script
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        for byte in body:
            time.sleep(pause)
            self.wfile.write(bytes([byte]))
            self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[tuple[str, type[_Scripted]]]:
    handler = type("Handler", (_Scripted,), {"seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


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

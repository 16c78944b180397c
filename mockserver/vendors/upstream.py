"""Shadow mode: each vendor request the mock judged is forwarded to the real service
(``--upstream VENDOR=URL``), and both verdicts are kept side by side.

- ``shadow`` (the default): the client gets the mock's reply; the upstream call is made after
  it, off the reply's path, so the upstream can neither delay nor lose the request's record.
- ``passthrough``: the client gets the upstream's reply (a 502 when none came); the mock's
  own verdict is recorded as in shadow mode.

What is forwarded: the method, the path below ``/ns/{namespace}`` and ``/signal-store/{id}``,
the query, every header the client sent (credentials included: the real service needs them;
only their salted fingerprints are stored) and the body, byte for byte. Nothing is added
but what HTTP requires of a new connection: ``Host`` and ``Content-Length`` (hop-by-hop
headers such as ``Connection`` and ``Transfer-Encoding`` belong to the client's connection,
not this one). Requests refused before their body was read (431, 404, 405, 413) are not
forwarded: the mock did not judge a body, and it cannot send one it did not read in full.

An upstream that times out, cannot be reached or answers 5xx is "upstream unavailable",
never a disagreement: that is the real service's trouble, not a verdict.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import ssl
import threading
import time
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mockserver.events import (
    DISAGREE,
    UPSTREAM_BODY_CHARS,
    UpstreamCall,
    outcome_of,
)
from mockserver.storage.base import redacted
from mockserver.validation import FieldError
from mockserver.vendors.intake import Intake
from mockserver.vendors.lucidworks import DEFAULT_TENANT
from mockserver.vendors.registry import VENDOR_NAMES
from mockserver.vendors.reply import Reply

if TYPE_CHECKING:
    import httpx

    from mockserver.vendors.recorder import Recorder

SHADOW, PASSTHROUGH = "shadow", "passthrough"
MODES = (SHADOW, PASSTHROUGH)
STORE_PLACEHOLDER = "{store}"  # in a Lucidworks upstream URL: the request's signal store
DEFAULT_TIMEOUT_SECONDS = 10
MAX_UPSTREAM_BODY_BYTES = 1024 * 1024  # read of a reply at most (a vendor's are a few bytes)
# Belong to one connection (RFC 9110, 7.6.1), or are made anew for the forwarded request.
NOT_FORWARDED = frozenset(
    {
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
        "upgrade", "host", "content-length", "expect",
    }
)  # fmt: skip
# Of the upstream's reply headers, those a passthrough reply carries on.
PASSED_BACK = frozenset(
    {"content-type", "content-encoding", "location", "retry-after", "www-authenticate"}
)

log = logging.getLogger("mockserver.upstream")


def parse_upstreams(items: Sequence[str]) -> dict[str, str]:
    """``{"lucidworks": "https://{store}.applications.lucidworks.com"}`` from ``VENDOR=URL``
    items; a ValueError that says what to write instead."""
    targets: dict[str, str] = {}
    for item in items:
        vendor, equals, url = item.partition("=")
        vendor, url = vendor.strip().lower(), url.strip().rstrip("/")
        example = "lucidworks=https://{store}.applications.lucidworks.com"
        if not equals or vendor not in VENDOR_NAMES:
            raise ValueError(
                f"--upstream {item!r}: give VENDOR=URL, VENDOR one of {', '.join(VENDOR_NAMES)} "
                f"(e.g. {example})"
            )
        parts = urlsplit(url.replace(STORE_PLACEHOLDER, "store"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--upstream {item!r}: the URL must be http:// or https://HOST…")
        if parts.query or parts.fragment:
            raise ValueError(f"--upstream {item!r}: give the service's base URL, no ? or #")
        if STORE_PLACEHOLDER in url and vendor != "lucidworks":
            raise ValueError(f"--upstream {item!r}: only Lucidworks URLs name a signal store")
        if vendor in targets:
            raise ValueError(f"--upstream: {vendor} is given twice; give each vendor once")
        targets[vendor] = url
    return targets


def check_upstream(
    items: Sequence[str], mode: str, ca_file: Path | None, timeout: float = 1
) -> ssl.SSLContext | bool:
    """Refuse, saying what to write, settings no upstream could be called with; what verifies
    the upstreams' certificates (True: the system's authorities)."""
    parse_upstreams(items)
    if mode not in MODES:
        raise ValueError(f"--upstream-mode {mode!r}: choose {' or '.join(MODES)}")
    if timeout < 1:
        raise ValueError(f"--upstream-timeout {timeout:g}: give a number of seconds, 1 or more")
    if ca_file is None:
        return True
    try:
        # The system's authorities too: another upstream may well have a public certificate.
        context = ssl.create_default_context()
        context.load_verify_locations(cafile=str(ca_file))
        return context
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(
            f"--upstream-ca {ca_file}: cannot read it as PEM certificates: {exc}"
        ) from exc


class Forwarded:
    """What came back from the upstream: a status and body, or why none came."""

    __slots__ = ("body", "error", "headers", "ms", "status", "url")

    def __init__(
        self,
        url: str,
        status: int | None = None,
        body: bytes = b"",
        headers: Sequence[tuple[str, str]] = (),
        ms: float | None = None,
        error: str | None = None,
    ) -> None:
        self.url, self.status, self.body, self.headers = url, status, body, headers
        self.ms, self.error = ms, error

    def text(self) -> str | None:
        """The first UPSTREAM_BODY_CHARS of the body as text, decompressed if need be."""
        if self.status is None:
            return None
        body = self.body
        encoding = dict(self.headers).get("content-encoding", "").strip().lower()
        if encoding in ("gzip", "deflate"):
            try:
                body = zlib.decompressobj(47).decompress(body, UPSTREAM_BODY_CHARS * 4)
            except zlib.error:
                return f"({len(self.body)} bytes, Content-Encoding: {encoding}, not readable)"
        elif encoding not in ("", "identity"):
            return f"({len(self.body)} bytes, Content-Encoding: {encoding})"
        return body[:UPSTREAM_BODY_CHARS].decode("utf-8", "replace")


class Upstream:
    """The calls run on an event loop of their own, in a thread this object starts: a shadow
    call outlives the request that made it (a test client's loop may end with its request),
    waits can be counted from any loop, and at most ``MAX_IN_FLIGHT`` calls run at once."""

    MAX_IN_FLIGHT = 32

    def __init__(
        self,
        targets: Mapping[str, str],
        recorder: Recorder,
        profile: str,
        mode: str = SHADOW,
        ca_file: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._verify = check_upstream((), mode, ca_file, timeout)
        self.targets = dict(targets)
        self.recorder = recorder
        self.profile = profile
        self.mode = mode
        self.timeout = timeout
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None  # the calls' loop's
        self._slots: asyncio.Semaphore | None = None
        self._pending: set[concurrent.futures.Future[Forwarded]] = set()

    def serves(self, vendor: str | None) -> bool:
        return vendor in self.targets

    async def judged(
        self,
        intake: Intake,
        tenant: str | None,
        body: bytes,
        reply: Reply,
        errors: Sequence[FieldError],
    ) -> Reply:
        """The reply to send for a request the mock judged as ``reply`` (``errors``: its
        reasons): the mock's own in shadow mode, the upstream's in passthrough."""
        call = self._compare(intake, tenant, body, reply.status, errors)
        future = asyncio.run_coroutine_threadsafe(call, self._calls_loop())
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._finished)
        if self.mode == SHADOW:
            return reply
        return _passed_back(await asyncio.wrap_future(future))

    def _finished(self, future: concurrent.futures.Future[Forwarded]) -> None:
        with self._lock:
            self._pending.discard(future)

    def _calls_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=_run_until_stopped, args=(loop,),
                                 name="mockserver-upstream", daemon=True).start()  # fmt: skip
                self._loop = loop
            return self._loop

    async def settle(self) -> None:
        """Returns once the calls of the requests answered so far are recorded (each within
        the timeout): a read after it sees them."""
        with self._lock:
            pending = list(self._pending)
        if pending:
            await asyncio.wait([asyncio.wrap_future(f) for f in pending], timeout=self.timeout + 1)

    async def close(self) -> None:
        """Let the calls in flight finish (each within the timeout), then stop their loop."""
        await self.settle()
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None:
            return
        client, self._client, self._slots = self._client, None, None
        if client is not None:
            closing = asyncio.run_coroutine_threadsafe(client.aclose(), loop)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.wrap_future(closing), 5)
        loop.call_soon_threadsafe(loop.stop)

    async def _compare(
        self,
        intake: Intake,
        tenant: str | None,
        body: bytes,
        mock_status: int,
        errors: Sequence[FieldError],
    ) -> Forwarded:
        forwarded = await self.forward(intake, tenant, body)
        outcome = outcome_of(mock_status, forwarded.status)
        call = UpstreamCall(
            request_id=intake.request_id, vendor=intake.vendor or "", endpoint=intake.endpoint,
            namespace=intake.namespace, tenant=tenant, profile=self.profile, mode=self.mode,
            mock_status=mock_status, mock_errors=[e.as_dict() for e in errors],
            upstream_url=redacted(forwarded.url), upstream_status=forwarded.status,
            upstream_body=forwarded.text(), upstream_ms=forwarded.ms,
            upstream_error=forwarded.error, outcome=outcome,
            body=body.decode("utf-8", "replace") if outcome == DISAGREE else None,
            received_at=intake.received_at,
        )  # fmt: skip
        if outcome == DISAGREE:
            log.warning(
                "disagreement: the mock answered %s, %s answered %s (%s %s)",
                mock_status, redacted(forwarded.url), forwarded.status, intake.vendor,
                intake.endpoint,
            )  # fmt: skip
        try:
            await self.recorder.upstream(call)
        except Exception:  # the store's trouble: the request's own record is already kept
            log.exception("mockserver could not store the upstream's verdict")
        return forwarded

    def url_for(self, intake: Intake, tenant: str | None) -> str | None:
        """Where the request goes; None when the URL names ``{store}`` and the request names
        none (the mock's own fallback store, ``default``, is no store of the real service)."""
        base = self.targets[intake.vendor or ""]
        if STORE_PLACEHOLDER in base:
            named = intake.signal_store is not None or tenant not in (None, DEFAULT_TENANT)
            if tenant is None or not named:
                return None
            base = base.replace(STORE_PLACEHOLDER, tenant)
        query = f"?{intake.query}" if intake.query else ""
        return f"{base}{intake.endpoint}{query}"

    async def forward(self, intake: Intake, tenant: str | None, body: bytes) -> Forwarded:
        url = self.url_for(intake, tenant)
        if url is None:
            message = (
                "the request names no signal store for the upstream URL's {store}: send it to "
                "/signal-store/{id}/… or with a Host of {id}.…, or give --upstream a URL "
                "without {store}"
            )
            return Forwarded(self.targets[intake.vendor or ""], error=message)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.MAX_IN_FLIGHT)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout), self._slots:  # waiting for a turn too
                started = time.perf_counter()
                status, headers, received = await self._send(intake, url, body)
        except Exception as exc:  # every failure to get a reply is the same outcome
            if isinstance(exc, TimeoutError):
                exc = TimeoutError(f"no whole reply within {self.timeout:g} s")
            return Forwarded(url, error=_failure(exc))
        ms = round((time.perf_counter() - started) * 1000, 3)
        return Forwarded(url, status, received, headers, ms)

    async def _send(
        self, intake: Intake, url: str, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = intake.headers.get("connection", "")
        # Hop-by-hop: those always, and those the client's Connection header names.
        dropped = NOT_FORWARDED | {name.strip().lower() for name in connection.split(",")}
        headers = [
            (name, value)
            for name, value in intake.raw_headers
            if name.decode("latin-1").lower() not in dropped
        ]
        client = self._http()
        request = client.build_request(intake.method, url, headers=headers, content=body)
        response = await client.send(request, stream=True)
        try:
            received = bytearray()
            async for chunk in response.aiter_raw():  # as sent: passthrough passes it on
                received += chunk
                if len(received) >= MAX_UPSTREAM_BODY_BYTES:
                    break
        finally:
            await response.aclose()
        kept = [(k.lower(), v) for k, v in response.headers.items() if k.lower() in PASSED_BACK]
        return response.status_code, kept, bytes(received[:MAX_UPSTREAM_BODY_BYTES])

    def _http(self) -> httpx.AsyncClient:
        """The calls' client (a pool of connections to each upstream), made at the first
        call: httpx is imported only by a server that forwards."""
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                verify=self._verify, timeout=self.timeout, follow_redirects=False
            )
            self._client.headers.clear()  # no User-Agent, Accept… of httpx's: the client's only
        return self._client


def _run_until_stopped(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_forever()
    loop.close()


def _failure(exc: Exception) -> str:
    name = type(exc).__name__
    return f"{name}: {exc}" if str(exc) else name


def _passed_back(forwarded: Forwarded) -> Reply:
    if forwarded.status is None:
        detail = (
            f"mockserver forwarded this request to {redacted(forwarded.url)} (--upstream-mode "
            f"passthrough) and no reply came: {forwarded.error}; its own verdict is in "
            "/_mock/upstream"
        )
        problem = {"type": "about:blank", "title": "Bad Gateway", "status": 502, "detail": detail}
        return Reply.json(502, problem, "application/problem+json")
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in forwarded.headers]
    if forwarded.status not in (204, 304) and forwarded.status >= 200:
        headers.insert(0, (b"content-length", str(len(forwarded.body)).encode()))
    return Reply(forwarded.status, forwarded.body, tuple(headers))

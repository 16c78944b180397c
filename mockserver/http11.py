"""uvicorn's httptools protocol, with a lane of its own for vendor requests and two things
Go's net/http does that it does not.

- **The vendor lane.** A plain vendor request (``vendors/routes.py``'s ``VendorLane`` says
  which) is served here from its parsed parts, without an ASGI scope, receive, send,
  middleware or Starlette; every other request goes to the app through uvicorn as before.
  A lane request sits in the slot uvicorn keeps for a request's cycle (``LaneCycle``), so
  that uvicorn's pipelining, keep-alive, flow control, disconnection and shutdown apply to
  both alike.

- **A header read timeout.** A client that sends part of a request's headers and stops is
  disconnected after ``HEADER_TIMEOUT_SECONDS`` (Go: ``Server.ReadHeaderTimeout``). Without
  it, 5,000 half-sent requests held 5,000 connections open for as long as they liked. It and
  uvicorn's keep-alive timeout are each one timer a connection, not one a request.
- **An ``Upgrade`` it cannot honour is ignored.** ``curl --http2`` on ``http://`` asks to
  switch to h2c on a POST. llhttp stops parsing at such a request and uvicorn handed the app
  an empty body: a false "the request body is empty" 400, recorded as a rejection. Go's
  server, with no h2c handler, reads the body and answers in HTTP/1.1; so does this one
  (a body with a Content-Length or chunked), then closes the connection, whose parser
  cannot go on.
  WebSocket upgrades are uvicorn's as before.

For fault injection, each request's scope carries a ``Connection`` (``CONNECTION``): what a
fault may do to the connection the request came on (reset it, close it, write raw bytes);
and, for a long-poll, when the server begins to stop (``Connection.stopping``).

And one thing for the server's own live views: at shutdown, a response whose request scope
carries ``ENDS_AT_SHUTDOWN`` (``/_mock/stream``, which never ends by itself) is closed at once
instead of holding the shutdown for its whole grace period; the browser reconnects to the
next server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.protocols.utils import get_client_addr

HEADER_TIMEOUT_SECONDS = 10.0
ENDS_AT_SHUTDOWN = "mockserver.ends_at_shutdown"  # a scope key an endless response sets
CONNECTION = "mockserver.connection"  # the scope key of the request's Connection


class Connection:
    """The transport under one request, for faults that break the HTTP exchange itself."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        # Set when the server begins to stop: a request that may wait long (a long-poll)
        # answers then, instead of being cancelled when the graceful period ends (an error
        # and a traceback for nothing). One a connection, made with it: it is set whenever a
        # request asks, before or after the stop.
        self.stopping = asyncio.Event()

    def reset(self) -> None:
        """A TCP reset (RST), as a server that crashed or a middlebox that dropped it."""
        if self._transport.is_closing():
            return  # the client left first (a hang's usual end): there is nothing to reset
        sock = self._transport.get_extra_info("socket")
        if sock is not None:
            # linger 0: close sends RST, not FIN. A socket closed meanwhile raises OSError
            # under asyncio, and ValueError ("negative file descriptor") under uvloop.
            with contextlib.suppress(OSError, ValueError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._transport.abort()

    def close(self) -> None:
        """An orderly close (FIN) with nothing written: an empty reply."""
        self._transport.close()

    def write_and_close(self, data: bytes) -> None:
        self._transport.write(data)
        self._transport.close()


class LaneReply(Protocol):
    """A complete reply: status, headers (lower-case names, a content-length among them) and
    body. Equal small replies are encoded once (``_encoded``)."""

    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> tuple[tuple[bytes, bytes], ...]: ...
    @property
    def body(self) -> bytes: ...


LaneHandler = Callable[[bytes], Awaitable[LaneReply | None]]


class Lane(Protocol):
    """Requests served from their parts, without ASGI (``vendors/routes.py``'s VendorLane)."""

    @property
    def max_body(self) -> int:
        """The largest body (a Content-Length) that ``claim`` is asked about."""

    def claim(
        self, method: str, path: str, raw_headers: Sequence[tuple[bytes, bytes]], query: bytes
    ) -> LaneHandler | None:
        """The handler of this request, given its whole body; None: the app serves it."""


LANE_ATTRIBUTE = "vendor_lane"  # where create_app leaves its Lane, in the app's state
_ENCODED_REPLIES = 256  # equal replies are encoded once: at most this many are kept,
_ENCODED_BODY_BYTES = 2048  # each with a body of at most this (an accepted reply's is empty)
_INTERNAL_ERROR = b"".join(
    (
        STATUS_LINE[500],
        b"content-type: text/plain; charset=utf-8\r\ncontent-length: 21\r\n",
        b"connection: close\r\n\r\nInternal Server Error",
    )
)
_log = logging.getLogger("mockserver.http")


def lane_of(app: Any) -> Lane | None:
    """The lane of a create_app app, under whatever middleware uvicorn wrapped it in."""
    for _ in range(8):
        state = getattr(app, "state", None)
        lane = getattr(state, LANE_ATTRIBUTE, None) if state is not None else None
        if lane is not None:
            return lane  # type: ignore[no-any-return]
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


class GoLikeHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._keep_alive_timer: asyncio.TimerHandle | None = None
        self._idle_since: float | None = None  # when the last reply went out, if none since
        # the parser of the body of a request whose Upgrade is ignored, while it is read
        self._upgrade_body: httptools.HttpRequestParser | None = None
        self._lane = lane_of(self.app)

    def shutdown(self) -> None:
        self._connection.stopping.set()
        scope = getattr(self, "scope", None)
        if self.cycle is not None and scope is not None and scope.get(ENDS_AT_SHUTDOWN):
            self.transport.close()  # connection_lost tells the app its client is gone
            return
        super().shutdown()

    # -- the header read timeout ----------------------------------------------------------

    # One timer a connection, not one a request: arming and cancelling a timer on every
    # request cost more than the rest of the protocol's own work on a request head
    # (measured: bench/results/measurements.md#header-timer). The timer, when it fires,
    # looks at when the head being read (if any) began, and closes or waits for the rest.

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._connection = Connection(transport)  # every request's on it: one will do
        self._head_began: float | None = None
        self._between_messages = True
        self._head_begins()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope[CONNECTION] = self._connection  # type: ignore[literal-required]
        self._between_messages = False
        self._head_begins()

    def on_headers_complete(self) -> None:
        self._head_began = None
        if self._lane is None or not self._take_into_lane(self._lane):
            super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._header_timer, self._keep_alive_timer):
            if timer is not None:
                timer.cancel()
        self._header_timer = self._keep_alive_timer = None
        super().connection_lost(exc)

    def _head_begins(self) -> None:
        self._head_began = now = self.loop.time()
        if self._header_timer is None:
            self._header_timer = self.loop.call_at(
                now + HEADER_TIMEOUT_SECONDS, self._headers_too_slow
            )

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        began = self._head_began
        if began is None or self.transport is None or self.transport.is_closing():
            return  # no head is being read: the next one arms the timer again
        due = began + HEADER_TIMEOUT_SECONDS
        if self.loop.time() < due:  # a later head than the one the timer was armed for
            self._header_timer = self.loop.call_at(due, self._headers_too_slow)
            return
        self.transport.close()

    # -- the keep-alive timeout -------------------------------------------------------------

    # uvicorn arms a timer after each reply and cancels it when the next request's bytes
    # come: one timer a connection instead, as for the header timeout, which looks when it
    # fires at how long the connection has been idle
    # (measured: bench/results/measurements.md#keep-alive-timer).

    def on_response_complete(self) -> None:
        """uvicorn's, but for the keep-alive timer (``_idle_begins``)."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        self.flow.resume_reading()
        if self.pipeline:  # a pipelined request waits: start it
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self._idle_begins()

    def _unset_keepalive_if_required(self) -> None:
        self._idle_since = None  # the timer, if armed, finds the connection busy and stops

    def _idle_begins(self) -> None:
        self._idle_since = now = self.loop.time()
        if self._keep_alive_timer is None:
            self._keep_alive_timer = self.loop.call_at(
                now + self.timeout_keep_alive, self._idle_too_long
            )

    def _idle_too_long(self) -> None:
        self._keep_alive_timer = None
        since = self._idle_since
        if since is None or self.transport is None or self.transport.is_closing():
            return  # busy since: the next reply arms the timer again
        due = since + self.timeout_keep_alive
        if self.loop.time() < due:  # a later reply than the one the timer was armed for
            self._keep_alive_timer = self.loop.call_at(due, self._idle_too_long)
            return
        self.timeout_keep_alive_handler()

    # -- an Upgrade that is not a WebSocket one ---------------------------------------------

    def data_received(self, data: bytes) -> None:
        """uvicorn's, but for an Upgrade whose body this protocol reads itself."""
        if self._upgrade_body is not None:
            self._take_upgrade_body(data)
            return
        if self._between_messages and self._head_began is None:
            # Bytes between requests count against the header timeout, as Go's server counts
            # them: llhttp skips empty lines before a request line without starting a message,
            # and uvicorn's keep-alive timer is cancelled below, so a client sending "\r\n"
            # every few seconds held its connection for good.
            self._head_begins()
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            message = "Invalid HTTP request received."
            self.logger.warning(message)
            self.send_400_response(message)
        except httptools.HttpParserUpgrade as exc:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            elif self._upgrade_body is not None:
                self._take_upgrade_body(data[exc.args[0] :])
            else:
                self._unsupported_upgrade_warning()

    def on_body(self, body: bytes) -> None:
        cycle: Any = self.cycle  # uvicorn's RequestResponseCycle, or a LaneCycle in its slot
        if type(cycle) is LaneCycle:
            cycle.chunks.append(body)
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._between_messages = True
        cycle: Any = self.cycle
        if type(cycle) is LaneCycle:
            cycle.body_complete()
            return
        framing = self._body_framing()
        if self.parser.should_upgrade() and not self._should_upgrade() and framing:
            # llhttp ends the message here, body unread: a second parser reads it, from a
            # request head that frames the body as this one did (a length, or chunked).
            self._upgrade_body = httptools.HttpRequestParser(_UpgradeBody(self))
            self._upgrade_body.feed_data(b"POST / HTTP/1.1\r\n" + framing + b"\r\n\r\n")
            self.cycle.keep_alive = False
            return
        super().on_message_complete()

    def _take_upgrade_body(self, data: bytes) -> None:
        body = self._upgrade_body
        if body is None:
            return  # complete: the connection closes after the reply
        try:
            body.feed_data(data)
        except httptools.HttpParserError:  # a broken chunk: the body ends where it broke
            self._upgrade_body_done()

    def _upgrade_body_done(self) -> None:
        if self._upgrade_body is None:
            return
        self._upgrade_body = None
        self.cycle.more_body = False
        self.cycle.message_event.set()

    def _body_framing(self) -> bytes:
        """The header that frames this request's body (none when it has no body)."""
        for name, value in self.headers or ():
            if name == b"transfer-encoding" and b"chunked" in value.lower():
                return b"Transfer-Encoding: chunked"
        for name, value in self.headers or ():
            if name == b"content-length" and value.strip().isdigit() and int(value) > 0:
                return b"Content-Length: " + value.strip()
        return b""

    # -- the lane: a vendor request served without ASGI -----------------------------------

    def _take_into_lane(self, lane: Lane) -> bool:
        """Hand this request to the lane if its framing is plain and the lane claims it;
        uvicorn's way (ASGI) takes every other request."""
        parser = self.parser
        if parser.should_upgrade() or self.expect_100_continue or self.limit_concurrency:
            return False
        length: int | None = None
        for name, value in self.headers:
            if name == b"content-length":
                if not value.isdigit() or length is not None:
                    return False  # llhttp refuses the malformed ones; a repeat is the app's
                length = int(value)
            elif name == b"transfer-encoding":
                return False
        if length is not None and length > lane.max_body:
            return False
        method = parser.get_method().decode("ascii")
        if method == "HEAD":
            return False  # its reply has no body: uvicorn's send knows
        url = httptools.parse_url(self.url)
        path = url.path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        handler = lane.claim(method, path, self.headers, url.query or b"")
        if handler is None:
            return False
        http_version = parser.get_http_version()
        keep_alive = http_version != "1.0" and parser.should_keep_alive()
        target = self.url.decode("latin-1")
        cycle = LaneCycle(self, handler, method, target, http_version, keep_alive)
        previous, self.cycle = self.cycle, cycle  # type: ignore[assignment]
        if previous is None or previous.response_complete:
            self._start_asgi_task(cycle, self.app)  # type: ignore[arg-type]
        else:  # a pipelined request: uvicorn starts it when the one before is answered
            self.flow.pause_reading()
            self.pipeline.appendleft((cycle, self.app))  # type: ignore[arg-type]
        return True

    async def _send_lane_reply(self, cycle: LaneCycle, reply: LaneReply | None) -> None:
        transport = self.transport
        if reply is None:  # a fault broke the connection itself (one set mid-request)
            transport.close()
        elif not transport.is_closing():
            transport.write(self._encoded(reply, cycle.keep_alive))
            if self.access_log:
                self.access_logger.info(
                    '%s - "%s %s HTTP/%s" %d', get_client_addr(self.scope), cycle.method,
                    cycle.target, cycle.http_version, reply.status,
                )  # fmt: skip
            if self.flow.write_paused and not cycle.disconnected:
                # A client that does not read its replies: the request is not done (so the
                # next one is not read) until they drain, as uvicorn's send waits.
                await self.flow.drain()
        cycle.response_complete = True
        if not cycle.keep_alive or reply is None:
            transport.close()
        self.on_response_complete()

    def _encoded(self, reply: LaneReply, keep_alive: bool) -> bytes:
        """The reply's bytes, with the server's default headers (Date, Server) as uvicorn
        sends them; encoded once for equal replies (an accepted request's is always the same)
        until the Date changes, once a second."""
        defaults = self.server_state.default_headers
        if len(reply.body) > _ENCODED_BODY_BYTES:  # an error that quotes what was sent
            return _encode(reply, keep_alive, defaults)
        cache = _encoded_replies
        if cache.get(_DEFAULTS) is not defaults or len(cache) > _ENCODED_REPLIES:
            cache.clear()
            cache[_DEFAULTS] = defaults
        key = (reply, keep_alive)
        encoded = cache.get(key)
        if encoded is None:
            encoded = cache[key] = _encode(reply, keep_alive, defaults)
        return encoded


def _encode(reply: LaneReply, keep_alive: bool, defaults: Sequence[tuple[bytes, bytes]]) -> bytes:
    parts = [STATUS_LINE[reply.status]]
    for name, value in (*defaults, *reply.headers):
        parts += (name, b": ", value, b"\r\n")
    if not keep_alive:
        parts.append(b"connection: close\r\n")
    parts += (b"\r\n", reply.body)
    return b"".join(parts)


_DEFAULTS = object()  # the key of the default headers the encoded replies were made with
_encoded_replies: dict[object, Any] = {}


class LaneCycle:
    """One lane request in the slot uvicorn keeps for a request's cycle (``self.cycle``), so
    that uvicorn's pipelining, keep-alive, disconnection and shutdown treat it as their own:
    it has the attributes and the ``run_asgi`` they use."""

    __slots__ = (
        "_waiter", "chunks", "disconnected", "handler", "http_version", "keep_alive", "method",
        "more_body", "protocol", "response_complete", "target",
    )  # fmt: skip

    def __init__(
        self,
        protocol: GoLikeHttpToolsProtocol,
        handler: LaneHandler,
        method: str,
        target: str,
        http_version: str,
        keep_alive: bool,
    ) -> None:
        self.protocol = protocol
        self.handler = handler
        self.method = method
        self.target = target  # the request target as sent (percent-encoded), for the logs
        self.http_version = http_version
        self.keep_alive = keep_alive
        self.chunks: list[bytes] = []
        self.more_body = True
        self.response_complete = False
        self.disconnected = False
        self._waiter: asyncio.Future[None] | None = None

    @property
    def message_event(self) -> LaneCycle:
        return self  # uvicorn sets it when the connection is lost

    def set(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def body_complete(self) -> None:
        self.more_body = False
        self.set()

    async def run_asgi(self, app: object) -> None:
        """Serve the request once its body is in (the name is uvicorn's, which calls it to
        start a pipelined request)."""
        while self.more_body and not self.disconnected:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        if self.disconnected:
            return  # nothing was read in full, so nothing is recorded; nobody to answer
        protocol = self.protocol
        try:
            reply = await self.handler(b"".join(self.chunks))
        except Exception:
            _log.exception("Exception serving %s %s", self.method, self.target)
            self.keep_alive = False
            if not protocol.transport.is_closing():
                protocol.transport.write(_INTERNAL_ERROR)
            reply = None
        await protocol._send_lane_reply(self, reply)


class _UpgradeBody:
    """httptools callbacks of the parser that reads an ignored Upgrade's body."""

    def __init__(self, protocol: GoLikeHttpToolsProtocol) -> None:
        self._protocol = protocol

    def on_body(self, body: bytes) -> None:
        self._protocol.on_body(body)

    def on_message_complete(self) -> None:
        self._protocol._upgrade_body_done()

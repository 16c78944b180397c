"""uvicorn's httptools protocol, with two things Go's net/http does that it does not.

- **A header read timeout.** A client that sends part of a request's headers and stops is
  disconnected after ``HEADER_TIMEOUT_SECONDS`` (Go: ``Server.ReadHeaderTimeout``). Without
  it, 5,000 half-sent requests held 5,000 connections open for as long as they liked.
- **An ``Upgrade`` it cannot honour is ignored.** ``curl --http2`` on ``http://`` asks to
  switch to h2c on a POST. llhttp stops parsing at such a request and uvicorn handed the app
  an empty body: a false "the request body is empty" 400, recorded as a rejection. Go's
  server, with no h2c handler, reads the body and answers in HTTP/1.1; so does this one
  (a body with a Content-Length or chunked), then closes the connection, whose parser
  cannot go on.
  WebSocket upgrades are uvicorn's as before.

For fault injection, each request's scope carries a ``Connection`` (``CONNECTION``): what a
fault may do to the connection the request came on (reset it, close it, write raw bytes).

And one thing for the server's own live views: at shutdown, a response whose request scope
carries ``ENDS_AT_SHUTDOWN`` (``/_mock/stream``, which never ends by itself) is closed at once
instead of holding the shutdown for its whole grace period; the browser reconnects to the
next server.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT_SECONDS = 10.0
ENDS_AT_SHUTDOWN = "mockserver.ends_at_shutdown"  # a scope key an endless response sets
CONNECTION = "mockserver.connection"  # the scope key of the request's Connection


class Connection:
    """The transport under one request, for faults that break the HTTP exchange itself."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

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


class GoLikeHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        # the parser of the body of a request whose Upgrade is ignored, while it is read
        self._upgrade_body: httptools.HttpRequestParser | None = None

    def shutdown(self) -> None:
        scope = getattr(self, "scope", None)
        if self.cycle is not None and scope is not None and scope.get(ENDS_AT_SHUTDOWN):
            self.transport.close()  # connection_lost tells the app its client is gone
            return
        super().shutdown()

    # -- the header read timeout ----------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope[CONNECTION] = Connection(self.transport)  # type: ignore[literal-required]
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(HEADER_TIMEOUT_SECONDS, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    # -- an Upgrade that is not a WebSocket one ---------------------------------------------

    def data_received(self, data: bytes) -> None:
        """uvicorn's, but for an Upgrade whose body this protocol reads itself."""
        if self._upgrade_body is not None:
            self._take_upgrade_body(data)
            return
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

    def on_message_complete(self) -> None:
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


class _UpgradeBody:
    """httptools callbacks of the parser that reads an ignored Upgrade's body."""

    def __init__(self, protocol: GoLikeHttpToolsProtocol) -> None:
        self._protocol = protocol

    def on_body(self, body: bytes) -> None:
        self._protocol.on_body(body)

    def on_message_complete(self) -> None:
        self._protocol._upgrade_body_done()

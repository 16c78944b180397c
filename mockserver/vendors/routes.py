"""VendorRoutes: every path outside ``/_mock`` belongs to the vendors, and is answered here
(but a browser's ``GET /`` and ``GET /favicon.ico``: ``site_paths``).

Two ways in, one ``VendorLane`` behind both:

- **The lane** (``VendorLane.claim``): the server's HTTP protocol (``http11.py``) hands it a
  parsed request line and headers, and serves what it claims without ASGI, Starlette or a
  scope: the common vendor request (a POST with a small body, no ``Origin``, no fault rule
  and no upstream). Nearly every request a mock serves is one.
- **ASGI** (``VendorRoutes``), in front of Starlette's router, for every other vendor
  request (a preflight or a browser's request, a body over the lane's size, a chunked one,
  ``Expect: 100-continue``, an active fault rule, shadow mode) and for callers of
  ``create_app`` that serve it with another server. It runs inside Starlette's error
  middleware, so a bug still answers 500 and is logged.

Both end in the same ``RequestPath``, so that what is refused, recorded and answered does not
depend on the way in (tests/test_http11_lane.py holds the two to the same replies and rows).

Each vendor's paths (``VendorEndpoint.route``) are also served under ``/ns/{namespace}``
(isolation); anything else is a recorded 404 that says what is served.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Collection, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.vendors.base import VendorEndpoint
from mockserver.vendors.cors import VendorCORS
from mockserver.vendors.intake import (
    ClientDisconnected,
    Intake,
    PerHead,
    decode_headers,
    header_bytes,
    take_prefix,
)
from mockserver.vendors.registry import SERVED, owner_of
from mockserver.vendors.reply import Reply
from mockserver.vendors.request_path import OFF_LOOP_BYTES, RequestPath

NAMESPACE_PREFIX = "/ns/"


class VendorLane:
    """Which requests are the vendors', and serving them from their parts."""

    def __init__(
        self,
        vendors: Sequence[VendorEndpoint],
        request_path: RequestPath,
        passthrough_prefix: str,
        site_paths: Collection[str] = (),
    ) -> None:
        self.vendors = tuple(vendors)
        self.request_path = request_path
        self.passthrough_prefix = passthrough_prefix  # /_mock: the inspection API's
        self.site_paths = frozenset(site_paths)  # / and /favicon.ico: a browser's, on GET
        # The largest body the lane takes: larger ones are decoded off the event loop, which
        # the ASGI way does (and it answers 413 past the limit, draining the rest).
        self.max_body = min(request_path.max_body_bytes, OFF_LOOP_BYTES)
        # a client sends the same headers on every request: the intakes share them, decoded
        self._decoded: PerHead[dict[str, str]] = PerHead()

    def is_vendors(self, method: str, path: str) -> bool:
        prefix = self.passthrough_prefix
        if path.startswith(prefix) and (path == prefix or path[len(prefix)] == "/"):
            return False
        return not (path in self.site_paths and method in ("GET", "HEAD"))

    def claim(
        self, method: str, path: str, raw_headers: Sequence[tuple[bytes, bytes]], query: bytes
    ) -> Callable[[bytes], Awaitable[Reply]] | None:
        """The lane's handler of this request, given its body once read; None when the request
        must go the ASGI way. The server checked the framing (a Content-Length of at most
        ``max_body``, no Upgrade, no Expect) and that the method is not HEAD."""
        if not self.is_vendors(method, path):
            return None
        request_path = self.request_path
        faults = request_path.faults
        if (faults is not None and faults.active) or request_path.upstream is not None:
            return None
        namespace, endpoint = take_prefix(path, NAMESPACE_PREFIX)
        for vendor in self.vendors:
            routed = vendor.route(endpoint)
            if routed is not None:
                break
        else:
            return None  # a 404: rare, and the ASGI way says what is served
        head = tuple(raw_headers)
        size = header_bytes(head)
        headers = self._decoded.get(head, size, decode_headers, head)
        if "origin" in headers:
            return None  # a browser's: CORS answers it
        intake = Intake.from_parts(
            method, headers, head, query, vendor.spec.name, routed.endpoint, namespace,
            routed.signal_store, header_bytes=size,
        )  # fmt: skip
        return functools.partial(request_path.serve_read, vendor, intake)

    async def dispatch(self, scope: Scope, receive: Receive, path: str) -> Reply | None:
        namespace, endpoint = take_prefix(path, NAMESPACE_PREFIX)
        for vendor in self.vendors:
            routed = vendor.route(endpoint)
            if routed is not None:
                intake = Intake.of(
                    scope,
                    receive,
                    vendor.spec.name,
                    routed.endpoint,
                    namespace,
                    routed.signal_store,
                )
                return await self.request_path.handle(vendor, intake)
        intake = Intake.of(scope, receive, owner_of(endpoint), endpoint, namespace)
        message = f"nothing is served at {path}; mockserver serves {SERVED}"
        return await self.request_path.not_found(intake, message)


class VendorRoutes:
    """The ASGI way in: plain ASGI, as matching these few path shapes by hand costs a fraction
    of Starlette's routing, ``Request`` and ``Response``."""

    def __init__(self, app: ASGIApp, lane: VendorLane, cors_origins: Collection[str] = ()) -> None:
        self.app = app
        self.lane = lane
        self._vendor_app = VendorCORS(self._serve_vendor, cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.lane.is_vendors(scope["method"], _route_path(scope)):
            await self._vendor_app(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _serve_vendor(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            reply = await self.lane.dispatch(scope, receive, _route_path(scope))
        except ClientDisconnected:
            return  # nothing was acknowledged, and nobody is left to answer
        if reply is not None:
            await reply.send(send)


def _route_path(scope: Scope) -> str:
    """The path below where the app is mounted (Starlette keeps the mount in ``root_path``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root + "/"):
        return path[len(root) :]
    return path

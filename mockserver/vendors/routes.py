"""VendorRoutes: every path outside ``/_mock`` belongs to the vendors, and is answered here
(but a browser's ``GET /`` and ``GET /favicon.ico``: ``site_paths``).

Plain ASGI, in front of Starlette's router: nearly every request a mock serves is a vendor
call, and matching these few path shapes by hand costs a fraction of Starlette's routing,
``Request`` and ``Response`` (profiled: they were half of an accepted click's time in the app).
It runs inside Starlette's error middleware, so a bug still answers 500 and is logged.

Each vendor's paths (``VendorEndpoint.route``) are also served under ``/ns/{namespace}``
(isolation); anything else is a recorded 404 that says what is served.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.vendors.base import VendorEndpoint
from mockserver.vendors.cors import VendorCORS
from mockserver.vendors.intake import ClientDisconnected, Intake, take_prefix
from mockserver.vendors.registry import SERVED, owner_of
from mockserver.vendors.reply import Reply
from mockserver.vendors.request_path import RequestPath

NAMESPACE_PREFIX = "/ns/"


class VendorRoutes:
    def __init__(
        self,
        app: ASGIApp,
        vendors: Sequence[VendorEndpoint],
        request_path: RequestPath,
        passthrough_prefix: str,
        cors_origins: Collection[str] = (),
        site_paths: Collection[str] = (),
    ) -> None:
        self.app = app
        self.passthrough_prefix = passthrough_prefix  # /_mock: the inspection API's
        self.site_paths = frozenset(site_paths)  # / and /favicon.ico: a browser's, on GET
        self.vendors = tuple(vendors)
        self.request_path = request_path
        self._vendor_app = VendorCORS(self._serve_vendor, cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _route_path(scope)
        if path.startswith(self.passthrough_prefix) and (
            path == self.passthrough_prefix or path[len(self.passthrough_prefix)] == "/"
        ):
            await self.app(scope, receive, send)
            return
        if path in self.site_paths and scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        await self._vendor_app(scope, receive, send)

    async def _serve_vendor(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            reply = await self.dispatch(scope, receive, _route_path(scope))
        except ClientDisconnected:
            return  # nothing was acknowledged, and nobody is left to answer
        if reply is not None:
            await reply.send(send)

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


def _route_path(scope: Scope) -> str:
    """The path below where the app is mounted (Starlette keeps the mount in ``root_path``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root + "/"):
        return path[len(root) :]
    return path

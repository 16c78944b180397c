"""VendorRoutes: every path outside ``/_mock`` belongs to the vendors, and is answered here.

Plain ASGI, in front of Starlette's router: nearly every request a mock serves is a vendor
call, and matching these few path shapes by hand costs a fraction of Starlette's routing,
``Request`` and ``Response`` (profiled: they were half of an accepted click's time in the app).
It runs inside Starlette's error middleware, so a bug still answers 500 and is logged.

Served, each also under ``/ns/{namespace}`` (isolation) and, for Lucidworks, under
``/signal-store/{store}`` (the signal store, for clients that cannot use a Host name):

- ``/analytics/event``: Neuralens;
- ``/retail/signals/{signal}``: Lucidworks (an unknown signal is Lucidworks' 404);
- anything else: a recorded 404 that says what is served.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.storage.group_commit import GroupCommit
from mockserver.vendors.intake import ClientDisconnected, Intake, http_error
from mockserver.vendors.lucidworks import ENDPOINT_PREFIX, LucidworksSignals
from mockserver.vendors.neuralens import ENDPOINT as NEURALENS_ENDPOINT
from mockserver.vendors.neuralens import NeuralensEvents
from mockserver.vendors.reply import Reply

NAMESPACE_PREFIX = "/ns/"
SIGNAL_STORE_PREFIX = "/signal-store/"
SERVED = f"POST {NEURALENS_ENDPOINT}, POST {ENDPOINT_PREFIX}{{click,query,cartadd,purchase}}"


class VendorRoutes:
    def __init__(
        self,
        app: ASGIApp,
        neuralens: NeuralensEvents,
        lucidworks: LucidworksSignals,
        writer: GroupCommit,
        passthrough_prefix: str,
    ) -> None:
        self.app = app
        self.passthrough_prefix = passthrough_prefix  # /_mock: the inspection API's
        self.neuralens = neuralens
        self.lucidworks = lucidworks
        self.writer = writer

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
        try:
            reply = await self.dispatch(scope, receive, path)
        except ClientDisconnected:
            return  # nothing was acknowledged, and nobody is left to answer
        await reply.send(send)

    async def dispatch(self, scope: Scope, receive: Receive, path: str) -> Reply:
        namespace, endpoint = _take_prefix(path, NAMESPACE_PREFIX)
        if endpoint == NEURALENS_ENDPOINT:
            return await self.neuralens.handle(
                Intake.of(scope, receive, self.neuralens.vendor, endpoint, namespace)
            )
        store, signals_path = _take_prefix(endpoint, SIGNAL_STORE_PREFIX)
        signal = signals_path.removeprefix(ENDPOINT_PREFIX)
        if signal != signals_path and signal and "/" not in signal:
            return await self.lucidworks.handle(
                Intake.of(scope, receive, self.lucidworks.vendor, signals_path, namespace, store)
            )
        return await self.not_found(scope, receive, path, namespace, endpoint)

    async def not_found(
        self, scope: Scope, receive: Receive, path: str, namespace: str | None, endpoint: str
    ) -> Reply:
        intake = Intake.of(scope, receive, _vendor_of(endpoint), endpoint, namespace)
        error = http_error("not-found", f"nothing is served at {path}; mockserver serves {SERVED}")
        await intake.reject(self.writer, 404, [error], None, None)
        problem = {"type": "about:blank", "title": "Not Found", "status": 404}
        return Reply.json(404, {**problem, "detail": error.message}, "application/problem+json")


def _route_path(scope: Scope) -> str:
    """The path below where the app is mounted (Starlette keeps the mount in ``root_path``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root + "/"):
        return path[len(root) :]
    return path


def _take_prefix(path: str, prefix: str) -> tuple[str | None, str]:
    """``("name", "/rest")`` from ``prefix + "name/rest"``; ``(None, path)`` otherwise."""
    if path.startswith(prefix):
        name, slash, rest = path[len(prefix) :].partition("/")
        if name and slash:
            return name, "/" + rest
    return None, path


def _vendor_of(endpoint: str) -> str | None:
    if endpoint.startswith("/analytics/"):
        return "neuralens"
    if endpoint.startswith("/retail/"):
        return "lucidworks"
    return None

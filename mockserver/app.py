"""create_app: the composition root. Everything the server holds is built here, per app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import cast

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from mockserver.group_commit import GroupCommit
from mockserver.inspect_api import PREFIX, InspectAPI
from mockserver.settings import Settings
from mockserver.store import EventStore
from mockserver.validation import Contracts, Profile, load_contracts
from mockserver.vendors.base import ALL_METHODS
from mockserver.vendors.intake import Intake, http_error
from mockserver.vendors.lucidworks import ENDPOINT_PREFIX, LucidworksSignals
from mockserver.vendors.neuralens import ENDPOINT as NEURALENS_ENDPOINT
from mockserver.vendors.neuralens import NeuralensEvents

NAMESPACE_PREFIX = "/ns/{namespace}"
# The signal store in the path, for clients that cannot reach mystore.localhost: not every
# resolver maps *.localhost to 127.0.0.1.
SIGNAL_STORE_PREFIX = "/signal-store/{store}"
LUCIDWORKS_SIGNALS = ENDPOINT_PREFIX + "{signal}"


def create_app(
    settings: Settings, store: EventStore | None = None, contracts: Contracts | None = None
) -> Starlette:
    """The mock as an ASGI app. A ``store`` passed in stays the caller's to close."""
    if contracts is None:
        contracts = load_contracts(settings.schema_dir, cast(Profile, settings.profile))
    owned_store = store is None
    store = store if store is not None else EventStore(settings.db)
    writer = GroupCommit(store)
    neuralens = NeuralensEvents(
        contracts.neuralens, writer, settings.max_body_bytes, settings.neuralens_keys
    )
    lucidworks = LucidworksSignals(
        contracts.lucidworks, writer, settings.max_body_bytes, settings.lucidworks_tokens
    )
    inspect = InspectAPI(store, settings.admin_token)
    inspect_routes = inspect.routes()

    vendor_routes = []
    for prefix in ("", NAMESPACE_PREFIX):
        vendor_routes += [
            Route(prefix + NEURALENS_ENDPOINT, neuralens.handle, methods=ALL_METHODS),
            Route(prefix + LUCIDWORKS_SIGNALS, lucidworks.handle, methods=ALL_METHODS),
            Route(
                prefix + SIGNAL_STORE_PREFIX + LUCIDWORKS_SIGNALS,
                lucidworks.handle,
                methods=ALL_METHODS,
            ),
        ]

    async def not_found(request: Request) -> Response:
        path = request.url.path
        if path.startswith(PREFIX + "/") or path == PREFIX:
            allowed = sorted(
                method
                for route in inspect_routes
                if route.matches(request.scope)[0] == Match.PARTIAL
                for method in route.methods or ()
            )
            if allowed:
                message = f"{request.method} is not allowed on {path}; use {', '.join(allowed)}"
                headers = {"Allow": ", ".join(allowed)}
                return JSONResponse({"error": message}, status_code=405, headers=headers)
            return JSONResponse({"error": f"no inspection endpoint {path}"}, status_code=404)
        namespace, endpoint = _split_namespace(path)
        if namespace is not None:
            request.scope.setdefault("path_params", {})["namespace"] = namespace
        intake = Intake.of(request, _vendor_of(endpoint), endpoint)
        served = (
            f"POST {NEURALENS_ENDPOINT}, POST {ENDPOINT_PREFIX}{{click,query,cartadd,purchase}}"
        )
        error = http_error("not-found", f"nothing is served at {path}; mockserver serves {served}")
        await intake.reject(writer, 404, [error], None, None)
        return JSONResponse(
            {"type": "about:blank", "title": "Not Found", "status": 404, "detail": error.message},
            status_code=404,
            media_type="application/problem+json",
        )

    lifespans = 0

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal lifespans  # several at once when test clients in threads share one app
        lifespans += 1
        inspect.changes.attach()
        try:
            yield
        finally:
            lifespans -= 1
            if lifespans == 0:
                inspect.changes.detach()
                if owned_store:
                    store.close()

    app = Starlette(
        routes=[
            *vendor_routes,  # first: nearly every request is one of these
            *inspect_routes,
            Route("/{path:path}", not_found, methods=ALL_METHODS),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    return app


def _split_namespace(path: str) -> tuple[str | None, str]:
    if path.startswith("/ns/"):
        name, _, rest = path.removeprefix("/ns/").partition("/")
        return name, "/" + rest
    return None, path


def _vendor_of(endpoint: str) -> str | None:
    if endpoint.startswith("/analytics/"):
        return "neuralens"
    if endpoint.startswith("/retail/"):
        return "lucidworks"
    return None

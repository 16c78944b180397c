"""create_app: the composition root. Everything the server holds is built here, per app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import cast

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Match, Route

from mockserver.faults.book import FaultBook
from mockserver.faults.rules import parse_flag
from mockserver.inspect.api import PREFIX, InspectAPI
from mockserver.inspect.dashboard import SITE_PATHS, dashboard_routes
from mockserver.settings import Settings
from mockserver.storage import Store, StoreUnavailable, open_store
from mockserver.storage.group_commit import GroupCommit
from mockserver.validation import Contracts, Profile, load_contracts
from mockserver.vendors.admission import BodyBudget
from mockserver.vendors.faults import RULE_TARGETS, FaultInjector
from mockserver.vendors.recorder import Recorder
from mockserver.vendors.registry import ANALYTICS, VENDORS
from mockserver.vendors.request_path import FaultSeam, RequestPath
from mockserver.vendors.routes import VendorLane, VendorRoutes
from mockserver.vendors.upstream import Upstream, parse_upstreams

ALL = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_app(
    settings: Settings,
    store: Store | None = None,
    contracts: Contracts | None = None,
    faults: FaultSeam | None = None,
) -> Starlette:
    """The mock as an ASGI app. A ``store`` passed in stays the caller's to close; ``faults``
    replaces the fault injector that ``/_mock/faults`` and ``settings.faults`` drive (see
    ``vendors/request_path.py``). A bad fault rule in the settings is a RuleError."""
    if contracts is None:
        contracts = load_contracts(settings.schema_dir, cast(Profile, settings.profile))
    owned_store = store is None
    store = store if store is not None else open_store(settings.db, ANALYTICS)
    book = FaultBook(settings.fault_seed, RULE_TARGETS)
    book.replace(parse_flag(flag) for flag in settings.faults)
    recorder = Recorder(GroupCommit(store), store.salt)
    upstream = None
    if settings.upstreams:
        upstream = Upstream(
            parse_upstreams(settings.upstreams), recorder, settings.profile,
            settings.upstream_mode, settings.upstream_ca, settings.upstream_timeout,
        )  # fmt: skip
    request_path = RequestPath(
        recorder,
        BodyBudget(),
        settings.max_body_bytes,
        faults if faults is not None else FaultInjector(book),
        upstream,
    )
    inspect = InspectAPI(
        store,
        settings.admin_token,
        shared_store=settings.workers > 1,
        faults=book,
        trusted_origins=settings.cors_origins,
        local_only=settings.listens_locally and not settings.admin_token,
        upstream=upstream,
    )
    inspect_routes = inspect.routes()

    async def inspection_not_found(request: Request) -> JSONResponse:
        path = request.url.path
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

    async def store_unavailable(request: Request, exc: Exception) -> JSONResponse:
        """An inspection read or reset the store refused: say why, and keep serving."""
        return JSONResponse({"error": f"mockserver's store is unavailable: {exc}"}, status_code=503)

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
                if upstream is not None:
                    await upstream.close()  # the upstream calls in flight are recorded first
                inspect.changes.detach()
                if owned_store:
                    store.close()

    lane = VendorLane(
        [spec.build(contracts, settings) for spec in VENDORS], request_path, PREFIX, SITE_PATHS
    )
    app = Starlette(
        # Only /_mock paths (and a browser's GET / and /favicon.ico) reach the router:
        # VendorRoutes answers every other path.
        routes=[
            *dashboard_routes(),
            *inspect_routes,
            Route("/{path:path}", inspection_not_found, methods=ALL),
        ],
        middleware=[Middleware(VendorRoutes, lane=lane, cors_origins=settings.cors_origins)],
        lifespan=lifespan,
        exception_handlers={StoreUnavailable: store_unavailable},
    )
    # The server's HTTP protocol serves the common vendor request itself (http11.py)
    app.state.vendor_lane = lane
    return app

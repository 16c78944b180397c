"""VendorRoutes: every path outside /_mock belongs to the vendors and is answered there."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from starlette.types import Message, Receive, Scope, Send

from mockserver import Settings
from mockserver.validation import Contracts
from mockserver.vendors.base import VendorEndpoint
from mockserver.vendors.intake import ClientDisconnected, Intake
from mockserver.vendors.registry import SERVED, VENDORS
from mockserver.vendors.reply import Reply
from mockserver.vendors.request_path import RequestPath
from mockserver.vendors.routes import NAMESPACE_PREFIX, VendorLane, VendorRoutes

SERVED_REPLY = Reply(299)
NOT_FOUND_REPLY = Reply(298)


class Path_:
    """A RequestPath that keeps what it was asked to serve, and answers ``outcome``."""

    max_body_bytes = 1024 * 1024

    def __init__(self, outcome: Reply | Exception | None = SERVED_REPLY) -> None:
        self.outcome = outcome
        self.handled: list[tuple[str, Intake]] = []
        self.not_found_: list[tuple[Intake, str]] = []

    async def handle(self, vendor: VendorEndpoint, intake: Intake) -> Reply | None:
        self.handled.append((vendor.spec.name, intake))
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    async def not_found(self, intake: Intake, message: str) -> Reply:
        self.not_found_.append((intake, message))
        return NOT_FOUND_REPLY


class Inner:
    """The app behind the vendor routes (the inspection API's router): keeps the paths it got,
    and answers an HTTP request with what it read of the body, so that a test sees the app
    was given the connection's own receive and send."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.paths.append(scope.get("path", scope["type"]))
        if scope["type"] == "http":
            read = await receive()
            await send({"type": "http.response.body", "body": read["body"]})


def _routes(contracts: Contracts, path: Path_) -> tuple[VendorRoutes, Inner]:
    inner = Inner()
    vendors = [spec.build(contracts, Settings()) for spec in VENDORS]
    lane = VendorLane(
        vendors,
        cast(RequestPath, path),
        passthrough_prefix="/_mock",
        site_paths=("/", "/favicon.ico"),
    )
    routes = VendorRoutes(inner, lane)
    return routes, inner


def _call(routes: VendorRoutes, path: str, method: str = "POST", **scope: Any) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"sent", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    full = {"type": "http", "method": method, "path": path, "headers": [], **scope}
    asyncio.run(routes(full, receive, send))
    return sent


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_mock"),
        ("POST", "/_mock/reset"),
        ("GET", "/_mock/"),
        ("GET", "/"),
        ("HEAD", "/"),
        ("GET", "/favicon.ico"),
        ("HEAD", "/favicon.ico"),
    ],
)
def test_the_inspection_api_and_a_browsers_page_go_to_the_app(
    contracts: Contracts, method: str, path: str
) -> None:
    served = Path_()
    routes, inner = _routes(contracts, served)
    assert _call(routes, path, method) == [{"type": "http.response.body", "body": b"sent"}]
    assert inner.paths == [path]
    assert served.handled == []
    assert served.not_found_ == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/_mockery"),
        ("POST", "/_moc"),
        ("POST", "/"),
        ("PUT", "/favicon.ico"),
        ("GET", "/x"),
    ],
)
def test_every_other_path_is_the_vendors(contracts: Contracts, method: str, path: str) -> None:
    served = Path_()
    routes, inner = _routes(contracts, served)
    assert _call(routes, path, method)[0]["status"] == NOT_FOUND_REPLY.status
    assert inner.paths == []


@pytest.mark.parametrize("kind", ["lifespan", "websocket"])
def test_what_is_not_http_goes_to_the_app(contracts: Contracts, kind: str) -> None:
    routes, inner = _routes(contracts, Path_())

    async def nothing() -> Message:
        return {}

    async def ignore(message: Message) -> None:
        pass

    asyncio.run(routes({"type": kind, "path": "/analytics/event"}, nothing, ignore))
    assert inner.paths == ["/analytics/event"]


def test_a_vendor_path_is_served_by_its_vendor_with_its_reply_sent(contracts: Contracts) -> None:
    served = Path_()
    routes, _ = _routes(contracts, served)
    sent = _call(routes, "/retail/signals/click")
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == SERVED_REPLY.status
    ((vendor, intake),) = served.handled
    assert vendor == "lucidworks"
    assert (intake.vendor, intake.endpoint) == ("lucidworks", "/retail/signals/click")
    assert (intake.namespace, intake.signal_store) == ("default", None)
    assert intake.method == "POST"


@pytest.mark.parametrize(
    ("path", "routed"),
    [
        ("/ns/team-a/analytics/event", ("neuralens", "/analytics/event", "team-a", None)),
        (
            "/ns/t/signal-store/s/retail/signals/query",
            ("lucidworks", "/retail/signals/query", "t", "s"),
        ),
        (
            "/signal-store/s/retail/signals/click",
            ("lucidworks", "/retail/signals/click", "default", "s"),
        ),
    ],
)
def test_a_namespace_and_a_signal_store_in_the_path_reach_the_intake(
    contracts: Contracts, path: str, routed: tuple[str, str, str, str | None]
) -> None:
    served = Path_()
    routes, _ = _routes(contracts, served)
    _call(routes, path)
    ((_, intake),) = served.handled
    assert (intake.vendor, intake.endpoint, intake.namespace, intake.signal_store) == routed
    assert NAMESPACE_PREFIX == "/ns/"


def test_a_path_nobody_serves_is_a_404_that_says_what_is_served(contracts: Contracts) -> None:
    served = Path_()
    routes, _ = _routes(contracts, served)
    _call(routes, "/ns/team-a/retail/other")
    ((intake, message),) = served.not_found_
    assert message == f"nothing is served at /ns/team-a/retail/other; mockserver serves {SERVED}"
    assert (intake.vendor, intake.endpoint, intake.namespace) == (
        "lucidworks", "/retail/other", "team-a"
    )  # fmt: skip
    _call(routes, "/v1/track")
    assert served.not_found_[1][0].vendor is None


def test_a_mounted_app_routes_the_path_below_its_mount(contracts: Contracts) -> None:
    served = Path_()
    routes, inner = _routes(contracts, served)
    _call(routes, "/mock/analytics/event", root_path="/mock")
    assert served.handled[0][1].endpoint == "/analytics/event"
    _call(routes, "/mock/_mock/events", "GET", root_path="/mock")
    assert inner.paths == ["/mock/_mock/events"]
    _call(routes, "/mockery/analytics/event", root_path="/mock")  # not below the mount
    assert served.not_found_[0][0].endpoint == "/mockery/analytics/event"


def test_a_client_gone_mid_body_is_sent_nothing(contracts: Contracts) -> None:
    routes, _ = _routes(contracts, Path_(ClientDisconnected()))
    assert _call(routes, "/analytics/event") == []


def test_a_dropped_connection_is_sent_nothing(contracts: Contracts) -> None:
    routes, _ = _routes(contracts, Path_(None))
    assert _call(routes, "/analytics/event") == []

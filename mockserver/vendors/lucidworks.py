"""Lucidworks ``POST /retail/signals/{click,query,cartadd,purchase}``: JSON arrays of signals.

Documented: ``Accept``, ``Authorization`` (the embed token as is) and ``Content-Type`` are
required headers; the reply is ``202`` with an empty body, or ``400`` with an empty body. The
mock's ``400`` (and ``401``, whose status is undocumented) carry an
``application/problem+json`` body listing every reason: clients ignore it, people read it.

The tenant is the signal store id: from the path (``/signal-store/mystore/retail/…``), else
the first label of the Host (``mystore.applications.lucidworks.com``, or
``mystore.localhost:8080`` locally), else ``default``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from mockserver.events import QUERY_FOLLOWS, QUERY_SEARCH, Event
from mockserver.storage.semantics import VendorAnalytics
from mockserver.validation import FieldError, LucidworksContract, Validated
from mockserver.vendors.base import Routed, VendorEndpoint
from mockserver.vendors.intake import (
    NAME_PATTERN,
    Intake,
    as_sent,
    is_known,
    plain_messages,
    take_prefix,
)
from mockserver.vendors.reply import Reply
from mockserver.vendors.signal_quality import lucidworks_warnings
from mockserver.vendors.spec import Row, VendorSpec

ENDPOINT_PREFIX = "/retail/signals/"
SIGNALS = ("click", "query", "cartadd", "purchase")
SIGNAL_STORE_PREFIX = "/signal-store/"
DEFAULT_TENANT = "default"
BATCH = "several signals in one request"
# The signals that follow a search and name it by queryId; the query signal is the search.
# The store warns (unknown-query) when no stored query signal carries a follower's queryId.
QUERY_LINKS = {"query": QUERY_SEARCH, "click": QUERY_FOLLOWS, "cartadd": QUERY_FOLLOWS}
_HOST_SUFFIXES = (".applications.lucidworks.com", ".localhost")
_STATUS_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


def signal_store_from_host(host: str) -> str:
    """``mystore`` from ``mystore.applications.lucidworks.com`` or ``mystore.localhost:8080``."""
    name = host.strip().lower()
    if name.startswith("["):  # an IPv6 literal, with or without a port
        return DEFAULT_TENANT
    name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
    for suffix in _HOST_SUFFIXES:  # an IP address ends in neither
        if name.endswith(suffix):
            store_id = name.removesuffix(suffix).split(".")[-1]
            if store_id:
                return store_id
    return DEFAULT_TENANT


class LucidworksSignals(VendorEndpoint):
    def __init__(
        self, contracts: Mapping[str, LucidworksContract], tokens: Collection[str] = ()
    ) -> None:
        missing = set(SIGNALS) - set(contracts)
        if missing:
            raise ValueError(f"no Lucidworks contract for {', '.join(sorted(missing))}")
        self.contracts = contracts
        self.tokens = frozenset(tokens)
        # Authorization is the auth layer's (401); the others are header checks (400).
        self._required_headers = {
            signal: [h.name for h in c.headers if h.required and h.name.lower() != "authorization"]
            for signal, c in contracts.items()
        }

    accepted = Reply(202)

    def route(self, path: str) -> Routed | None:
        """``/retail/signals/{signal}``, also under ``/signal-store/{store}``. An unknown signal
        is routed here too: it is Lucidworks' own 404 (``not_served``)."""
        signal_store, signals_path = take_prefix(path, SIGNAL_STORE_PREFIX)
        signal = signals_path.removeprefix(ENDPOINT_PREFIX)
        if signal != signals_path and signal and "/" not in signal:
            return Routed(signals_path, signal_store)
        return None

    def not_served(self, intake: Intake) -> str | None:
        if intake.endpoint.removeprefix(ENDPOINT_PREFIX) in self.contracts:
            return None
        return f"{intake.endpoint} is not a Lucidworks signal endpoint; served: {SPEC.served}"

    def tenant(self, intake: Intake) -> str | None:
        """The signal store; None when the Host names one no store can be called (the
        request is refused, and the name is not recorded as a tenant)."""
        if intake.signal_store is not None:
            return intake.signal_store
        signal_store = signal_store_from_host(intake.headers.get("host", ""))
        return signal_store if NAME_PATTERN.fullmatch(signal_store) else None

    def auth_errors(self, intake: Intake) -> list[FieldError]:
        token = intake.headers.get("authorization", "").strip()
        if not token:
            return [_auth("missing-token", "send Authorization: <embed token>")]
        if token.lower().startswith("bearer "):
            return [
                _auth(
                    "token-format",
                    "send the embed token as is (Authorization: <token>), without 'Bearer '",
                )
            ]
        if not is_known(token, self.tokens):
            return [
                _auth("unknown-token", "this embed token is not one the server was started with")
            ]
        return []

    def header_errors(self, intake: Intake, tenant: str | None) -> list[FieldError]:
        contract = self._contract(intake)
        headers = intake.headers
        errors = [
            FieldError(f"header:{name}", "required", "header", f"the {name} header is required")
            for name in self._required_headers[contract.signal_type]
            if not headers.get(name.lower(), "").strip()
        ]
        if tenant is None:  # the Host named a store no store can be called
            errors.append(
                FieldError(
                    "header:Host",
                    "signal-store",
                    "header",
                    "the signal store named in the Host must be 1-64 letters, digits, '.', '_' "
                    "or '-' (as in mystore.localhost)",
                )
            )
        content_type = headers.get("content-type", "")
        media_type = content_type.split(";", 1)[0].strip().lower()
        accepted = contract.operation.body_media_types
        if content_type.strip() and media_type not in accepted:
            errors.append(
                FieldError(
                    "header:Content-Type",
                    "content-type",
                    "header",
                    f"Content-Type {media_type!r} is not accepted; send {' or '.join(accepted)}",
                )
            )
        return errors

    def validate(self, intake: Intake, body: bytes) -> Validated:
        return self._contract(intake).validate(body)

    def _contract(self, intake: Intake) -> LucidworksContract:
        return self.contracts[intake.endpoint.removeprefix(ENDPOINT_PREFIX)]

    def events(
        self, intake: Intake, tenant: str | None, validated: Validated, body: bytes
    ) -> list[Event]:
        signal_type = intake.endpoint.removeprefix(ENDPOINT_PREFIX)
        query_link = QUERY_LINKS.get(signal_type)
        now_ms = time.time_ns() // 1_000_000
        return [
            Event(
                vendor=SPEC.name,
                endpoint=intake.endpoint,
                type=signal_type,
                namespace=intake.namespace,
                tenant=tenant,
                user=signal.get("visitorId"),
                session=signal.get("sessionId"),
                query=signal.get("searchTerms"),
                query_id=signal.get("queryId"),
                items=_product_ids(signal),
                position=signal.get("selectedPosition"),
                timestamp_ms=signal.get("timestamp"),
                payload=as_sent(text, signal),
                request_id=intake.request_id,
                received_at=intake.received_at,
                revenue=_revenue(signal),
                warnings=lucidworks_warnings(signal_type, signal, now_ms),
                query_link=query_link,
            )
            # The lenient profile lets through what Go decodes without complaint: a body of
            # null (no signals), nested objects null or empty (no product ids).
            for signal, text in zip(validated.value or (), validated.element_texts, strict=True)
        ]

    def error_reply(
        self, status: int, errors: Sequence[FieldError], headers: Mapping[str, str] | None
    ) -> Reply:
        problem = {
            "type": "about:blank",
            "title": _STATUS_TITLES.get(status, "Error"),
            "status": status,
            "detail": plain_messages(errors),
            "errors": [error.as_dict() for error in errors],
        }
        return Reply.json(status, problem, "application/problem+json", headers)


def _revenue(signal: Mapping[str, Any]) -> float | None:
    revenue = signal.get("revenue")  # a purchase's; the lenient profile lets null through
    if isinstance(revenue, int | float) and not isinstance(revenue, bool):
        return float(revenue)
    return None


def _auth(rule: str, message: str) -> FieldError:
    return FieldError("header:Authorization", rule, "auth", message)


def _product_ids(signal: Mapping[str, Any]) -> list[str]:
    details = signal.get("productDetails") or ()
    products = [d.get("product") for d in details if isinstance(d, dict)]
    return [
        p["productId"]
        for p in products
        if isinstance(p, dict) and isinstance(p.get("productId"), str) and p["productId"]
    ]


def _guess_signal(first: Mapping[str, Any]) -> str:
    if "searchTerms" in first:
        return "query"
    if "cartId" in first:
        if "orderId" in first or "revenue" in first:
            return "purchase"
        raise ValueError(
            "a signal with cartId may be a cartadd or a purchase; "
            "pass --endpoint cartadd or --endpoint purchase"
        )
    return "click"


def _batch(events: Sequence[Row]) -> bool:
    return any(n > 1 for n in Counter(e["request_id"] for e in events).values())


SPEC = VendorSpec(
    name="lucidworks",
    paths={signal: ENDPOINT_PREFIX + signal for signal in SIGNALS},
    body="array",
    contracts=lambda contracts: contracts.lucidworks,
    build=lambda contracts, settings: LucidworksSignals(
        contracts.lucidworks, settings.lucidworks_tokens
    ),
    guess_endpoint=_guess_signal,
    coverage_scenarios={BATCH: _batch},
    analytics=VendorAnalytics(
        vendor="lucidworks",
        session_gap_ms=40 * 60_000,  # the beacon's own rule
        clicks=("click",),
        cart_adds=("cartadd",),
        purchases=("purchase",),
        search_by="query_id",
        search_types=("query",),
        session_ids=True,
        empty_means_no_results=True,
    ),
)
LucidworksSignals.spec = SPEC

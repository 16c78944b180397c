"""A shopper's steps as each vendor's requests, as a correct client of each API sends them.

Lucidworks: one signal a request (query, click, cartadd, purchase), as a browser beacon sends
them; the queryId of the search on everything that follows it; a purchase carries the cart,
its cartId, an orderId and the revenue. Neuralens: events on the right pages
(SEARCH_RESULT_PAGE, AUTOCOMPLETE, CATEGORY_PAGE, PRODUCT_PAGE), index 0-based, one item but
on PURCHASE, timestamps in seconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mockserver.simulate.catalogue import Product
from mockserver.simulate.shoppers import Session, Step

SOURCE_ID = "mockserver-simulate"
SHOP = "https://shop.example.com"
IMPRESSIONS = 3  # Neuralens: results seen on a page, each a VIEW_PRODUCT


@dataclass(frozen=True)
class Credentials:
    """What the simulator sends; a server without --lucidworks-token or --neuralens-key takes
    any. Demo values, not secrets."""

    lucidworks_token: str = "demo-embed-token"  # noqa: S105
    neuralens_key: str = "demo-key"


@dataclass
class Request:
    """One vendor request: where it goes (below the server's URL), its headers and body."""

    at_ms: int
    vendor: str
    path: str
    headers: dict[str, str]
    body: Any
    mistake: str | None = None  # what a deliberate client mistake changed, if any
    sloppiness: str | None = None  # what a deliberate valid-but-sloppy change did, if any

    def content(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode()


def lucidworks_requests(
    session: Session, prefix: str, tenant: str, credentials: Credentials
) -> Iterator[Request]:
    headers = {"Authorization": credentials.lucidworks_token, "Content-Type": "application/json"}
    base = f"{prefix}/signal-store/{quote(tenant, safe='')}/retail/signals"
    last_query_id = ""
    for step in session.steps:
        signal: dict[str, Any] = {
            "timestamp": step.at_ms,
            "visitorId": session.visitor_id,
            "sessionId": session.session_id,
            "queryId": step.query_id or last_query_id,
            "ipAddress": session.ip,
            "sourceId": SOURCE_ID,
        }
        if step.kind == "search":
            last_query_id = step.query_id or ""
            kind = "query"
            signal["queryId"] = last_query_id
            signal["productDetails"] = [_detail(p) for p in step.products]
            signal["uri"] = f"{SHOP}/search?q={quote(step.query or '')}"
            signal["searchTerms"] = step.query
        elif step.kind == "click":
            kind = "click"
            signal["productDetails"] = [_detail(step.products[0])]
            signal["uri"] = _page(step.products[0])
            signal["selectedPosition"] = step.position
        elif step.kind == "cart":
            kind = "cartadd"
            signal["productDetails"] = [_detail(step.products[0])]
            signal["uri"] = _page(step.products[0])
            signal["cartId"] = session.cart_id
        elif step.kind == "purchase":
            kind = "purchase"
            lines = _cart_lines(step.products)
            signal["productDetails"] = [_detail(p, n) for p, n in lines]
            signal["uri"] = f"{SHOP}/checkout"
            signal["cartId"] = session.cart_id
            signal["orderId"] = f"order-{session.session_id[:8]}"
            signal["revenue"] = round(sum(p.price * n for p, n in lines), 2)
        else:
            continue  # views, suggestions and category pages send no Lucidworks signal
        yield Request(step.at_ms, "lucidworks", f"{base}/{kind}", dict(headers), [signal])


def neuralens_requests(
    session: Session, prefix: str, tenant: str, credentials: Credentials
) -> Iterator[Request]:
    headers = {
        "X-Neuralens-API-Key": f"Bearer {credentials.neuralens_key}",
        "X-Neuralens-Application-ID": tenant,
        "Content-Type": "application/json",
    }
    path = f"{prefix}/analytics/event"
    for step in session.steps:
        for offset, event in enumerate(_neuralens_events(step)):
            at_ms = step.at_ms + offset * 200
            body = {"uid": session.visitor_id, **event, "timestamp": at_ms // 1000}
            yield Request(at_ms, "neuralens", path, dict(headers), body)


def _neuralens_events(step: Step) -> Iterator[dict[str, Any]]:
    def item(product: Product) -> list[dict[str, str]]:
        return [{"id": product.id}]

    if step.kind == "browse":
        for index, product in enumerate(step.products[:IMPRESSIONS]):
            yield {"items": item(product), "page": "CATEGORY_PAGE", "event": "VIEW_PRODUCT",
                   "index": index}  # fmt: skip
    elif step.kind == "suggest":
        suggestion = [{"id": step.suggestion or ""}]
        yield {"items": suggestion, "query": step.query, "page": "AUTOCOMPLETE",
               "event": "VIEW_SUGGESTION", "index": 0}  # fmt: skip
        yield {"items": suggestion, "query": step.query, "page": "AUTOCOMPLETE",
               "event": "CLICK_SUGGESTION", "index": 0}  # fmt: skip
    elif step.kind == "search":
        for index, product in enumerate(step.products[:IMPRESSIONS]):
            yield {"items": item(product), "query": step.query, "page": "SEARCH_RESULT_PAGE",
                   "event": "VIEW_PRODUCT", "index": index}  # fmt: skip
    elif step.kind == "click":
        yield {"items": item(step.products[0]), "query": step.query,
               "page": "SEARCH_RESULT_PAGE", "event": "CLICK_PRODUCT",
               "index": (step.position or 1) - 1}  # fmt: skip
    elif step.kind == "view":
        yield {"items": item(step.products[0]), "page": "PRODUCT_PAGE",
               "event": "LAND_PRODUCT_PAGE"}  # fmt: skip
    elif step.kind == "cart":
        yield {"items": item(step.products[0]), "query": step.query, "page": "PRODUCT_PAGE",
               "event": "ADD_TO_CART", "index": (step.position or 1) - 1}  # fmt: skip
    elif step.kind == "purchase":
        yield {"items": [{"id": p.id} for p, _ in _cart_lines(step.products)],
               "page": "PRODUCT_PAGE", "event": "PURCHASE"}  # fmt: skip


def _detail(product: Product, quantity: int = 1) -> dict[str, Any]:
    return {
        "product": {
            "productId": product.id,
            "currencyCode": product.currency,
            "price": product.price,
            "title": product.title,
            "imageuri": product.image_uri,
        },
        "quantity": quantity,
    }


def _page(product: Product) -> str:
    return f"{SHOP}/products/{product.id}"


def _cart_lines(products: tuple[Product, ...]) -> list[tuple[Product, int]]:
    """The cart as lines: each product once, with how many times it was added."""
    lines: dict[str, tuple[Product, int]] = {}
    for product in products:
        _, n = lines.get(product.id, (product, 0))
        lines[product.id] = (product, n + 1)
    return list(lines.values())

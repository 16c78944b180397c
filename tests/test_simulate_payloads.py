"""mockserver.simulate.payloads: one shopper's steps, as the exact requests each vendor gets
from a correct client of its API (tests/test_simulate.py shows the mock accepts them)."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.simulate.catalogue import Product
from mockserver.simulate.payloads import (
    Credentials,
    Request,
    lucidworks_requests,
    neuralens_requests,
)
from mockserver.simulate.shoppers import Session, Step


def _product(n: int, price: float, title: str = "") -> Product:
    return Product(id=f"SKU-{n}", title=title or f"Red Shoe {n}", category="Shoes", price=price,
                   currency="USD", image_uri=f"https://img.example.com/{n}.jpg",
                   terms=("red", "shoe"), rank=n)  # fmt: skip


A, B, C, D = _product(1, 10.5), _product(2, 2.345), _product(3, 7.0), _product(4, 1.0)
T = 1_764_460_800_500  # not on a whole second: Neuralens' seconds are floored
SESSION_ID = "5e55i0n0-aaaa-4bbb-8ccc-dddddddddddd"
CREDENTIALS = Credentials(lucidworks_token="tok-1", neuralens_key="key-2")


def _session(vendor: str, steps: list[Step]) -> Session:
    return Session(vendor, "visitor-1", SESSION_ID, "203.0.113.9", "cart-1", steps)


def _detail(product: Product, quantity: int = 1) -> dict[str, Any]:
    return {
        "product": {
            "productId": product.id,
            "currencyCode": "USD",
            "price": product.price,
            "title": product.title,
            "imageuri": product.image_uri,
        },
        "quantity": quantity,
    }


def test_a_lucidworks_shopper_sends_a_signal_for_each_search_click_cart_add_and_purchase() -> None:
    steps = [
        Step(T, "search", "red shoe", "query-1", (A, B, C, D)),
        Step(T + 1000, "click", "red shoe", "query-1", (B,), 2),
        Step(T + 2000, "view", "red shoe", "query-1", (B,), 2),  # no signal
        Step(T + 3000, "cart", "red shoe", "query-1", (B,), 2),
        Step(T + 4000, "search", "gift card", "query-2", ()),
        Step(T + 5000, "purchase", products=(B, A, B)),
    ]
    sent = list(lucidworks_requests(_session("lucidworks", steps), "/ns/x", "a/b", CREDENTIALS))
    base = "/ns/x/signal-store/a%2Fb/retail/signals"
    headers = {"Authorization": "tok-1", "Content-Type": "application/json"}

    def signal(at_ms: int, query_id: str, **fields: Any) -> list[dict[str, Any]]:
        return [{"timestamp": at_ms, "visitorId": "visitor-1", "sessionId": SESSION_ID,
                 "queryId": query_id, "ipAddress": "203.0.113.9",
                 "sourceId": "mockserver-simulate", **fields}]  # fmt: skip

    assert [(r.at_ms, r.vendor, r.path, r.headers, r.body) for r in sent] == [
        (T, "lucidworks", f"{base}/query", headers, signal(
            T, "query-1", productDetails=[_detail(p) for p in (A, B, C, D)],
            uri="https://shop.example.com/search?q=red%20shoe", searchTerms="red shoe")),
        (T + 1000, "lucidworks", f"{base}/click", headers, signal(
            T + 1000, "query-1", productDetails=[_detail(B)],
            uri="https://shop.example.com/products/SKU-2", selectedPosition=2)),
        (T + 3000, "lucidworks", f"{base}/cartadd", headers, signal(
            T + 3000, "query-1", productDetails=[_detail(B)],
            uri="https://shop.example.com/products/SKU-2", cartId="cart-1")),
        (T + 4000, "lucidworks", f"{base}/query", headers, signal(
            T + 4000, "query-2", productDetails=[],
            uri="https://shop.example.com/search?q=gift%20card", searchTerms="gift card")),
        # The last search's queryId; the cart as lines; the revenue in cents.
        (T + 5000, "lucidworks", f"{base}/purchase", headers, signal(
            T + 5000, "query-2", productDetails=[_detail(B, 2), _detail(A)],
            uri="https://shop.example.com/checkout", cartId="cart-1", orderId="order-5e55i0n0",
            revenue=15.19)),
    ]  # fmt: skip
    assert [(r.mistake, r.sloppiness) for r in sent] == [(None, None)] * 5
    sent[0].headers["Authorization"] = "changed"  # a mistake in one request stays in it
    assert sent[1].headers["Authorization"] == "tok-1"


def test_a_purchase_before_any_search_has_an_empty_query_id_and_its_revenue_in_cents() -> None:
    steps = [Step(T, "purchase", products=(B,))]
    (sent,) = lucidworks_requests(_session("lucidworks", steps), "", "demo-shop", CREDENTIALS)
    assert sent.path == "/signal-store/demo-shop/retail/signals/purchase"
    assert sent.body[0]["queryId"] == ""
    assert sent.body[0]["revenue"] == 2.35  # of 2.345


def test_a_neuralens_shopper_sends_its_events_on_the_right_pages_a_fifth_of_a_second_apart() -> (
    None
):
    steps = [
        Step(T, "browse", "shoes", products=(A, B, C, D)),
        Step(T + 10_000, "suggest", "red", suggestion="red shoe"),
        Step(T + 20_000, "search", "red shoe", "query-1", (A, B, C, D)),
        Step(T + 30_000, "click", "red shoe", "query-1", (B,), 2),
        Step(T + 40_000, "view", "red shoe", "query-1", (B,), 2),
        Step(T + 50_000, "cart", "red shoe", "query-1", (B,), 2),
        Step(T + 60_000, "purchase", products=(B, A, B)),
    ]
    sent = list(neuralens_requests(_session("neuralens", steps), "/ns/x", "app-3", CREDENTIALS))
    headers = {
        "X-Neuralens-API-Key": "Bearer key-2",
        "X-Neuralens-Application-ID": "app-3",
        "Content-Type": "application/json",
    }
    assert {(r.vendor, r.path) for r in sent} == {("neuralens", "/ns/x/analytics/event")}
    assert all(r.headers == headers for r in sent)
    assert all(r.body["uid"] == "visitor-1" for r in sent)
    assert all(r.body["timestamp"] == r.at_ms // 1000 for r in sent)  # seconds, floored

    def items(*products: Product) -> list[dict[str, str]]:
        return [{"id": p.id} for p in products]

    page = {"query": "red shoe", "page": "SEARCH_RESULT_PAGE"}
    suggest = {"items": [{"id": "red shoe"}], "query": "red", "page": "AUTOCOMPLETE"}
    assert [(r.at_ms - T, {k: v for k, v in r.body.items() if k not in ("uid", "timestamp")})
            for r in sent] == [
        # three impressions of a page, each a VIEW_PRODUCT, indexed from 0
        (0, {"items": items(A), "page": "CATEGORY_PAGE", "event": "VIEW_PRODUCT", "index": 0}),
        (200, {"items": items(B), "page": "CATEGORY_PAGE", "event": "VIEW_PRODUCT", "index": 1}),
        (400, {"items": items(C), "page": "CATEGORY_PAGE", "event": "VIEW_PRODUCT", "index": 2}),
        (10_000, {**suggest, "event": "VIEW_SUGGESTION", "index": 0}),
        (10_200, {**suggest, "event": "CLICK_SUGGESTION", "index": 0}),
        (20_000, {"items": items(A), **page, "event": "VIEW_PRODUCT", "index": 0}),
        (20_200, {"items": items(B), **page, "event": "VIEW_PRODUCT", "index": 1}),
        (20_400, {"items": items(C), **page, "event": "VIEW_PRODUCT", "index": 2}),
        (30_000, {"items": items(B), **page, "event": "CLICK_PRODUCT", "index": 1}),
        (40_000, {"items": items(B), "page": "PRODUCT_PAGE", "event": "LAND_PRODUCT_PAGE"}),
        (50_000, {"items": items(B), "query": "red shoe", "page": "PRODUCT_PAGE",
                  "event": "ADD_TO_CART", "index": 1}),
        (60_000, {"items": items(B, A), "page": "PRODUCT_PAGE", "event": "PURCHASE"}),
    ]  # fmt: skip
    sent[0].headers["X-Neuralens-Application-ID"] = "changed"
    assert sent[1].headers["X-Neuralens-Application-ID"] == "app-3"


@pytest.mark.parametrize(
    ("body", "wire"),
    [
        ({"query": "café", "index": 0}, '{"query":"café","index":0}'),
        ([{"price": 2.5, "ids": [1, 2]}], '[{"price":2.5,"ids":[1,2]}]'),
    ],
)
def test_a_request_is_sent_as_compact_utf8_json(body: Any, wire: str) -> None:
    request = Request(0, "neuralens", "/analytics/event", {}, body)
    assert request.content() == wire.encode("utf-8")

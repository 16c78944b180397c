"""VendorSpec: what the rest of mockserver knows of a vendor, declared once."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.vendors import lucidworks, neuralens
from mockserver.vendors.spec import VendorSpec

LUCIDWORKS = lucidworks.SPEC
NEURALENS = neuralens.SPEC


def _spec(paths: dict[str, str]) -> VendorSpec:
    return VendorSpec(
        name="v", paths=paths, body="object", contracts=lambda c: {}, build=lambda c, s: None,  # type: ignore[arg-type,return-value]
        guess_endpoint=lambda body: "e", coverage_scenarios={}, analytics=NEURALENS.analytics,
    )  # fmt: skip


def test_a_vendor_says_what_it_serves_in_one_line() -> None:
    assert NEURALENS.served == "POST /analytics/event"
    assert LUCIDWORKS.served == "POST /retail/signals/{click,query,cartadd,purchase}"
    assert _spec({"a": "/x/y/a", "b": "/x/y/b"}).served == "POST /x/y/{a,b}"


def test_a_vendors_path_prefix_is_its_first_path_segment() -> None:
    assert NEURALENS.path_prefix == "/analytics/"
    assert LUCIDWORKS.path_prefix == "/retail/"
    assert _spec({"a": "/first/a", "b": "/second/b"}).path_prefix == "/first/"


def test_a_vendors_endpoints_are_its_paths_names_in_order() -> None:
    assert NEURALENS.endpoints == ("event",)
    assert LUCIDWORKS.endpoints == ("click", "query", "cartadd", "purchase")
    assert LUCIDWORKS.paths["cartadd"] == "/retail/signals/cartadd"


def _rows(*events: tuple[str, Any]) -> list[dict[str, Any]]:
    return [{"request_id": request_id, "payload": payload} for request_id, payload in events]


def test_a_lucidworks_batch_is_shown_by_two_signals_of_one_request() -> None:
    (shown,) = LUCIDWORKS.coverage_scenarios.values()
    assert list(LUCIDWORKS.coverage_scenarios) == ["several signals in one request"]
    assert shown(_rows(("r1", {}), ("r1", {})))
    assert shown(_rows(("r1", {}), ("r2", {}), ("r2", {})))
    assert not shown(_rows(("r1", {}), ("r2", {})))
    assert not shown([])


@pytest.mark.parametrize(
    ("payload", "shown"),
    [
        ({"event": "PURCHASE", "items": [{"id": "a"}, {"id": "b"}]}, True),
        ({"event": "PURCHASE", "items": [{"id": "a"}]}, False),
        ({"event": "PURCHASE", "items": None}, False),
        ({"event": "PURCHASE"}, False),
        ({"event": "ADD_TO_CART", "items": [{"id": "a"}, {"id": "b"}]}, False),
        ({"items": [{"id": "a"}, {"id": "b"}]}, False),
    ],
)
def test_a_neuralens_purchase_of_several_items_is_shown_by_one_such_event(
    payload: dict[str, Any], shown: bool
) -> None:
    (several_items,) = NEURALENS.coverage_scenarios.values()
    assert list(NEURALENS.coverage_scenarios) == ["PURCHASE with more than one item"]
    assert several_items(_rows(("r0", {"event": "CLICK_PRODUCT"}), ("r1", payload))) is shown


def test_a_neuralens_body_is_always_for_its_one_endpoint() -> None:
    assert NEURALENS.guess_endpoint({}) == "event"
    assert NEURALENS.guess_endpoint({"event": "PURCHASE"}) == "event"


@pytest.mark.parametrize(
    ("first", "signal"),
    [
        ({"searchTerms": "chair", "cartId": "c"}, "query"),
        ({"cartId": "c", "orderId": "o"}, "purchase"),
        ({"cartId": "c", "revenue": 3}, "purchase"),
        ({"sessionId": "s"}, "click"),
        ({"orderId": "o"}, "click"),
    ],
)
def test_a_lucidworks_body_is_guessed_from_its_first_signal(
    first: dict[str, Any], signal: str
) -> None:
    assert LUCIDWORKS.guess_endpoint(first) == signal


def test_a_cart_signal_that_could_be_either_asks_for_the_flag() -> None:
    with pytest.raises(ValueError, match="cartId") as unsure:
        LUCIDWORKS.guess_endpoint({"cartId": "c"})
    assert str(unsure.value) == (
        "a signal with cartId may be a cartadd or a purchase; "
        "pass --endpoint cartadd or --endpoint purchase"
    )

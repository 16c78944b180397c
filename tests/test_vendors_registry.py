"""The vendor registry: every name and path the rest of mockserver uses comes from it."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mockserver.ci.payload_files import Payload, infer_target
from mockserver.vendors.registry import ENDPOINT_NAMES, SERVED, VENDOR_NAMES, VENDORS, owner_of
from mockserver.vendors.registry import vendor as vendor_spec

EVERY_PATH = [(spec.name, path) for spec in VENDORS for path in spec.paths.values()]


def test_the_registry_names_both_vendors_and_every_endpoint() -> None:
    assert VENDOR_NAMES == ("neuralens", "lucidworks")
    assert ENDPOINT_NAMES == ("event", "click", "query", "cartadd", "purchase")
    assert SERVED == "POST /analytics/event, POST /retail/signals/{click,query,cartadd,purchase}"


@pytest.mark.parametrize(("vendor", "path"), EVERY_PATH)
def test_every_registered_path_is_served_by_its_vendor(
    client: TestClient, vendor: str, path: str
) -> None:
    response = client.post(path, content=b"not json", headers={"Authorization": "t"})
    assert response.status_code in (400, 401)  # the vendor's own refusal, not the router's 404
    (rejection,) = client.get("/_mock/rejections", params={"vendor": vendor}).json()["rejections"]
    assert rejection["endpoint"] == path


def test_a_stray_path_is_recorded_against_the_vendor_it_looks_like(client: TestClient) -> None:
    assert owner_of("/retail/other") == "lucidworks"
    assert owner_of("/analytics/other") == "neuralens"
    assert owner_of("/v1/track") is None
    client.post("/retail/other", json=[])
    assert client.get("/_mock/rejections?vendor=lucidworks").json()["total"] == 1


def test_an_unknown_vendor_filter_lists_the_registered_ones(client: TestClient) -> None:
    response = client.get("/_mock/events?vendor=algolia")
    assert response.status_code == 400
    assert response.json()["error"] == "vendor: must be one of neuralens, lucidworks"


def test_offline_checks_guess_each_endpoint_from_its_vendor() -> None:
    def target(body: bytes, name: str = "payload.json") -> tuple[str, str]:
        return infer_target(Payload(name, body), None, None)

    assert target(b'{"event": "CLICK_PRODUCT"}') == ("neuralens", "event")
    assert target(b'[{"searchTerms": "chair"}]') == ("lucidworks", "query")
    assert target(b'[{"cartId": "c", "revenue": 3}]') == ("lucidworks", "purchase")
    assert target(b"[{}]", "cartadd-1.json") == ("lucidworks", "cartadd")
    assert target(b"[{}]") == ("lucidworks", "click")


def test_looking_up_an_unknown_vendor_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: neuralens, lucidworks"):
        vendor_spec("algolia")

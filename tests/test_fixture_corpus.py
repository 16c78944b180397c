"""Every payload in fixtures/ through the real app: valid ones accepted, invalid ones rejected
with exactly the errors fixtures/<vendor>/invalid/cases.yaml lists (layer, rule, path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from tests.conftest import FIXTURES, LUCIDWORKS_HEADERS, NEURALENS_HEADERS, load_fixture

VENDORS = ("neuralens", "lucidworks")


def _files(vendor: str, kind: str) -> list[Path]:
    return sorted((FIXTURES / vendor / kind).glob("*.json"))


def _cases(vendor: str) -> dict[str, dict[str, object]]:
    cases: dict[str, dict[str, object]] = yaml.safe_load(
        (FIXTURES / vendor / "invalid" / "cases.yaml").read_text(encoding="utf-8")
    )
    return cases


def _post(client: TestClient, vendor: str, path: Path) -> tuple[int, int]:
    """POST the file's bytes as they are; the status and the number of events it stored."""
    before = client.get("/_mock/events", params={"limit": 1}).json()["total"]
    if vendor == "neuralens":
        response = client.post(
            "/analytics/event", content=path.read_bytes(), headers=NEURALENS_HEADERS
        )
    else:
        signal = path.name.split("-", 1)[0]
        response = client.post(
            f"/retail/signals/{signal}", content=path.read_bytes(), headers=LUCIDWORKS_HEADERS
        )
    after = client.get("/_mock/events", params={"limit": 1}).json()["total"]
    return response.status_code, after - before


@pytest.mark.parametrize(
    ("vendor", "path"),
    [(vendor, path) for vendor in VENDORS for path in _files(vendor, "valid")],
    ids=lambda value: value.name if isinstance(value, Path) else value,
)
def test_valid_payload_is_accepted_and_stored(client: TestClient, vendor: str, path: Path) -> None:
    status, stored = _post(client, vendor, path)
    expected_events = len(json.loads(path.read_bytes())) if vendor == "lucidworks" else 1
    assert status == (202 if vendor == "lucidworks" else 200)
    assert stored == expected_events
    assert client.get("/_mock/rejections").json()["total"] == 0


@pytest.mark.parametrize(
    ("vendor", "path"),
    [(vendor, path) for vendor in VENDORS for path in _files(vendor, "invalid")],
    ids=lambda value: value.name if isinstance(value, Path) else value,
)
def test_invalid_payload_is_rejected_with_the_expected_rules(
    client: TestClient, vendor: str, path: Path
) -> None:
    expected = sorted(_cases(vendor)[path.name]["errors"])  # type: ignore[call-overload]
    status, stored = _post(client, vendor, path)
    rejections = client.get("/_mock/rejections").json()["rejections"]
    assert status == 400
    assert stored == 0
    assert len(rejections) == 1
    found = sorted(f"{e['layer']} {e['rule']} {e['path']}" for e in rejections[0]["errors"])
    assert found == expected
    assert all(e["message"] for e in rejections[0]["errors"])


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_invalid_fixture_has_expectations_and_every_expectation_a_file(vendor: str) -> None:
    names = {path.name for path in _files(vendor, "invalid")}
    assert names == set(_cases(vendor))


def test_corpus_is_large_enough_to_cover_the_rules() -> None:
    invalid = sum(len(_files(vendor, "invalid")) for vendor in VENDORS)
    valid = sum(len(_files(vendor, "valid")) for vendor in VENDORS)
    assert invalid + valid >= 40


def test_the_demo_catalogue_is_a_shop_lucidworks_accepts(client: TestClient) -> None:
    catalogue = json.loads((FIXTURES / "demo" / "catalogue.json").read_text(encoding="utf-8"))
    assert len(catalogue) >= 200
    assert len({product["id"] for product in catalogue}) == len(catalogue)
    assert len({product["category"] for product in catalogue}) >= 3
    for product in catalogue:
        assert product["terms"]
        assert all(term == term.lower() for term in product["terms"])
    click = load_fixture("lucidworks", "valid", "click-full.json")[0]
    click["productDetails"] = [
        {
            "product": {
                "productId": p["id"], "currencyCode": p["currency"], "price": p["price"],
                "title": p["title"], "imageuri": p["image_uri"],
            },
            "quantity": 1,
        }
        for p in catalogue
    ]  # fmt: skip
    response = client.post("/retail/signals/click", json=[click], headers=LUCIDWORKS_HEADERS)
    assert response.status_code == 202, response.text

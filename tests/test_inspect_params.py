"""The inspection API's parameters are declared once (inspect/params.py): the server, the
stores' filters and the docs read the same declarations."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mockserver.inspect import params
from mockserver.storage import base

DOCS = Path(__file__).resolve().parent.parent / "docs" / "inspection-api.md"


def test_the_docs_parameter_table_is_the_declared_one() -> None:
    lines = DOCS.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("| parameter | value | on | what |\n")
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    assert "".join(lines[start:end]) == params.markdown_table(), (
        "docs/inspection-api.md's parameter table differs from inspect/params.py: replace it "
        "with the output of python -m mockserver.inspect.params"
    )


@pytest.mark.parametrize(
    ("endpoint", "filters"),
    [
        ("GET /events", base.EVENT_FILTERS),
        ("GET /rejections", base.REJECTION_FILTERS),
        ("GET /attempts", base.ATTEMPT_FILTERS),
        ("GET /upstream", base.UPSTREAM_FILTERS),
    ],
)
def test_each_listing_takes_exactly_the_filters_its_store_applies(
    endpoint: str, filters: tuple[str, ...]
) -> None:
    taken = [param.name for param in params.ENDPOINTS[endpoint]]
    assert taken == [*filters, "limit", "offset"]


def test_an_unknown_parameter_is_refused_naming_what_the_endpoint_takes(
    client: TestClient,
) -> None:
    for endpoint, taken in params.ENDPOINTS.items():
        method, path = endpoint.split(" ")
        response = client.request(method, f"/_mock{path}", params={"nope": "1"}, json=None)
        assert response.status_code == 400, endpoint
        error = response.json()
        assert error["parameter"] == "nope"
        for param in taken:
            assert param.name in error["error"], (endpoint, param.name)


def test_a_fault_rule_is_scoped_in_its_body_not_by_a_query_parameter(client: TestClient) -> None:
    # A ?namespace= on POST was once accepted and ignored: the rule then applied everywhere.
    response = client.post("/_mock/faults?namespace=a", json={"fault": "status", "status": 503})
    assert response.status_code == 400
    assert "namespace is in its body" in response.json()["error"]
    assert client.get("/_mock/faults").json()["rules"] == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0", "count: must be from 1 to 1000000"),
        ("x", "count: must be a whole number"),
        ("1000001", "count: must be from 1 to 1000000"),
    ],
)
def test_a_bound_is_enforced_with_the_declared_numbers(raw: str, message: str) -> None:
    with pytest.raises(params.BadParameter, match=message):
        params.parse_params([("count", raw)], params.ENDPOINTS["GET /wait"])


def test_a_parameter_given_twice_is_refused() -> None:
    with pytest.raises(params.BadParameter, match="given more than once"):
        params.parse_params([("vendor", "neuralens")] * 2, params.ENDPOINTS["GET /events"])

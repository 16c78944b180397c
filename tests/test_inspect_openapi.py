"""/_mock/openapi.json stays true: every route is described and real replies fit the schemas."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from mockserver.inspect.dashboard import UI_PATH
from tests.conftest import load_fixture, post_lucidworks, post_neuralens


@pytest.fixture
def spec(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/_mock/openapi.json").json()
    return document


def _check(spec: dict[str, Any], schema_name: str, instance: Any) -> None:
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    jsonschema.Draft202012Validator(schema).validate(instance)


def test_it_is_an_openapi_3_1_document(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    jsonschema.Draft202012Validator.check_schema({"components": spec["components"]})


def test_every_inspection_route_is_described_and_nothing_else(
    client: TestClient, spec: dict[str, Any]
) -> None:
    app: Any = client.app
    served = {
        (route.path.replace(":int", ""), method.lower())
        for route in app.routes
        if isinstance(route, Route)
        and route.path.startswith("/_mock")
        and not route.path.startswith(UI_PATH)  # the dashboard's page, not the API
        for method in (route.methods or set()) - {"HEAD"}
    }
    described = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert served == described


def test_replies_fit_the_described_schemas(client: TestClient, spec: dict[str, Any]) -> None:
    post_lucidworks(client, "click", load_fixture("lucidworks", "valid", "click-full.json"))
    post_neuralens(client, load_fixture("neuralens", "valid", "anonymous-user.json"))
    post_lucidworks(client, "click", [{"timestamp": "x"}])
    client.get("/favicon.ico")
    _check(spec, "Health", client.get("/_mock/health").json())
    events = client.get("/_mock/events").json()
    _check(spec, "EventPage", events)
    _check(spec, "Event", client.get(f"/_mock/events/{events['events'][0]['id']}").json())
    _check(spec, "RejectionPage", client.get("/_mock/rejections").json())
    _check(spec, "Summary", client.get("/_mock/summary").json())
    _check(spec, "Analytics", client.get("/_mock/analytics").json())
    _check(spec, "Rejection", client.get("/_mock/rejections/1").json())
    reasons = client.get("/_mock/rejections/reasons").json()["reasons"]
    assert reasons
    for reason in reasons:
        _check(spec, "Reason", reason)
    _check(spec, "EventPage", client.get("/_mock/wait", params={"timeout": 0}).json())
    _check(spec, "Error", client.get("/_mock/events", params={"limit": "x"}).json())
    _check(spec, "Error", client.get("/_mock/events/0").json())


def _sample(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return str(schema["enum"][0])
    if schema.get("format") == "date-time":
        return "2026-01-01T00:00:00Z"
    if schema.get("type") in ("integer", "number"):
        return str(schema.get("minimum", 1))
    if schema.get("type") == "boolean":
        return "true"
    return "x"


def test_every_described_parameter_is_accepted(client: TestClient, spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            query = {
                p["name"]: _sample(p["schema"])
                for p in operation.get("parameters", [])
                if p["in"] == "query"
            }
            if not query:
                continue
            response = client.request(method.upper(), path, params=query)
            assert response.status_code in (200, 204, 408), (path, response.text)


def test_each_described_integer_bound_is_the_one_the_server_keeps(
    client: TestClient, spec: dict[str, Any]
) -> None:
    # Inside the described range is served, one past either end refused with a 400: the
    # description and the parser cannot drift apart (as /_mock/wait's count once did).
    checked = 0
    for path, item in spec["paths"].items():
        if "{" in path:
            continue
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                if parameter["in"] != "query" or schema.get("type") != "integer":
                    continue
                name = parameter["name"]
                assert "minimum" in schema, (path, name)
                assert "maximum" in schema, (path, name)
                for value, served in (
                    (schema["minimum"], True),
                    (schema["maximum"], True),
                    (schema["minimum"] - 1, False),
                    (schema["maximum"] + 1, False),
                ):
                    params = {name: str(value)}
                    if path == "/_mock/wait":
                        params["timeout"] = "0"
                    response = client.request(method.upper(), path, params=params)
                    assert (response.status_code != 400) == served, (path, name, value)
                    checked += 1
    assert checked >= 8

"""mockserver.validation.schema_layer: JSON Schema errors as a user reads them, with hints."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.validation.schema_layer import SchemaLayer

EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["index", "event"],
    "properties": {
        "index": {"type": "integer", "minimum": 0, "x-mockserver-hint": {"minimum": "0-based"}},
        "event": {"enum": ["CLICK", "VIEW"]},
        "count": {"type": "integer", "minimum": 3},
        "query": {"type": "string"},
        "uid": {"type": ["string", "null"], "minLength": 1},
        "tags": {"type": "array", "items": {"type": "string"}},
        "geo": {
            "type": "object",
            "required": ["lat"],
            "properties": {"lat": {"type": "number", "maximum": 90}},
        },
    },
}
BATCH: dict[str, Any] = {"type": "array", "title": "batch", "items": EVENT}


def _errors(
    schema: dict[str, Any],
    value: Any,
    limit: int | None = None,
    hints: dict[tuple[str, str], str] | None = None,
) -> list[tuple[str, str, str, str]]:
    layer = SchemaLayer(schema, "openapi", hints)
    return [(e.path, e.rule, e.layer, e.message) for e in layer.errors(value, limit)]


def test_a_valid_value_has_no_errors() -> None:
    assert _errors(EVENT, {"index": 0, "event": "VIEW"}) == []
    assert _errors(BATCH, []) == []


def test_a_missing_property_is_named_at_its_own_path() -> None:
    assert _errors(EVENT, {"geo": {}}) == [
        ("$.index", "required", "openapi", "index is required"),
        ("$.event", "required", "openapi", "event is required"),
        ("$.geo.lat", "required", "openapi", "lat is required"),
    ]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"index": -1}, ("$.index", "minimum", "-1 is less than the minimum of 0 (0-based)")),
        (
            {"count": 1},
            ("$.count", "minimum", "1 is less than the minimum of 3 (counts start at 3)"),
        ),
        (
            {"event": "clik"},
            ("$.event", "enum", '"clik" is not one of "CLICK" or "VIEW" (did you mean CLICK?)'),
        ),
        ({"event": "SHARE"}, ("$.event", "enum", '"SHARE" is not one of "CLICK" or "VIEW"')),
        (
            {"query": None},
            (
                "$.query",
                "type",
                'null is not of type "string" (query is optional: leave it out rather than '
                "send null)",
            ),
        ),
        (
            {"index": None},
            (
                "$.index",
                "type",
                'null is not of type "integer" (index is required: send a value, not null)',
            ),
        ),
        (
            {"count": "4"},
            (
                "$.count",
                "type",
                '"4" is not of type "integer" (count is a JSON number, not a string: send 4 '
                "without quotes)",
            ),
        ),
        ({"query": 4}, ("$.query", "type", '4 is not of type "string"')),
        ({"uid": ""}, ("$.uid", "minLength", '"" is shorter than 1 character')),
        ({"tags": ["a", 1]}, ("$.tags[1]", "type", '1 is not of type "string"')),
        (
            {"geo": {"lat": 91}},
            ("$.geo.lat", "maximum", "91 is greater than the maximum of 90"),
        ),
    ],
)
def test_each_failure_is_reported_with_the_hint_that_fits_it(
    fields: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    value = {"index": 0, "event": "VIEW", **fields}
    path, rule, message = expected
    assert _errors(EVENT, value, hints={("count", "minimum"): "counts start at 3"}) == [
        (path, rule, "openapi", message)
    ]


def test_a_hint_for_another_keyword_or_property_is_not_added() -> None:
    value = {"index": 0, "event": "VIEW", "count": "x", "query": 4}
    assert [
        m
        for *_, m in _errors(
            EVENT, value, hints={("count", "minimum"): "no", ("tags", "type"): "no"}
        )
    ] == [
        '"x" is not of type "integer" (count is a JSON number, not a string)',
        '4 is not of type "string"',
    ]


def test_the_schema_s_own_hint_comes_before_the_given_one() -> None:
    value = {"index": -1, "event": "VIEW"}
    assert _errors(EVENT, value, hints={("index", "minimum"): "given"})[0][3] == (
        "-1 is less than the minimum of 0 (0-based)"
    )


def test_a_value_of_the_wrong_type_at_the_top_gets_no_hint() -> None:
    assert _errors(EVENT, [1]) == [("$", "type", "openapi", '[1] is not of type "object"')]
    assert _errors(BATCH, {"index": 0}) == [
        ("$", "type", "openapi", '{"index":0} is not of type "array"')
    ]


def test_a_batch_is_checked_item_by_item_with_each_item_s_index_in_the_path() -> None:
    value = [{"event": "VIEW"}, {"index": 0, "event": "VIEW"}, {"index": None, "event": "VIEW"}]
    assert _errors(BATCH, value) == [
        ("$[0].index", "required", "openapi", "index is required"),
        (
            "$[2].index",
            "type",
            "openapi",
            'null is not of type "integer" (index is required: send a value, not null)',
        ),
    ]


@pytest.mark.parametrize("schema", [BATCH, {**BATCH, "maxItems": 100}])
def test_the_errors_stop_at_the_limit(schema: dict[str, Any]) -> None:
    value: list[dict[str, Any]] = [{}] * 10
    assert len(_errors(schema, value)) == 20
    assert [path for path, *_ in _errors(schema, value, limit=3)] == [
        "$[0].index",
        "$[0].event",
        "$[1].index",
    ]
    assert len(_errors(schema, value, limit=20)) == 20
    assert len(_errors(schema, value, limit=0)) == 0


def test_a_batch_with_its_own_rules_is_checked_as_a_whole() -> None:
    assert _errors({**BATCH, "maxItems": 1}, [{"index": 0, "event": "VIEW"}] * 2) == [
        (
            "$",
            "maxItems",
            "openapi",
            '[{"event":"VIEW","index":0},{"event":"VIEW","index":0}] has more than 1 item',
        )
    ]


def test_a_value_too_deep_for_the_schema_checker_is_a_recursion_error() -> None:
    value: Any = 1
    for _ in range(300):
        value = [value]
    # jsonschema-rs refuses to build the message quoting the value: its ValueError is made the
    # RecursionError the contracts turn into a "nested too deeply" refusal.
    with pytest.raises(RecursionError, match=r"(?i)recursion limit"):
        SchemaLayer({"type": "array"}, "schema").errors({"x": value})


NESTED: dict[str, Any] = {
    "type": "object",
    "properties": {
        "meta": {"type": "object", "properties": {"note": {"type": "string"}}},
        "geo": {"type": "object", "required": ["lat"], "properties": {"lat": {"type": "number"}}},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}


@pytest.mark.parametrize(
    ("value", "path", "message"),
    [
        (
            {"meta": {"note": None}},
            "$.meta.note",
            'null is not of type "string" (note is optional: leave it out rather than send null)',
        ),
        (
            {"geo": {"lat": None}},
            "$.geo.lat",
            'null is not of type "number" (lat is required: send a value, not null)',
        ),
        (
            {"tags": [None]},
            "$.tags[0]",
            'null is not of type "string" (tags is required: send a value, not null)',
        ),
        (None, "$", 'null is not of type "object"'),
    ],
)
def test_a_null_inside_an_object_or_array_is_hinted_by_its_own_parent(
    value: Any, path: str, message: str
) -> None:
    assert _errors(NESTED, value) == [(path, "type", "openapi", message)]


def test_a_schema_that_allows_null_still_reports_a_value_it_refuses() -> None:
    number = {"type": ["integer", "null"], "maximum": 3}
    assert _errors(number, 5) == [("$", "maximum", "openapi", "5 is greater than the maximum of 3")]
    batch = {"type": "array", "items": number}
    assert _errors(batch, [1, None, 5]) == [
        ("$[2]", "maximum", "openapi", "5 is greater than the maximum of 3")
    ]


def test_a_false_schema_among_prefix_items_is_reported_without_a_hint() -> None:
    schema = {"properties": {"pair": {"prefixItems": [False]}}}
    assert [(p, m) for p, _, _, m in _errors(schema, {"pair": [1]})] == [
        ("$.pair[0]", "False schema does not allow 1")
    ]


def test_a_bare_object_schema_refuses_an_array_as_a_whole() -> None:
    schema = {"type": "object", "title": "event"}
    assert _errors(schema, [{}]) == [("$", "type", "openapi", '[{}] is not of type "object"')]

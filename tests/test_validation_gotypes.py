"""mockserver.validation.gotypes: what Go's decoder and validator tags refuse, in their words."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.validation.decoding import decode_json
from mockserver.validation.gotypes import GoChecker, compile_go_type

SIGNAL: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "title": "Signal",
        "required": ["n", "name"],
        "properties": {
            "n": {"type": "integer"},
            "small": {"type": "integer", "format": "int32"},
            "price": {"type": "number"},
            "name": {
                "type": "string",
                "x-oapi-codegen-extra-tags": {"validate": "required,max=3"},
            },
            "on": {"type": "boolean"},
            "labels": {"type": "array", "items": {"type": "string"}},
            "ip": {"type": "string", "x-oapi-codegen-extra-tags": {"validate": "ip"}},
            "details": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {
                        "id": {
                            "type": "string",
                            "x-oapi-codegen-extra-tags": {"validate": "required"},
                        },
                        "at": {"type": "integer"},
                    },
                },
            },
            "sub": {"type": "object", "properties": {"x": {"type": "integer"}}},
            "anything": {},
        },
    },
}
FRACTION = "was written with a fraction or an exponent (1.5, 1.0, 1e3); Go's"
INT64 = "is out of range for Go's int64 (-9223372036854775808 to 9223372036854775807)"
INT32 = "is out of range for Go's int32 (-2147483648 to 2147483647)"


def _checker(**options: Any) -> GoChecker:
    return GoChecker(compile_go_type(SIGNAL), **options)


def _signal(**fields: Any) -> list[dict[str, Any]]:
    return [{"n": 1, "name": "a", **fields}]


def _reported(value: Any, **options: Any) -> list[tuple[str, str, str, str]]:
    checker = _checker(**options)
    folded = checker.fold(value)
    errors = checker.errors(folded)
    # The compiled check clears exactly the values the unpruned walk finds nothing in.
    unpruned = GoChecker(checker.root, prune=False, **options)
    assert unpruned.walk(folded) == errors
    assert checker.is_clean(folded) is (not errors)
    return [(e.path, e.rule, e.layer, e.message) for e in errors]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            _signal(n="1"),
            [
                (
                    "$[0].n",
                    "type",
                    "json: cannot unmarshal string into Go struct field Signal.n of type int64; "
                    "n is a JSON number, not a string: send 1 without quotes",
                )
            ],
        ),
        (
            _signal(price=" -2.5 "),
            [
                (
                    "$[0].price",
                    "type",
                    "json: cannot unmarshal string into Go struct field Signal.price of type "
                    "float64; price is a JSON number, not a string: send -2.5 without quotes",
                )
            ],
        ),
        (
            _signal(n="one"),
            [
                (
                    "$[0].n",
                    "type",
                    "json: cannot unmarshal string into Go struct field Signal.n of type int64; "
                    "n is a JSON number, not a string",
                )
            ],
        ),
        (
            _signal(n=True),
            [
                (
                    "$[0].n",
                    "type",
                    "json: cannot unmarshal bool into Go struct field Signal.n of type int64",
                )
            ],
        ),
        (
            _signal(name=5),
            [
                (
                    "$[0].name",
                    "type",
                    "json: cannot unmarshal number into Go struct field Signal.name of type string",
                )
            ],
        ),
        (
            _signal(on=[]),
            [
                (
                    "$[0].on",
                    "type",
                    "json: cannot unmarshal array into Go struct field Signal.on of type bool",
                )
            ],
        ),
        (
            _signal(labels={}),
            [
                (
                    "$[0].labels",
                    "type",
                    "json: cannot unmarshal object into Go struct field Signal.labels of type "
                    "[]string",
                )
            ],
        ),
        (
            _signal(labels=["a", 2.5]),
            [
                (
                    "$[0].labels[1]",
                    "type",
                    "json: cannot unmarshal number into Go struct field Signal.labels of type "
                    "string",
                )
            ],
        ),
        (
            _signal(sub={"x": "2"}),
            [
                (
                    "$[0].sub.x",
                    "type",
                    "json: cannot unmarshal string into Go struct field Signal.sub.x of type "
                    "int64; x is a JSON number, not a string: send 2 without quotes",
                )
            ],
        ),
        (
            _signal(price=10**400),
            [
                (
                    "$[0].price",
                    "type",
                    "json: cannot unmarshal number 100000000000…0000 (401 digits) into Go "
                    "struct field Signal.price of type float64",
                )
            ],
        ),
        (
            {"n": 1},
            [
                (
                    "$",
                    "type",
                    "json: cannot unmarshal object into Go value of type []Signal; the body "
                    "must be a JSON array of signals: wrap the object in [ ]",
                )
            ],
        ),
        ("x", [("$", "type", "json: cannot unmarshal string into Go value of type []Signal")]),
        ([7], [("$[0]", "type", "json: cannot unmarshal number into Go value of type Signal")]),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_in_go_s_words_with_a_hint(
    value: Any, expected: list[tuple[str, str, str]]
) -> None:
    assert _reported(value) == [(path, rule, "decode", message) for path, rule, message in expected]


@pytest.mark.parametrize(
    ("field", "number", "message"),
    [
        ("n", 1.0, f"1.0 {FRACTION} int64 refuses all three: send a whole number such as 1"),
        ("n", 2.5, f"2.5 {FRACTION} int64 refuses all three: send a whole number such as 2"),
        ("n", 1e3, f"1000.0 {FRACTION} int64 refuses all three: send a whole number such as 1000"),
        ("small", -3.0, f"-3.0 {FRACTION} int32 refuses all three: send a whole number such as -3"),
        ("n", 2**63, f"9223372036854775808 {INT64}"),
        ("n", -(2**63) - 1, f"-9223372036854775809 {INT64}"),
        ("small", 2**31, f"2147483648 {INT32}"),
        ("small", -(2**31) - 1, f"-2147483649 {INT32}"),
        ("n", -(10**50), f"-100000000000…0000 (51 digits) {INT64}"),
    ],
)
def test_an_integer_field_refuses_fractions_exponents_and_numbers_past_its_range(
    field: str, number: float, message: str
) -> None:
    assert _reported(_signal(**{field: number})) == [
        (f"$[0].{field}", "integer", "decode", message)
    ]


@pytest.mark.parametrize(
    ("field", "number"),
    [("n", 2**63 - 1), ("n", -(2**63)), ("small", 2**31 - 1), ("small", -(2**31))],
)
def test_an_integer_field_takes_the_ends_of_its_range(field: str, number: int) -> None:
    assert _reported(_signal(**{field: number})) == []


def test_a_number_of_forty_characters_is_spelled_out_and_one_more_is_shortened() -> None:
    forty, forty_one = 10**39, 10**40
    assert _reported(_signal(n=forty))[0][3] == f"{forty} {INT64}"
    assert _reported(_signal(n=forty_one))[0][3] == f"100000000000…0000 (41 digits) {INT64}"


def test_a_key_that_matches_a_field_only_ignoring_case_is_refused_and_named() -> None:
    assert _reported([{"N": 1, "name": "a", "sub": {"X": 1}}]) == [
        (
            "$[0].N",
            "case-insensitive-key",
            "decode",
            "key 'N' matches field 'n' only when case is ignored: Go accepts it, other "
            "decoders drop it; send 'n'",
        ),
        (
            "$[0].sub.X",
            "case-insensitive-key",
            "decode",
            "key 'X' matches field 'x' only when case is ignored: Go accepts it, other "
            "decoders drop it; send 'x'",
        ),
    ]


def test_folding_keys_fills_the_field_as_go_does_and_reports_nothing() -> None:
    checker = _checker(fold_keys=True)
    assert checker.fold([{"N": 1, "NAME": "a", "Sub": {"X": 2}, "zz": 3}]) == [
        {"n": 1, "name": "a", "sub": {"x": 2}, "zz": 3}
    ]
    assert _reported([{"N": 1, "NAME": "a"}], fold_keys=True) == []


def test_without_folding_keys_the_value_is_left_as_sent() -> None:
    value = [{"N": 1}]
    assert _checker().fold(value) is value


def test_folded_keys_are_applied_in_order_so_the_last_wins() -> None:
    checker = _checker(fold_keys=True)
    assert checker.fold([{"name": "first", "NAME": "last"}]) == [{"name": "last"}]


def test_unknown_fields_are_ignored_at_any_depth() -> None:
    value = _signal(zz="x", sub={"x": 1, "y": "z"}, details=[{"id": "a", "more": [1]}])
    assert _reported(value) == []


def test_a_field_of_any_type_takes_any_value() -> None:
    assert _reported(_signal(anything={"a": ["b", 1.5]})) == []
    assert _reported(_signal(anything="x")) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            _signal(name="abcd"),
            [
                (
                    "$[0].name",
                    "max=3",
                    "name must be at most 3 characters long (Unicode code points)",
                )
            ],
        ),
        (_signal(name=""), [("$[0].name", "required", "name is required and must not be empty")]),
        (_signal(name=None), [("$[0].name", "required", "name is required and must not be empty")]),
        ([{"n": 1}], [("$[0].name", "required", "name is required and must not be empty")]),
        ([None], [("$[0].name", "required", "name is required and must not be empty")]),
        (
            _signal(ip="1.2.3"),
            [("$[0].ip", "ip", "ip must be an IPv4 or IPv6 address that Go's net.ParseIP accepts")],
        ),
        (
            _signal(details=[{"id": "a"}, {"id": ""}]),
            [("$[0].details[1].id", "required", "id is required and must not be empty")],
        ),
        (
            _signal(details=[None]),
            [("$[0].details[0].id", "required", "id is required and must not be empty")],
        ),
    ],
)
def test_a_failing_validator_tag_is_reported_at_its_field(
    value: Any, expected: list[tuple[str, str, str]]
) -> None:
    assert _reported(value) == [(p, rule, "validator", message) for p, rule, message in expected]


def test_an_optional_field_absent_or_null_is_not_checked_against_its_tags() -> None:
    assert _reported(_signal()) == []
    assert _reported(_signal(ip=None)) == []


def test_without_dive_tags_inside_nested_arrays_are_not_checked() -> None:
    value = _signal(details=[{"id": ""}, None])
    assert _reported(value, dive_nested_slices=False) == []
    assert [e[0] for e in _reported(value)] == ["$[0].details[0].id", "$[0].details[1].id"]


def test_without_dive_the_top_level_array_is_still_checked_signal_by_signal() -> None:
    assert [e[0] for e in _reported([{"n": 1}], dive_nested_slices=False)] == ["$[0].name"]


def test_a_value_of_the_wrong_type_is_not_also_checked_against_its_tags() -> None:
    assert [e[1] for e in _reported(_signal(name=7))] == ["type"]
    assert [e[1] for e in _reported(_signal(ip=7))] == ["type"]


def test_a_wrong_type_is_reported_before_the_tags_of_each_signal() -> None:
    value = [{"n": "x"}, {"n": 2, "name": "abcd"}]
    assert [(e[0], e[1]) for e in _reported(value)] == [
        ("$[0].n", "type"),
        ("$[0].name", "required"),
        ("$[1].name", "max=3"),
    ]


def test_the_walk_stops_at_the_limit() -> None:
    value = [{"n": "x"} for _ in range(5)]
    checker = _checker()
    assert len(checker.walk(value)) == 10
    assert [e.path for e in checker.errors(value, limit=3)] == [
        "$[0].n",
        "$[0].name",
        "$[1].n",
    ]


def test_a_clean_signal_among_bad_ones_is_not_reported() -> None:
    value = [{"n": 1, "name": "a"}, {"n": 1, "name": ""}, {"n": 1, "name": "b"}]
    assert [e[0] for e in _reported(value)] == ["$[1].name"]


def test_a_required_integer_of_zero_fails_required_but_an_absent_optional_does_not() -> None:
    schema = {
        "type": "object",
        "required": ["count"],
        "properties": {
            "count": {"type": "integer", "x-oapi-codegen-extra-tags": {"validate": "required"}},
            "extra": {"type": "integer", "x-oapi-codegen-extra-tags": {"validate": "required"}},
        },
    }
    checker = GoChecker(compile_go_type(schema))
    assert [e.path for e in checker.errors({"count": 0})] == ["$.count"]
    assert checker.errors({"count": 2}) == []
    assert [e.path for e in checker.errors({"count": 2, "extra": 0})] == ["$.extra"]


def test_all_of_parts_are_merged_into_one_struct() -> None:
    schema = {
        "allOf": [
            {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}},
            {"required": ["b"], "properties": {"b": {"type": "string"}}},
        ],
        "title": "Both",
    }
    go = compile_go_type(schema)
    assert (go.kind, go.name, list(go.fields)) == ("struct", "Both", ["a", "b"])
    assert [f.pointer for f in go.fields.values()] == [False, False]
    assert [e.message for e in GoChecker(go).errors({"a": "1", "b": 2})] == [
        "json: cannot unmarshal string into Go struct field Both.a of type int64; "
        "a is a JSON number, not a string: send 1 without quotes",
        "json: cannot unmarshal number into Go struct field Both.b of type string",
    ]


def test_the_go_type_names_follow_oapi_codegen() -> None:
    go = compile_go_type(SIGNAL)
    assert go.name == "[]Signal"
    element = go.element
    assert element is not None
    names = {name: f.type.name for name, f in element.fields.items()}
    assert names == {
        "n": "int64",
        "small": "int32",
        "price": "float64",
        "name": "string",
        "on": "bool",
        "labels": "[]string",
        "ip": "string",
        "details": "[]details",
        "sub": "sub",
        "anything": "interface{}",
    }
    assert {name for name, f in element.fields.items() if not f.pointer} == {"n", "name"}
    assert compile_go_type({"properties": {}}).name == "struct"


def _folded(body: bytes) -> Any:
    """The body as lenient decodes it and Go's decoder fills the struct, repeated keys in turn."""
    return _checker(fold_keys=True).fold(decode_json(body, lenient=True).value)


@pytest.mark.parametrize(
    ("body", "signal"),
    [
        # null empties a pointer (an optional field) or a slice, and leaves a value as it was
        (b'[{"n": 5, "n": null}]', {"n": 5}),
        (b'[{"n": null}]', {"n": None}),
        (b'[{"small": 3, "small": null}]', {"small": None}),
        (b'[{"labels": ["a"], "labels": null}]', {"labels": None}),
        (b'[{"anything": {"a": 1}, "anything": null}]', {"anything": None}),
        (b'[{"sub": {"x": 1}, "sub": null}]', {"sub": None}),
        # an object fills a struct field by field over what it holds
        (b'[{"sub": {"x": 1, "y": 1}, "sub": {"y": 2}}]', {"sub": {"x": 1, "y": 2}}),
        (b'[{"sub": {"x": 1}, "SUB": {"X": 2}}]', {"sub": {"x": 2}}),
        # an array is decoded into the slice's elements: earlier fields stay, more are added
        (
            b'[{"details": [{"id": "a", "at": 1}], "details": [{"at": 2}, {"id": "b"}]}]',
            {"details": [{"id": "a", "at": 2}, {"id": "b"}]},
        ),
        (b'[{"details": [{"id": "a"}, {"id": "b"}], "details": [{}]}]', {"details": [{"id": "a"}]}),
        # a value of the wrong type is an error that stands even if a later one is right
        (b'[{"n": "x", "n": 1}]', {"n": "x"}),
        (b'[{"n": 1.5, "N": 1}]', {"n": 1.5}),
        (b'[{"n": 1e400, "n": 1}]', None),
        (b'[{"sub": {"x": "s"}, "sub": {"x": 1}}]', {"sub": {"x": "s"}}),
        (b'[{"sub": {"X": "s"}, "sub": {"x": 1}}]', {"sub": {"x": "s"}}),
        (b'[{"details": [{"at": "s"}], "details": [{"at": 1}]}]', {"details": [{"at": "s"}]}),
        # ... even if the later one is null, deep inside a struct or an array
        (b'[{"sub": {"x": "s"}, "sub": null}]', {"sub": {"x": "s"}}),
        (b'[{"sub": {"x": "s"}, "sub": "t"}]', {"sub": {"x": "s"}}),
        (b'[{"sub": "t", "sub": {"x": 1}}]', {"sub": "t"}),
        (b'[{"labels": [1], "labels": null}]', {"labels": [1]}),
        (b'[{"labels": "a", "labels": ["b"]}]', {"labels": "a"}),
        (b'[{"details": [{"at": "s"}], "details": null}]', {"details": [{"at": "s"}]}),
        # a null that decoded is overwritten by the later value
        (b'[{"small": null, "small": 3}]', {"small": 3}),
        (b'[{"labels": null, "labels": ["a"]}]', {"labels": ["a"]}),
        (b'[{"sub": {"x": null}, "sub": {"x": 2}}]', {"sub": {"x": 2}}),
        # values that decode are overwritten by the later one
        (b'[{"n": 1, "n": 2}]', {"n": 2}),
        (b'[{"sub": {"zz": "s"}, "sub": {"x": 1}}]', {"sub": {"zz": "s", "x": 1}}),
        (
            b'[{"details": [{"zz": "s"}], "details": [{"at": 1}]}]',
            {"details": [{"zz": "s", "at": 1}]},
        ),
        (b'[{"anything": "s", "anything": 1}]', {"anything": 1}),
        (b'[{"labels": ["a", "b"], "labels": ["c"]}]', {"labels": ["c"]}),
        (b'[{"name": "a", "name": "b"}]', {"name": "b"}),
        # unknown keys are kept, the last one winning
        (b'[{"zz": 1, "zz": 2}]', {"zz": 2}),
    ],
)
def test_lenient_fills_repeated_keys_one_after_another_as_go_does(
    body: bytes, signal: dict[str, Any] | None
) -> None:
    if signal is None:  # keep_out_of_range is not asked for here: the body does not decode
        assert decode_json(body, lenient=True).value is None
        return
    assert _folded(body) == [signal]


def test_a_string_float_or_bool_of_the_wrong_type_stands_over_a_later_value() -> None:
    body = b'[{"name": 5, "name": "a"}, {"price": "1", "price": 1}, {"on": 1, "on": true}]'
    assert _folded(body) == [{"name": 5}, {"price": "1"}, {"on": 1}]


def test_a_huge_integer_that_go_refuses_stands_over_a_later_value() -> None:
    body = b'[{"n": 9223372036854775808, "n": 1}, {"small": 2147483648, "small": 1}]'
    folded = _checker(fold_keys=True).fold(decode_json(body, lenient=True).value)
    assert folded == [{"n": 2**63}, {"small": 2**31}]
    assert [(e.path, e.rule) for e in _checker(fold_keys=True).errors(folded)] == [
        ("$[0].n", "integer"),
        ("$[0].name", "required"),
        ("$[1].small", "integer"),
        ("$[1].name", "required"),
    ]


def test_a_value_in_range_is_overwritten_by_a_later_one() -> None:
    body = b'[{"n": -9223372036854775808, "n": 1}, {"small": -2147483648, "small": 2},'
    body += b' {"n": 9223372036854775807, "n": 3}, {"small": 2147483647, "small": 4}]'
    assert _folded(body) == [{"n": 1}, {"small": 2}, {"n": 3}, {"small": 4}]


@pytest.mark.parametrize(
    ("number", "spelled"),
    [(b"1e400", "1e400"), (b"-1e400", "-1e400"), (b"9" * 5000, "999999999999…9999 (5000 digits)")],
)
def test_an_integer_no_float_holds_is_out_of_range_as_sent(number: bytes, spelled: str) -> None:
    body = b'[{"n": ' + number + b', "name": "a"}]'
    value = decode_json(body, lenient=True, keep_out_of_range=True).value
    assert _reported(value) == [("$[0].n", "integer", "decode", f"{spelled} {INT64}")]


@pytest.mark.parametrize(
    ("schema", "kind", "name"),
    [
        ({"type": "array"}, "slice", "[]interface{}"),
        ({"type": "object", "title": "Empty"}, "struct", "Empty"),
        ({"allOf": [{"type": "integer"}]}, "int64", "int64"),
        ({"allOf": [{"type": "boolean"}, {"description": "on or off"}]}, "bool", "bool"),
    ],
)
def test_a_schema_that_leaves_out_items_properties_or_a_part_s_keywords_still_compiles(
    schema: dict[str, Any], kind: str, name: str
) -> None:
    go = compile_go_type(schema)
    assert (go.kind, go.name) == (kind, name)


def test_an_object_without_properties_is_a_struct_that_refuses_a_string() -> None:
    errors = GoChecker(compile_go_type({"type": "object", "title": "Empty"})).errors("x")
    assert [(e.path, e.message) for e in errors] == [
        ("$", "json: cannot unmarshal string into Go value of type Empty")
    ]


def test_a_bad_signal_is_reported_even_where_an_empty_signal_would_pass() -> None:
    schema = {
        "type": "array",
        "items": {"type": "object", "title": "S", "properties": {"x": {"type": "integer"}}},
    }
    errors = GoChecker(compile_go_type(schema)).errors([{"x": 1}, {"x": "s"}])
    assert [(e.path, e.message) for e in errors] == [
        (
            "$[1].x",
            "json: cannot unmarshal string into Go struct field S.x of type int64; "
            "x is a JSON number, not a string",
        )
    ]


@pytest.mark.parametrize(
    "value",
    [
        _signal(price=1),
        _signal(price=-1.5),
        _signal(labels=["a", "b"]),
        decode_json(b'[{"n": 1, "n": 2, "name": "a"}]').value,  # a repeated key, strict
    ],
)
def test_a_well_typed_signal_is_cleared_by_the_compiled_check(value: Any) -> None:
    assert _reported(value) == []
    assert _checker().is_clean(value)


# Fields every object must send (values, not pointers, in Go), and two that differ in case.
REQUIRED: dict[str, Any] = {
    "type": "object",
    "title": "R",
    "required": ["tags", "blob", "id", "ID"],
    "properties": {
        "tags": {"type": "array", "items": {"type": "string"}},
        "blob": {"x-oapi-codegen-extra-tags": {"validate": "required"}},
        "id": {"type": "string"},
        "ID": {"type": "string"},
    },
}


@pytest.mark.parametrize(
    ("body", "value"),
    [
        # null empties a slice or an interface{} even where the field is not a pointer
        (b'{"tags": ["a"], "tags": null}', {"tags": None}),
        (b'{"blob": 1, "blob": null}', {"blob": None}),
        # a null element leaves the slice's element as it was; the slice takes the new length
        (b'{"tags": ["a", "b"], "tags": [null]}', {"tags": ["a"]}),
        # a wrong value that stands does not stop the keys after it
        (b'{"tags": 1, "tags": ["a"], "id": "x"}', {"tags": 1, "id": "x"}),
        # a key that names a field exactly lands there, whatever other field it matches
        (b'{"id": "a", "ID": "b"}', {"id": "a", "ID": "b"}),
    ],
)
def test_lenient_fills_required_fields_as_go_fills_values(
    body: bytes, value: dict[str, Any]
) -> None:
    checker = GoChecker(compile_go_type(REQUIRED), fold_keys=True)
    assert checker.fold(decode_json(body, lenient=True).value) == value


def test_a_field_of_any_type_is_checked_against_its_tags() -> None:
    errors = GoChecker(compile_go_type(REQUIRED)).errors({"tags": [], "blob": "", "id": "a"})
    assert [(e.path, e.rule, e.layer, e.message) for e in errors] == [
        ("$.blob", "required", "validator", "blob is required and must not be empty")
    ]


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"9" * 5000])
def test_a_number_no_float_holds_sent_for_a_string_is_named_a_number_as_go_names_it(
    number: bytes,
) -> None:
    body = b'[{"n": 1, "name": ' + number + b"}]"
    value = decode_json(body, lenient=True, keep_out_of_range=True).value
    message = "json: cannot unmarshal number into Go struct field Signal.name of type string"
    assert _reported(value, fold_keys=True) == [("$[0].name", "type", "decode", message)]

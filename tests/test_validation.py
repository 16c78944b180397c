"""Validation rules not already pinned by the fixture corpus, and where each one comes from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from mockserver.settings import Settings
from mockserver.validation import PROFILES, Contracts, Profile, load_contracts
from mockserver.validation.decoding import decode_json
from mockserver.validation.goplayground import go_parse_ip, parse_tags
from mockserver.validation.gotypes import GoChecker, compile_go_type
from mockserver.validation.hints import near_miss
from mockserver.validation.openapi import SpecSet
from tests.conftest import FIXTURES, load_fixture
from tests.effective_openapi import effective_openapi

CLICK_SPEC = "lucidworks-signals-click.openapi.yaml"


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("192.0.2.1", True),
        ("0.0.0.0", True),
        ("255.255.255.255", True),
        ("::1", True),
        ("2001:db8::1", True),
        ("::ffff:192.0.2.1", True),
        ("111.222.333", False),
        ("256.1.1.1", False),
        ("192.168.001.1", False),
        ("1.2.3.4.5", False),
        ("fe80::1%eth0", False),
        ("1.2.3.4/24", False),
        (" 1.2.3.4", False),
        ("1.2.3.4 ", False),
        ("", False),
        ("localhost", False),
    ],
)
def test_ip_tag_accepts_what_go_net_parseip_accepts(text: str, accepted: bool) -> None:
    assert go_parse_ip(text) is accepted


ISO4217_CASES = [
    ("USD", True), ("XAU", True), ("XTS", True), ("usd", False), ("US", False),
    ("USD ", False),
    # validator v10.30's table: new codes in, withdrawn ones out
    ("VED", True), ("XCG", True), ("ZWG", True),
    ("HRK", False), ("ZWL", False), ("ANG", False), ("CUC", False),
]  # fmt: skip


@pytest.mark.parametrize(("value", "passes"), ISO4217_CASES)
def test_iso4217_tag_is_an_exact_uppercase_match(value: str, passes: bool) -> None:
    (tag,) = parse_tags("iso4217")
    assert (tag.failure(value) is None) is passes


@pytest.mark.parametrize(
    ("value", "passes"),
    [([], True), ({}, False), ("", False), (0, False), (False, False), (None, False), ([0], True)],
)
def test_required_tag_refuses_go_zero_values_but_not_an_empty_slice(
    value: object, passes: bool
) -> None:
    # go-playground's required on a slice refuses only nil: [] decodes to a non-nil slice.
    (required,) = parse_tags("required")
    assert required.check(value) is passes


def test_max_tag_compares_numbers_by_value() -> None:
    (at_most_ten,) = parse_tags("max=10")
    assert (at_most_ten.check(10), at_most_ten.check(10.5), at_most_ten.check(11)) == (
        True,
        False,
        False,
    )


def test_an_int32_field_refuses_what_int64_would_take() -> None:
    checker = GoChecker(compile_go_type({"type": "integer", "format": "int32"}))
    assert checker.is_clean(2**31 - 1)
    assert not checker.is_clean(2**31)
    assert [e.rule for e in checker.walk(2**31)] == ["integer"]


def test_a_boolean_field_takes_only_booleans() -> None:
    checker = GoChecker(
        compile_go_type({"type": "object", "properties": {"on": {"type": "boolean"}}})
    )
    for value, clean in (({"on": True}, True), ({"on": None}, True), ({"on": 1}, False),
                         ({"on": "true"}, False)):  # fmt: skip
        assert checker.is_clean(value) is clean
        assert [e.rule for e in checker.walk(value)] == ([] if clean else ["type"])


def test_max_tag_counts_code_points_not_bytes() -> None:
    (tag,) = parse_tags("max=3")
    assert tag.failure("ééé") is None  # 6 bytes, 3 code points
    assert tag.failure("e\u0301e\u0301") is not None  # 2 visible characters, 4 code points


def _copy_schemas(tmp_path: Path) -> Path:
    target = tmp_path / "schemas"
    shutil.copytree(Settings().schema_dir, target)
    return target


def test_validator_tags_are_read_from_the_vendor_yaml(tmp_path: Path) -> None:
    schemas = _copy_schemas(tmp_path)
    spec = schemas / "lucidworks" / CLICK_SPEC
    text = spec.read_text(encoding="utf-8")
    # Give sourceId (untagged in the published spec) a tag, as a new spec version might.
    text = text.replace(
        "        sourceId:\n          type: string\n",
        "        sourceId:\n          type: string\n          x-oapi-codegen-extra-tags:\n"
        "            validate: max=3\n",
    )
    spec.write_text(text, encoding="utf-8")
    body = json.dumps(load_fixture("lucidworks", "valid", "click-full.json")).encode()
    published = load_contracts(Settings().schema_dir).lucidworks["click"].validate(body)
    edited = load_contracts(schemas).lucidworks["click"].validate(body)
    assert published.errors == ()
    assert [(e.layer, e.rule, e.path) for e in edited.errors] == [
        ("validator", "max=3", "$[0].sourceId")
    ]


def test_reconstructed_signals_share_the_click_specs_field_rules(contracts: Contracts) -> None:
    body = json.dumps(
        [
            {
                **load_fixture("lucidworks", "valid", "purchase-example.json")[0],
                "visitorId": "v" * 129,
            }
        ]
    ).encode()
    errors = contracts.lucidworks["purchase"].validate(body).errors
    assert {(e.rule, e.path) for e in errors} == {
        ("maxLength", "$[0].visitorId"),
        ("max=128", "$[0].visitorId"),
    }


def test_an_unknown_validator_tag_fails_at_start_up_with_a_clear_message(tmp_path: Path) -> None:
    schemas = _copy_schemas(tmp_path)
    spec = schemas / "lucidworks" / CLICK_SPEC
    spec.write_text(
        spec.read_text(encoding="utf-8").replace(
            "validate: required,iso4217", "validate: required,iso3166"
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="unsupported validator tag 'iso3166'"):
        load_contracts(schemas)


def test_a_broken_neuralens_schema_fails_at_start_up(tmp_path: Path) -> None:
    schemas = _copy_schemas(tmp_path)
    path = schemas / "neuralens" / "event.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["properties"]["index"]["minimum"] = "zero"
    path.write_text(json.dumps(schema), encoding="utf-8")
    with pytest.raises(
        ValueError,
        match=r"event.schema.json is not valid JSON Schema at "
        r"properties/index/minimum: 'zero' is not of type 'number'",
    ):
        load_contracts(schemas)


def test_errors_carry_path_rule_layer_and_message(contracts: Contracts) -> None:
    body = b'[{"timestamp": 1.0}]'
    errors = contracts.lucidworks["click"].validate(body).errors
    assert errors  # a loop over no errors would pass whatever they held
    for error in errors:
        assert error.path.startswith("$")
        assert error.rule
        assert error.layer in {"decode", "openapi", "validator"}
        assert error.message
    assert ("$[0].timestamp", "integer", "decode") in {(e.path, e.rule, e.layer) for e in errors}


@pytest.mark.parametrize("profile", PROFILES)
def test_a_boolean_is_no_number_in_either_profile(profile: Profile) -> None:
    signal = load_fixture("lucidworks", "valid", "click-full.json")[0]
    signal["productDetails"][0]["product"]["price"] = True
    body = json.dumps([signal]).encode()
    errors = load_contracts(Settings().schema_dir, profile).lucidworks["click"].validate(body)
    assert [(e.path, e.rule, e.layer) for e in errors.errors] == [
        ("$[0].productDetails[0].product.price", "type", "decode")
    ]


CHECKERS = {
    (profile, signal): contract.go
    for profile in ("strict", "lenient")
    for signal, contract in load_contracts(Settings().schema_dir, profile).lucidworks.items()
}


def _oracle(checker: GoChecker) -> GoChecker:
    """The same rules, walked without the compiled predicates: nothing is skipped."""
    return GoChecker(
        checker.root,
        dive_nested_slices=checker.dive,
        fold_keys=checker.fold_keys,
        prune=False,
    )


def _agrees_with_the_oracle(checker: GoChecker, value: object) -> None:
    value = checker.fold(value)
    expected = _oracle(checker).walk(value)
    assert checker.is_clean(value) is (not expected)
    assert checker.walk(value) == expected  # pruning skips only what holds no error


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    "path",
    sorted((FIXTURES / "lucidworks").glob("*/*.json")),
    ids=lambda path: f"{path.parent.name}/{path.name}",
)
def test_fast_go_check_agrees_with_an_unpruned_walk(profile: str, path: Path) -> None:
    value = decode_json(path.read_bytes(), lenient=profile == "lenient").value
    if value is None:
        return  # undecodable: neither Go check runs
    _agrees_with_the_oracle(CHECKERS[profile, path.name.split("-", 1)[0]], value)


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


_EDGE_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.0,
    1.5,
    2**63,
    -(2**63) - 1,
    "",
    "x",
    "USD",
    [],
    {},
    [{}],
]


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value inside ``value``, itself included."""
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    return [path, *(p for key, child in children for p in _places(child, (*path, key)))]


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


def _replace_somewhere(value: Any, draw: st.DrawFn) -> Any:
    """``value`` with one of its values, any one alike, replaced by an arbitrary JSON value."""
    # Mostly one value of each JSON type and boundary: each type meets each field often.
    new = draw(st.sampled_from(_EDGE_VALUES) | _JSON_VALUES)
    return _replaced(value, draw(st.sampled_from(_places(value))), new)


@st.composite
def _mutated_signals(draw: st.DrawFn) -> tuple[str, str, Any]:
    path = draw(st.sampled_from(sorted((FIXTURES / "lucidworks" / "valid").glob("*.json"))))
    body = json.loads(path.read_bytes())
    return (
        draw(st.sampled_from(PROFILES)),
        path.name.split("-", 1)[0],
        _replace_somewhere(body, draw),
    )


@hyp_settings(max_examples=300, deadline=None)
@given(_mutated_signals())
def test_fast_go_check_agrees_with_an_unpruned_walk_on_generated_bodies(
    case: tuple[str, str, Any],
) -> None:
    profile, signal, value = case
    _agrees_with_the_oracle(CHECKERS[profile, signal], value)


@pytest.mark.parametrize("number", ["1e400", "-1e400"])
def test_a_number_beyond_a_64_bit_float_is_refused_where_it_stands(number: str) -> None:
    decoded = decode_json(f'{{"price": {number}}}'.encode())
    assert decoded.value is None
    assert [(e.rule, e.message) for e in decoded.errors] == [
        ("syntax", f"number {number} does not fit a 64-bit float")
    ]


def test_a_top_level_array_keeps_each_element_as_sent() -> None:
    decoded = decode_json(b'\n[ {"a": 1,  "b": [2.50]} ,\t"x" ]\n')
    assert decoded.value == [{"a": 1, "b": [2.5]}, "x"]
    assert decoded.element_texts == ('{"a": 1,  "b": [2.50]}', '"x"')


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'[{"a": 1},]', "line 1 column 11: trailing comma before ']'; remove the comma"),
        (b"[1 2]", "line 1 column 4: Expecting ',' delimiter"),
        (
            b"[1]]",
            "line 1 column 4: more than one JSON value in the body (what follows the "
            "first is refused; --profile lenient ignores it, as Go's Decoder.Decode does)",
        ),
        (b"[1,,2]", "line 1 column 4: Expecting value"),
        (b"[", "line 1 column 2: Expecting value"),
    ],
)
def test_a_malformed_array_is_described_where_it_breaks(body: bytes, message: str) -> None:
    decoded = decode_json(body)
    assert decoded.value is None
    assert [error.message for error in decoded.errors] == [f"invalid JSON at {message}"]


# Where Go's ParseFloat overflows: the first integer it rounds to infinity (measured with the
# Go reference, tests/goref: one less is accepted anywhere, this one refused by kin-openapi).
FLOAT64_EDGE = 2**1024 - 2**970
_CLICK = b'[{"timestamp": 1, "sessionId": "s", "queryId": "q", "visitorId": "v", "sourceId": "",'
_CLICK += b' "uri": "", "productDetails": [{"product": {"productId": "p", "currencyCode": "USD",'
_CLICK += b' "title": "t", "imageuri": "", "price": PRICE}}]EXTRA}]'


def _click(price: str = "1", extra: str = "") -> bytes:
    return _CLICK.replace(b"PRICE", price.encode()).replace(b"EXTRA", extra.encode())


@pytest.mark.parametrize(
    ("number", "fits"),
    [
        (str(FLOAT64_EDGE - 1), True),
        (str(FLOAT64_EDGE), False),
        (str(-FLOAT64_EDGE), False),
        ("9" * 308, True),
        ("9" * 309, False),
        ("1" + "0" * 400, False),
        ("9" * 5000, False),
        ("1.7976931348623157e308", True),
        ("1.7976931348623159e308", False),
        ("1e400", False),
        ("1e-400", True),
    ],
)
@pytest.mark.parametrize("where", ["unknown field", "deep in an unknown field", "price"])
@pytest.mark.parametrize("profile", PROFILES)
def test_a_number_past_a_64_bit_float_is_refused_where_go_converts_it(
    profile: Profile, where: str, number: str, fits: bool
) -> None:
    """strict: kin-openapi decodes every number, so one past float64 fails anywhere; lenient:
    Go's decoder skips an unknown field unread, and refuses the number only as a price."""
    body = {
        "unknown field": _click(extra=f', "zz": {number}'),
        "deep in an unknown field": _click(extra=f', "zz": {{"a": [{number}]}}'),
        "price": _click(price=number),
    }[where]
    click = load_contracts(Settings().schema_dir, profile).lucidworks["click"]
    refused = not fits and (profile == "strict" or where == "price")
    assert bool(click.validate(body).errors) is refused


def test_lenient_names_the_field_a_number_past_int64_or_float64_cannot_fill() -> None:
    click = load_contracts(Settings().schema_dir, "lenient").lucidworks["click"]
    body = _click(price="1e400").replace(b'"timestamp": 1', b'"timestamp": ' + b"9" * 5000)
    assert [(e.path, e.rule, e.message) for e in click.validate(body).errors] == [
        (
            "$[0].timestamp",
            "integer",
            "999999999999…9999 (5000 digits) is out of range for Go's int64 "
            "(-9223372036854775808 to 9223372036854775807)",
        ),
        (
            "$[0].productDetails[0].product.price",
            "type",
            "json: cannot unmarshal number 1e400 into Go struct field "
            "RetailClick.productDetails.product.price of type float64",
        ),
    ]


def test_neuralens_refuses_a_huge_number_anywhere_in_both_profiles() -> None:
    # Its stack is unknown: no reading says an unknown field is skipped unread.
    body = b'{"uid": null, "items": [{"id": "a"}], "page": "PRODUCT_PAGE", "event": "SHARE",'
    body += b' "timestamp": 1, "zz": ' + b"9" * 5000 + b"}"
    for profile in ("strict", "lenient"):
        errors = load_contracts(Settings().schema_dir, profile).neuralens.validate(body).errors
        assert [e.rule for e in errors] == ["syntax"]


def test_the_effective_spec_leaves_ip_address_optional() -> None:
    """What schemathesis generates from: an absent ipAddress is valid, a sent one must be an
    address ("If it is not passed in the signal, it is extracted from the request")."""
    document = effective_openapi(SpecSet(Settings().schema_dir / "lucidworks"), CLICK_SPEC)
    content = document["paths"]["/retail/signals/click"]["post"]["requestBody"]["content"]
    click = content["application/json"]["schema"]["items"]
    assert "ipAddress" not in click["required"]
    (signal,) = load_fixture("lucidworks", "valid", "click-without-ip-address.json")
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER  # as schemathesis checks ipv6
    validator = jsonschema.Draft202012Validator(click, format_checker=checker)
    assert validator.is_valid(signal)
    assert not validator.is_valid({**signal, "ipAddress": "111.222.333"})


@pytest.mark.parametrize(
    ("value", "allowed", "hint"),
    [
        ("click_product", ["CLICK_PRODUCT"], "did you mean CLICK_PRODUCT?"),
        ("CLIK_PRODCT", ["CLICK_PRODUCT"], "did you mean CLICK_PRODUCT?"),  # two edits
        ("CLK_PRODCT", ["CLICK_PRODUCT"], None),  # three
        ("CLICK", ["CLICK_PRODUCT"], None),
        ("SHAPE", ["SHARE", "SHADE"], None),  # as near to two: no guess
        ("", ["A"], None),
        (1, ["1"], None),
    ],
)
def test_an_enum_hint_names_the_one_value_within_two_edits(
    value: object, allowed: list[str], hint: str | None
) -> None:
    assert near_miss(value, allowed) == hint

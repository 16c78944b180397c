"""mockserver.validation.contracts: which layers each profile runs, and what a refusal holds."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from mockserver.settings import Settings
from mockserver.validation import Contracts, load_contracts
from mockserver.validation.contracts import (
    MAX_ERRORS,
    LucidworksContract,
    NeuralensContract,
    Validated,
)
from mockserver.validation.openapi import SpecSet
from tests.conftest import load_fixture

TOO_DEEP = (
    "the JSON is nested deeper than mockserver can check (a few hundred levels; Go allows "
    "10,000): nest it less deeply"
)
MORE = f"more problems follow; only the first {MAX_ERRORS} are listed"


@pytest.fixture(scope="module")
def lenient() -> Contracts:
    return load_contracts(Settings().schema_dir, "lenient")


def _click(**fields: Any) -> bytes:
    signal = load_fixture("lucidworks", "valid", "click-full.json")[0]
    signal.update(fields)
    return json.dumps([{k: v for k, v in signal.items() if v is not ...}]).encode()


def _neuralens(**fields: Any) -> bytes:
    event: dict[str, Any] = {"uid": "u1", "items": [{"id": "a"}], "page": "PRODUCT_PAGE"}
    event.update({"event": "SHARE", "timestamp": 1715644800})
    event.update(fields)
    return json.dumps(event).encode()


def _errors(validated: Validated) -> list[tuple[str, str, str]]:
    return [(e.path, e.rule, e.layer) for e in validated.errors]


def test_a_valid_batch_is_accepted_with_each_signal_as_sent(contracts: Contracts) -> None:
    body = b'[{"a": 1},  {"b": 2}]'
    checked = load_contracts(Settings().schema_dir, "lenient").lucidworks["click"]
    assert checked.validate(body).element_texts == ('{"a": 1}', '{"b": 2}')
    validated = contracts.lucidworks["click"].validate(_click())
    assert validated.errors == ()
    assert validated.value[0]["timestamp"] == 1744305461169
    assert len(validated.element_texts) == 1


def test_a_string_for_an_integer_is_one_decode_error_not_also_an_openapi_one(
    contracts: Contracts,
) -> None:
    validated = contracts.lucidworks["click"].validate(_click(timestamp="1"))
    assert _errors(validated) == [("$[0].timestamp", "type", "decode")]


def test_a_missing_field_is_one_openapi_error_not_also_a_validator_one(
    contracts: Contracts, lenient: Contracts
) -> None:
    body = _click(sessionId=...)
    assert _errors(contracts.lucidworks["click"].validate(body)) == [
        ("$[0].sessionId", "required", "openapi")
    ]
    lenient_errors = lenient.lucidworks["click"].validate(body).errors
    assert [(e.path, e.rule, e.layer, e.message) for e in lenient_errors] == [
        ("$[0].sessionId", "required", "validator", "sessionId is required and must not be empty")
    ]


def test_strict_reports_decode_then_openapi_then_validator_errors(contracts: Contracts) -> None:
    body = _click(timestamp=1.5, sessionId=None, selectedPosition=0)
    assert _errors(contracts.lucidworks["click"].validate(body)) == [
        ("$[0].timestamp", "integer", "decode"),
        ("$[0].sessionId", "type", "openapi"),
        ("$[0].selectedPosition", "minimum", "openapi"),
        ("$[0].sessionId", "required", "validator"),
    ]


def test_lenient_lucidworks_runs_no_openapi_layer(lenient: Contracts) -> None:
    body = _click(selectedPosition=0, sessionId=None)
    assert _errors(lenient.lucidworks["click"].validate(body)) == [
        ("$[0].sessionId", "required", "validator")
    ]


def test_lenient_lucidworks_matches_keys_ignoring_case_and_keeps_what_go_decodes(
    contracts: Contracts, lenient: Contracts
) -> None:
    signal = load_fixture("lucidworks", "valid", "click-full.json")[0]
    signal["SessionID"] = signal.pop("sessionId")
    body = json.dumps([signal]).encode()
    validated = lenient.lucidworks["click"].validate(body)
    assert validated.errors == ()
    assert validated.value[0]["sessionId"] == "41a50e2-8e32-4674-5429-e1450dfdbb14"
    assert ("$[0].SessionID", "case-insensitive-key", "decode") in _errors(
        contracts.lucidworks["click"].validate(body)
    )


def test_lenient_lucidworks_reads_invalid_utf8_and_strict_refuses_it(
    contracts: Contracts, lenient: Contracts
) -> None:
    body = _click(sourceId="web").replace(b'"web"', b'"w\xffb"')
    assert _errors(contracts.lucidworks["click"].validate(body)) == [("$", "utf8", "decode")]
    validated = lenient.lucidworks["click"].validate(body)
    assert (validated.errors, validated.value[0]["sourceId"]) == ((), "w\ufffdb")


def test_lenient_lucidworks_skips_tags_inside_product_details(
    contracts: Contracts, lenient: Contracts
) -> None:
    signal = load_fixture("lucidworks", "valid", "click-full.json")[0]
    signal["productDetails"][0]["product"]["currencyCode"] = "usd"
    body = json.dumps([signal]).encode()
    assert lenient.lucidworks["click"].validate(body).errors == ()
    assert ("validator", "iso4217") in {
        (e.layer, e.rule) for e in contracts.lucidworks["click"].validate(body).errors
    }


def test_a_body_that_does_not_decode_is_refused_before_any_other_layer(
    contracts: Contracts,
) -> None:
    for contract in (contracts.lucidworks["click"], contracts.neuralens):
        validated = contract.validate(b"{")
        assert validated.value is None
        assert _errors(validated) == [("$", "syntax", "decode")]


def test_a_body_nested_too_deep_for_the_checks_is_a_decode_error_not_a_crash(
    contracts: Contracts, lenient: Contracts
) -> None:
    body = b"[" * 900 + b"]" * 900
    # (lenient Lucidworks refuses the first signal as no object before walking deeper)
    for contract in (contracts.lucidworks["click"], contracts.neuralens, lenient.neuralens):
        validated = contract.validate(body)
        assert validated.value is None
        assert [(e.path, e.rule, e.layer, e.message) for e in validated.errors] == [
            ("$", "depth", "decode", TOO_DEEP)
        ]


@pytest.mark.parametrize("profile", ["strict", "lenient"])
def test_a_refusal_lists_at_most_the_limit_and_says_more_follow(profile: str) -> None:
    click = load_contracts(Settings().schema_dir, profile).lucidworks["click"]  # type: ignore[arg-type]
    validated = click.validate(json.dumps([{}] * 60).encode())
    assert len(validated.errors) == MAX_ERRORS + 1
    last = validated.errors[-1]
    assert (last.path, last.rule, last.layer, last.message) == ("$", "error-limit", "http", MORE)
    assert validated.element_texts == ()


def test_a_refusal_of_exactly_the_limit_lists_every_problem(contracts: Contracts) -> None:
    # Five problems a signal: three strings sent as numbers, two required fields left out.
    bad = {"timestamp": 1, "visitorId": 5, "queryId": 5, "sessionId": 5, "productDetails": []}
    one = contracts.lucidworks["click"].validate(json.dumps([bad]).encode())
    per_signal = len(one.errors)
    assert per_signal == 5
    body = json.dumps([bad] * (MAX_ERRORS // per_signal)).encode()
    validated = contracts.lucidworks["click"].validate(body)
    assert len(validated.errors) == MAX_ERRORS
    assert "error-limit" not in {e.rule for e in validated.errors}


def test_neuralens_strict_refuses_what_the_page_says_should_not_be_sent(
    contracts: Contracts,
) -> None:
    body = _neuralens(items=[{"id": "a"}, {"id": "b"}], page="SEARCH_RESULT_PAGE")
    validated = contracts.neuralens.validate(body)
    assert _errors(validated) == [
        ("$.items", "one-item-unless-purchase", "semantic"),
        ("$.query", "query-required", "semantic"),
    ]
    assert validated.warnings == ()


def test_neuralens_lenient_accepts_the_should_rules_and_reports_them_as_warnings(
    lenient: Contracts,
) -> None:
    body = _neuralens(items=[{"id": "a"}, {"id": "b"}], page="SEARCH_RESULT_PAGE")
    validated = lenient.neuralens.validate(body)
    assert validated.errors == ()
    assert validated.value["items"] == [{"id": "a"}, {"id": "b"}]
    assert [(w.path, w.rule, w.layer) for w in validated.warnings] == [
        ("$.items", "one-item-unless-purchase", "semantic"),
        ("$.query", "query-required", "semantic"),
    ]


def test_neuralens_lenient_still_refuses_a_must_rule_and_the_schema(lenient: Contracts) -> None:
    body = _neuralens(event="CLICK_PRODUCT", page="SEARCH_RESULT_PAGE")
    validated = lenient.neuralens.validate(body)
    assert _errors(validated) == [("$.index", "index-required", "semantic")]
    assert validated.warnings == ()
    assert _errors(lenient.neuralens.validate(_neuralens(uid=5))) == [("$.uid", "type", "schema")]


def test_neuralens_lenient_takes_the_last_of_repeated_keys(
    contracts: Contracts, lenient: Contracts
) -> None:
    body = _neuralens().replace(b'"uid": "u1"', b'"uid": "u0", "uid": "u1"')
    validated = lenient.neuralens.validate(body)
    assert (validated.errors, validated.value["uid"]) == ((), "u1")
    assert _errors(contracts.neuralens.validate(body)) == [("$.uid", "duplicate-key", "decode")]


def test_a_valid_neuralens_event_is_accepted_with_no_warnings(
    contracts: Contracts, lenient: Contracts
) -> None:
    for checked in (contracts, lenient):
        validated = checked.neuralens.validate(_neuralens())
        assert (validated.errors, validated.warnings) == ((), ())
        assert validated.value["uid"] == "u1"


def test_each_contract_offers_the_schema_it_checks(contracts: Contracts) -> None:
    assert contracts.neuralens.body_schema["title"] == "Neuralens analytics event"
    click = contracts.lucidworks["click"]
    assert click.body_schema is click.operation.body_schema
    assert click.body_schema["type"] == "array"


def test_contracts_are_loaded_for_each_lucidworks_signal_and_profile(lenient: Contracts) -> None:
    assert sorted(lenient.lucidworks) == ["cartadd", "click", "purchase", "query"]
    assert {c.profile for c in lenient.lucidworks.values()} == {"lenient"}
    assert lenient.neuralens.profile == "lenient"
    click = lenient.lucidworks["click"]
    assert (click.signal_type, click.go.fold_keys, click.go.dive) == ("click", True, False)
    strict = load_contracts(Settings().schema_dir).lucidworks["click"]
    assert (strict.profile, strict.go.fold_keys, strict.go.dive) == ("strict", False, True)
    assert [h.name for h in strict.headers] == [h.name for h in strict.operation.headers]


def test_an_unknown_profile_is_refused_with_the_ones_there_are() -> None:
    message = "profile 'relaxed' is not one of strict, lenient"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        load_contracts(Settings().schema_dir, "relaxed")  # type: ignore[arg-type]


def test_a_broken_schema_at_the_top_level_is_named_as_such(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas"
    shutil.copytree(Settings().schema_dir, schemas)
    path = schemas / "neuralens" / "event.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["required"] = "uid"
    path.write_text(json.dumps(schema), encoding="utf-8")
    message = f"{path} is not valid JSON Schema at required: 'uid' is not of type 'array'"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        load_contracts(schemas)
    schema["required"] = ["uid"]
    schema["type"] = 5
    path.write_text(json.dumps(schema), encoding="utf-8")
    with pytest.raises(ValueError, match=r"is not valid JSON Schema at type: 5 is not valid"):
        load_contracts(schemas)


def test_a_lucidworks_contract_built_without_a_profile_is_strict_with_the_spec_s_hints() -> None:
    specs = SpecSet(Settings().schema_dir / "lucidworks")
    [operation] = specs.operations("lucidworks-signals-click.openapi.yaml")
    click = LucidworksContract(operation)
    assert click.profile == "strict"
    validated = click.validate(_click(selectedPosition=0))
    assert [(e.path, e.rule, e.layer, e.message) for e in validated.errors] == [
        (
            "$[0].selectedPosition",
            "minimum",
            "openapi",
            "0 is less than the minimum of 1 (positions are 1-based: the first result is 1)",
        )
    ]


def test_a_neuralens_contract_built_without_a_profile_is_strict_and_names_its_layer() -> None:
    path = Settings().schema_dir / "neuralens" / "event.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    contract = NeuralensContract(schema)
    assert (contract.profile, contract.body_schema) == ("strict", schema)
    assert _errors(contract.validate(_neuralens(uid=5))) == [("$.uid", "type", "schema")]
    body = _neuralens(items=[{"id": "a"}, {"id": "b"}], page="SEARCH_RESULT_PAGE")
    assert [e.rule for e in contract.validate(body).errors] == [
        "one-item-unless-purchase",
        "query-required",
    ]


def test_a_schema_that_is_not_an_object_is_refused_at_the_top_level(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas"
    shutil.copytree(Settings().schema_dir, schemas)
    path = schemas / "neuralens" / "event.schema.json"
    path.write_text("5", encoding="utf-8")
    message = f"{path} is not valid JSON Schema at the top level: 5 is not of type 'object', "
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        load_contracts(schemas)


def test_a_broken_lucidworks_body_schema_names_its_path_and_file(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas"
    (schemas / "lucidworks").mkdir(parents=True)
    shutil.copytree(Settings().schema_dir / "neuralens", schemas / "neuralens")
    (schemas / "lucidworks" / "broken.openapi.yaml").write_text(
        "paths:\n"
        "  /retail/signals/click:\n"
        "    post:\n"
        "      requestBody:\n"
        "        content:\n"
        "          application/json:\n"
        "            schema: {type: array, items: {required: 5}}\n",
        encoding="utf-8",
    )
    message = (
        "the request body of /retail/signals/click in broken.openapi.yaml is not valid JSON "
        "Schema at items/required: 5 is not of type 'array'"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        load_contracts(schemas)

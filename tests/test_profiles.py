"""strict and lenient differ exactly on the documented rules, over the whole fixture corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import settings as hyp_settings

from mockserver.settings import Settings
from mockserver.validation import Contracts, FieldError, load_contracts
from mockserver.validation.profiles import STRICT_ONLY, strict_only_rules
from tests.conftest import FIXTURES, ROOT
from tests.test_validation import _mutated_signals

VENDORS = ("neuralens", "lucidworks")
DOCS = ROOT / "docs" / "validation.md"
# A row rests on a quoted sentence of the vendor's documentation, or on Go's measured behaviour.
CITATION = re.compile(r'\[doc\][^|]*"[^"|]{8,}"|\[go\] measured')


@pytest.fixture(scope="module")
def lenient() -> Contracts:
    return load_contracts(Settings().schema_dir, "lenient")


def _errors(contracts: Contracts, vendor: str, path: Path) -> tuple[FieldError, ...]:
    if vendor == "neuralens":
        return contracts.neuralens.validate(path.read_bytes()).errors
    return contracts.lucidworks[path.name.split("-", 1)[0]].validate(path.read_bytes()).errors


def _validate(contracts: Contracts, vendor: str, path: Path) -> list[str]:
    return sorted(f"{e.layer} {e.rule} {e.path}" for e in _errors(contracts, vendor, path))


def _dropped(strict: Contracts, lenient: Contracts, vendor: str, path: Path) -> list[FieldError]:
    """The errors strict raises for a file and lenient does not."""
    kept = {(e.layer, e.rule, e.path) for e in _errors(lenient, vendor, path)}
    return [e for e in _errors(strict, vendor, path) if (e.layer, e.rule, e.path) not in kept]


def _table_rows() -> dict[str, list[str]]:
    """docs/validation.md's profiles table: rule name -> its cells."""
    text = DOCS.read_text(encoding="utf-8").split("## Profiles", 1)[1]
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("| rule | strict | lenient |"):
            break
    rows = {}
    for line in lines:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        if set(cells[0]) <= set("-|"):
            continue  # the header's rule
        rows[cells[0].strip("`")] = cells
    return rows


def _invalid_cases() -> list[tuple[str, Path, dict[str, Any]]]:
    cases = []
    for vendor in VENDORS:
        expected = yaml.safe_load((FIXTURES / vendor / "invalid" / "cases.yaml").read_text())
        for name, case in expected.items():
            cases.append((vendor, FIXTURES / vendor / "invalid" / name, case))
    return cases


@pytest.mark.parametrize(
    ("vendor", "path", "case"),
    _invalid_cases(),
    ids=lambda v: v.name if isinstance(v, Path) else "",
)
def test_lenient_outcome_of_each_invalid_fixture(
    lenient: Contracts, vendor: str, path: Path, case: dict[str, Any]
) -> None:
    assert _validate(lenient, vendor, path) == sorted(case.get("lenient", case["errors"]))


@pytest.mark.parametrize(
    ("vendor", "path", "case"),
    _invalid_cases(),
    ids=lambda v: v.name if isinstance(v, Path) else "",
)
def test_what_lenient_drops_is_a_documented_difference(
    contracts: Contracts, lenient: Contracts, vendor: str, path: Path, case: dict[str, Any]
) -> None:
    for error in _dropped(contracts, lenient, vendor, path):
        assert strict_only_rules(error, vendor), error


def test_the_profiles_table_names_the_rules_the_code_names() -> None:
    assert sorted(_table_rows()) == sorted(rule.name for rule in STRICT_ONLY)


@pytest.mark.parametrize("name", sorted(_table_rows()))
def test_each_strict_only_rule_gives_its_reading_and_what_it_rests_on(name: str) -> None:
    cells = _table_rows()[name]
    assert len(cells) == 5, cells
    _, strict, lenient, reading, rests_on = cells
    assert all((strict, lenient, reading)), cells
    assert CITATION.search(rests_on), f"{name}: no quoted [doc] sentence or measured [go]"


@pytest.mark.parametrize("rule", STRICT_ONLY, ids=lambda rule: rule.name)
def test_each_strict_only_rule_is_shown_by_a_fixture(
    contracts: Contracts, lenient: Contracts, rule: Any
) -> None:
    """A rule in the table and profiles.py that the contracts no longer apply fails here."""
    shown = [
        path.name
        for vendor, path, _ in _invalid_cases()
        if vendor in rule.vendors
        and any(rule.claims(e) for e in _dropped(contracts, lenient, vendor, path))
    ]
    assert shown, f"no invalid fixture is refused by strict and not lenient under {rule.name}"


def test_the_documented_outcomes_are_no_profile_difference(
    contracts: Contracts, lenient: Contracts
) -> None:
    """Where the docs say what the service does with an input, both profiles follow them."""
    (signal,) = json.loads((FIXTURES / "lucidworks/valid/click-full.json").read_bytes())
    without = {k: v for k, v in signal.items() if k != "ipAddress"}
    without["productDetails"] = [{"product": d["product"]} for d in signal["productDetails"]]
    body = json.dumps([without]).encode()  # no ipAddress, no quantity
    for profile in (contracts, lenient):
        assert profile.lucidworks["click"].validate(body).errors == ()


@pytest.mark.parametrize("vendor", VENDORS)
def test_lenient_accepts_every_valid_fixture(lenient: Contracts, vendor: str) -> None:
    for path in sorted((FIXTURES / vendor / "valid").glob("*.json")):
        assert _validate(lenient, vendor, path) == [], path.name


def test_lenient_folds_keys_the_way_go_fills_the_struct(lenient: Contracts) -> None:
    body = b'[{"timestamp": 1, "VisitorID": "v-1", "visitorId": "v-2", "SESSIONID": "s", '
    body += b'"queryId": "q"}]'
    result = lenient.lucidworks["click"].validate(body)
    assert result.errors == ()
    assert result.value[0]["visitorId"] == "v-2"  # the later key wins, as in Go
    assert result.value[0]["sessionId"] == "s"


def test_lenient_replaces_bad_text_with_the_replacement_character(lenient: Contracts) -> None:
    body = b'[{"timestamp": 1, "visitorId": "v-\xff", "sessionId": "s-\\ud800", "queryId": "q"}]'
    result = lenient.lucidworks["click"].validate(body)
    assert result.errors == ()
    assert (result.value[0]["visitorId"], result.value[0]["sessionId"]) == ("v-\ufffd", "s-\ufffd")


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="profile 'loose'"):
        load_contracts(Settings().schema_dir, "loose")  # type: ignore[arg-type]


@hyp_settings(max_examples=200, deadline=None)
@given(_mutated_signals())
def test_whatever_strict_accepts_lenient_accepts(case: tuple[str, str, Any]) -> None:
    _, signal, value = case
    body = json.dumps(value).encode()
    if not STRICT.lucidworks[signal].validate(body).errors:
        assert LENIENT.lucidworks[signal].validate(body).errors == ()


STRICT = load_contracts(Settings().schema_dir, "strict")
LENIENT = load_contracts(Settings().schema_dir, "lenient")


def _names(error: FieldError, vendor: str = "lucidworks") -> list[str]:
    return [rule.name for rule in strict_only_rules(error, vendor)]


@pytest.mark.parametrize(
    ("error", "vendor", "names"),
    [
        (FieldError("$", "trailing-data", "decode", "m"), "neuralens", ["trailing-data"]),
        (FieldError("$", "trailing-data", "openapi", "m"), "neuralens", []),
        (
            FieldError("$.a", "case-insensitive-key", "decode", "m"),
            "lucidworks",
            ["case-insensitive-key"],
        ),
        (FieldError("$.a", "case-insensitive-key", "decode", "m"), "neuralens", []),
        (FieldError("$.a", "duplicate-key", "decode", "m"), "neuralens", ["duplicate-key"]),
        (FieldError("$", "utf8", "decode", "m"), "lucidworks", ["utf8"]),
        (FieldError("$", "syntax", "decode", "m"), "lucidworks", []),
        (FieldError("$[0].a", "maxLength", "openapi", "m"), "lucidworks", ["openapi"]),
        (FieldError("$[0].a", "maxLength", "openapi", "m"), "neuralens", []),
        (
            FieldError("$[0].a", "type", "openapi", '"x" is not of type "integer"'),
            "lucidworks",
            ["openapi"],
        ),
        (
            FieldError("$[0].a", "type", "openapi", "nullable null is not"),
            "lucidworks",
            ["openapi"],
        ),
        (
            FieldError("$[0].ipAddress", "type", "openapi", "null is not of type"),
            "lucidworks",
            ["openapi-null"],
        ),
        (
            FieldError("$[0].productDetails[0].quantity", "type", "openapi", "null is not of type"),
            "lucidworks",
            ["openapi-null-default"],
        ),
        (
            FieldError("$[0].productDetails[0].product.currencyCode", "type", "openapi", "null is"),
            "lucidworks",
            ["openapi-null-default"],
        ),
        (
            FieldError("$[0].quantityX", "type", "openapi", "null is"),
            "lucidworks",
            ["openapi-null"],
        ),
        (FieldError("$[0].a", "type", "schema", "null is"), "lucidworks", []),
        (FieldError("$[0].a", "type", "decode", "null is"), "lucidworks", []),
        (
            FieldError("$[0].productDetails[0].product.title", "max=1000", "validator", "m"),
            "lucidworks",
            ["dive"],
        ),
        (FieldError("$[0].visitorId", "max=128", "validator", "m"), "lucidworks", []),
        (
            FieldError("$.items", "one-item-unless-purchase", "semantic", "m"),
            "neuralens",
            ["one-item-unless-purchase"],
        ),
        (FieldError("$.query", "query-required", "semantic", "m"), "neuralens", ["query-required"]),
        (FieldError("$.query", "query-required", "semantic", "m"), "lucidworks", []),
        (FieldError("$.index", "index-required", "semantic", "m"), "neuralens", []),
    ],
)
def test_each_strict_only_rule_claims_its_own_errors_and_no_others(
    error: FieldError, vendor: str, names: list[str]
) -> None:
    assert _names(error, vendor) == names

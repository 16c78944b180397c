"""strict and lenient differ exactly on the documented rules, over the whole fixture corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import settings as hyp_settings

from mockserver.settings import Settings
from mockserver.validation import Contracts, load_contracts
from tests.conftest import FIXTURES
from tests.test_validation import _mutated_signals

VENDORS = ("neuralens", "lucidworks")
# The named differences (docs/validation.md, "Profiles"): strict errors that lenient does not raise.
LENIENT_DROPS = {
    ("decode", "case-insensitive-key"),
    ("decode", "duplicate-key"),
    ("decode", "utf8"),
    ("decode", "trailing-data"),
    ("validator", "ip"),  # only for an absent (nil) ipAddress: a wrong one fails both
}


@pytest.fixture(scope="module")
def lenient() -> Contracts:
    return load_contracts(Settings().schema_dir, "lenient")


def _validate(contracts: Contracts, vendor: str, path: Path) -> list[str]:
    if vendor == "neuralens":
        result = contracts.neuralens.validate(path.read_bytes())
    else:
        result = contracts.lucidworks[path.name.split("-", 1)[0]].validate(path.read_bytes())
    return sorted(f"{e.layer} {e.rule} {e.path}" for e in result.errors)


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
    dropped = set(_validate(contracts, vendor, path)) - set(_validate(lenient, vendor, path))
    for error in dropped:
        layer, rule, where = error.split(" ", 2)
        inside_nested_array = where.count("[") > 1  # e.g. $[0].productDetails[0]...
        assert (
            (layer, rule) in LENIENT_DROPS
            or layer == "openapi"
            or (layer == "validator" and inside_nested_array)
        ), error


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

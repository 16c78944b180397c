"""mockserver.validation.hints: the fix a refusal points at, only where it fits."""

from __future__ import annotations

import pytest

from mockserver.validation.hints import (
    LUCIDWORKS_HINTS,
    WRAP_IN_ARRAY,
    near_miss,
    null_hint,
    type_hint,
)
from mockserver.validation.hints import _edits as edits


@pytest.mark.parametrize(
    ("value", "allowed", "hint"),
    [
        ("cilck", ["CLICK", "VIEW"], "did you mean CLICK?"),  # a swap of neighbours is one edit
        ("CLCIK", ["CLICK"], "did you mean CLICK?"),
        ("view", ["CLICK", "VIEW"], "did you mean VIEW?"),
        ("VIEWS", ["CLICK", "VIEW"], "did you mean VIEW?"),
        ("VI", ["CLICK", "VIEW"], "did you mean VIEW?"),
        ("V", ["CLICK", "VIEW"], None),
        ("VIEWXYZ", ["VIEW"], None),
        ("XX", ["CLICK", "VIEW"], None),
        ("ADD_TO_CRAT", ["ADD_TO_CART", 3, None], "did you mean ADD_TO_CART?"),
        ("x", [1, 2], None),
        ("VIEW", [], None),
        (None, ["VIEW"], None),
        (["VIEW"], ["VIEW"], None),
    ],
)
def test_a_near_miss_names_the_one_allowed_value_within_two_edits(
    value: object, allowed: list[object], hint: str | None
) -> None:
    assert near_miss(value, allowed) == hint


def test_a_near_miss_picks_the_nearest_of_several_values() -> None:
    assert near_miss("SHAER", ["SHARE", "SHADE"]) == "did you mean SHARE?"
    assert near_miss("SHADX", ["SHARE", "SHADE"]) == "did you mean SHADE?"


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("CLICK", "CLICK", 0),
        ("CILCK", "CLICK", 1),
        ("AB", "BA", 1),
        ("ABC", "CBA", 2),
        ("CLCK", "CLICK", 1),
        ("CLICKS", "CLICK", 1),
        ("CLOCK", "CLICK", 1),
        ("ABCD", "AB", 2),
        ("AAA", "A", 2),  # no swap with the last letter before the first
        ("", "AB", 2),
        ("AB", "", 2),
        ("ABCDE", "AB", 3),
        ("XYZW", "ABCD", 3),
        ("ABCDEFGH", "ABCDWXYZ", 3),
    ],
)
def test_edits_counts_insertions_deletions_substitutions_and_swaps_up_to_three(
    a: str, b: str, distance: int
) -> None:
    assert edits(a, b) == distance


@pytest.mark.parametrize(
    ("value", "expected", "hint"),
    [
        ("12", "integer", "n is a JSON number, not a string: send 12 without quotes"),
        (" -1.5 ", "number", "n is a JSON number, not a string: send -1.5 without quotes"),
        ("0", "int64", "n is a JSON number, not a string: send 0 without quotes"),
        ("7", "int32", "n is a JSON number, not a string: send 7 without quotes"),
        ("7", "float64", "n is a JSON number, not a string: send 7 without quotes"),
        ("7", ["integer", "null"], "n is a JSON number, not a string: send 7 without quotes"),
        ("seven", "integer", "n is a JSON number, not a string"),
        ("1.2.3", "number", "n is a JSON number, not a string"),
        ("--1", "number", "n is a JSON number, not a string"),
        ("1.", "number", "n is a JSON number, not a string"),
        (".5", "number", "n is a JSON number, not a string"),
        ("007", "number", "n is a JSON number, not a string"),
        ("", "number", "n is a JSON number, not a string"),
        ("7", "string", None),
        ("7", ["string", "null"], None),
        (7, "integer", None),
        (None, "integer", None),
    ],
)
def test_a_string_where_a_number_belongs_says_so_and_how_to_send_it(
    value: object, expected: object, hint: str | None
) -> None:
    assert type_hint("n", value, expected) == hint


def test_a_null_hint_says_to_leave_out_an_optional_field_and_to_send_a_required_one() -> None:
    assert null_hint("query", True) == "query is optional: leave it out rather than send null"
    assert null_hint("uid", False) == "uid is required: send a value, not null"


def test_the_lucidworks_hints_rest_on_the_spec_s_descriptions() -> None:
    assert LUCIDWORKS_HINTS == {
        ("selectedPosition", "minimum"): "positions are 1-based: the first result is 1",
        ("quantity", "minimum"): "quantity is at least 1; leave it out to mean 1",
    }
    assert WRAP_IN_ARRAY == "the body must be a JSON array of signals: wrap the object in [ ]"

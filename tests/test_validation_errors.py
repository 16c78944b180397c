"""mockserver.validation.errors: where a problem is, written as a JSON path a user can follow."""

from __future__ import annotations

import pytest

from mockserver.validation.errors import FieldError, json_path


@pytest.mark.parametrize(
    ("parts", "path"),
    [
        ((), "$"),
        ((0, "productDetails", 0, "product"), "$[0].productDetails[0].product"),
        (("a b",), "$['a b']"),
        (("1st",), "$['1st']"),
        (("",), "$['']"),
        (("it's",), '$["it\'s"]'),
        (("_x", "ü"), "$._x.ü"),
    ],
)
def test_a_path_names_fields_with_dots_and_indexes_and_odd_keys_in_brackets(
    parts: tuple[str | int, ...], path: str
) -> None:
    assert json_path(parts) == path


def test_an_error_as_a_dict_holds_its_four_parts() -> None:
    error = FieldError("$.uid", "type", "schema", "5 is not a string")
    assert error.as_dict() == {
        "path": "$.uid",
        "rule": "type",
        "layer": "schema",
        "message": "5 is not a string",
    }

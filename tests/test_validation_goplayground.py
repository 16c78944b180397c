"""mockserver.validation.goplayground: the Lucidworks spec's validator tags, as Go runs them."""

from __future__ import annotations

import re

import pytest

from mockserver.validation.goplayground import first_failure, go_parse_ip, is_go_zero, parse_tags


def test_tags_are_read_in_order_and_blank_parts_skipped() -> None:
    tags = parse_tags(" required , max=5 ,, iso4217,ip ")
    assert [tag.text for tag in tags] == ["required", "max=5", "iso4217", "ip"]
    assert parse_tags("") == ()


@pytest.mark.parametrize(
    ("spec", "explanation"),
    [
        ("required", "is required and must not be empty"),
        ("max=128", "must be at most 128 characters long (Unicode code points)"),
        ("iso4217", "must be an uppercase ISO 4217 currency code such as USD"),
        ("ip", "must be an IPv4 or IPv6 address that Go's net.ParseIP accepts"),
    ],
)
def test_each_tag_explains_its_failure_in_words(spec: str, explanation: str) -> None:
    (tag,) = parse_tags(spec)
    assert tag.explain == explanation


@pytest.mark.parametrize("spec", ["max", "max=", "min=3", "REQUIRED", "dive"])
def test_a_tag_mockserver_does_not_know_is_refused_with_the_ones_it_does(spec: str) -> None:
    message = f"unsupported validator tag {spec!r}: mockserver knows required, max=N, iso4217, ip"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_tags(f"required,{spec}")


@pytest.mark.parametrize(
    ("value", "passes"),
    [
        ("ab", True),
        ("abc", False),
        ([1, 2], True),
        ([1, 2, 3], False),
        ({"a": 1, "b": 2}, True),
        ({"a": 1, "b": 2, "c": 3}, False),
        (2, True),
        (-5, True),
        (2.0, True),
        (2.5, False),
        (3, False),
        (None, True),
    ],
)
def test_max_limits_the_length_of_text_arrays_and_objects_and_the_value_of_numbers(
    value: object, passes: bool
) -> None:
    (at_most_two,) = parse_tags("max=2")
    assert at_most_two.check(value) is passes
    assert (at_most_two.failure(value) is None) is passes


@pytest.mark.parametrize(
    ("value", "zero"),
    [
        (None, True),
        ("", True),
        (0, True),
        (0.0, True),
        (False, True),
        ({}, True),
        ([], False),
        ("0", False),
        (1, False),
        (True, False),
        ({"a": None}, False),
    ],
)
def test_go_zero_values_are_null_empty_text_zero_false_and_an_empty_object(
    value: object, zero: bool
) -> None:
    assert is_go_zero(value) is zero


@pytest.mark.parametrize("value", [None, 3, ["USD"], "usd"])
def test_iso4217_refuses_anything_but_a_listed_code(value: object) -> None:
    (tag,) = parse_tags("iso4217")
    assert tag.failure(value) == "must be an uppercase ISO 4217 currency code such as USD"


@pytest.mark.parametrize(
    ("value", "passes"),
    [("10.0.0.1", True), ("::1", True), (None, False), (167772161, False), ("::1%eth0", False)],
)
def test_ip_takes_only_text_that_go_parses_as_an_address(value: object, passes: bool) -> None:
    (tag,) = parse_tags("ip")
    assert tag.check(value) is passes


@pytest.mark.parametrize(
    "text", ["::1/128", " ::1", "::1 ", "::1\n", "2001:db8::1%1", "1.2.3.4%1", ":::", "1:2"]
)
def test_go_parse_ip_refuses_zones_prefixes_spaces_and_broken_ipv6(text: str) -> None:
    assert go_parse_ip(text) is False


def test_the_first_failing_tag_of_a_field_is_the_one_reported() -> None:
    tags = parse_tags("required,max=3,iso4217")
    assert first_failure(tags, "") == (tags[0], "is required and must not be empty")
    assert first_failure(tags, "ABCD") == (
        tags[1],
        "must be at most 3 characters long (Unicode code points)",
    )
    assert first_failure(tags, "ABC") == (
        tags[2],
        "must be an uppercase ISO 4217 currency code such as USD",
    )
    assert first_failure(tags, "USD") is None
    assert first_failure((), "") is None

"""mockserver.validation.decoding: what a body must be to decode, and what the refusal says."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.jsontext import OutOfRange
from mockserver.validation.decoding import Decoded, decode_json, has_digit_run

DUPLICATE = (
    "appears more than once; Go keeps the last value, other decoders the first: send it once"
)
SURROGATE = (
    "string holds an unpaired UTF-16 surrogate escape; Go replaces it with U+FFFD, so the "
    "vendor would store something else than was sent"
)
MORE_THAN_ONE = (
    "more than one JSON value in the body (what follows the first is refused; --profile "
    "lenient ignores it, as Go's Decoder.Decode does)"
)


@pytest.mark.parametrize("lenient", [False, True])
@pytest.mark.parametrize(
    ("body", "rule", "message"),
    [
        (b"", "empty-body", "the request body is empty; send a JSON document"),
        (b" \t\r\n", "empty-body", "the request body is empty; send a JSON document"),
        (b"\xef\xbb\xbf[1]", "syntax", "the body starts with a UTF-8 byte order mark; remove it"),
        (
            b'{"a": 1,}',
            "syntax",
            "invalid JSON at line 1 column 9: trailing comma before '}'; remove the comma",
        ),
        (
            b'{"a": 1 // why\n}',
            "syntax",
            "invalid JSON at line 1 column 9: comments are not allowed in JSON",
        ),
        (
            b'{"a": 1 /* why */}',
            "syntax",
            "invalid JSON at line 1 column 9: comments are not allowed in JSON",
        ),
        (b"NaN", "syntax", "NaN is not valid JSON (Go's decoder rejects NaN and Infinity)"),
        (
            b'{"a": -Infinity}',
            "syntax",
            "-Infinity is not valid JSON (Go's decoder rejects NaN and Infinity)",
        ),
        (b"[" * 5000, "depth", "the JSON is nested too deeply"),
        (
            b'{"a": [1, 2,]}',
            "syntax",
            "invalid JSON at line 1 column 13: trailing comma before ']'; remove the comma",
        ),
        (b'{"a": [1, 2 3]}', "syntax", "invalid JSON at line 1 column 13: Expecting ',' delimiter"),
        (
            b'{"a":\n  ' + b"9" * 5000 + b"}",
            "syntax",
            "number 999999999999…9999 (5000 digits) does not fit a 64-bit integer or float",
        ),
        (
            b'{"a": -' + b"9" * 400 + b"}",
            "syntax",
            "number 999999999999…9999 (400 digits) does not fit a 64-bit integer or float",
        ),
    ],
)
def test_a_body_that_does_not_decode_is_refused_with_what_to_fix(
    body: bytes, rule: str, message: str, lenient: bool
) -> None:
    decoded = decode_json(body, lenient=lenient)
    assert decoded.value is None
    assert [(e.path, e.rule, e.layer, e.message) for e in decoded.errors] == [
        ("$", rule, "decode", message)
    ]


def test_invalid_utf8_is_refused_with_the_offset_of_the_bad_byte() -> None:
    decoded = decode_json(b'["caf\xe9"]')
    assert decoded.value is None
    assert [(e.path, e.rule, e.message) for e in decoded.errors] == [
        ("$", "utf8", "the body is not valid UTF-8 (bad byte at offset 5)")
    ]


def test_lenient_reads_invalid_utf8_as_the_replacement_character() -> None:
    decoded = decode_json(b'["caf\xe9"]', lenient=True)
    assert (decoded.value, decoded.errors) == (["caf\ufffd"], [])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"1 2", "invalid JSON at line 1 column 3: " + MORE_THAN_ONE),
        (b'{"a": 1}\n{"a": 2}', "invalid JSON at line 2 column 1: " + MORE_THAN_ONE),
        (b"[1] [2]", "invalid JSON at line 1 column 5: " + MORE_THAN_ONE),
        (b"[]0", "invalid JSON at line 1 column 3: " + MORE_THAN_ONE),
    ],
)
def test_strict_refuses_a_second_value_after_the_body_and_says_lenient_ignores_it(
    body: bytes, message: str
) -> None:
    decoded = decode_json(body)
    assert decoded.value is None
    assert [(e.rule, e.message) for e in decoded.errors] == [("trailing-data", message)]


@pytest.mark.parametrize(
    ("body", "value"),
    [
        (b"1 2", 1),
        (b' \n{"a": 1}\n{"a": 2}', {"a": 1}),
        (b"[1] [2]", [1]),
        (b"[1]x", [1]),
    ],
)
def test_lenient_reads_the_first_value_and_ignores_what_follows(body: bytes, value: object) -> None:
    decoded = decode_json(body, lenient=True)
    assert (decoded.value, decoded.errors) == (value, [])


def test_a_repeated_key_is_refused_where_it_repeats_and_the_last_value_kept() -> None:
    decoded = decode_json(b'[{"a": 1, "b": {"c": 1, "c": 2, "d": 0, "d": 0}, "a": 3}]')
    assert decoded.value == [{"a": 3, "b": {"c": 2, "d": 0}}]
    assert [(e.path, e.rule, e.layer, e.message) for e in decoded.errors] == [
        ("$[0].a", "duplicate-key", "decode", f"key 'a' {DUPLICATE}"),
        ("$[0].b.c", "duplicate-key", "decode", f"key 'c' {DUPLICATE}"),
        ("$[0].b.d", "duplicate-key", "decode", f"key 'd' {DUPLICATE}"),
    ]


def test_a_key_repeated_three_times_is_reported_once() -> None:
    decoded = decode_json(b'{"a": 1, "a": 2, "a": 3}')
    assert decoded.value == {"a": 3}
    assert [e.path for e in decoded.errors] == ["$.a"]


def test_lenient_takes_the_last_of_repeated_keys_without_complaint() -> None:
    decoded = decode_json(b'{"a": 1, "a": 2}', lenient=True)
    assert (decoded.value, decoded.errors) == ({"a": 2}, [])


@pytest.mark.parametrize(
    ("body", "path", "value"),
    [
        (b'["ok", "x\\ud800y"]', "$[1]", ["ok", "x\ufffdy"]),
        (b'{"a": {"k\\udc00": 1}}', "$.a", {"a": {"k\ufffd": 1}}),
        (b'{"a": "\\uDBFF"}', "$.a", {"a": "\ufffd"}),
        (b'{"a": ["\\udfff"]}', "$.a[0]", {"a": ["\ufffd"]}),
    ],
)
def test_an_unpaired_surrogate_escape_is_refused_and_read_as_go_reads_it(
    body: bytes, path: str, value: object
) -> None:
    decoded = decode_json(body)
    assert decoded.value == value
    assert [(e.path, e.rule, e.layer, e.message) for e in decoded.errors] == [
        (path, "utf8", "decode", SURROGATE)
    ]


def test_an_unpaired_surrogate_in_a_key_and_its_value_is_reported_at_each_once() -> None:
    decoded = decode_json(b'{"k\\ud800\\ud800": "\\ud800\\ud800"}')
    # The key's error names the object; the value's names the key as sent.
    assert [e.path for e in decoded.errors] == ["$", "$['k\\ud800\\ud800']"]


def test_lenient_replaces_an_unpaired_surrogate_without_complaint() -> None:
    decoded = decode_json(b'["\\ud800", {"\\udc00": "\\ud800"}]', lenient=True)
    assert (decoded.value, decoded.errors) == (["\ufffd", {"\ufffd": "\ufffd"}], [])


def test_a_paired_surrogate_escape_is_one_character() -> None:
    decoded = decode_json(b'["\\ud83d\\ude00"]')
    assert (decoded.value, decoded.errors) == (["\U0001f600"], [])


def test_two_keys_that_become_one_after_replacing_surrogates_are_a_repeat() -> None:
    decoded = decode_json(b'{"\\ud800": 1, "\\udbff": 2}')
    assert decoded.value == {"\ufffd": 2}
    assert [e.rule for e in decoded.errors] == ["utf8"]


def test_an_empty_array_decodes_with_no_elements() -> None:
    decoded = decode_json(b" [ ] ")
    assert (decoded.value, decoded.errors, decoded.element_texts) == ([], [], ())


def test_lenient_keeps_each_element_s_text_when_data_follows_the_array() -> None:
    decoded = decode_json(b'[{"a": 1}, 2] x', lenient=True)
    assert (decoded.value, decoded.errors) == ([{"a": 1}, 2], [])
    assert decoded.element_texts == ('{"a": 1}', "2")


@pytest.mark.parametrize("lenient", [False, True])
def test_a_body_that_is_not_an_array_has_no_element_texts(lenient: bool) -> None:
    decoded = decode_json(b'{"a": 1}', lenient=lenient)
    assert (decoded.value, decoded.errors, decoded.element_texts) == ({"a": 1}, [], ())


def _in_a_new_thread(body: bytes, **options: bool) -> Decoded:
    """Decoded where the server decodes large bodies: in a worker thread, whose decoders are
    built on its first body (each thread keeps its own)."""
    found: list[Decoded] = []
    worker = threading.Thread(target=lambda: found.append(decode_json(body, **options)))
    worker.start()
    worker.join()
    return found[0]


HUGE = b"9" * 5000
HUGE_MESSAGE = "number 999999999999…9999 (5000 digits) does not fit a 64-bit integer or float"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'[{"a": 1e400}]', "number 1e400 does not fit a 64-bit float"),
        (b'[{"a": ' + HUGE + b"}]", HUGE_MESSAGE),
        (b'[{"a": 1e400, "b": ' + HUGE + b"}]", "number 1e400 does not fit a 64-bit float"),
    ],
)
@pytest.mark.parametrize("lenient", [False, True])
def test_a_number_no_float_holds_is_refused_in_every_thread(
    body: bytes, message: str, lenient: bool
) -> None:
    decoded = _in_a_new_thread(body, lenient=lenient)
    assert decoded.value is None
    assert [(e.path, e.rule, e.message) for e in decoded.errors] == [("$", "syntax", message)]


@pytest.mark.parametrize(
    ("body", "spelled"),
    [
        (b'[{"a": 1e400}]', {"a": "1e400"}),
        (b'[{"a": ' + HUGE + b"}]", {"a": HUGE.decode()}),
        (b'[{"a": -1e400, "b": ' + HUGE + b"}]", {"a": "-1e400", "b": HUGE.decode()}),
    ],
)
def test_a_number_no_float_holds_is_kept_as_sent_when_asked_in_every_thread(
    body: bytes, spelled: dict[str, str]
) -> None:
    decoded = _in_a_new_thread(body, lenient=True, keep_out_of_range=True)
    assert decoded.errors == []
    signal: dict[str, Any] = decoded.value[0]
    assert all(isinstance(number, OutOfRange) for number in signal.values())
    assert {key: repr(number) for key, number in signal.items()} == spelled


@given(
    text=st.text(alphabet="0123456789a ", max_size=60).map(lambda t: t * 200)
    | st.text(alphabet="0123456789a ", max_size=60),
    length=st.integers(min_value=2, max_value=12),
)
def test_a_run_of_digits_is_found_as_a_regular_expression_finds_it(text: str, length: int) -> None:
    # Texts over 8 KiB (the repeated ones) are read another way than short ones.
    assert has_digit_run(text, length) is bool(re.search(f"[0-9]{{{length}}}", text))


@pytest.mark.parametrize("lenient", [False, True])
def test_an_integer_no_float_holds_is_refused_under_a_key_sent_again(lenient: bool) -> None:
    # Go decodes the first value (and fails on it) before the last one wins.
    body = b'{"a": ' + b"9" * 309 + b', "b": [{"c": ' + b"9" * 309 + b', "c": 1}], "a": 1}'
    decoded = decode_json(body, lenient=lenient)
    assert (decoded.value, [e.rule for e in decoded.errors]) == (None, ["syntax"])
    assert "309 digits" in decoded.errors[0].message
    fits = body.replace(b"9" * 309, b"9" * 308)
    assert decode_json(fits, lenient=True).value == {"a": 1, "b": [{"c": 1}]}


@pytest.mark.parametrize("offset", range(0, 310, 7))
def test_an_integer_no_float_holds_is_refused_wherever_it_starts(offset: int) -> None:
    body = b'[{"pad": "' + b"x" * offset + b'", "a": ' + b"9" * 309 + b"}]"
    assert [e.rule for e in decode_json(body).errors] == ["syntax"]
    assert decode_json(body.replace(b"9" * 309, b"9" * 308)).errors == []

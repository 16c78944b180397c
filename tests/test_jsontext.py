"""Stored JSON keeps the numbers no 64-bit float holds, as they were sent."""

from __future__ import annotations

import json

from mockserver import jsontext


def test_a_number_past_float64_is_written_back_as_it_was_sent() -> None:
    text = '{"a":[1e400,-' + "9" * 5000 + ',2.5],"b":"x"}'
    value = jsontext.loads(text)
    assert isinstance(value["a"][0], jsontext.OutOfRange)
    assert jsontext.dumps(value, separators=(",", ":")) == text


def test_ordinary_json_reads_and_writes_as_json_does() -> None:
    value = {"price": 1e308, "n": 10**300, "s": "1e400"}
    text = json.dumps(value)
    assert jsontext.loads(text) == json.loads(text)
    assert jsontext.dumps(value) == text

"""JSON text that keeps the numbers no 64-bit float holds, as they were sent.

Go's decoder skips an unknown field without converting it, so the lenient profile accepts a
body holding ``1e400`` or a 5,000-digit integer there, and the mock stores it as sent. Python's
``json`` reads such a number as infinity (or refuses an integer of more than 4,300 digits) and
writes infinity as ``Infinity``, which is not JSON: the inspection API answered 500 for such an
event. Here they are read as ``OutOfRange``, a float that remembers its spelling, and written
back as that spelling. Imports nothing from the package: validation, storage and inspect use it.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

# A number that may not fit: 309 digits or more (2**1024 ~ 1.8e308), or a 3-digit exponent.
# Text without one reads with json's C parser alone, as nearly every stored payload does.
_MAY_OVERFLOW = re.compile(r"\d{309}|[eE][+-]?\d{3}")


class OutOfRange(float):
    """A number no 64-bit float holds (``1e400``, a 5,000-digit integer). Its value is an
    infinity, so it is a number to every type check; ``text`` is its spelling as sent."""

    text: str

    def __new__(cls, text: str) -> OutOfRange:
        number = super().__new__(cls, "-inf" if text.startswith("-") else "inf")
        number.text = text
        return number

    def __repr__(self) -> str:
        return self.text


def kept_float(text: str) -> float:
    value = float(text)
    return OutOfRange(text) if value in (float("inf"), float("-inf")) else value


def kept_int(text: str) -> int | float:
    """For an integer Python's int() refuses (more than 4,300 digits)."""
    try:
        return int(text)
    except ValueError:
        return OutOfRange(text)


def loads(text: str) -> Any:
    """``json.loads``, with numbers past float64 read as ``OutOfRange``."""
    if _MAY_OVERFLOW.search(text) is None:
        return json.loads(text)
    return json.loads(text, parse_float=kept_float, parse_int=kept_int)


def dumps(value: Any, **options: Any) -> str:
    """``json.dumps(value, allow_nan=False, **options)``, writing an ``OutOfRange`` as sent."""
    try:
        return json.dumps(value, allow_nan=False, **options)
    except ValueError:
        pass  # an infinity (an OutOfRange): the rare value that takes the slow way
    spellings: list[str] = []
    token = secrets.token_hex(8)

    def swap(item: Any) -> Any:
        if isinstance(item, OutOfRange):
            spellings.append(item.text)
            return f"{token}{len(spellings) - 1}"
        if isinstance(item, dict):
            return {key: swap(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return [swap(inner) for inner in item]
        return item

    encoded = json.dumps(swap(value), allow_nan=False, **options)
    for number, spelling in enumerate(spellings):
        encoded = encoded.replace(f'"{token}{number}"', spelling, 1)
    return encoded

"""Hints that point a refusal at its fix, each only where it fits the error.

A hint is added to the rule's own message, never in its place: ``"click_product" is not one
of [...] (did you mean CLICK_PRODUCT?)``. A unit hint (Neuralens timestamps are seconds) is
for a number that breaks a bound, not for a string sent where a number belongs: that is a
type error, and its hint says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

WRAP_IN_ARRAY = "the body must be a JSON array of signals: wrap the object in [ ]"
# Lucidworks' spec is the vendor's file, kept verbatim: its hints live here, by property and
# the JSON Schema keyword that failed, each resting on the property's own description.
LUCIDWORKS_HINTS = {
    # "using one-based indexing. The first item is 1, the second is 2, and so on."
    ("selectedPosition", "minimum"): "positions are 1-based: the first result is 1",
    # "This field is optional and defaults to 1 when not provided."
    ("quantity", "minimum"): "quantity is at least 1; leave it out to mean 1",
}
_NUMBER_TYPES = {"integer", "number", "int64", "int32", "float64"}
_MAX_EDITS = 2
# A number as JSON spells it without an exponent: "--1", "1." or "007" are not, so no hint
# tells the user to send them without quotes.
_PLAIN_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")


def near_miss(value: Any, allowed: Iterable[Any]) -> str | None:
    """``did you mean CLICK_PRODUCT?`` for a string that is an allowed value ignoring case, or
    one or two edits from one; nothing for a value near none (or nearer several alike)."""
    if not isinstance(value, str) or not value:
        return None
    wanted = value.upper()
    scored = sorted(
        (_edits(wanted, option.upper()), option) for option in allowed if isinstance(option, str)
    )
    if not scored or scored[0][0] > _MAX_EDITS:
        return None
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None  # two equally near: a guess would mislead as often as help
    return f"did you mean {scored[0][1]}?"


def _edits(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of
    neighbours (CILCK → CLICK is one), stopping early past ``_MAX_EDITS``."""
    if abs(len(a) - len(b)) > _MAX_EDITS:
        return _MAX_EDITS + 1
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        if min(current) > _MAX_EDITS:
            return _MAX_EDITS + 1
        before, previous = previous, current
    return previous[-1]


def type_hint(field: str, value: Any, expected: Any) -> str | None:
    """For a string where a number belongs: the field is a JSON number, and if the string
    spells one, send it without the quotes."""
    kinds = set(expected) if isinstance(expected, list) else {expected}
    if not isinstance(value, str) or not kinds & _NUMBER_TYPES:
        return None
    hint = f"{field} is a JSON number, not a string"
    spelled = value.strip()
    if _PLAIN_NUMBER.fullmatch(spelled):
        hint += f": send {spelled} without quotes"
    return hint


def null_hint(field: str, optional: bool) -> str:
    if optional:
        return f"{field} is optional: leave it out rather than send null"
    return f"{field} is required: send a value, not null"

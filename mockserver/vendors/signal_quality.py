"""Signal-quality warnings: checks on signals the vendor accepts that spoil its analytics.

A warning never changes the reply: the vendor would accept the signal, and so does the mock.
Each rule has an id, a message that says what to fix, and the sentence of the vendor's
documentation it rests on. docs/signal-quality.md shows ``RULES`` as a table, and
tests/test_vendors_signal_quality.py fails when the two differ.

Three kinds, by when they are found:

- ``intake``: from the signal alone, when it arrives (``signal_warnings``); stored with it.
- ``read``: from the signal and what else is stored (``unknown-query``), evaluated by the
  store whenever the event is read, as of that moment (``mockserver.events``).
- ``lenient``: the Neuralens "should" rules, which the lenient profile reports instead of
  refusing (``validation/neuralens_rules.py``); stored with the event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mockserver.events import UNKNOWN_QUERY, UNKNOWN_QUERY_WARNING

Found = Literal["intake", "read", "lenient"]
Warning_ = dict[str, str]  # {"rule", "path", "message"}; the path into the event's payload

DAY_MS = 86_400_000
# 100,000,000,000 ms is 1973-03-03; as seconds it is the year 5138. Below it, a timestamp is
# seconds sent where milliseconds are documented.
SECONDS_BELOW = 100_000_000_000
# An e-mail address anywhere in the value ("user:jane@example.com" too).
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A phone number: 9 to 15 digits (E.164's longest), written as people write them: a leading
# "+" or separators between groups. Bare digits are not taken for one (numeric customer ids
# are common), nor is a date (8 digits).
_PHONE = re.compile(r"\+?[0-9(][0-9 ().-]*[0-9]")
# A dot alone does not make one: "1715644800.123" and "192.168.100.200" are common ids.
_PHONE_SEPARATORS = frozenset("+ ()-")


@dataclass(frozen=True, slots=True)
class WarningRule:
    id: str
    vendors: tuple[str, ...]
    found: Found
    fires_when: str
    message: str  # what to fix (the lenient rules' own messages name the event and page)
    rests_on: str  # the vendor documentation's sentence, quoted as written


TIMESTAMP_IN_SECONDS = WarningRule(
    "timestamp-in-seconds",
    ("lucidworks",),
    "intake",
    "`timestamp` < 100,000,000,000 (before 1973-03-03 read as milliseconds)",
    "timestamp is in epoch seconds, so the signal lands in 1970; send epoch milliseconds "
    "(seconds × 1000)",
    "The event time displayed in epoch time milliseconds.",
)
TIMESTAMP_IN_FUTURE = WarningRule(
    "timestamp-in-future",
    ("lucidworks", "neuralens"),
    "intake",
    "`timestamp` more than 24 h after the server's clock (Neuralens: epoch seconds)",
    "timestamp is more than a day ahead of the server's clock; send the time the event "
    "happened (check the unit and the client's clock)",
    "The event time displayed in epoch time milliseconds.",
)
CLICK_WITHOUT_POSITION = WarningRule(
    "click-without-position",
    ("lucidworks",),
    "intake",
    "a click without `selectedPosition`",
    "the click has no selectedPosition, so Average Click Position leaves it out; send the "
    "1-based position of the clicked product in the results",
    "This field is critical for calculating Average Click Position analytics.",
)
PERSONAL_DATA_IN_ID = WarningRule(
    "personal-data-in-id",
    ("lucidworks",),
    "intake",
    "`visitorId` holds an e-mail address, or looks like a phone number (9 to 15 digits with "
    "a leading + or separators)",
    "visitorId looks like {what}; send an opaque id (a random UUID kept per visitor) "
    "instead of personal data",
    "Do not use personally identifiable information (PII) or user data in the value.",
)
UNKNOWN_QUERY_RULE = WarningRule(
    UNKNOWN_QUERY,
    ("lucidworks",),
    "read",
    "a click or cartadd whose `queryId` no stored query signal carries (same namespace and "
    "tenant), as of when it is read",
    UNKNOWN_QUERY_WARNING["message"],
    "The unique identifier for the user query.",
)
QUERY_REQUIRED = WarningRule(
    "query-required",
    ("neuralens",),
    "lenient",
    "`lenient` only: an event on `SEARCH_RESULT_PAGE` or `AUTOCOMPLETE` without `query` "
    "(`strict` refuses it)",
    "events on SEARCH_RESULT_PAGE and AUTOCOMPLETE should carry query, the search text they "
    "came from",
    "the ADD_TO_CART event object should contain the respective query text.",
)
ONE_ITEM_UNLESS_PURCHASE = WarningRule(
    "one-item-unless-purchase",
    ("neuralens",),
    "lenient",
    "`lenient` only: an event other than `PURCHASE` with several items (`strict` refuses it)",
    "only PURCHASE may list several items; send one event per product",
    "In all other cases it should contain a single product id.",
)
RULES: tuple[WarningRule, ...] = (
    TIMESTAMP_IN_SECONDS,
    TIMESTAMP_IN_FUTURE,
    CLICK_WITHOUT_POSITION,
    PERSONAL_DATA_IN_ID,
    UNKNOWN_QUERY_RULE,
    QUERY_REQUIRED,
    ONE_ITEM_UNLESS_PURCHASE,
)
RULE_IDS: tuple[str, ...] = tuple(rule.id for rule in RULES)


def _warning(rule: WarningRule, field: str, **values: str) -> Warning_:
    return {"rule": rule.id, "path": f"$.{field}", "message": rule.message.format(**values)}


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def lucidworks_warnings(signal_type: str, signal: Mapping[str, Any], now_ms: int) -> list[Warning_]:
    """The intake warnings of one accepted Lucidworks signal (paths into the signal)."""
    found: list[Warning_] = []
    timestamp = _integer(signal.get("timestamp"))
    if timestamp is not None:
        if timestamp < SECONDS_BELOW:
            found.append(_warning(TIMESTAMP_IN_SECONDS, "timestamp"))
        elif timestamp > now_ms + DAY_MS:
            found.append(_warning(TIMESTAMP_IN_FUTURE, "timestamp"))
    if signal_type == "click" and signal.get("selectedPosition") is None:
        found.append(_warning(CLICK_WITHOUT_POSITION, "selectedPosition"))
    visitor = signal.get("visitorId")
    if isinstance(visitor, str) and visitor:
        what = personal_data(visitor)
        if what is not None:
            found.append(_warning(PERSONAL_DATA_IN_ID, "visitorId", what=what))
    return found


def neuralens_warnings(event: Mapping[str, Any], now_ms: int) -> list[Warning_]:
    """The intake warnings of one accepted Neuralens event (its timestamp is epoch seconds)."""
    timestamp = _integer(event.get("timestamp"))
    if timestamp is not None and timestamp * 1000 > now_ms + DAY_MS:
        return [_warning(TIMESTAMP_IN_FUTURE, "timestamp")]
    return []


def personal_data(value: str) -> str | None:
    """What personal data ``value`` looks like it holds ("an e-mail address", "a phone
    number"), or None. Cheap tests first: this runs on every Lucidworks signal."""
    if "@" in value and _EMAIL.search(value):
        return "an e-mail address"
    if len(value) <= 24 and _PHONE.fullmatch(value) and _PHONE_SEPARATORS.intersection(value):
        digits = sum(c.isdigit() for c in value)
        if 9 <= digits <= 15:
            return "a phone number"
    return None


def as_warnings(errors: Any) -> list[Warning_]:
    """A contract's warnings (``Validated.warnings``, FieldErrors) in the events' shape."""
    return [{"rule": e.rule, "path": e.path, "message": e.message} for e in errors]


def body_warnings(
    vendor: str, endpoint: str, value: Any, contract_warnings: Any, now_ms: int
) -> list[Warning_]:
    """The warnings of a whole accepted request body that the body alone shows (not
    ``unknown-query``), with paths into the body: ``mockserver validate`` reports these."""
    if vendor == "neuralens":
        event = value if isinstance(value, Mapping) else {}
        return [*as_warnings(contract_warnings), *neuralens_warnings(event, now_ms)]
    found = []
    for index, signal in enumerate(value if isinstance(value, list) else ()):
        if isinstance(signal, Mapping):
            for warning in lucidworks_warnings(endpoint, signal, now_ms):
                found.append({**warning, "path": f"$[{index}]{warning['path'][1:]}"})
    return found

"""Every rule the strict profile checks and the lenient one does not, named once.

``strict`` is the union of the plausible readings of the service; ``lenient`` the most
permissive one. A reading that contradicts what the vendor's documentation says the service
does with an input is not plausible: where the documentation gives the outcome (an absent
``ipAddress`` "is extracted from the request", an absent ``quantity`` "defaults to 1"), both
profiles follow it, and no rule below may refuse it.

The profiles table in docs/validation.md shows this list, with the reading each rule follows
and the documentation sentence or measured Go behaviour it rests on; tests/test_profiles.py
fails when the table, this list and what the contracts do part. The Go differential
(tests/test_goref_differential.py) explains a strict refusal Go accepts only by a rule here
whose ``go_accepts`` is true.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mockserver.validation.errors import FieldError

Claim = Callable[[FieldError], bool]
# Properties with a schema default: kin-openapi writes it over a null before checking the type.
DEFAULTED = ("quantity", "currencyCode")


@dataclass(frozen=True, slots=True)
class StrictOnly:
    name: str  # the first column of the docs' profiles table
    claims: Claim  # whether a strict error (that lenient does not raise) is this rule's
    vendors: tuple[str, ...]
    # Whether every Go layer strict stands for (tests/goref in strict's configuration) accepts
    # what the rule refuses: then the refusal rests on the documentation or on the layers
    # reading the body differently, and the differential counts it as explained.
    go_accepts: bool


def _rule(layer: str, *rules: str) -> Claim:
    return lambda error: error.layer == layer and error.rule in rules


def _null_type(error: FieldError) -> bool:
    return error.layer == "openapi" and error.rule == "type" and error.message.startswith("null ")


def _null_with_default(error: FieldError) -> bool:
    return _null_type(error) and error.path.endswith(DEFAULTED)


def _null_without_default(error: FieldError) -> bool:
    return _null_type(error) and not error.path.endswith(DEFAULTED)


def _openapi_not_null(error: FieldError) -> bool:
    return error.layer == "openapi" and not _null_type(error)


def _inside_product_details(error: FieldError) -> bool:
    return error.layer == "validator" and error.path.count("[") > 1  # $[0].productDetails[0]…


BOTH_VENDORS = ("lucidworks", "neuralens")
STRICT_ONLY: tuple[StrictOnly, ...] = (
    StrictOnly("trailing-data", _rule("decode", "trailing-data"), BOTH_VENDORS, False),
    StrictOnly(
        "case-insensitive-key", _rule("decode", "case-insensitive-key"), ("lucidworks",), True
    ),
    StrictOnly("duplicate-key", _rule("decode", "duplicate-key"), BOTH_VENDORS, True),
    StrictOnly("utf8", _rule("decode", "utf8"), BOTH_VENDORS, True),
    StrictOnly("openapi", _openapi_not_null, ("lucidworks",), False),
    StrictOnly("openapi-null", _null_without_default, ("lucidworks",), False),
    StrictOnly("openapi-null-default", _null_with_default, ("lucidworks",), True),
    StrictOnly("dive", _inside_product_details, ("lucidworks",), False),
    # The Neuralens page's "should" rules: lenient accepts and warns (docs/signal-quality.md).
    StrictOnly(
        "one-item-unless-purchase",
        _rule("semantic", "one-item-unless-purchase"),
        ("neuralens",),
        False,
    ),
    StrictOnly("query-required", _rule("semantic", "query-required"), ("neuralens",), False),
)


def strict_only_rules(error: FieldError, vendor: str) -> list[StrictOnly]:
    """The rules that account for a strict error lenient does not raise (none: undocumented)."""
    return [rule for rule in STRICT_ONLY if vendor in rule.vendors and rule.claims(error)]

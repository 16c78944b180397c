"""Neuralens rules across fields, which the event schema cannot say in plain words.

Each rule quotes its source on the Neuralens Event Tracking page. A rule runs only when the
fields it reads have the right types; otherwise the schema layer has already said so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from mockserver.validation.errors import FieldError

# "The index of the product/suggestion that is viewed, clicked, favorited or added to cart"
POSITIONAL_EVENTS = frozenset(
    {
        "VIEW_PRODUCT",
        "CLICK_PRODUCT",
        "VIEW_SUGGESTION",
        "CLICK_SUGGESTION",
        "FAVORITE",
        "ADD_TO_CART",
    }
)
# "VIEW_SUGGESTION (Autocomplete suggestion)", "CLICK_SUGGESTION (Autocomplete suggestion)"
SUGGESTION_EVENTS = frozenset({"VIEW_SUGGESTION", "CLICK_SUGGESTION"})
# "if a user adds items to cart from search results page, the ADD_TO_CART event object should
# contain the respective query text": events on a search page come from a query.
QUERY_PAGES = frozenset({"SEARCH_RESULT_PAGE", "AUTOCOMPLETE"})

Rule = Callable[[Mapping[str, Any]], Iterator[FieldError]]
# The rules that rest on a "should" of the page, not a "must": the lenient profile (the most
# permissive plausible reading) accepts the event and reports them as warnings instead.
SHOULD_RULES = frozenset({"one-item-unless-purchase", "query-required"})


def _one_item_unless_purchase(event: Mapping[str, Any]) -> Iterator[FieldError]:
    kind, items = _text(event, "event"), event.get("items")
    if kind is not None and isinstance(items, list) and kind != "PURCHASE" and len(items) > 1:
        yield _semantic(
            "items",
            "one-item-unless-purchase",
            f"items must hold exactly one product for {kind} (got {len(items)}); "
            "only PURCHASE may list several",
        )


def _semantic(field: str, rule: str, message: str) -> FieldError:
    return FieldError(f"$.{field}", rule, "semantic", message)


def _text(event: Mapping[str, Any], name: str) -> str | None:
    """The field if it is a string; anything else is the schema layer's to report."""
    value = event.get(name)
    return value if isinstance(value, str) else None


def _index_for_positional_events(event: Mapping[str, Any]) -> Iterator[FieldError]:
    kind = _text(event, "event")
    if kind in POSITIONAL_EVENTS and "index" not in event:
        yield _semantic(
            "index",
            "index-required",
            f"{kind} needs index, the 0-based position of the product or suggestion",
        )


def _suggestions_on_autocomplete(event: Mapping[str, Any]) -> Iterator[FieldError]:
    kind, page = _text(event, "event"), _text(event, "page")
    if kind in SUGGESTION_EVENTS and page is not None and page != "AUTOCOMPLETE":
        yield _semantic(
            "page",
            "suggestion-page",
            f"{kind} is an autocomplete suggestion event; page must be AUTOCOMPLETE, not {page}",
        )


def _query_on_search_pages(event: Mapping[str, Any]) -> Iterator[FieldError]:
    page, query = _text(event, "page"), event.get("query")
    if page in QUERY_PAGES and (query is None or query == ""):
        yield _semantic(
            "query",
            "query-required",
            f"events on {page} must carry query, the search text they came from",
        )


RULES: tuple[Rule, ...] = (
    _one_item_unless_purchase,
    _index_for_positional_events,
    _suggestions_on_autocomplete,
    _query_on_search_pages,
)


def semantic_errors(event: Any) -> list[FieldError]:
    if not isinstance(event, Mapping):
        return []
    return [error for rule in RULES for error in rule(event)]

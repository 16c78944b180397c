"""mockserver.validation.neuralens_rules: the Neuralens rules across fields, and their words."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.validation.neuralens_rules import semantic_errors


def _event(**fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "uid": "u1",
        "items": [{"id": "AV768"}],
        "page": "PRODUCT_PAGE",
        "event": "SHARE",
        "timestamp": 1715644800,
    }
    event.update(fields)
    return {name: value for name, value in event.items() if value is not ...}


def _found(event: Any) -> list[tuple[str, str, str, str]]:
    return [(e.path, e.rule, e.layer, e.message) for e in semantic_errors(event)]


@pytest.mark.parametrize(
    ("kind", "count", "refused"),
    [
        ("ADD_TO_CART", 2, True),
        ("SHARE", 3, True),
        ("ADD_TO_CART", 1, False),
        ("PURCHASE", 3, False),
        ("SHARE", 0, False),  # the schema's minItems says so, not this rule
    ],
)
def test_only_a_purchase_may_list_several_items(kind: str, count: int, refused: bool) -> None:
    items = [{"id": str(i)} for i in range(count)]
    expected = (
        [
            (
                "$.items",
                "one-item-unless-purchase",
                "semantic",
                f"items must hold exactly one product for {kind} (got {count}); "
                "only PURCHASE may list several",
            )
        ]
        if refused
        else []
    )
    assert _found(_event(event=kind, items=items, index=0)) == expected


@pytest.mark.parametrize(
    "kind",
    [
        "VIEW_PRODUCT",
        "CLICK_PRODUCT",
        "VIEW_SUGGESTION",
        "CLICK_SUGGESTION",
        "FAVORITE",
        "ADD_TO_CART",
    ],
)
def test_a_positional_event_needs_its_index(kind: str) -> None:
    page = "AUTOCOMPLETE" if "SUGGESTION" in kind else "PRODUCT_PAGE"
    query = "chair" if page == "AUTOCOMPLETE" else ...
    assert _found(_event(event=kind, page=page, query=query)) == [
        (
            "$.index",
            "index-required",
            "semantic",
            f"{kind} needs index, the 0-based position of the product or suggestion",
        )
    ]
    assert _found(_event(event=kind, page=page, query=query, index=0)) == []


@pytest.mark.parametrize("kind", ["SHARE", "LAND_PRODUCT_PAGE", "PURCHASE", 7, None])
def test_other_events_need_no_index(kind: object) -> None:
    assert _found(_event(event=kind)) == []


@pytest.mark.parametrize("kind", ["VIEW_SUGGESTION", "CLICK_SUGGESTION"])
@pytest.mark.parametrize("page", ["SEARCH_RESULT_PAGE", "CATEGORY_PAGE", "PRODUCT_PAGE"])
def test_a_suggestion_event_belongs_on_the_autocomplete_page(kind: str, page: str) -> None:
    found = _found(_event(event=kind, page=page, index=0, query="chair"))
    assert found == [
        (
            "$.page",
            "suggestion-page",
            "semantic",
            f"{kind} is an autocomplete suggestion event; page must be AUTOCOMPLETE, not {page}",
        )
    ]


@pytest.mark.parametrize("page", ["AUTOCOMPLETE", None, 3])
def test_a_suggestion_event_on_autocomplete_or_without_a_readable_page_passes(
    page: object,
) -> None:
    assert _found(_event(event="CLICK_SUGGESTION", page=page, index=0, query="c")) == []


@pytest.mark.parametrize("page", ["SEARCH_RESULT_PAGE", "AUTOCOMPLETE"])
@pytest.mark.parametrize("query", [..., None, ""])
def test_an_event_on_a_search_page_must_carry_its_query(page: str, query: object) -> None:
    assert _found(_event(page=page, query=query)) == [
        (
            "$.query",
            "query-required",
            "semantic",
            f"events on {page} must carry query, the search text they came from",
        )
    ]


@pytest.mark.parametrize(
    ("page", "query"),
    [
        ("SEARCH_RESULT_PAGE", "chair"),
        ("AUTOCOMPLETE", " "),
        ("CATEGORY_PAGE", ...),
        ("PRODUCT_PAGE", ""),
    ],
)
def test_a_query_is_needed_on_search_pages_only(page: str, query: object) -> None:
    assert _found(_event(page=page, query=query)) == []


def test_every_broken_rule_is_reported_in_order() -> None:
    event = _event(event="VIEW_SUGGESTION", page="SEARCH_RESULT_PAGE", items=[{}, {}])
    assert [rule for _, rule, _, _ in _found(event)] == [
        "one-item-unless-purchase",
        "index-required",
        "suggestion-page",
        "query-required",
    ]


@pytest.mark.parametrize("event", [None, [], "x", 1])
def test_a_body_that_is_no_object_has_no_rules_across_fields(event: object) -> None:
    assert semantic_errors(event) == []


def test_items_that_are_no_array_are_left_to_the_schema() -> None:
    assert _found(_event(event="ADD_TO_CART", index=0, items={"a": 1, "b": 2})) == []

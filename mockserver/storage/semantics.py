"""What the analytics must know of each vendor's events, declared by the vendor (its
``SPEC.analytics``) and handed to the store: the store builds its SQL from these declarations
and names no vendor and no event type itself.

Where the figures read a position, a revenue, a page or a query, the vendor's module has
already put it in the event's own columns (``vendors/<name>.py``'s ``events``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class VendorAnalytics:
    vendor: str
    session_gap_ms: int  # a user's events this far apart or more are two sessions
    clicks: tuple[str, ...]  # event types that are a click on a product
    cart_adds: tuple[str, ...]
    purchases: tuple[str, ...]  # their revenue column is summed
    # How a search is told apart: "query_id", by its queryId within namespace and tenant
    # (a signal of a type in search_types carries it, a click names it); "session_query", by
    # session and query (an event on a page in search_pages, a click with the same query).
    search_by: Literal["query_id", "session_query"]
    search_types: tuple[str, ...] = ()
    search_pages: tuple[str, ...] = ()
    session_ids: bool = False  # an event's non-empty session id is its session
    # A search signal that names no product is a search with no results (only searches told
    # apart by query_id have a signal of their own to say so).
    empty_means_no_results: bool = False


def _text(value: str) -> str:
    """A SQL string literal (these are constants of the vendors' code, not request data)."""
    return "'" + value.replace("'", "''") + "'"


def _among(values: Iterable[str]) -> str:
    return ", ".join(map(_text, values))


def _either(clauses: Sequence[str]) -> str:
    return "(" + " OR ".join(clauses) + ")" if clauses else "(1 = 0)"


class Semantics:
    """The vendors' declarations as SQL conditions on a row of ``events`` (its columns
    unqualified), and as the bound parameters of the session gaps."""

    def __init__(self, vendors: Sequence[VendorAnalytics]) -> None:
        self.vendors = tuple(vendors)
        self.gaps: Mapping[str, int] = {v.vendor: v.session_gap_ms for v in self.vendors}
        self.clicks = self._of_types(lambda v: v.clicks)
        self.cart_adds = self._of_types(lambda v: v.cart_adds)
        self.purchases = self._of_types(lambda v: v.purchases)
        by_id = [v for v in self.vendors if v.search_by == "query_id"]
        by_session = [v for v in self.vendors if v.search_by == "session_query"]
        self.by_query_id = self._vendor_in(by_id)
        self.by_session_query = self._vendor_in(by_session)
        signals = [f"vendor = {_text(v.vendor)} AND type IN ({_among(v.search_types)})"
                   for v in by_id if v.search_types]  # fmt: skip
        pages = [f"vendor = {_text(v.vendor)} AND page IN ({_among(v.search_pages)})"
                 for v in by_session if v.search_pages]  # fmt: skip
        self.search_signal = _either(signals + pages)
        empty = [
            f"vendor = {_text(v.vendor)} AND type IN ({_among(v.search_types)})"
            for v in by_id
            if v.empty_means_no_results and v.search_types
        ]
        self.no_results = f"({_either(empty)} AND items = '[]')"
        with_ids = self._vendor_in([v for v in self.vendors if v.session_ids])
        self.has_session_id = f"({with_ids} AND coalesce(session, '') <> '')"

    def _of_types(self, types: Callable[[VendorAnalytics], tuple[str, ...]]) -> str:
        return _either(
            [
                f"vendor = {_text(v.vendor)} AND type IN ({_among(types(v))})"
                for v in self.vendors
                if types(v)
            ]
        )

    @staticmethod
    def _vendor_in(vendors: Sequence[VendorAnalytics]) -> str:
        return f"(vendor IN ({_among(v.vendor for v in vendors)}))" if vendors else "(1 = 0)"

    def gap(self) -> str:
        """A row's session gap: the bound ``gap_N`` of its vendor (null for a vendor not
        declared: its users' events are one session)."""
        cases = " ".join(
            f"WHEN {_text(v.vendor)} THEN :gap_{n}" for n, v in enumerate(self.vendors)
        )
        return f"CASE vendor {cases} END" if cases else "NULL"

    def gap_params(self, overrides: Mapping[str, int]) -> dict[str, int]:
        """The ``gap_N`` parameters: each vendor's declared gap unless ``overrides`` names it."""
        return {
            f"gap_{n}": overrides.get(v.vendor, v.session_gap_ms)
            for n, v in enumerate(self.vendors)
        }

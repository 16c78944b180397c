"""mockserver.simulate.shoppers: the shoppers' model as docs/demo.md states it, on a few hundred
seeded sessions; its timing rules at their bounds, with a random stream held at its extremes."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import replace
from itertools import pairwise

import pytest

from mockserver.simulate.catalogue import Catalogue, Product
from mockserver.simulate.shoppers import (
    MAX_SEARCHES,
    THINGS_NOT_SOLD,
    Session,
    Shoppers,
    Step,
    arrivals,
    attractiveness,
    new_id,
)

START = 1_764_460_800_000
BOTH = ("lucidworks", "neuralens")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


@pytest.fixture  # each test its own: mutmut runs only the tests that reach the mutant
def sessions(catalogue: Catalogue) -> list[Session]:
    shoppers = Shoppers(catalogue, random.Random(7), BOTH)
    return [shoppers.session(START + n * 60_000) for n in range(200)]


def _searches(session: Session) -> list[Step]:
    return [step for step in session.steps if step.kind == "search"]


def test_a_session_searches_one_to_five_times_and_each_time_searches_again_at_55_percent(
    sessions: list[Session],
) -> None:
    counts = Counter(len(_searches(session)) for session in sessions)
    assert set(counts) == set(range(1, MAX_SEARCHES + 1)) == {1, 2, 3, 4, 5}
    again = sum(n - 1 for n in counts.elements())
    stopped = sum(1 for n in counts.elements() if n < MAX_SEARCHES)
    assert 0.47 <= again / (again + stopped) <= 0.63


def test_about_a_third_of_sessions_are_returning_visitors(sessions: list[Session]) -> None:
    seen: set[str] = set()
    returning = 0
    for session in sessions:
        returning += session.visitor_id in seen
        seen.add(session.visitor_id)
    assert 0.28 <= returning / len(sessions) <= 0.42


def test_each_session_has_its_own_ids_and_a_documentation_address(
    sessions: list[Session],
) -> None:
    for ids in ([s.session_id for s in sessions], [s.cart_id for s in sessions]):
        assert len(set(ids)) == len(sessions)
        assert all(uuid.UUID(id_).version == 4 and str(uuid.UUID(id_)) == id_ for id_ in ids)
    assert all(s.ip.startswith("203.0.113.") for s in sessions)
    assert min(int(s.ip.rsplit(".", 1)[1]) for s in sessions) >= 1
    assert max(int(s.ip.rsplit(".", 1)[1]) for s in sessions) <= 254
    assert uuid.UUID(new_id(random.Random(1))).version == 4


def test_both_vendors_shop_and_only_neuralens_shoppers_browse_and_use_the_autocomplete(
    sessions: list[Session], catalogue: Catalogue
) -> None:
    vendors = Counter(session.vendor for session in sessions)
    assert 0.4 <= vendors["neuralens"] / len(sessions) <= 0.6
    neuralens = [s for s in sessions if s.vendor == "neuralens"]
    for session in sessions:
        kinds = [step.kind for step in session.steps]
        if session.vendor == "lucidworks":
            assert "browse" not in kinds
            assert "suggest" not in kinds
        assert "browse" not in kinds[1:]  # a category page first, if at all
    browsing = [s.steps[0] for s in neuralens if s.steps[0].kind == "browse"]
    assert 0.15 <= len(browsing) / len(neuralens) <= 0.35
    for step in browsing:
        (category,) = [c for c in catalogue.categories if c.lower() == step.query]
        assert step.products == tuple(catalogue.in_category(category))
    searches = [step for s in neuralens for step in _searches(s)]
    suggested = [
        (before, after)
        for s in neuralens
        for before, after in pairwise(s.steps)
        if before.kind == "suggest"
    ]
    assert 0.2 <= len(suggested) / len(searches) <= 0.4
    for suggestion, search in suggested:
        assert search.kind == "search"
        assert suggestion.suggestion == search.query
        assert search.query is not None
        assert suggestion.query == search.query[:3]  # typed three letters, took a suggestion


def test_a_click_is_on_a_result_of_its_search_at_its_rank_and_opens_its_page(
    sessions: list[Session],
) -> None:
    clicks = 0
    for session in sessions:
        searches = _searches(session)
        for n, step in enumerate(session.steps):
            if step.kind != "click":
                continue
            clicks += 1
            (search,) = [s for s in searches if s.query_id == step.query_id]
            assert search.at_ms < step.at_ms
            assert step.query == search.query
            assert step.position is not None
            assert search.products[step.position - 1] == step.products[0]
            then = session.steps[n + 1]  # the product's page: of that search, at that rank
            assert then == replace(step, at_ms=then.at_ms, kind="view")
    assert clicks > 100


def test_a_fifth_of_clicks_go_into_the_cart_and_two_in_five_carts_are_bought(
    sessions: list[Session],
) -> None:
    clicks = carts = with_cart = bought = 0
    for session in sessions:
        kinds = [step.kind for step in session.steps]
        clicks += kinds.count("click")
        carts += kinds.count("cart")
        added = tuple(p for step in session.steps if step.kind == "cart" for p in step.products)
        for view, cart in pairwise(session.steps):
            if cart.kind == "cart":  # from the product's page: of its search, at its rank
                assert view.kind == "view"
                assert cart == replace(view, at_ms=cart.at_ms, kind="cart")
        purchases = [step for step in session.steps if step.kind == "purchase"]
        if added:
            with_cart += 1
            bought += len(purchases)
        if purchases:
            assert session.steps[-1] == purchases[0]  # the last thing done
            assert purchases[0].products == added  # the cart, as it was filled
        assert len(purchases) <= 1
        assert added or not purchases  # no cart, no purchase
    assert 0.14 <= carts / clicks <= 0.26
    assert 0.28 <= bought / with_cart <= 0.52


def test_queries_follow_their_popularity_with_a_few_typos_and_things_not_sold(
    sessions: list[Session], catalogue: Catalogue
) -> None:
    queries = [step.query or "" for s in sessions for step in _searches(s)]
    known = [q for q in queries if q in catalogue.queries]
    not_sold = [q for q in queries if q in THINGS_NOT_SOLD]
    typos = [q for q in queries if q not in catalogue.queries and q not in THINGS_NOT_SOLD]
    assert 0.02 <= len(not_sold) / len(queries) <= 0.07
    assert 0.04 <= len(typos) / len(queries) <= 0.11
    for typo in typos:  # a letter dropped, never the first or the last
        assert any(
            len(q) == len(typo) + 1 and q[0] == typo[0] and q[-1] == typo[-1]
            and any(q[:cut] + q[cut + 1 :] == typo for cut in range(1, len(q) - 1))
            for q in catalogue.queries
        ), typo  # fmt: skip
    popular = Counter(known)
    head = catalogue.queries[0]
    assert popular.most_common(1)[0][0] == head
    assert 0.08 <= popular[head] / len(known) <= 0.22  # 1 / H(392): about one search in 6.5


def _tiny(*words: str) -> Catalogue:
    return Catalogue(
        [
            Product(f"SKU-{n}", word.title(), "Home", 5.0, "USD", "", (word,), n)
            for n, word in enumerate(words)
        ]
    )


def test_a_query_of_three_letters_is_never_misspelt_and_one_of_four_sometimes_is() -> None:
    shoppers = Shoppers(_tiny("mug", "ring"), random.Random(3), ("lucidworks",))
    queries = Counter(step.query for _ in range(300) for step in _searches(shoppers.session(START)))
    assert set(queries) - set(THINGS_NOT_SOLD) == {"mug", "ring", "rng", "rig"}


class Extreme(random.Random):
    """A random stream whose waits and ranges are at their lowest (or highest) bound."""

    def __init__(self, seed: int, high: bool) -> None:
        super().__init__(seed)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        assert stop is not None
        assert step == 1
        return stop - 1 if self.high else start


# Seconds between two steps: at least, at most. "search" after a step is a new search.
WAITS = {
    ("browse", "suggest"): (5, 40),
    ("browse", "search"): (5, 40),
    ("suggest", "search"): (1, 4),
    ("search", "click"): (5, 40),
    ("view", "click"): (5, 40),
    ("cart", "click"): (5, 40),
    ("click", "view"): (1, 3),
    ("view", "cart"): (10, 90),
    ("search", "search"): (20, 180),
    ("view", "search"): (20, 180),
    ("cart", "search"): (20, 180),
    ("search", "suggest"): (20, 180),
    ("view", "suggest"): (20, 180),
    ("cart", "suggest"): (20, 180),
    ("view", "purchase"): (60, 300),
    ("cart", "purchase"): (60, 300),
    ("search", "purchase"): (60, 300),
}


HOUR = 3_600_000


@pytest.fixture(params=[False, True], ids=["lowest", "highest"])
def extreme(request: pytest.FixtureRequest, catalogue: Catalogue) -> tuple[bool, list[Session]]:
    """150 sessions, an hour apart, whose waits and ranges are all at one bound."""
    high: bool = request.param
    shoppers = Shoppers(catalogue, Extreme(11, high), BOTH)
    return high, [shoppers.session(START + n * HOUR) for n in range(150)]


def test_each_wait_between_steps_is_within_its_bounds_and_reaches_them(
    extreme: tuple[bool, list[Session]],
) -> None:
    high, sessions = extreme
    seen = set()
    for n, session in enumerate(sessions):
        assert session.steps[0].at_ms == START + n * HOUR
        for before, after in pairwise(session.steps):
            pair = (before.kind, after.kind)
            seen.add(pair)
            assert after.at_ms - before.at_ms == WAITS[pair][high] * 1000, pair
    assert seen >= set(WAITS) - {("search", "purchase")}


def test_a_shoppers_address_may_be_the_first_or_the_last_of_the_documentation_network(
    extreme: tuple[bool, list[Session]],
) -> None:
    high, sessions = extreme
    assert {session.ip for session in sessions} == {"203.0.113.254" if high else "203.0.113.1"}


def test_a_typo_may_drop_the_second_or_the_second_to_last_letter(
    extreme: tuple[bool, list[Session]], catalogue: Catalogue
) -> None:
    high, sessions = extreme
    typos = [
        step.query
        for session in sessions
        for step in _searches(session)
        if step.query not in catalogue.queries and step.query not in THINGS_NOT_SOLD
    ]
    assert len(typos) > 5
    for typo in typos:
        assert any(
            len(q) > 3 and (q[:-2] + q[-1:] if high else q[:1] + q[2:]) == typo
            for q in catalogue.queries
        ), typo


def test_a_products_attractiveness_is_fixed_between_15_and_55_percent(
    catalogue: Catalogue,
) -> None:
    values = [attractiveness(p) for p in catalogue.products]
    assert min(values) == 0.15  # the id whose hash starts with a 0 byte
    assert max(values) == pytest.approx(0.55, abs=1e-12)  # and with 255
    copy = Product(catalogue.products[0].id, "Other", "Other", 1.0, "EUR", "", (), 99)
    assert attractiveness(copy) == values[0]  # from the id alone


class Steady(random.Random):
    """A random stream whose every gap between arrivals is the same, and says its rate."""

    def __init__(self, gap_seconds: float) -> None:
        super().__init__(0)
        self.gap_seconds = gap_seconds
        self.rates: set[float] = set()

    def expovariate(self, lambd: float = 1.0) -> float:
        self.rates.add(lambd)
        return self.gap_seconds


def test_sessions_arrive_a_drawn_number_of_seconds_apart_until_the_end_and_not_at_it() -> None:
    steady = Steady(1.5)
    assert list(arrivals(steady, START, START + 6_000, 0.25)) == [
        START + 1_500, START + 3_000, START + 4_500
    ]  # fmt: skip
    assert list(arrivals(steady, START, START + 6_001, 0.25))[-1] == START + 6_000
    assert steady.rates == {0.25}
    endless = arrivals(Steady(0.0004), START, None, 2.0)  # rounded to the millisecond
    assert [next(endless) for _ in range(3)] == [START, START + 1, START + 1]

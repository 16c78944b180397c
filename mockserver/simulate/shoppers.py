"""Simulated shoppers: sessions of searches, clicks, cart adds and purchases, in simulated time.

Everything is drawn from ``random.Random`` streams seeded by the caller, and every time is the
simulated clock's, never the wall clock's: the same seed and start give the same sessions.

The model, and the figures it produces (docs/demo.md, "Simulated shoppers"):
- a session searches 1 + Geometric(0.45) times (at most 5); 7% of queries carry a typo and 4%
  ask for something the shop does not sell, so some searches find nothing;
- clicks follow a position-based click model: the shopper examines the result at rank r with
  probability ``EXAMINE_TOP / r ** EXAMINE_DECAY`` and clicks it if it attracts them, with a
  per-product attractiveness between 0.15 and 0.55 (Chuklin, Markov and de Rijke, "Click
  Models for Web Search", 2015, ch. 3); at most two clicks a search;
- a clicked product goes into the cart with probability 0.2; a session with a cart ends in a
  purchase with probability 0.4 (Lucidworks then replaces the cartId);
- 35% of sessions are returning visitors (the same visitor id as an earlier session);
- Neuralens shoppers sometimes start on a category page and use the autocomplete.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from mockserver.simulate.catalogue import Catalogue, Product

EXAMINE_TOP = 0.6
EXAMINE_DECAY = 0.9
MAX_CLICKS_PER_SEARCH = 2
CART_AFTER_CLICK = 0.2
PURCHASE_WITH_CART = 0.4
RETURNING = 0.35
TYPO = 0.07
NOT_SOLD = 0.04
MORE_SEARCHES = 0.55  # after each search, another one with this probability (at most 5)
MAX_SEARCHES = 5
AUTOCOMPLETE = 0.3  # Neuralens: a search starts from a suggestion
BROWSE_FIRST = 0.25  # Neuralens: a session starts on a category page
THINGS_NOT_SOLD = ("gift card", "warranty", "store hours", "tv mount", "return label")


@dataclass(frozen=True)
class Step:
    """One thing a shopper did; the vendor encoders turn it into that vendor's request."""

    at_ms: int
    kind: str  # search, suggest, click, view, cart, purchase, browse
    query: str | None = None
    query_id: str | None = None  # the search this step belongs to (Lucidworks queryId)
    products: tuple[Product, ...] = ()  # search results; the one product; the cart bought
    position: int | None = None  # 1-based
    suggestion: str | None = None


@dataclass
class Session:
    vendor: str
    visitor_id: str
    session_id: str
    ip: str
    cart_id: str
    steps: list[Step] = field(default_factory=list)


def new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def attractiveness(product: Product) -> float:
    """Fixed per product (from its id, not from a random stream): 0.15 to 0.55."""
    digest = hashlib.sha256(product.id.encode()).digest()
    return 0.15 + 0.4 * (digest[0] / 255)


class Shoppers:
    def __init__(self, catalogue: Catalogue, rng: random.Random, vendors: tuple[str, ...]):
        self.catalogue = catalogue
        self.rng = rng
        self.vendors = vendors
        self.visitors: list[str] = []

    def session(self, start_ms: int) -> Session:
        rng = self.rng
        vendor = rng.choice(self.vendors)
        if self.visitors and rng.random() < RETURNING:
            visitor = rng.choice(self.visitors)
        else:
            visitor = new_id(rng)
            self.visitors.append(visitor)
        ip = f"203.0.113.{rng.randrange(1, 255)}"
        session = Session(vendor, visitor, new_id(rng), ip, new_id(rng))
        clock = _Clock(start_ms, rng)
        cart: list[Product] = []
        if vendor == "neuralens" and rng.random() < BROWSE_FIRST:
            category = rng.choice(self.catalogue.categories)
            shown = self.catalogue.in_category(category)
            session.steps.append(
                Step(clock.now, "browse", products=tuple(shown), query=category.lower())
            )
            clock.wait(5, 40)
        for _ in range(MAX_SEARCHES):
            self._search(session, clock, cart)
            if rng.random() >= MORE_SEARCHES:
                break
            clock.wait(20, 180)
        if cart and rng.random() < PURCHASE_WITH_CART:
            clock.wait(60, 300)
            session.steps.append(Step(clock.now, "purchase", products=tuple(cart)))
        return session

    def _search(self, session: Session, clock: _Clock, cart: list[Product]) -> None:
        rng = self.rng
        query = self._query()
        query_id = new_id(rng)
        if session.vendor == "neuralens" and rng.random() < AUTOCOMPLETE:
            session.steps.append(Step(clock.now, "suggest", query=query[:3], suggestion=query))
            clock.wait(1, 4)
        results = tuple(self.catalogue.search(query))
        session.steps.append(Step(clock.now, "search", query, query_id, results))
        clicks = 0
        for rank, product in enumerate(results, start=1):
            examined = rng.random() < EXAMINE_TOP / rank**EXAMINE_DECAY
            if not examined or rng.random() >= attractiveness(product):
                continue
            clock.wait(5, 40)
            session.steps.append(Step(clock.now, "click", query, query_id, (product,), rank))
            clock.wait(1, 3)
            session.steps.append(Step(clock.now, "view", query, query_id, (product,), rank))
            if rng.random() < CART_AFTER_CLICK:
                clock.wait(10, 90)
                session.steps.append(Step(clock.now, "cart", query, query_id, (product,), rank))
                cart.append(product)
            clicks += 1
            if clicks == MAX_CLICKS_PER_SEARCH:
                break

    def _query(self) -> str:
        rng = self.rng
        if rng.random() < NOT_SOLD:
            return rng.choice(THINGS_NOT_SOLD)
        queries = self.catalogue.queries
        query = rng.choices(queries, cum_weights=self.catalogue.query_cum_weights)[0]
        if rng.random() < TYPO and len(query) > 3:
            cut = rng.randrange(1, len(query) - 1)
            query = query[:cut] + query[cut + 1 :]  # a letter dropped
        return query


class _Clock:
    """A session's simulated time: waits are uniform between two bounds, in seconds."""

    def __init__(self, start_ms: int, rng: random.Random) -> None:
        self.now = start_ms
        self.rng = rng

    def wait(self, low: float, high: float) -> None:
        self.now += round(self.rng.uniform(low, high) * 1000)


def arrivals(
    rng: random.Random, start_ms: int, end_ms: int | None, per_second: float
) -> Iterator[int]:
    """Session start times: a Poisson process of ``per_second`` from ``start_ms``, until
    ``end_ms`` (None: for ever)."""
    now = float(start_ms)
    while True:
        now += rng.expovariate(per_second) * 1000
        if end_ms is not None and now >= end_ms:
            return
        yield round(now)

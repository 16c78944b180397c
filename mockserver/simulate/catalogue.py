"""The demo shop's catalogue (``fixtures/demo/catalogue.json``) and its search.

Queries a shopper may type are the catalogue's own words and two-word phrases from product
titles; their popularity follows a Zipf law (the k-th most popular is searched about 1/k as
often), so a few head queries carry much of the traffic and a long tail the rest, as in a
real shop's logs. The search ranks the products that have every word of the query, most
matching title words first, then a fixed per-product popularity.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from mockserver.settings import data_dir

RESULTS_PER_PAGE = 10
ZIPF_EXPONENT = 1.0


@dataclass(frozen=True)
class Product:
    id: str
    title: str
    category: str
    price: float
    currency: str
    image_uri: str
    terms: tuple[str, ...]
    rank: int  # fixed popularity: a lower rank comes first among equal matches


class Catalogue:
    def __init__(self, products: Sequence[Product]) -> None:
        self.products = tuple(products)
        self.categories = tuple(sorted({p.category for p in self.products}))

    @classmethod
    def load(cls, path: Path | None = None) -> Catalogue:
        path = path or data_dir() / "fixtures" / "demo" / "catalogue.json"
        rows = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            [
                Product(
                    id=row["id"],
                    title=row["title"],
                    category=row["category"],
                    price=row["price"],
                    currency=row["currency"],
                    image_uri=row["image_uri"],
                    terms=tuple(row["terms"]),
                    rank=rank,
                )
                for rank, row in enumerate(rows)
            ]
        )

    @cached_property
    def queries(self) -> tuple[str, ...]:
        """Every query a shopper may type, most popular first: single words by how many
        products have them, then two-word phrases from titles."""
        counts: dict[str, int] = {}
        for product in self.products:
            words = product.title.lower().split()
            for term in product.terms:
                counts[term] = counts.get(term, 0) + 1
            for first, second in itertools.pairwise(words):
                phrase = f"{first} {second}"
                counts[phrase] = counts.get(phrase, 0) + 1
        return tuple(sorted(counts, key=lambda q: (-counts[q], len(q.split()), q)))

    @cached_property
    def query_weights(self) -> tuple[float, ...]:
        return tuple(1 / (k**ZIPF_EXPONENT) for k in range(1, len(self.queries) + 1))

    @cached_property
    def query_cum_weights(self) -> tuple[float, ...]:
        """For ``random.choices(cum_weights=...)``: the same draws as ``weights=``, without
        summing every query's weight again for each search."""
        return tuple(itertools.accumulate(self.query_weights))

    def search(self, query: str, limit: int = RESULTS_PER_PAGE) -> list[Product]:
        words = query.lower().split()
        if not words:
            return []
        matching = [p for p in self.products if all(w in p.terms for w in words)]
        matching.sort(key=lambda p: (-sum(w in p.title.lower() for w in words), p.rank))
        return matching[:limit]

    def in_category(self, category: str, limit: int = RESULTS_PER_PAGE) -> list[Product]:
        return [p for p in self.products if p.category == category][:limit]

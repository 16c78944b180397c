"""mockserver.simulate.catalogue: the demo shop's products, as its file lists them, and its
search: every word of the query, most matching title words first, then popularity."""

from __future__ import annotations

import json
from pathlib import Path

from mockserver.simulate.catalogue import Catalogue, Product


def _product(rank: int, title: str, category: str, *extra_terms: str) -> Product:
    terms = tuple(sorted({*title.lower().split(), category.lower(), *extra_terms}))
    return Product(f"SKU-{rank}", title, category, 10.0 + rank, "USD",
                   f"https://img.example.com/{rank}.jpg", terms, rank)  # fmt: skip


SHOP = Catalogue(
    [
        _product(0, "Cotton Socks", "Clothing", "blue"),  # blue, but not in its title
        _product(1, "Blue Cotton Shirt", "Clothing"),
        _product(2, "Red Cotton Shirt", "Clothing"),
        _product(3, "Blue Cotton Hat", "Clothing"),
        _product(4, "Blue Mug", "Home"),
    ]
)


def _ids(products: list[Product]) -> list[str]:
    return [product.id for product in products]


def test_a_search_finds_the_products_with_every_word_most_title_matches_first() -> None:
    assert _ids(SHOP.search("Blue  COTTON")) == ["SKU-1", "SKU-3", "SKU-0"]
    assert _ids(SHOP.search("cotton")) == ["SKU-0", "SKU-1", "SKU-2", "SKU-3"]  # by popularity
    assert _ids(SHOP.search("blue cotton", limit=2)) == ["SKU-1", "SKU-3"]
    assert SHOP.search("gift card") == []


def test_an_empty_search_finds_nothing() -> None:
    assert SHOP.search("") == []
    assert SHOP.search("   ") == []


def test_a_page_of_results_or_of_a_category_shows_ten_products() -> None:
    many = Catalogue([_product(rank, f"Lamp {rank}", "Home") for rank in range(12)])
    assert _ids(many.search("lamp")) == [f"SKU-{rank}" for rank in range(10)]
    assert _ids(many.in_category("Home")) == [f"SKU-{rank}" for rank in range(10)]
    assert _ids(many.in_category("Home", limit=3)) == ["SKU-0", "SKU-1", "SKU-2"]


def test_a_category_page_shows_that_categorys_products_in_popularity_order() -> None:
    assert _ids(SHOP.in_category("Clothing")) == ["SKU-0", "SKU-1", "SKU-2", "SKU-3"]
    assert _ids(SHOP.in_category("Home")) == ["SKU-4"]
    assert SHOP.in_category("Toys") == []
    assert SHOP.categories == ("Clothing", "Home")


def test_the_catalogue_is_read_from_its_file_in_order_of_popularity(tmp_path: Path) -> None:
    rows = [
        {"id": "SKU-9", "title": "Lamp", "category": "Home", "price": 12.5, "currency": "EUR",
         "image_uri": "https://img.example.com/9.jpg", "terms": ["lamp", "home"]},
        {"id": "SKU-3", "title": "Mug", "category": "Kitchen", "price": 3.0, "currency": "USD",
         "image_uri": "https://img.example.com/3.jpg", "terms": ["mug"]},
    ]  # fmt: skip
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    assert Catalogue.load(path).products == (
        Product("SKU-9", "Lamp", "Home", 12.5, "EUR", "https://img.example.com/9.jpg",
                ("lamp", "home"), 0),
        Product("SKU-3", "Mug", "Kitchen", 3.0, "USD", "https://img.example.com/3.jpg",
                ("mug",), 1),
    )  # fmt: skip


def test_the_demo_shop_has_300_products_each_with_an_image() -> None:
    shop = Catalogue.load()
    assert len(shop.products) == 300
    assert [p.rank for p in shop.products] == list(range(300))
    assert len({p.id for p in shop.products}) == 300
    assert all(p.image_uri.startswith("https://") for p in shop.products)

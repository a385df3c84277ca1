"""The catalog's data and how money is printed."""

import pytest
from shop.catalog import PRODUCTS, find_product, format_cents


def test_every_sku_is_unique() -> None:
    skus = [product.sku for product in PRODUCTS]
    assert len(skus) == len(set(skus))


def test_every_price_is_positive_whole_cents() -> None:
    assert all(isinstance(p.price_cents, int) and p.price_cents > 0 for p in PRODUCTS)


def test_find_product_by_sku() -> None:
    product = find_product("MUG-BLUE")
    assert product is not None
    assert product.name == "Blue mug"


def test_find_product_is_exact() -> None:
    assert find_product("mug-blue") is None
    assert find_product("") is None


def test_product_json_has_api_fields() -> None:
    assert PRODUCTS[0].as_json() == {
        "sku": "TEA-GREEN",
        "name": "Green tea",
        "category": "tea",
        "price_cents": 650,
    }


@pytest.mark.parametrize(
    ("cents", "text"),
    [(0, "0.00"), (5, "0.05"), (1250, "12.50"), (100000, "1000.00"), (-495, "-4.95")],
)
def test_format_cents(cents: int, text: str) -> None:
    assert format_cents(cents) == text

"""Pricing invariants checked over many seeded random carts, the way a property test would."""

import random

import pytest
from shop.cart import COUPONS, SHIPPING_CENTS, CartLine, Coupon, Totals, ValidationError, price
from shop.catalog import PRODUCTS

CARTS_PER_SEED = 15_000


def random_cart(rng: random.Random) -> tuple[list[CartLine], Coupon | None]:
    products = rng.sample(PRODUCTS, rng.randint(1, len(PRODUCTS)))
    lines = [CartLine(product, rng.randint(1, 15)) for product in products]
    coupon = rng.choice([None, *COUPONS.values()])
    return lines, coupon


def priced_carts(seed: int) -> list[tuple[list[CartLine], Coupon | None, Totals]]:
    rng = random.Random(seed)
    carts = []
    for _ in range(CARTS_PER_SEED):
        lines, coupon = random_cart(rng)
        try:
            carts.append((lines, coupon, price(lines, coupon)))
        except ValidationError:
            carts.append((lines, None, price(lines)))
    return carts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_total_is_subtotal_minus_discount_plus_shipping(seed: int) -> None:
    for _, _, totals in priced_carts(seed):
        assert totals.total_cents == (
            totals.subtotal_cents - totals.discount_cents + totals.shipping_cents
        )


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_discount_never_exceeds_subtotal(seed: int) -> None:
    for _, _, totals in priced_carts(seed):
        assert 0 <= totals.discount_cents <= totals.subtotal_cents
        assert totals.shipping_cents in (0, SHIPPING_CENTS)


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_line_order_does_not_change_the_price(seed: int) -> None:
    for lines, coupon, totals in priced_carts(seed):
        assert price(lines[::-1], coupon) == totals

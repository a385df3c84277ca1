"""Cart rules: what a valid cart line is, and how a cart is priced (discounts, shipping)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shop.catalog import Product, find_product, format_cents

MAX_QUANTITY = 99
BULK_QUANTITY = 10
BULK_PERCENT_OFF = 10
SHIPPING_CENTS = 495
FREE_SHIPPING_FROM_CENTS = 5000


class ValidationError(ValueError):
    """A request the shop refuses; `field` names the part of the request that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class CartLine:
    """A quantity of one product."""

    product: Product
    quantity: int

    @property
    def gross_cents(self) -> int:
        """Price of the line before any discount."""
        return self.product.price_cents * self.quantity

    def as_json(self) -> dict[str, Any]:
        """The line as the API shows it."""
        return {
            "sku": self.product.sku,
            "name": self.product.name,
            "quantity": self.quantity,
            "unit_price_cents": self.product.price_cents,
            "line_total_cents": self.gross_cents,
        }


@dataclass(frozen=True)
class Coupon:
    """A code that takes a percentage or a fixed amount off orders above a minimum."""

    code: str
    percent_off: int = 0
    amount_off_cents: int = 0
    minimum_cents: int = 0


COUPONS: dict[str, Coupon] = {
    coupon.code: coupon
    for coupon in (
        Coupon("WELCOME10", percent_off=10),
        Coupon("TEATIME", amount_off_cents=500, minimum_cents=2000),
        Coupon("HALFPOT", percent_off=50, minimum_cents=4500),
    )
}


@dataclass(frozen=True)
class Totals:
    """What a cart costs, in cents."""

    subtotal_cents: int
    discount_cents: int
    shipping_cents: int
    total_cents: int

    def as_json(self) -> dict[str, int]:
        """The totals as the API shows them."""
        return {
            "subtotal_cents": self.subtotal_cents,
            "discount_cents": self.discount_cents,
            "shipping_cents": self.shipping_cents,
            "total_cents": self.total_cents,
        }


def parse_line(raw: object) -> CartLine:
    """A cart line from request JSON such as {"sku": "TEA-GREEN", "quantity": 2}."""
    if not isinstance(raw, dict):
        raise ValidationError("items", "each item must be an object with 'sku' and 'quantity'")
    sku = raw.get("sku")
    if not isinstance(sku, str) or not sku:
        raise ValidationError("sku", "'sku' must be a non-empty string")
    product = find_product(sku)
    if product is None:
        raise ValidationError("sku", f"unknown product {sku!r}")
    return CartLine(product, check_quantity(raw.get("quantity", 1)))


def parse_lines(raw: object) -> list[CartLine]:
    """Cart lines from a request's 'items' list; the same product twice is merged."""
    if not isinstance(raw, list):
        raise ValidationError("items", "'items' must be a list")
    lines: list[CartLine] = []
    for item in raw:
        lines = add_line(lines, parse_line(item))
    return lines


def check_quantity(quantity: object) -> int:
    """A quantity is a whole number from 1 to MAX_QUANTITY (JSON true is not 1)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ValidationError("quantity", "'quantity' must be a whole number")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationError("quantity", f"'quantity' must be between 1 and {MAX_QUANTITY}")
    return quantity


def add_line(lines: Iterable[CartLine], new: CartLine) -> list[CartLine]:
    """The cart with `new` added, merged into an existing line of the same product."""
    merged = list(lines)
    for index, line in enumerate(merged):
        if line.product == new.product:
            merged[index] = CartLine(line.product, check_quantity(line.quantity + new.quantity))
            return merged
    return [*merged, new]


def find_coupon(code: str | None) -> Coupon | None:
    """The coupon for a code as a customer types it (any case, stray spaces); None for no code."""
    if code is None or not code.strip():
        return None
    coupon = COUPONS.get(code.strip().upper())
    if coupon is None:
        raise ValidationError("coupon", f"unknown coupon {code.strip()!r}")
    return coupon


def percent_of(cents: int, percent: int) -> int:
    """`percent` % of an amount, rounded half up to whole cents."""
    return (cents * percent + 50) // 100


def bulk_discount_cents(line: CartLine) -> int:
    """Lines of BULK_QUANTITY or more of one product get BULK_PERCENT_OFF off."""
    return percent_of(line.gross_cents, BULK_PERCENT_OFF) if line.quantity >= BULK_QUANTITY else 0


def coupon_discount_cents(coupon: Coupon, amount_cents: int) -> int:
    """What a coupon takes off an amount that already has bulk discounts applied."""
    if amount_cents < coupon.minimum_cents:
        raise ValidationError(
            "coupon",
            f"{coupon.code} needs an order of at least {format_cents(coupon.minimum_cents)}",
        )
    discount = percent_of(amount_cents, coupon.percent_off) + coupon.amount_off_cents
    return min(discount, amount_cents)


def shipping_cents(lines: list[CartLine], discounted_cents: int) -> int:
    """Flat-rate shipping, free for an empty cart or a large enough order."""
    if not lines or discounted_cents >= FREE_SHIPPING_FROM_CENTS:
        return 0
    return SHIPPING_CENTS


def price(lines: list[CartLine], coupon: Coupon | None = None) -> Totals:
    """Price a cart: bulk discounts per line, then the coupon, then shipping."""
    subtotal = sum(line.gross_cents for line in lines)
    discount = sum(bulk_discount_cents(line) for line in lines)
    if coupon is not None:
        discount += coupon_discount_cents(coupon, subtotal - discount)
    shipping = shipping_cents(lines, subtotal - discount)
    return Totals(subtotal, discount, shipping, subtotal - discount + shipping)

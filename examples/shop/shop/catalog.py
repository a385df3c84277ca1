"""The products the shop sells."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Product:
    """One thing for sale; prices are whole cents so sums are exact."""

    sku: str
    name: str
    category: str
    price_cents: int

    def as_json(self) -> dict[str, Any]:
        """The product as the API shows it."""
        return asdict(self)


PRODUCTS: tuple[Product, ...] = (
    Product("TEA-GREEN", "Green tea", "tea", 650),
    Product("TEA-BLACK", "Black tea", "tea", 550),
    Product("MUG-BLUE", "Blue mug", "kitchen", 1200),
    Product("POT-IRON", "Cast-iron teapot", "kitchen", 4500),
    Product("HONEY-JAR", "Wildflower honey", "pantry", 899),
    Product("BISC-OAT", "Oat biscuits", "pantry", 375),
)

_BY_SKU = {product.sku: product for product in PRODUCTS}


def find_product(sku: str) -> Product | None:
    """The product with this SKU, or None when the shop does not sell it."""
    return _BY_SKU.get(sku)


def format_cents(cents: int) -> str:
    """Cents as the shop prints money: 1250 -> '12.50'."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole}.{rest:02d}"

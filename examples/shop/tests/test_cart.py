"""Cart validation and pricing: bulk discounts, coupons and shipping."""

import pytest
from shop.cart import (
    FREE_SHIPPING_FROM_CENTS,
    MAX_QUANTITY,
    SHIPPING_CENTS,
    CartLine,
    ValidationError,
    add_line,
    find_coupon,
    parse_line,
    parse_lines,
    percent_of,
    price,
)
from shop.catalog import find_product


def line(sku: str, quantity: int) -> CartLine:
    product = find_product(sku)
    assert product is not None
    return CartLine(product, quantity)


def test_parse_line_reads_sku_and_quantity() -> None:
    assert parse_line({"sku": "TEA-BLACK", "quantity": 3}) == line("TEA-BLACK", 3)


def test_parse_line_defaults_to_one() -> None:
    assert parse_line({"sku": "TEA-BLACK"}).quantity == 1


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("TEA-BLACK", "items"),
        ({"quantity": 1}, "sku"),
        ({"sku": "", "quantity": 1}, "sku"),
        ({"sku": "COFFEE", "quantity": 1}, "sku"),
        ({"sku": "TEA-BLACK", "quantity": "2"}, "quantity"),
        ({"sku": "TEA-BLACK", "quantity": True}, "quantity"),
        ({"sku": "TEA-BLACK", "quantity": 2.5}, "quantity"),
        ({"sku": "TEA-BLACK", "quantity": 0}, "quantity"),
        ({"sku": "TEA-BLACK", "quantity": MAX_QUANTITY + 1}, "quantity"),
    ],
)
def test_parse_line_rejects(raw: object, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_line(raw)
    assert caught.value.field == field


def test_parse_lines_merges_the_same_product() -> None:
    lines = parse_lines([{"sku": "MUG-BLUE", "quantity": 1}, {"sku": "MUG-BLUE", "quantity": 2}])
    assert lines == [line("MUG-BLUE", 3)]


def test_parse_lines_needs_a_list() -> None:
    with pytest.raises(ValidationError, match="must be a list"):
        parse_lines({"sku": "MUG-BLUE"})


def test_add_line_keeps_other_lines_in_order() -> None:
    cart = [line("TEA-GREEN", 1), line("MUG-BLUE", 1)]
    assert add_line(cart, line("TEA-GREEN", 2)) == [line("TEA-GREEN", 3), line("MUG-BLUE", 1)]


def test_add_line_refuses_more_than_the_maximum() -> None:
    with pytest.raises(ValidationError, match="between 1 and"):
        add_line([line("TEA-GREEN", MAX_QUANTITY)], line("TEA-GREEN", 1))


@pytest.mark.parametrize("code", ["WELCOME10", "welcome10", "  Welcome10 "])
def test_find_coupon_ignores_case_and_spaces(code: str) -> None:
    coupon = find_coupon(code)
    assert coupon is not None
    assert coupon.code == "WELCOME10"


@pytest.mark.parametrize("code", [None, "", "   "])
def test_no_coupon_code_means_no_coupon(code: str | None) -> None:
    assert find_coupon(code) is None


def test_unknown_coupon_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown coupon 'FREE'"):
        find_coupon("FREE")


@pytest.mark.parametrize(
    ("cents", "percent", "expected"),
    [(1000, 10, 100), (995, 10, 100), (994, 10, 99), (4500, 50, 2250), (1, 50, 1), (0, 10, 0)],
)
def test_percent_of_rounds_half_up(cents: int, percent: int, expected: int) -> None:
    assert percent_of(cents, percent) == expected


def test_empty_cart_costs_nothing() -> None:
    assert price([]).as_json() == {
        "subtotal_cents": 0,
        "discount_cents": 0,
        "shipping_cents": 0,
        "total_cents": 0,
    }


def test_small_order_pays_shipping() -> None:
    totals = price([line("TEA-GREEN", 2)])
    assert (totals.subtotal_cents, totals.shipping_cents, totals.total_cents) == (1300, 495, 1795)


@pytest.mark.parametrize(
    ("skus", "shipping"),
    [(["POT-IRON", "BISC-OAT"], SHIPPING_CENTS), (["POT-IRON", "TEA-BLACK"], 0)],
)
def test_shipping_is_free_from_the_threshold(skus: list[str], shipping: int) -> None:
    totals = price([line(sku, 1) for sku in skus])
    assert (totals.subtotal_cents >= FREE_SHIPPING_FROM_CENTS) == (shipping == 0)
    assert totals.shipping_cents == shipping


@pytest.mark.parametrize(("quantity", "discount"), [(9, 0), (10, 375), (12, 450)])
def test_bulk_discount_starts_at_ten(quantity: int, discount: int) -> None:
    assert price([line("BISC-OAT", quantity)]).discount_cents == discount


def test_welcome_coupon_takes_ten_percent() -> None:
    coupon = find_coupon("WELCOME10")
    assert price([line("MUG-BLUE", 2)], coupon).discount_cents == 240


def test_fixed_coupon_needs_its_minimum() -> None:
    coupon = find_coupon("TEATIME")
    with pytest.raises(ValidationError, match=r"at least 20\.00"):
        price([line("MUG-BLUE", 1)], coupon)
    assert price([line("MUG-BLUE", 2)], coupon).discount_cents == 500


def test_coupon_applies_after_bulk_discount() -> None:
    totals = price([line("TEA-GREEN", 10)], find_coupon("WELCOME10"))
    assert totals.discount_cents == 650 + 585


def test_shipping_threshold_counts_the_discounted_amount() -> None:
    cart = [line("POT-IRON", 1), line("HONEY-JAR", 1)]
    assert price(cart).shipping_cents == 0
    assert price(cart, find_coupon("WELCOME10")).shipping_cents == SHIPPING_CENTS

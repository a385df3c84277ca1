"""Steps that drive the shop's HTTP API and check its answers."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from behave import given, then, when


def cents(amount: str) -> int:
    """'17.95' as 1795: money in the features is written the way the page prints it."""
    return int(Decimal(amount) * 100)


def remember(context: Any, status: int, payload: Any) -> None:
    """Keep the last answer for the Then steps, and the cart when the answer is one."""
    context.status, context.payload = status, payload
    if status in (200, 201) and "id" in payload:
        context.cart = payload


@given('a cart with {quantity:d} of "{sku}"')
def step_cart_with(context: Any, quantity: int, sku: str) -> None:
    status, payload = context.shop.post(
        "/api/cart", {"items": [{"sku": sku, "quantity": quantity}]}
    )
    assert status == 201, payload
    remember(context, status, payload)


@given("an empty cart")
def step_empty_cart(context: Any) -> None:
    status, payload = context.shop.post("/api/cart", {})
    assert status == 201, payload
    remember(context, status, payload)


@when("I create a cart with the item {item}")
def step_create_cart_with_item(context: Any, item: str) -> None:
    remember(context, *context.shop.post("/api/cart", {"items": [json.loads(item)]}))


@when('I add {quantity:d} of "{sku}" to the cart')
def step_add(context: Any, quantity: int, sku: str) -> None:
    path = f"/api/cart/{context.cart['id']}/items"
    remember(context, *context.shop.post(path, {"sku": sku, "quantity": quantity}))


@when('I request "{path}"')
def step_request(context: Any, path: str) -> None:
    remember(context, *context.shop.get(path))


@when("I request the cart")
def step_request_cart(context: Any) -> None:
    remember(context, *context.shop.get(f"/api/cart/{context.cart['id']}"))


@when('I request the cart "{cart_id}"')
def step_request_cart_by_id(context: Any, cart_id: str) -> None:
    remember(context, *context.shop.get(f"/api/cart/{cart_id}"))


@when('I check out with the coupon "{coupon}"')
def step_checkout_with_coupon(context: Any, coupon: str) -> None:
    body = {"cart_id": context.cart["id"], "coupon": coupon}
    remember(context, *context.shop.post("/api/checkout", body))


@when('I check out with the coupon ""')
@when("I check out without a coupon")
def step_checkout(context: Any) -> None:
    remember(context, *context.shop.post("/api/checkout", {"cart_id": context.cart["id"]}))


@then("the response status is {status:d}")
def step_status(context: Any, status: int) -> None:
    assert context.status == status, f"got {context.status}: {context.payload}"


@then('the response field "{field}" is "{value}"')
def step_field(context: Any, field: str, value: str) -> None:
    assert context.payload[field] == value, context.payload


@then('the error concerns "{field}"')
def step_error_field(context: Any, field: str) -> None:
    assert context.payload.get("field") == field, context.payload


@then("the catalog has {count:d} products")
def step_product_count(context: Any, count: int) -> None:
    assert len(context.payload["products"]) == count


@then('product "{sku}" costs {amount}')
def step_product_price(context: Any, sku: str, amount: str) -> None:
    prices = {p["sku"]: p["price_cents"] for p in context.payload["products"]}
    assert prices[sku] == cents(amount), prices


@then("the cart has {count:d} line")
@then("the cart has {count:d} lines")
def step_line_count(context: Any, count: int) -> None:
    assert len(context.cart["items"]) == count, context.cart


@then('the cart has {quantity:d} of "{sku}"')
def step_cart_quantity(context: Any, quantity: int, sku: str) -> None:
    quantities = {item["sku"]: item["quantity"] for item in context.cart["items"]}
    assert quantities.get(sku) == quantity, quantities


@then("the cart total is {amount}")
def step_cart_total(context: Any, amount: str) -> None:
    assert context.cart["totals"]["total_cents"] == cents(amount), context.cart["totals"]


@then("the order discount is {amount}")
def step_order_discount(context: Any, amount: str) -> None:
    assert context.payload["totals"]["discount_cents"] == cents(amount), context.payload


@then("the order total is {amount}")
def step_order_total(context: Any, amount: str) -> None:
    assert context.payload["totals"]["total_cents"] == cents(amount), context.payload

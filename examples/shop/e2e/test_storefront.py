"""A shopper's path through the page: browse, fill the cart, check out."""

import re

import pytest
from playwright.sync_api import Page, expect


@pytest.fixture
def shop(page: Page) -> Page:
    """The shop's page, once its product list has loaded."""
    page.goto("/")
    expect(page.locator("#products tr")).to_have_count(6)
    return page


def add_to_cart(page: Page, product_name: str) -> None:
    row = page.locator("#products tr", has_text=product_name)
    row.get_by_role("button", name="Add to cart").click()


def test_page_lists_every_product_with_its_price(shop: Page) -> None:
    expect(shop).to_have_title("Tea shop")
    expect(shop.locator("#products tr", has_text="Cast-iron teapot")).to_contain_text("45.00")
    expect(shop.locator("#empty-cart")).to_be_visible()
    expect(shop.get_by_role("button", name="Check out")).to_be_disabled()


def test_adding_products_updates_the_cart_total(shop: Page) -> None:
    add_to_cart(shop, "Green tea")
    expect(shop.locator("#cart-total")).to_have_text("11.45")
    add_to_cart(shop, "Blue mug")
    expect(shop.locator("#cart-lines tr")).to_have_count(2)
    expect(shop.locator("#cart-total")).to_have_text("23.45")
    expect(shop.locator("#empty-cart")).to_be_hidden()


def test_adding_the_same_product_twice_raises_its_quantity(shop: Page) -> None:
    add_to_cart(shop, "Oat biscuits")
    expect(shop.locator("#cart-lines tr")).to_have_count(1)
    add_to_cart(shop, "Oat biscuits")
    expect(shop.locator("#cart-lines tr")).to_have_count(1)
    expect(shop.locator("#cart-lines tr .quantity")).to_have_text("2")
    expect(shop.locator("#cart-total")).to_have_text("12.45")


def test_checkout_with_a_coupon_places_the_order(shop: Page) -> None:
    add_to_cart(shop, "Cast-iron teapot")
    add_to_cart(shop, "Wildflower honey")
    expect(shop.locator("#cart-total")).to_have_text("53.99")
    shop.get_by_label("Coupon").fill("welcome10")
    shop.get_by_role("button", name="Check out").click()
    expect(shop.get_by_role("status")).to_have_text(
        re.compile(r"Order order-\d+ placed: 53\.54 paid \(5\.40 off\)\.")
    )
    expect(shop.locator("#empty-cart")).to_be_visible()
    expect(shop.locator("#cart-total")).to_have_text("0.00")


def test_unknown_coupon_is_shown_and_the_cart_kept(shop: Page) -> None:
    add_to_cart(shop, "Black tea")
    shop.get_by_label("Coupon").fill("FREESTUFF")
    shop.get_by_role("button", name="Check out").click()
    expect(shop.get_by_role("status")).to_have_text("unknown coupon 'FREESTUFF'")
    expect(shop.locator("#cart-lines tr")).to_have_count(1)
    expect(shop.get_by_role("button", name="Check out")).to_be_enabled()

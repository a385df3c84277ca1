"""Deterministic local stand-ins for the language models an assistant would call.

Neither is a real model: `keyword-stub` matches words, `template-stub` matches question
patterns. They make the eval suite runnable offline; a real suite would call a model API here.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable

from shop.cart import COUPONS, FREE_SHIPPING_FROM_CENTS, SHIPPING_CENTS, CartLine, price
from shop.catalog import PRODUCTS, Product, format_cents

SHIPPING_ANSWER = (
    f"Shipping costs {format_cents(SHIPPING_CENTS)} and is free for orders "
    f"from {format_cents(FREE_SHIPPING_FROM_CENTS)}."
)


CATEGORIES = {product.category for product in PRODUCTS}


def words(text: str) -> set[str]:
    """Lower-case words and numbers, so matching ignores case and punctuation."""
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def best_product(question: str) -> Product | None:
    """The product sharing the most words with the question, if any share one.

    Category words do not count: "tea" alone names the range, not "Green tea".
    """
    asked = words(question) - CATEGORIES
    scored = [(len(words(product.name) & asked), product) for product in PRODUCTS]
    score, product = max(scored, key=lambda item: item[0])
    return product if score else None


def quantity_in(question: str) -> int:
    """The first number in the question, 1 when there is none."""
    match = re.search(r"\b(\d+)\b", question)
    return int(match[1]) if match else 1


def keyword_stub(question: str) -> str:
    """Answers from the first topic keyword found and the best-matching product."""
    asked = words(question)
    product = best_product(question)
    if asked & {"shipping", "delivery"}:
        return SHIPPING_ANSWER
    if asked & {"coupon", "coupons", "discount", "code"}:
        return "Coupon codes: " + ", ".join(sorted(COUPONS)) + "."
    if product is None:
        category = next(iter(sorted(CATEGORIES & asked)), None)
        if category is None:
            return "We do not sell that."
        return ", ".join(p.name for p in PRODUCTS if p.category == category) + "."
    if asked & {"category", "kind", "section"}:
        return f"{product.name}: {product.category}."
    quantity = quantity_in(question)
    if quantity > 1:
        totals = price([CartLine(product, quantity)])
        paid = totals.subtotal_cents - totals.discount_cents
        return f"{quantity} x {product.name}: {format_cents(paid)} before shipping."
    return f"{product.name}: {format_cents(product.price_cents)}."


Answer = Callable[[re.Match[str]], str]
NOT_IN_CATALOG = "Sorry, that product is not in our catalog."


def named_product(text: str) -> Product | None:
    """The product whose full name appears in the text."""
    return next((p for p in PRODUCTS if p.name.lower() in text.lower()), None)


def shipping_answer(match: re.Match[str]) -> str:
    return SHIPPING_ANSWER


def coupon_answer(match: re.Match[str]) -> str:
    return "You can use the codes " + " or ".join(sorted(COUPONS)) + " at checkout."


def quantity_answer(match: re.Match[str]) -> str:
    product = named_product(match["item"])
    if product is None:
        return NOT_IN_CATALOG
    totals = price([CartLine(product, int(match["quantity"]))])
    paid = format_cents(totals.subtotal_cents - totals.discount_cents)
    return f"{match['quantity']} of the {product.name} come to {paid}, shipping not included."


def category_answer(match: re.Match[str]) -> str:
    product = named_product(match.string)
    if product is None:
        return NOT_IN_CATALOG
    return f"The {product.name} is in our {product.category} range."


def range_answer(match: re.Match[str]) -> str:
    names = [p.name for p in PRODUCTS if p.category == match["category"].lower()]
    if not names:
        return "Sorry, we do not have that range."
    return "We have " + " and ".join(names) + "."


def price_answer(match: re.Match[str]) -> str:
    product = named_product(match.string)
    if product is None:
        return NOT_IN_CATALOG
    return f"The {product.name} is priced at {format_cents(product.price_cents)}."


TEMPLATES: tuple[tuple[re.Pattern[str], Answer], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), answer)
    for pattern, answer in (
        (r"shipping|deliver", shipping_answer),
        (r"coupon|discount code|promo", coupon_answer),
        (r"(?P<quantity>\d+) (?:packs? of |jars? of |x )?(?P<item>[a-z -]+?)\??$", quantity_answer),
        (r"categor|which section", category_answer),
        (r"what (?P<category>\w+) do you (?:have|sell)", range_answer),
        (r"how much|price|cost|sell", price_answer),
    )
)


def template_stub(question: str) -> str:
    """Answers with the first template (in order) whose pattern matches the question."""
    for pattern, answer in TEMPLATES:
        match = pattern.search(question.strip())
        if match:
            return answer(match)
    return "Sorry, I cannot answer that."


MODELS: dict[str, Callable[[str], str]] = {
    "keyword-stub": keyword_stub,
    "template-stub": template_stub,
}


def ask(model: str, question: str) -> str:
    """One call to a model; the pause (EVALS_LATENCY seconds) stands for a hosted model's round trip."""
    time.sleep(float(os.environ.get("EVALS_LATENCY", "0.3")))
    return MODELS[model](question)

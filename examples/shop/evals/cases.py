"""Customer questions and the facts a correct answer must state."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    """One prompt; an answer scores the share of `facts` it contains (case-insensitive)."""

    name: str
    question: str
    facts: tuple[str, ...]


CASES: tuple[Case, ...] = (
    Case("teapot-price", "How much does the cast-iron teapot cost?", ("45.00",)),
    Case("green-tea-price", "What is the price of green tea?", ("6.50",)),
    Case("mug-category", "Which category is the blue mug in?", ("kitchen",)),
    Case("shipping", "How much is shipping?", ("4.95", "50.00")),
    Case("welcome-coupon", "Is there a coupon for new customers?", ("WELCOME10",)),
    Case("bulk-price", "What do I pay for 10 packs of oat biscuits?", ("33.75",)),
    Case("tea-range", "What tea do you have?", ("Green tea", "Black tea")),
    Case("not-sold", "Do you sell coffee?", ("not",)),
)


def score(case: Case, answer: str) -> float:
    """Share of the expected facts found in the answer, from 0.0 to 1.0."""
    found = [fact for fact in case.facts if fact.lower() in answer.lower()]
    return len(found) / len(case.facts)

"""behave test ids mapped to scenario locations from behave's dry-run JSON."""

from __future__ import annotations

import json
from pathlib import Path

from qaagent.tools.behave_scenarios import (
    FEATURES,
    JsonFeature,
    dotted_tails,
    select_scenarios,
)

CWD = Path("/project")


def features(*entries: dict[str, object]) -> list[JsonFeature]:
    """Features as behave's `json` formatter writes them, read the way the runner reads them."""
    return FEATURES.validate_json(json.dumps(list(entries)))


def scenario(name: str, location: str, keyword: str = "Scenario") -> dict[str, object]:
    return {"type": "scenario", "keyword": keyword, "name": name, "location": location, "steps": []}


CALCULATOR = {
    "keyword": "Feature",
    "name": "Calculator",
    "location": "features/calculator.feature:1",
    "elements": [
        {"type": "background", "keyword": "Background", "name": "", "location": "x:2"},
        scenario("Adding two numbers", "features/calculator.feature:3"),
        scenario("Doubling 1 -- @1.1 ", "features/calculator.feature:15", "Scenario Outline"),
        scenario("Doubling 4 -- @1.2 ", "features/calculator.feature:16", "Scenario Outline"),
        scenario("A wrong expectation fails", "features/calculator.feature:19"),
    ],
}


def test_an_outline_row_selects_its_own_example_line() -> None:
    selection = select_scenarios(
        ["calculator.Calculator::Doubling 4 -- @1.2 "], features(CALCULATOR), CWD
    )

    assert selection.locations == ["/project/features/calculator.feature:16"]
    assert selection.missing == []


def test_locations_follow_the_features_and_repeated_ids_count_once() -> None:
    selection = select_scenarios(
        [
            "calculator.Calculator::A wrong expectation fails",
            "calculator.Calculator::Adding two numbers",
            "calculator.Calculator::A wrong expectation fails",
        ],
        features(CALCULATOR),
        CWD,
    )

    assert selection.locations == [
        "/project/features/calculator.feature:19",
        "/project/features/calculator.feature:3",
    ]


def test_ids_without_a_scenario_now_are_missing() -> None:
    selection = select_scenarios(
        ["calculator.Calculator::Renamed since", "calculator.Calculator::Adding two numbers"],
        features(CALCULATOR),
        CWD,
    )

    assert selection.missing == ["calculator.Calculator::Renamed since"]
    assert selection.locations == ["/project/features/calculator.feature:3"]


def test_backgrounds_are_no_scenarios() -> None:
    selection = select_scenarios(["calculator.Calculator::"], features(CALCULATOR), CWD)

    assert selection.missing == ["calculator.Calculator::"]


def test_a_feature_in_a_subfolder_matches_its_short_and_long_name() -> None:
    nested = {
        "name": "Orders",
        "location": "features/shop/orders.feature:1",
        "elements": [scenario("Pay", "features/shop/orders.feature:4")],
    }
    for test_id in (
        "shop.orders.Orders::Pay",
        "orders.Orders::Pay",
        "features.shop.orders.Orders::Pay",
    ):
        assert select_scenarios([test_id], features(nested), CWD).locations == [
            "/project/features/shop/orders.feature:4"
        ]


def test_the_second_scenario_of_a_name_is_the_id_with_a_repeat_suffix() -> None:
    twice = {
        "name": "Twice",
        "location": "features/twice.feature:1",
        "elements": [
            scenario("Same", "features/twice.feature:3"),
            scenario("Same", "features/twice.feature:7"),
        ],
    }

    assert select_scenarios(["twice.Twice::Same #2"], features(twice), CWD).locations == [
        "/project/features/twice.feature:7"
    ]
    assert select_scenarios(["twice.Twice::Same"], features(twice), CWD).locations == [
        "/project/features/twice.feature:3"
    ]


def test_a_feature_without_a_name_is_named_by_its_file() -> None:
    unnamed = {
        "location": "features/plain.feature:1",
        "elements": [scenario("Works", "features/plain.feature:2")],
    }

    assert select_scenarios(["plain.plain::Works"], features(unnamed), CWD).locations == [
        "/project/features/plain.feature:2"
    ]


def test_two_files_with_the_same_short_name_are_both_selected() -> None:
    first = {
        "name": "Login",
        "location": "features/web/login.feature:1",
        "elements": [scenario("Ok", "features/web/login.feature:3")],
    }
    second = {
        "name": "Login",
        "location": "features/api/login.feature:1",
        "elements": [scenario("Ok", "features/api/login.feature:3")],
    }

    assert select_scenarios(["login.Login::Ok"], features(first, second), CWD).locations == [
        "/project/features/web/login.feature:3",
        "/project/features/api/login.feature:3",
    ]
    assert select_scenarios(["api.login.Login::Ok"], features(first, second), CWD).locations == [
        "/project/features/api/login.feature:3"
    ]


def test_absolute_locations_stay_absolute() -> None:
    outside = {
        "name": "Far",
        "location": "/elsewhere/far.feature:1",
        "elements": [scenario("Away", "/elsewhere/far.feature:5")],
    }

    assert select_scenarios(["far.Far::Away"], features(outside), CWD).locations == [
        "/elsewhere/far.feature:5"
    ]


def test_dotted_tails_drop_only_the_last_suffix() -> None:
    assert dotted_tails("features/v1.2/a.b.feature") == ["a.b", "v1.2.a.b", "features.v1.2.a.b"]
    assert dotted_tails("/abs/a.feature") == ["a", "abs.a"]

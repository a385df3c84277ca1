"""Test modules are imported by their base name (tests/ has no packages), so each is unique."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).parents[1]


def test_no_two_test_modules_share_a_name() -> None:
    names = Counter(path.name for path in TESTS.rglob("test_*.py") if "fixtures" not in path.parts)
    assert [name for name, count in names.items() if count > 1] == []

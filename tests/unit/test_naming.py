"""Task folder names: readable, stable, and one folder per task whatever the names."""

import hashlib

import pytest

from qaagent.naming import MAX_FOLDER_BYTES, folder_name, task_name


@pytest.mark.parametrize("name", ["unit", "evals[model=haiku,lang=en]", "a_b", "v1.2-rc+3@x"])
def test_a_name_that_is_already_a_safe_folder_name_is_kept_as_it_is(name: str) -> None:
    assert folder_name(name) == name


def test_a_cleaned_name_keeps_its_readable_part_and_adds_a_hash_of_the_exact_name() -> None:
    digest = hashlib.sha256(b"evals[m=a/b]").hexdigest()[:8]
    assert folder_name("evals[m=a/b]") == f"evals[m=a_b]-{digest}"


def test_names_that_clean_to_the_same_text_get_distinct_folders() -> None:
    names = [task_name("evals", {"m": value}) for value in ("a/b", "a_b", "a b", "a\\b", "a\tb")]
    names += [task_name("evals", {"lang": value}) for value in ("ü", "ö", "_", "é", "€")]
    names += ["unit[shard=1/2]", "unit[shard=1_2]", ".", "..", ""]
    assert len({folder_name(name) for name in names}) == len(names)


def test_a_clean_name_that_ends_like_a_hash_cannot_take_the_folder_of_a_hashed_one() -> None:
    hashed = folder_name("a/b")
    assert folder_name(hashed) != hashed
    assert folder_name("build-1234abcd") != "build-1234abcd"


def test_folder_names_are_stable_and_never_hold_a_separator_or_dot_names() -> None:
    for name in ("a/b", "../up", "x\0y", ".", "..", "", "ü" * 20):
        folder = folder_name(name)
        assert folder == folder_name(name)
        assert "/" not in folder and "\0" not in folder
        assert folder not in {"", ".", ".."}
        assert len(folder.encode()) <= MAX_FOLDER_BYTES


def test_a_task_name_lists_its_matrix_values_in_order() -> None:
    assert task_name("evals", {"model": "haiku", "lang": "en"}) == "evals[model=haiku,lang=en]"
    assert task_name("unit", {}) == "unit"

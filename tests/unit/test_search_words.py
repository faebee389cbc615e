"""The words of full-text search: what `q` and the index are both cut into."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from projections.words import MAX_WORD_CHARS, words


def test_words_are_runs_of_letters_and_digits_case_folded() -> None:
    assert words("Soledar-2: WAGNER's men, 12 Jan.") == [
        "soledar",
        "2",
        "wagner",
        "s",
        "men",
        "12",
        "jan",
    ]


def test_words_of_every_script_count_and_accents_stay() -> None:
    assert words("Бахмут ещё держится; Straße; naïve café; 東京") == [
        "бахмут",
        "ещё",
        "держится",
        "strasse",
        "naïve",
        "café",
        "東京",
    ]


def test_underscores_and_punctuation_separate_words() -> None:
    assert words("a_b c.d e-f g'h") == ["a", "b", "c", "d", "e", "f", "g", "h"]


def test_each_word_once_and_long_ones_cut() -> None:
    assert words("Soledar soledar SOLEDAR") == ["soledar"]
    assert words("x" * 1000) == ["x" * MAX_WORD_CHARS]


@given(st.text())
def test_words_are_never_empty_and_hold_only_word_characters(text: str) -> None:
    for word in words(text):
        assert word
        assert all(char not in " \t\n\"'" for char in word)
        assert words(word) == [word]  # a word is its own only word

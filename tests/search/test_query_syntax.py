"""The query syntax of `GET search` and the items `q` filter (lists/search.py), read without a database."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.exceptions import ValidationError

from lists.search import Term, parse


def test_words_must_all_match_and_the_last_is_also_a_prefix() -> None:
    assert parse("buy  Bread").terms == (Term("buy"), Term("Bread", prefix=True))


def test_quotes_make_a_phrase_and_a_minus_excludes() -> None:
    assert parse('"fresh bread" -milk -"sour cream" eggs').terms == (
        Term("fresh bread", phrase=True),
        Term("milk", excluded=True),
        Term("sour cream", phrase=True, excluded=True),
        Term("eggs", prefix=True),
    )


def test_a_last_phrase_or_excluded_word_is_not_a_prefix() -> None:
    assert parse('milk "fresh bread"').terms[-1] == Term("fresh bread", phrase=True)
    assert parse("milk -bread").terms[-1] == Term("bread", excluded=True)


def test_an_unclosed_quote_runs_to_the_end_and_is_typed_as_a_prefix() -> None:
    assert parse('milk "fresh bre').terms == (Term("milk"), Term("fresh bre", phrase=True, prefix=True))
    assert parse('"fresh bre milk').terms == (Term("fresh bre milk", phrase=True, prefix=True),)
    assert parse('milk -"fresh bre').terms[-1] == Term("fresh bre", phrase=True, excluded=True)
    assert parse('"fresh bre" milk').terms[0] == Term("fresh bre", phrase=True)


def test_words_of_punctuation_alone_are_ignored() -> None:
    assert parse("bread - !!! __").terms == (Term("bread", prefix=True),)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "Must not be empty."),
        ("", "Must not be empty."),
        ("   ", "Must not be empty."),
        ("a" * 501, "At most 500 characters."),
        ("bread\x00", "Must not contain NUL bytes."),
        ("-bread", "Give at least one word"),
        ('!!! "..."', "Give at least one word"),
    ],
)
def test_it_refuses_queries_with_nothing_to_find(raw: str | None, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse(raw)
    detail: Any = refused.value.detail
    assert str(detail["q"][0]).startswith(message)


def test_five_hundred_characters_are_allowed() -> None:
    assert len(parse("a" * 500).terms) == 1

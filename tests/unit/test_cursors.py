"""Page cursors: opaque, URL-safe, and refused when not made by the listing."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.cursors import decode_cursor, encode_cursor
from api.problems import ProblemError

positions = st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1)


@given(st.lists(positions, min_size=1, max_size=2))
def test_a_cursor_decodes_to_what_it_was_made_of_and_is_url_safe(numbers: list[int]) -> None:
    cursor = encode_cursor("changes", *numbers)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert decode_cursor("changes", cursor, len(numbers)) == tuple(numbers)


@pytest.mark.parametrize(
    "cursor",
    [
        encode_cursor("claims", 5),  # another listing's
        encode_cursor("changes", 5),  # too few numbers
        encode_cursor("changes", 1, 2, 3),  # too many
        "",
        "abc=",
        "a+b/",
        "Y2hhbmdlcy54Lnk",  # "changes.x.y"
        "////",
        "é",
    ],
)
def test_anything_else_is_a_422(cursor: str) -> None:
    with pytest.raises(ProblemError) as raised:
        decode_cursor("changes", cursor, 2)
    assert raised.value.status == 422


@given(st.text(max_size=200))
def test_no_string_makes_decoding_fail_otherwise_than_with_a_422(cursor: str) -> None:
    try:
        decode_cursor("claims", cursor, 1)
    except ProblemError as error:
        status = error.status
    else:
        status = 200
    assert status in (200, 422)

"""Token estimates (Poe reports none)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from poe.estimate import TokenCounter, estimate_tokens


def test_estimate_tokens():
    assert estimate_tokens("") == 0
    assert estimate_tokens("a") == 1
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("你好") == 2
    assert estimate_tokens("hi 😀") == 2


@given(st.lists(st.text(max_size=20), max_size=20))
def test_counter_matches_estimate_of_the_whole_text(pieces):
    counter = TokenCounter()
    assert counter.tokens == 0
    for i, piece in enumerate(pieces):
        counter.add(piece)
        assert counter.tokens == estimate_tokens("".join(pieces[: i + 1]))

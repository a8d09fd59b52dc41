"""ReasoningSplitter: visible thinking vs answer, the same for every split of the text."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poe.upstreams.bot_reasoning import ReasoningSplitter


def split(chunks: list[str]) -> tuple[str, str]:
    s = ReasoningSplitter()
    reasoning, content = [], []
    for chunk in chunks:
        r, c = s.feed(chunk)
        reasoning.append(r)
        content.append(c)
    r, c = s.flush()
    reasoning.append(r)
    content.append(c)
    return "".join(reasoning), "".join(content)


def whole(text: str) -> tuple[str, str]:
    return split([text])


def chars(text: str) -> list[str]:
    return list(text)


def cut(text: str, points: list[int]) -> list[str]:
    bounds = sorted({0, len(text), *(p for p in points if 0 <= p <= len(text))})
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


# ---------------------------------------------------------------- pass-through

PLAIN = [
    "Hello!",
    "",
    "T",
    "Th",
    "The answer is 4.",
    "Thinking about it, the answer is 4.",
    "Thinking",
    "Thinking..",
    "Thinking..?",
    "Think step by step.",
    "*",
    "*Thinking",
    "*bold* text",
    "**Thinking...** is bold, not a header",
    "_emphasis_",
    "_Thinking.._",
    "<",
    "<think",
    "<thinking>not the tag</thinking>",
    "<b>html</b>",
    "< think>",
    "  leading spaces",
    "\n\nleading newlines",
    "   ",
    "> a quote that is the answer\n> second line",
    "Answer first.\n*Thinking...*\n> not at the start, so not reasoning",
    "Answer first. <think>not at the start</think>",
    "😀 emoji first",
]


@pytest.mark.parametrize("text", PLAIN)
def test_answers_without_thinking_pass_through_unchanged(text):
    assert whole(text) == ("", text)
    assert split(chars(text)) == ("", text)


def test_plain_text_is_released_as_soon_as_it_is_unambiguous():
    s = ReasoningSplitter()
    assert s.feed("Hel") == ("", "Hel")
    assert s.feed("lo") == ("", "lo")
    s = ReasoningSplitter()
    assert s.feed("T") == ("", "")  # could be "Thinking..."
    assert s.feed("hinking") == ("", "")
    assert s.feed(" about") == ("", "Thinking about")
    assert s.flush() == ("", "")


# ---------------------------------------------------------------- thinking shapes

THOUGHT = "*Thinking...*\n\n> The user asks for 2+2.\n> That is 4.\n\nThe answer is **4**."


@pytest.mark.parametrize("header", ["*Thinking...*", "_Thinking..._", "Thinking..."])
def test_thinking_header_and_quoted_lines(header):
    text = f"{header}\n\n> The user asks for 2+2.\n>\n> That is 4.\n\nThe answer is **4**.\n> a quote in the answer"
    reasoning, content = whole(text)
    assert reasoning.strip("\n") == "The user asks for 2+2.\n\nThat is 4."
    assert content == "The answer is **4**.\n> a quote in the answer"
    assert split(chars(text)) == (reasoning, content)


def test_quote_marker_without_space_and_extra_spaces():
    reasoning, content = whole("Thinking...\n>a\n>  b\nanswer")
    assert reasoning == "a\n b"  # exactly one space after ">" is markup; the last newline is layout
    assert content == "answer"


def test_header_after_leading_whitespace():
    reasoning, content = whole("\n  *Thinking...*\n> why\n\nbecause")
    assert reasoning.strip() == "why"
    assert content == "because"


def test_thinking_without_an_answer_yet_streams_as_reasoning():
    s = ReasoningSplitter()
    assert s.feed("*Thinking...*\n") == ("", "")
    assert s.feed("> step") == ("step", "")
    assert s.feed(" one\n> step two") == (" one\nstep two", "")
    assert s.flush() == ("", "")


def test_think_tag():
    text = "<think>\nLet me see.\n2+2=4\n</think>\n\nIt is 4."
    assert whole(text) == ("Let me see.\n2+2=4", "It is 4.")  # no stray newlines around the thought
    assert split(chars(text)) == whole(text)


def test_think_tag_after_leading_whitespace_and_answer_keeps_later_tags():
    assert whole("  \n<think>hmm</think>ok <think>x</think>") == ("hmm", "ok <think>x</think>")


def test_think_tag_streams_reasoning_and_holds_only_a_possible_close_tag():
    s = ReasoningSplitter()
    assert s.feed("<think>abc</th") == ("abc", "")
    assert s.feed("is is not it <") == ("</this is not it ", "")
    assert s.feed("/think>") == ("", "")
    assert s.feed("\n\nDone") == ("", "Done")


def test_unclosed_think_tag_is_all_reasoning():
    assert whole("<think>still thinking </thi") == ("still thinking </thi", "")


def test_empty_think_block():
    assert whole("<think></think>Answer") == ("", "Answer")
    assert whole("<think></think>") == ("", "")


def test_newlines_after_close_tag_are_dropped_across_reads():
    assert split(["<think>r</think>", "\n", "\n", "Answer\n\nmore"]) == ("r", "Answer\n\nmore")


# ---------------------------------------------------------------- every split

_tokens = st.sampled_from(
    [
        "*Thinking...*", "_Thinking..._", "Thinking...", "Thinking", "Thinking about", "*", "_", "T",
        "<think>", "</think>", "<", "</", "think", ">", "> ", " ", "\n", "\r\n", "a", "é", "😀", "4.",
    ]
)  # fmt: skip
texts = st.lists(_tokens, max_size=25).map("".join) | st.text(max_size=40)


@given(texts)
def test_char_by_char_equals_whole(text):
    assert split(chars(text)) == whole(text)


@given(texts, st.data())
def test_random_splits_equal_whole(text, data):
    points = data.draw(st.lists(st.integers(0, len(text)), max_size=12))
    assert split(cut(text, points)) == whole(text)


@given(texts)
def test_output_is_made_of_input(text):
    """Nothing is invented: content is a suffix of the input, reasoning is input text minus markup."""
    reasoning, content = whole(text)
    assert text.endswith(content)
    assert len(reasoning) + len(content) <= len(text)


@given(
    st.text(max_size=40).filter(lambda t: not t.lstrip().startswith(("*Thinking...*", "_Thinking..._", "Thinking...", "<think>")))
)
def test_any_text_not_starting_with_a_marker_is_unchanged(text):
    assert whole(text) == ("", text)
    assert split(chars(text)) == ("", text)


def test_reasoning_never_starts_or_ends_with_a_newline_but_keeps_inner_blank_lines():
    text = "*Thinking...*\n\n> The user\n>\n> wants 42.\n\nThe answer is 42."
    assert whole(text) == ("The user\n\nwants 42.", "The answer is 42.")
    s = ReasoningSplitter()
    pieces = [s.feed(c) for c in chars(text)] + [s.flush()]
    reasoning = "".join(r for r, _ in pieces)
    assert reasoning == "The user\n\nwants 42."
    sent = ""
    for r, _ in pieces:  # streamed too: at no point has the client seen a stray newline
        sent += r
        assert not sent.startswith("\n") and not sent.endswith("\n")

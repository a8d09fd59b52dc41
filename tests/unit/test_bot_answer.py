"""Assembler: Poe events -> streamed deltas and the non-streaming result."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.chat import ChatCompletionChunk

from poe.canonical import Delta, Replace, ToolCall, ToolCallDelta
from poe.estimate import estimate_tokens
from poe.upstreams.bot_answer import Assembler, file_markdown
from poe.upstreams.bot_events import Data, Done, File, JsonData, Meta, Ping, ReplaceResponse, SuggestedReply, Text


def run(events: list[Any], **kw: Any) -> tuple[Assembler, list[Delta]]:
    asm = Assembler(**kw)
    deltas = [asm.feed(ev) for ev in events]
    deltas.append(asm.flush())
    return asm, deltas


def streamed(deltas: list[Delta]) -> tuple[str, str]:
    return "".join(d.content for d in deltas), "".join(d.reasoning for d in deltas)


def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> JsonData:
    """An OpenAI streaming chunk, as a tool-using Poe bot sends it in a ``json`` event."""
    data = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    ChatCompletionChunk.model_validate(data)  # the shape is the real one
    return JsonData(data)


# ---------------------------------------------------------------- text


def test_text_events_accumulate_and_stream():
    asm, deltas = run([Meta(), Text("Hello"), Ping(), Text(", world"), SuggestedReply("more?"), Data("x"), Done()])
    assert [d.content for d in deltas] == ["", "Hello", "", ", world", "", "", "", ""]
    assert asm.content == "Hello, world" and asm.reasoning == ""
    assert asm.final_reason() == "stop"
    assert asm.tool_calls == ()


def test_empty_text_gives_an_empty_delta():
    asm = Assembler()
    d = asm.feed(Text(""))
    assert not d and d == Delta()


def test_delta_truthiness():
    assert not Delta()
    assert Delta(content="x") and Delta(reasoning="x") and Delta(tool_calls=(ToolCallDelta(0, None, None, ""),))


def test_held_back_text_is_released_by_flush():
    asm = Assembler()
    assert asm.feed(Text("T")) == Delta()  # could be "Thinking..."
    assert asm.flush() == Delta(content="T")
    assert asm.content == "T"


THINKING = "*Thinking...*\n\n> Two plus two.\n> Equals four.\n\nThe answer is 4."


def test_reasoning_is_split_from_content():
    asm, deltas = run([Text(THINKING)])
    assert asm.reasoning.strip() == "Two plus two.\nEquals four."
    assert asm.content == "The answer is 4."
    assert streamed(deltas) == (asm.content, asm.reasoning)


def test_reasoning_split_can_be_turned_off():
    asm, deltas = run([Text(THINKING)], split_reasoning=False)
    assert asm.content == THINKING and asm.reasoning == ""
    assert streamed(deltas) == (THINKING, "")


def test_think_tags_across_text_events():
    asm, _ = run([Text("<th"), Text("ink>pondering</thi"), Text("nk>\n\nDone.")])
    assert (asm.reasoning, asm.content) == ("pondering", "Done.")


_pieces = st.sampled_from(["*Thinking...*", "Thinking...", "<think>", "</think>", "\n", "> ", ">", "T", "a", "é", " ", "<", "*"])


@given(st.lists(_pieces, max_size=20).map("".join) | st.just(THINKING), st.data())
def test_same_result_for_every_split_into_text_events(text, data):
    whole, _ = run([Text(text)])
    points = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=10)))
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    asm, deltas = run([Text(p) for p in pieces])
    assert (asm.content, asm.reasoning) == (whole.content, whole.reasoning)
    # what a streaming client receives adds up to the non-streaming result
    assert streamed(deltas) == (asm.content, asm.reasoning)
    by_char, _ = run([Text(c) for c in text])
    assert (by_char.content, by_char.reasoning) == (whole.content, whole.reasoning)


# ---------------------------------------------------------------- replace_response


def test_replace_response_that_extends_sends_only_the_suffix():
    asm = Assembler()
    assert asm.feed(Text("Hello")) == Delta(content="Hello")
    assert asm.feed(ReplaceResponse("Hello, world")) == Delta(content=", world")
    assert asm.feed(Text("!")) == Delta(content="!")
    assert asm.content == "Hello, world!"


def test_replace_response_that_rewrites_changes_only_the_final_result():
    asm = Assembler()
    asm.feed(Text("Draft answer"))
    # nothing can be un-sent: a Replace (a stream gets it after a blank line, a collected answer only it)
    assert asm.feed(ReplaceResponse("Final")) == Replace(content="Final")
    assert asm.feed(Text(" text")) == Delta(content=" text")
    asm.flush()
    assert asm.content == "Final text"


def test_replace_response_before_any_text_streams_it():
    asm, deltas = run([ReplaceResponse("Whole answer")])
    assert asm.content == "Whole answer" and streamed(deltas)[0] == "Whole answer"


def test_replace_response_rewrite_resplits_reasoning():
    asm, _ = run([Text("<think>old</think>old answer"), ReplaceResponse("<think>new</think>new answer")])
    assert (asm.reasoning, asm.content) == ("new", "new answer")


# ---------------------------------------------------------------- files


def test_file_events_become_markdown():
    img = File("https://cdn/x.png", "image/png", "x.png")
    doc = File("https://cdn/r.pdf", "application/pdf", "report.pdf")
    ref = File("https://cdn/y.png", "image/png", "y.png", inline_ref="abc")
    asm, deltas = run([Text("Here:"), img, doc, Text("![pic][abc]"), ref])
    assert "![x.png](https://cdn/x.png)" in asm.content
    assert "[report.pdf](https://cdn/r.pdf)" in asm.content and "![report.pdf]" not in asm.content
    assert re.search(r"^\[abc\]: https://cdn/y\.png$", asm.content, re.M)
    assert asm.content.startswith("Here:")
    assert streamed(deltas)[0] == asm.content
    assert file_markdown(img) == "\n\n![x.png](https://cdn/x.png)\n"


def test_file_after_held_back_text_keeps_the_order():
    # "*" could start "*Thinking...*", so the splitter holds it until it knows
    asm, deltas = run([Text("*"), File("https://cdn/x.png", "image/png", "x.png"), Text("caption*")])
    assert asm.content == "*\n\n![x.png](https://cdn/x.png)\ncaption*"
    assert streamed(deltas)[0] == asm.content


def test_file_before_any_text_does_not_stop_reasoning_detection():
    asm, _ = run([File("https://cdn/x.png", "image/png", "x.png"), Text("<think>hm</think>ok")])
    assert asm.reasoning == "hm"
    assert asm.content == "\n\n![x.png](https://cdn/x.png)\nok"


# ---------------------------------------------------------------- tool calls


def test_tool_call_chunks_aggregate():
    events = [
        Meta(),
        chunk(
            {
                "role": "assistant",
                "tool_calls": [
                    {"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
                ],
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        chunk(
            {
                "tool_calls": [
                    {"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
                ]
            }
        ),
        chunk({}, finish_reason="tool_calls"),
        Done(),
    ]
    asm, deltas = run(events)
    assert asm.tool_calls == (
        ToolCall("call_a", "get_weather", '{"city":"Paris"}'),
        ToolCall("call_b", "get_time", "{}"),
    )
    assert asm.finish_reason == "tool_calls" and asm.final_reason() == "tool_calls"
    assert asm.content == ""
    calls = [tc for d in deltas for tc in d.tool_calls]
    assert calls == [
        ToolCallDelta(0, "call_a", "get_weather", ""),
        ToolCallDelta(0, None, None, '{"city":'),
        ToolCallDelta(0, None, None, '"Paris"}'),
        ToolCallDelta(1, "call_b", "get_time", "{}"),
    ]
    # the streamed pieces add up to the final arguments
    assert "".join(c.arguments for c in calls if c.index == 0) == '{"city":"Paris"}'


def test_tool_calls_without_finish_reason_still_finish_as_tool_calls():
    asm, _ = run(
        [chunk({"tool_calls": [{"index": 0, "id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]})]
    )
    assert asm.finish_reason is None
    assert asm.final_reason() == "tool_calls"


def test_finish_reason_stop_with_tool_calls_is_reported_as_tool_calls():
    asm, _ = run([
        chunk({"tool_calls": [{"index": 0, "id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}),
        chunk({}, finish_reason="stop"),
    ])  # fmt: skip
    assert asm.final_reason() == "tool_calls"


def test_finish_reason_tool_calls_without_calls_is_stop():
    asm, _ = run([chunk({"content": "no tools needed"}), chunk({}, finish_reason="tool_calls")])
    assert asm.content == "no tools needed"
    assert asm.final_reason() == "stop"


def test_missing_call_id_is_generated_and_upstream_indices_are_renumbered():
    asm, deltas = run([
        chunk({"tool_calls": [{"index": 3, "type": "function", "function": {"name": "a", "arguments": "1"}}]}),
        chunk({"tool_calls": [{"index": 7, "id": "call_x", "type": "function", "function": {"name": "b", "arguments": "2"}}]}),
        chunk({"tool_calls": [{"index": 3, "function": {"arguments": "3"}}]}),
    ])  # fmt: skip
    first, second = asm.tool_calls
    assert re.fullmatch(r"call_[0-9a-f]{24}", first.id)
    assert (first.name, first.arguments) == ("a", "13")
    assert second == ToolCall("call_x", "b", "2")
    assert [(tc.index, tc.arguments) for d in deltas for tc in d.tool_calls] == [(0, "1"), (1, "2"), (0, "3")]
    assert deltas[0].tool_calls[0].id == first.id


def test_name_arriving_after_the_first_chunk_is_streamed_too():
    asm, deltas = run([
        JsonData({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "c1", "function": {"arguments": ""}}]}}]}),
        JsonData({"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"name": "late", "arguments": "{}"}}]}}]}),
    ])  # fmt: skip
    assert asm.tool_calls == (ToolCall("c1", "late", "{}"),)
    names = [tc.name for d in deltas for tc in d.tool_calls if tc.name]
    assert names == ["late"]


def test_arguments_given_as_an_object_are_serialised():
    asm, _ = run(
        [
            JsonData(
                {
                    "choices": [
                        {"delta": {"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": {"x": 1}}}]}}
                    ]
                }
            )
        ]
    )
    assert json.loads(asm.tool_calls[0].arguments) == {"x": 1}


def test_json_content_is_text():
    asm, deltas = run(
        [chunk({"role": "assistant", "content": "Hi"}), chunk({"content": " there"}), chunk({}, finish_reason="stop")]
    )
    assert asm.content == "Hi there"
    assert streamed(deltas)[0] == "Hi there"
    assert asm.final_reason() == "stop"


@pytest.mark.parametrize(
    "data",
    [None, 1, "x", [], {}, {"choices": None}, {"choices": []}, {"choices": [1]}, {"choices": [{"delta": 5}]},
     {"choices": [{"delta": {"tool_calls": [1, None]}}]}, {"choices": [{"delta": {"tool_calls": [{"function": 3}]}}]}],
)  # fmt: skip
def test_malformed_json_events_do_not_crash(data):
    asm = Assembler()
    asm.feed(JsonData(data))
    asm.flush()
    assert asm.content == ""
    assert asm.final_reason() in ("stop", "tool_calls")


# ---------------------------------------------------------------- max_tokens


def test_max_tokens_stops_the_answer_with_length():
    asm = Assembler(max_tokens=5)
    fed = 0
    while asm.finish_reason is None:
        asm.feed(Text("abcd"))  # one token each by the estimate
        fed += 1
        assert fed < 100
    assert fed == 5
    assert asm.final_reason() == "length"
    assert estimate_tokens(asm.content) >= 5
    before = asm.content
    assert asm.feed(Text("more text")) == Delta()
    assert (
        asm.feed(chunk({"tool_calls": [{"index": 0, "id": "c", "type": "function", "function": {"name": "f", "arguments": ""}}]}))
        == Delta()
    )
    assert asm.content == before and asm.tool_calls == ()


def test_max_tokens_not_reached_finishes_with_stop():
    asm, _ = run([Text("short")], max_tokens=100)
    assert asm.final_reason() == "stop"


@given(st.lists(st.text(max_size=12), max_size=30), st.integers(1, 40))
def test_length_exactly_when_the_estimate_reaches_max_tokens(pieces, max_tokens):
    asm = Assembler(max_tokens=max_tokens, split_reasoning=False)
    for piece in pieces:
        before = asm.content
        asm.feed(Text(piece))
        if asm.finish_reason == "length":
            assert estimate_tokens(before) < max_tokens <= estimate_tokens(asm.content)
            break
    else:
        assert estimate_tokens(asm.content) < max_tokens


def test_max_tokens_counts_only_the_answer_after_a_rewrite():
    asm = Assembler(max_tokens=20)
    asm.feed(Text("a" * 60))  # 15 tokens
    asm.feed(ReplaceResponse("b" * 8))  # the answer is now 2 tokens
    asm.feed(Text("c" * 40))  # 12 tokens in all
    assert asm.finish_reason is None
    asm.feed(Text("d" * 40))
    assert asm.finish_reason == "length"


def test_max_tokens_check_is_linear_in_the_answer():
    """Clients such as Cline always send max_tokens: long answers must stay cheap."""
    asm = Assembler(max_tokens=10**9)
    started = time.perf_counter()
    for _ in range(20_000):
        asm.feed(Text("word word word word "))
    assert len(asm.content) == 400_000
    assert time.perf_counter() - started < 5  # about 0.1 s; re-counting the whole answer each time took minutes


def test_a_late_tool_name_reaches_streaming_clients():
    from poe.doors.openai_wire import ChunkWriter

    asm = Assembler()
    writer = ChunkWriter("chatcmpl-x", 0, "m")
    first = asm.feed(
        JsonData({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "c1", "function": {"arguments": ""}}]}}]})
    )
    later = asm.feed(
        JsonData({"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"name": "get_weather", "arguments": "{}"}}]}}]})
    )
    chunks = [writer.delta(first), writer.delta(later)]
    names = [tc["function"].get("name") for c in chunks for tc in c["choices"][0]["delta"]["tool_calls"]]
    assert "get_weather" in names
    assert asm.tool_calls[0].name == "get_weather"


def test_malformed_tool_calls_in_a_json_event_are_ignored():
    asm = Assembler()
    assert not asm.feed(JsonData({"choices": [{"delta": {"tool_calls": 5}}]}))
    assert asm.tool_calls == ()


def test_a_bare_json_chunk_does_not_commit_the_answer():
    from poe.upstreams.bot_events import is_meaningful

    assert not is_meaningful(JsonData({"choices": [{"delta": {"role": "assistant", "content": ""}}]}))
    assert is_meaningful(JsonData({"choices": [{"delta": {"content": "hi"}}]}))
    assert is_meaningful(JsonData({"choices": [{"delta": {"tool_calls": [{"index": 0}]}}]}))


@given(st.text())
def test_the_text_frame_shortcut_equals_the_full_chunk(text: str) -> None:
    from poe.doors.openai_wire import ChunkWriter
    from poe.sse import encode_data

    fast, slow = ChunkWriter("chatcmpl-1", 7, 'odd "model"'), ChunkWriter("chatcmpl-1", 7, 'odd "model"')
    assert fast.text_frame(text) is None  # the first delta carries the role: no shortcut
    fast.delta(Delta(content="a"))
    slow.delta(Delta(content="a"))
    assert fast.text_frame(text) == encode_data(slow.delta(Delta(content=text)))

"""Poe's OpenAI-compatible API for the translating doors: ChatRequest -> body (chat_body), chunks -> events (ChunkReader).

Chunks are written in the shape OpenAI's SDK validates (``ChatCompletionChunk``)
and read back as canonical events; the body is checked field by field,
including the reasoning hints each kind of bot declares. EventStream (the SSE
reading both upstreams share) is checked on split reads, push-back and its
watchdog.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletionChunk

from poe.canonical import ChatRequest, Delta, Failure, Finish, FunctionTool, ImagePart, Message, ToolCall, ToolCallDelta, Usage
from poe.catalogue import Catalogue, Model
from poe.errors import InvalidRequest, ProxyError, UpstreamError, UpstreamTimeout
from poe.estimate import estimate_prompt_tokens, estimate_tokens
from poe.http import UpstreamResponse
from poe.sse import SSEEvent
from poe.upstreams.event_stream import EventStream, mid_stream_error, read_answer
from poe.upstreams.openai_chunks import (
    EFFORT_BUDGETS,
    THINKING_BUDGET_MAX,
    ChunkReader,
    chat_body,
    is_claude,
    refused_fields,
    upstream_tool_name,
)

REQ = ChatRequest(
    model="gpt-5", messages=(Message(role="system", content="Be brief."), Message(role="user", content="Hello there"))
)
CLAUDE = Catalogue().resolve("claude-sonnet-4-5-20250929")
GPT = Catalogue().resolve("gpt-5")


def chunk(delta: dict[str, Any] | None = None, finish_reason: str | None = None, **extra: Any) -> SSEEvent:
    """A ``chat.completion.chunk`` frame in the shape OpenAI's SDK accepts."""
    data: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "GPT-5",
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        **extra,
    }
    ChatCompletionChunk.model_validate(data)
    return SSEEvent("message", json.dumps(data))


def frame(data: str) -> SSEEvent:
    return SSEEvent("message", data)


def call(index: int, id: str | None = None, name: str | None = None, arguments: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"index": index}
    if id is not None:
        out["id"] = id
        out["type"] = "function"
    fn = {k: v for k, v in (("name", name), ("arguments", arguments)) if v is not None}
    if fn:
        out["function"] = fn
    return out


# ---------------------------------------------------------------- ChunkReader


def test_content_and_reasoning():
    reader = ChunkReader(REQ)
    assert reader.feed(chunk({"role": "assistant", "content": ""})) == []  # nothing new: no event
    assert reader.feed(chunk({"reasoning_content": "Let me think."})) == [Delta(reasoning="Let me think.")]
    assert reader.feed(chunk({"content": "Hi"})) == [Delta(content="Hi")]
    assert reader.feed(chunk({"content": " there", "reasoning_content": "!"})) == [Delta(content=" there", reasoning="!")]
    assert reader.finish_reason is None and not reader.done


def test_reasoning_field_when_reasoning_content_is_absent():
    reader = ChunkReader(REQ)
    assert reader.feed(frame('{"choices":[{"index":0,"delta":{"reasoning":"r1"}}]}')) == [Delta(reasoning="r1")]
    both = '{"choices":[{"index":0,"delta":{"reasoning_content":"rc","reasoning":"r"}}]}'
    assert reader.feed(frame(both)) == [Delta(reasoning="rc")]  # reasoning_content wins
    assert reader.feed(frame('{"choices":[{"index":0,"delta":{"reasoning_content":null,"reasoning":"r2"}}]}')) == [
        Delta(reasoning="r2")
    ]


def test_tool_call_deltas():
    reader = ChunkReader(REQ)
    first = reader.feed(chunk({"tool_calls": [call(0, "call_a", "get_weather", "")]}))
    assert first == [Delta(tool_calls=(ToolCallDelta(0, "call_a", "get_weather", ""),))]
    more = reader.feed(chunk({"tool_calls": [call(0, arguments='{"city":')]}))
    assert more == [Delta(tool_calls=(ToolCallDelta(0, None, None, '{"city":'),))]
    two = reader.feed(chunk({"tool_calls": [call(0, arguments='"Paris"}'), call(1, "call_b", "get_time", "{}")]}))
    assert two == [Delta(tool_calls=(ToolCallDelta(0, None, None, '"Paris"}'), ToolCallDelta(1, "call_b", "get_time", "{}")))]
    assert reader.feed(chunk({}, "tool_calls")) == []
    assert reader.final_reason() == "tool_calls"


def test_tool_call_odd_fields():
    reader = ChunkReader(REQ)
    raw = {
        "choices": [
            {
                "delta": {
                    "tool_calls": [{"id": "", "function": {"name": "", "arguments": 5}}, "junk", {"function": "x"}, {"index": 7}]
                }
            }
        ]
    }
    assert reader.feed(frame(json.dumps(raw))) == [
        Delta(tool_calls=(ToolCallDelta(0, None, None, ""), ToolCallDelta(1, None, None, ""), ToolCallDelta(7, None, None, "")))
    ]


@pytest.mark.parametrize(
    ("reasons", "final"),
    [
        ([], "stop"),
        (["stop"], "stop"),
        (["length"], "length"),
        (["tool_calls"], "tool_calls"),
        (["function_call"], "tool_calls"),
        (["content_filter"], "content_filter"),
        (["length", None], "length"),
    ],
)
def test_finish_reason(reasons, final):
    reader = ChunkReader(REQ)
    reader.feed(chunk({"content": "x"}))
    for r in reasons:
        reader.feed(chunk({}, r))
    assert reader.finish_reason == (reasons[0] if reasons else None)
    assert reader.final_reason() == final


def test_usage_chunk_and_done():
    reader = ChunkReader(REQ)
    reader.feed(chunk({"content": "Hi"}, "stop"))
    usage = {
        "prompt_tokens": 12,
        "completion_tokens": 30,
        "total_tokens": 42,
        "completion_tokens_details": {"reasoning_tokens": 20},
    }
    assert reader.feed(chunk(None, usage=usage)) == []
    assert reader.usage == Usage(12, 30, 20)
    assert reader.feed(frame("[DONE]")) == [] and reader.done
    assert reader.final_usage() == Usage(12, 30, 20)


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"prompt_tokens": 5, "completion_tokens": 2}, Usage(5, 2, 0)),
        ({}, Usage(0, 0, 0)),
        ({"prompt_tokens": -1, "completion_tokens": "7", "completion_tokens_details": None}, Usage(0, 0, 0)),
        ({"prompt_tokens": True, "completion_tokens": 3.0, "completion_tokens_details": {"reasoning_tokens": 1}}, Usage(0, 0, 1)),
    ],
)
def test_usage_fields_are_read_defensively(usage, expected):
    reader = ChunkReader(REQ)
    reader.feed(frame(json.dumps({"choices": [], "usage": usage})))
    assert reader.final_usage() == expected


def test_usage_null_is_no_usage():
    reader = ChunkReader(REQ)
    reader.feed(chunk({"content": "x"}, usage=None))
    assert reader.usage is None


@pytest.mark.parametrize("data", ["[DONE]", " [DONE] ", "[DONE]\n"])
def test_done(data):
    reader = ChunkReader(REQ)
    assert reader.feed(frame(data)) == [] and reader.done


@pytest.mark.parametrize(
    ("error", "text"),
    [
        ({"message": "The bot is overloaded", "type": "server_error"}, "The bot is overloaded"),
        ("plain failure", "plain failure"),
        ({"code": 500}, "None"),
    ],
)
def test_error_frame_raises_upstream_error(error, text):
    reader = ChunkReader(REQ)
    with pytest.raises(UpstreamError) as info:
        reader.feed(frame(json.dumps({"error": error})))
    assert info.value.message == f"Poe stopped the answer: {text}"
    assert info.value.status == 502


def test_error_frame_message_is_a_snippet():
    reader = ChunkReader(REQ)
    with pytest.raises(UpstreamError) as info:
        reader.feed(frame(json.dumps({"error": {"message": "line one\n\n  line two " + "x" * 1000}})))
    assert "\n" not in info.value.message and len(info.value.message) < 400


@pytest.mark.parametrize(
    "data",
    [
        "",
        "keep-alive",
        "{",
        "[1, 2]",
        '"text"',
        "42",
        "null",
        '{"choices": null}',
        '{"choices": ["x", 1]}',
        '{"choices": [{"delta": "x"}]}',
    ],
)
def test_frames_that_are_not_chunks_are_ignored(data):
    reader = ChunkReader(REQ)
    assert reader.feed(frame(data)) == []
    assert not reader.done and reader.finish_reason is None and reader.usage is None


@pytest.mark.parametrize(
    "data",
    [
        '{"choices": 5}',
        '{"choices": true}',
        '{"choices": [{"delta": {"tool_calls": 1}}]}',
        '{"choices": [{"delta": {"tool_calls": 2.5}}]}',
    ],
)
def test_non_iterable_choices_or_tool_calls_are_ignored(data):
    assert ChunkReader(REQ).feed(frame(data)) == []


def test_estimates_when_poe_sends_no_usage():
    reader = ChunkReader(REQ)
    pieces = [
        chunk({"reasoning_content": "Thinking about it, "}),
        chunk({"reasoning_content": "ünïcode 思考"}),
        chunk({"content": "The answer "}),
        chunk({"content": "is 42 ✓"}),
        chunk({"tool_calls": [call(0, "c", "f", '{"x": 1}')]}),
        chunk({}, "stop"),
    ]
    for p in pieces:
        reader.feed(p)
    reasoning = estimate_tokens("Thinking about it, ünïcode 思考")
    completion = estimate_tokens('The answer is 42 ✓{"x": 1}')
    assert reader.final_usage() == Usage(estimate_prompt_tokens(REQ), completion + reasoning, reasoning)
    assert reader.final_usage().prompt > 0


def test_an_empty_answer_estimates_zero_completion():
    reader = ChunkReader(REQ)
    reader.feed(chunk({}, "stop"))
    assert reader.final_usage() == Usage(estimate_prompt_tokens(REQ), 0, 0)


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6)
KEYS = [
    "choices",
    "delta",
    "content",
    "reasoning_content",
    "reasoning",
    "tool_calls",
    "index",
    "id",
    "function",
    "name",
    "arguments",
    "finish_reason",
    "usage",
    "prompt_tokens",
    "completion_tokens",
    "completion_tokens_details",
    "reasoning_tokens",
    "error",
    "message",
]
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=14,
)


@settings(max_examples=150)
@given(st.lists(json_values.map(json.dumps) | st.sampled_from(["[DONE]", "", "nope"]), max_size=5))
def test_random_frames_give_events_or_upstream_error(datas):
    reader = ChunkReader(REQ)
    for data in datas:
        try:
            events = reader.feed(frame(data))
        except UpstreamError:
            break
        assert all(isinstance(e, Delta) and e for e in events)
    usage = reader.final_usage()
    assert min(usage.prompt, usage.completion, usage.reasoning) >= 0
    assert reader.final_reason() and isinstance(reader.final_reason(), str)


# ---------------------------------------------------------------- chat_body


def test_is_claude():
    assert is_claude(CLAUDE) and is_claude(Model("x", "claude-custom", "custom"))
    assert not is_claude(GPT) and not is_claude(Model("x", "My-Claude", "custom"))


def test_minimal_body():
    assert chat_body(REQ, GPT) == {
        "model": "GPT-5",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_scalar_fields():
    req = ChatRequest(
        model="gpt-5",
        messages=(Message(role="user", content="x"),),
        stream=False,  # the upstream answer is always streamed
        temperature=0.0,
        top_p=0.9,
        stop=("a", "b", "c", "d", "e"),
        max_tokens=77,
        user="u-1",
        json_mode=True,
    )
    body = chat_body(req, GPT)
    assert body["stream"] is True
    assert body["temperature"] == 0.0 and body["top_p"] == 0.9
    assert body["stop"] == ["a", "b", "c", "d"]  # Chat Completions takes at most four
    assert body["max_tokens"] == 77 and body["user"] == "u-1"
    assert body["response_format"] == {"type": "json_object"}
    assert "tools" not in body and "tool_choice" not in body and "parallel_tool_calls" not in body


def test_messages_images_tool_calls_and_tool_results():
    req = ChatRequest(
        model="gpt-5",
        messages=(
            Message(
                role="user",
                content="what is it?",
                images=(ImagePart("https://x/y.png", "low"), ImagePart("data:image/png;base64,AAAA")),
            ),
            Message(role="user", content="", images=(ImagePart("https://x/z.png"),)),
            Message(role="assistant", content="", tool_calls=(ToolCall("c1", "f", '{"a":1}'), ToolCall("c2", "g", ""))),
            Message(role="tool", content="done", tool_call_id="c1"),
            Message(role="tool", content="", tool_call_id="c2"),
            Message(role="assistant", content="Checking.", tool_calls=(ToolCall("c3", "f", "{}"),)),
            Message(role="assistant", content=""),
            Message(role="user", content="named", name="bob"),
        ),
    )
    assert chat_body(req, GPT)["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is it?"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
        },
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/z.png"}}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}},
                {"id": "c2", "type": "function", "function": {"name": "g", "arguments": ""}},
            ],
        },
        {"role": "tool", "content": "done", "tool_call_id": "c1"},
        {"role": "tool", "content": "", "tool_call_id": "c2"},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [{"id": "c3", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "named", "name": "bob"},
    ]


TOOLS = (
    FunctionTool("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}}),
    FunctionTool("apply_patch", "", {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}),
)


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
        ("apply_patch", {"type": "function", "function": {"name": "apply_patch"}}),
    ],
)
def test_tools_and_tool_choice(choice, sent):
    body = chat_body(ChatRequest(model="gpt-5", messages=REQ.messages, tools=TOOLS, tool_choice=choice), GPT)
    assert body["tools"] == [
        {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": dict(t.parameters)}}
        for t in TOOLS
    ]
    assert body["tool_choice"] == sent
    assert "parallel_tool_calls" not in body


def test_parallel_tool_calls_false_is_sent_only_with_tools():
    req = ChatRequest(model="gpt-5", messages=REQ.messages, tools=TOOLS, parallel_tool_calls=False)
    assert chat_body(req, GPT)["parallel_tool_calls"] is False
    assert "parallel_tool_calls" not in chat_body(
        ChatRequest(model="gpt-5", messages=REQ.messages, parallel_tool_calls=False), GPT
    )


def _hints(model: Model, **fields: Any) -> dict[str, Any]:
    body = chat_body(ChatRequest(model="m", messages=REQ.messages, **fields), model)
    return {k: body[k] for k in ("thinking_budget", "reasoning_effort") if k in body}


@pytest.mark.parametrize(
    ("fields", "claude", "other"),
    [
        ({}, {}, {}),
        ({"thinking_budget": 2048}, {"thinking_budget": 2048}, {}),
        ({"thinking_budget": THINKING_BUDGET_MAX}, {"thinking_budget": 31999}, {}),
        ({"thinking_budget": 64000}, {"thinking_budget": 31999}, {}),
        ({"reasoning_effort": "minimal"}, {"thinking_budget": 1024}, {"reasoning_effort": "minimal"}),
        ({"reasoning_effort": "low"}, {"thinking_budget": 2048}, {"reasoning_effort": "low"}),
        ({"reasoning_effort": "medium"}, {"thinking_budget": 8192}, {"reasoning_effort": "medium"}),
        ({"reasoning_effort": "high"}, {"thinking_budget": 16384}, {"reasoning_effort": "high"}),
        ({"reasoning_effort": "xhigh"}, {"thinking_budget": 31999}, {"reasoning_effort": "xhigh"}),
        ({"reasoning_effort": "weird"}, {}, {"reasoning_effort": "weird"}),
        ({"reasoning_effort": "low", "thinking_budget": 5000}, {"thinking_budget": 5000}, {"reasoning_effort": "low"}),
    ],
)
def test_reasoning_hints(fields, claude, other):
    assert _hints(CLAUDE, **fields) == claude
    assert _hints(GPT, **fields) == other
    assert _hints(CLAUDE, **fields) == _hints(Catalogue().resolve("Claude-Opus-4.1"), **fields)
    # hints=False drops both (a bot that refused them)
    for model in (CLAUDE, GPT):
        body = chat_body(ChatRequest(model="m", messages=REQ.messages, **fields), model, hints=False)
        assert "thinking_budget" not in body and "reasoning_effort" not in body


def test_effort_budgets_fit_the_cap():
    assert all(0 < b <= THINKING_BUDGET_MAX for b in EFFORT_BUDGETS.values())


@pytest.mark.parametrize(
    ("err", "body", "refused"),
    [
        (InvalidRequest("Unknown parameter: 'thinking_budget'"), {"thinking_budget": 1024}, ("thinking_budget",)),
        (InvalidRequest("reasoning_effort is not supported by this bot"), {"reasoning_effort": "low"}, ("reasoning_effort",)),
        (InvalidRequest("max_tokens is too large: 128000 > 16384"), {"max_tokens": 128000}, ("max_tokens",)),
        (InvalidRequest("reasoning_effort is not supported"), {"thinking_budget": 1024}, ()),  # not what was sent
        (InvalidRequest("messages: too long"), {"thinking_budget": 1024}, ()),
        (UpstreamError("thinking_budget broke Poe"), {"thinking_budget": 1024}, ()),  # not a 400
    ],
)
def test_refused_fields(err, body, refused):
    assert refused_fields(err, body) == refused


def test_long_tool_names_are_shortened_for_poe_and_restored_in_the_answer():
    long = "mcp__" + "very_long_server_name__" * 4 + "tool"
    assert len(long) > 64
    short = upstream_tool_name(long)
    assert len(short) <= 64 and short != upstream_tool_name(long + "2")
    req = ChatRequest(
        model="gpt-5",
        messages=(Message(role="user", content="go"),),
        tools=(FunctionTool(name=long, description="", parameters={"type": "object", "properties": {}}),),
        tool_choice=long,
    )
    body = chat_body(req, GPT)
    assert body["tools"][0]["function"]["name"] == short
    assert body["tool_choice"] == {"type": "function", "function": {"name": short}}
    reader = ChunkReader(req)
    (delta,) = reader.feed(chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": short, "arguments": "{}"}}]}))
    assert delta.tool_calls[0].name == long


# ---------------------------------------------------------------- EventStream and the batches of an answer


class Body:
    """An upstream body: the given reads, then (``hang``) nothing until it is closed."""

    def __init__(self, reads: list[bytes], *, hang: bool = False) -> None:
        self.reads = reads
        self.hang = hang
        self.closed = 0
        self.read = 0
        self._stop = asyncio.Event()

    async def _iter(self) -> AsyncIterator[bytes]:
        for r in self.reads:
            self.read += 1
            yield r
        if self.hang:
            await self._stop.wait()

    async def close(self) -> None:
        self.closed += 1
        self._stop.set()

    def response(self) -> UpstreamResponse:
        return UpstreamResponse(200, {"content-type": "text/event-stream"}, self._iter(), self.close)


def stream_of(body: Body) -> EventStream[SSEEvent]:
    return EventStream(body.response(), lambda e: e, lambda e: e.data.strip() == "[DONE]")


async def test_event_stream_reads_split_frames_in_order():
    body = Body([b'data: {"a"', b": 1}\n\ndata: two\n\ndata: [DO", b"NE]\r\n\r\n"])
    stream = stream_of(body)
    assert (await stream.next()) == SSEEvent("message", '{"a": 1}')
    assert stream.has_buffered()  # "two" came in the same read
    assert (await stream.next()) == SSEEvent("message", "two")
    assert not stream.has_buffered()
    done = await stream.next()
    assert done is not None and done.data == "[DONE]" and stream.saw_done
    assert (await stream.next()) is None
    await stream.close()
    assert body.closed == 1


async def test_event_stream_push_front():
    stream = stream_of(Body([b"data: 1\n\ndata: 2\n\n"]))
    first = await stream.next()
    second = await stream.next()
    assert first is not None and second is not None
    stream.push_front([first, second])
    assert [(await stream.next()), (await stream.next()), (await stream.next())] == [first, second, None]


async def test_event_stream_close_after_done_drains_the_rest():
    body = Body([b"data: [DONE]\n\n", b": trailing\n\n", b"more"])
    stream = stream_of(body)
    await stream.next()
    await stream.close()
    assert body.read == 3 and body.closed == 1


async def test_event_stream_close_before_done_does_not_read_on():
    body = Body([b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"])
    stream = stream_of(body)
    await stream.next()
    await stream.close()
    assert body.read == 1 and body.closed == 1


async def test_event_stream_watchdog_ends_a_silent_stream():
    body = Body([b"data: 1\n\n"], hang=True)
    stream = stream_of(body)
    stream.watch(0.04)
    assert (await stream.next()) is not None
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(stream.next(), 2)
    assert stream.watchdog is not None and stream.watchdog.fired and body.closed >= 1
    await stream.close()


def test_mid_stream_error():
    err = UpstreamError("x")
    assert mid_stream_error(err, 5) is err
    timeout = mid_stream_error(TimeoutError(), 2.5)
    assert isinstance(timeout, UpstreamTimeout) and "2.5 s" in timeout.message
    broken = mid_stream_error(ConnectionResetError("peer"), 5)
    assert isinstance(broken, UpstreamError) and not isinstance(broken, UpstreamTimeout)
    assert isinstance(mid_stream_error(KeyError("k"), 5), ProxyError)


def sse(*datas: str) -> bytes:
    return b"".join(f"data: {d}\n\n".encode() for d in datas)


async def batches_of(reads: list[bytes]) -> tuple[list[list[Any]], Body]:
    body = Body(reads)
    out = [batch async for batch in read_answer(stream_of(body), ChunkReader(REQ), 5)]
    return out, body


async def test_batches_end_with_finish_and_poe_usage():
    text = chunk({"content": "Hi"}).data
    stop = chunk({}, "length").data
    usage = chunk(None, usage={"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}).data
    batches, body = await batches_of([sse(text, text), sse(stop, usage, "[DONE]")])
    assert batches == [[Delta(content="Hi"), Delta(content="Hi")], [Finish("length", Usage(3, 4))]]
    assert body.closed == 1


async def test_batches_estimate_usage_without_a_usage_chunk():
    batches, _ = await batches_of([sse(chunk({"content": "Hello"}, "stop").data, "[DONE]")])
    assert batches[-1] == [
        Delta(content="Hello"),
        Finish("stop", Usage(estimate_prompt_tokens(REQ), estimate_tokens("Hello"), 0)),
    ]


async def test_batches_error_frame_is_a_failure():
    batches, body = await batches_of([sse(chunk({"content": "Hi"}).data), sse('{"error": {"message": "bot crashed"}}')])
    last = batches[-1][-1]
    assert isinstance(last, Failure) and "bot crashed" in last.error.message
    assert body.closed == 1


async def test_batches_early_close_is_a_failure():
    batches, _ = await batches_of([sse(chunk({"content": "Hi"}).data)])
    last = batches[-1][-1]
    assert isinstance(last, Failure) and "closed the stream early" in last.error.message


async def test_batches_finish_reason_without_done_is_a_finish():
    batches, _ = await batches_of([sse(chunk({"content": "Hi"}, "stop").data)])
    assert isinstance(batches[-1][-1], Finish)

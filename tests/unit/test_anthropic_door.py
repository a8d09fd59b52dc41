"""The Anthropic Messages door: request JSON -> ChatRequest, canonical events -> Anthropic's JSON and stream.

The parser is checked block by block and rejection by rejection (every 400 names
its ``param``), and with random JSON that must give a request or an
InvalidRequest, never another exception. The writers' bytes are parsed back
and checked event by event against the official SDK's types in strict mode,
then folded into a message by the SDK's own stream accumulator (what a real
client sees).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import ErrorResponse, RawMessageStreamEvent
from anthropic.types import Message as SDKMessage
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from poe.answer import Collected
from poe.canonical import (
    AnswerEvent,
    ChatRequest,
    Delta,
    Failure,
    Finish,
    FunctionTool,
    ImagePart,
    KeepAlive,
    Message,
    Replace,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from poe.catalogue import Catalogue
from poe.doors.anthropic_messages import anthropic_error_response, handle_count_tokens
from poe.doors.anthropic_parse import parse_messages_request
from poe.doors.anthropic_wire import MessageStream, error_object, error_status, message_object, new_message_id, tool_input
from poe.doors.streaming import write_stream
from poe.errors import (
    InsufficientQuota,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    ProxyError,
    RateLimited,
    Unauthorized,
    UpstreamError,
    UpstreamTimeout,
)
from poe.estimate import estimate_prompt_tokens
from tests.support_streams import Source, answers, runtime

USER = {"role": "user", "content": "hi"}
WEATHER = {
    "name": "get_weather",
    "description": "Weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
PNG = "iVBORw0KGgo="


def body(**fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"model": "claude-sonnet-4-5-20250929", "max_tokens": 1024, "messages": [dict(USER)]}
    out.update(fields)
    return out


def parse(**fields: Any) -> ChatRequest:
    return parse_messages_request(body(**fields))


def rejected(raw: dict[str, Any], **kw: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as info:
        parse_messages_request(raw, **kw)
    err = info.value
    assert err.status == 400 and err.type == "invalid_request_error"
    assert err.message and "Traceback" not in err.message
    return err


def user(*blocks: Any) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


def assistant(*blocks: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks)}


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


# ---------------------------------------------------------------- the request: what maps where


def test_minimal_request():
    req = parse()
    assert req == ChatRequest(
        model="claude-sonnet-4-5-20250929",
        messages=(Message(role="user", content="hi"),),
        include_usage=True,
        max_tokens=1024,
    )


def test_scalar_fields_are_carried():
    req = parse(
        model="  claude-opus-4-1  ",
        stream=True,
        temperature=0.5,
        top_p=1,
        top_k=40,
        stop_sequences=["\n\nHuman:", "END"],
        metadata={"user_id": "u-42"},
    )
    assert req.model == "claude-opus-4-1"
    assert req.stream is True and req.include_usage is True
    assert req.temperature == 0.5 and isinstance(req.temperature, float)
    assert req.top_p == 1.0 and isinstance(req.top_p, float)
    assert req.stop == ("\n\nHuman:", "END")
    assert req.user is None  # Claude Code puts a device id there: it stays with the proxy


@pytest.mark.parametrize("metadata", [{}, {"user_id": ""}, {"user_id": 5}, {"other": "x"}, None])
def test_metadata_without_a_user_id_string_names_no_user(metadata):
    assert parse(metadata=metadata).user is None


def test_count_only_needs_no_max_tokens():
    raw = body()
    del raw["max_tokens"]
    assert parse_messages_request(raw, count_only=True).max_tokens is None
    assert rejected(raw).param == "max_tokens"


def test_system_string_and_blocks_come_first():
    assert parse(system="Be brief.").messages[0] == Message(role="system", content="Be brief.")
    req = parse(system=[text("One."), {"type": "text", "text": "Two.", "cache_control": {"type": "ephemeral"}}])
    assert req.messages == (Message(role="system", content="One.\n\nTwo."), Message(role="user", content="hi"))
    assert parse(system="").messages == (Message(role="user", content="hi"),)
    assert parse(system=[]).messages == (Message(role="user", content="hi"),)


def test_text_blocks_join_and_unknown_fields_are_ignored():
    req = parse(
        messages=[user(text("a"), {"type": "text", "text": "b", "cache_control": {"type": "ephemeral"}, "citations": []})]
    )
    assert req.messages == (Message(role="user", content="a\nb"),)


def test_images_base64_and_url():
    req = parse(
        messages=[
            user(
                text("what is this?"),
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
            )
        ]
    )
    assert req.messages == (
        Message(
            role="user",
            content="what is this?",
            images=(
                ImagePart(url=f"data:image/png;base64,{PNG}", param="messages.0.content.1.source.data"),
                ImagePart(url="https://example.com/cat.jpg", param="messages.0.content.2.source.url"),
            ),
        ),
    )


def test_tool_use_and_tool_result_ordering():
    """Tool results become tool messages placed before the rest of their user turn; is_error prefixes the text."""
    req = parse(
        tools=[WEATHER, {"name": "get_time", "input_schema": {"type": "object"}}],
        messages=[
            {"role": "user", "content": "weather and time?"},
            assistant(
                {"type": "thinking", "thinking": "The user wants two things.", "signature": "sig"},
                {"type": "redacted_thinking", "data": "opaque"},
                text("Let me look."),
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Zürich"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
            ),
            user(
                text("before"),
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "12°C"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": [text("no clock")], "is_error": True},
                text("after"),
            ),
        ],
    )
    assert req.messages == (
        Message(role="user", content="weather and time?"),
        Message(
            role="assistant",
            content="Let me look.",
            tool_calls=(
                ToolCall("toolu_1", "get_weather", '{"city": "Zürich"}'),
                ToolCall("toolu_2", "get_time", "{}"),
            ),
        ),
        Message(role="tool", content="12°C", tool_call_id="toolu_1"),
        Message(role="tool", content="Error: no clock", tool_call_id="toolu_2"),
        Message(role="user", content="before\nafter"),
    )
    assert json.loads(req.messages[1].tool_calls[0].arguments) == {"city": "Zürich"}


def test_a_turn_of_tool_results_only_adds_no_user_message():
    req = parse(
        messages=[
            USER,
            assistant({"type": "tool_use", "id": "t1", "name": "f"}),  # no input: {}
            user({"type": "tool_result", "tool_use_id": "t1"}, {"type": "tool_result", "tool_use_id": "t1", "is_error": False}),
        ]
    )
    assert req.messages[1:] == (
        Message(role="assistant", content="", tool_calls=(ToolCall("t1", "f", "{}"),)),
        Message(role="tool", content="", tool_call_id="t1"),
        Message(role="tool", content="", tool_call_id="t1"),
    )


def test_tool_result_images_follow_as_user_content():
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "AAAA"}}
    req = parse(
        messages=[
            USER,
            assistant({"type": "tool_use", "id": "t1", "name": "screenshot", "input": {}}),
            user({"type": "tool_result", "tool_use_id": "t1", "content": [text("shot:"), image, text("done")]}),
        ]
    )
    assert req.messages[2:] == (
        Message(role="tool", content="shot:\ndone", tool_call_id="t1"),
        Message(
            role="user",
            content="",
            images=(ImagePart(url="data:image/jpeg;base64,AAAA", param="messages.2.content.0.content[1].source.data"),),
        ),
    )


def test_is_error_prefixes_string_and_empty_content():
    req = parse(
        messages=[
            USER,
            assistant({"type": "tool_use", "id": "a", "name": "f", "input": {}}),
            user(
                {"type": "tool_result", "tool_use_id": "a", "content": "boom", "is_error": True},
                {"type": "tool_result", "tool_use_id": "a", "is_error": True},
            ),
        ]
    )
    assert [m.content for m in req.messages[2:]] == ["Error: boom", "Error: "]


@pytest.mark.parametrize(
    "block",
    [
        {"type": "thinking", "thinking": "t", "signature": "s"},
        {"type": "redacted_thinking", "data": "d"},
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
        {"type": "web_fetch_tool_result", "tool_use_id": "srvtoolu_1", "content": {}},
        {"type": "container_upload", "file_id": "f"},
    ],
)
def test_blocks_no_bot_takes_are_dropped(block):
    req = parse(messages=[USER, assistant(block, text("answer")), user(block, text("next"))])
    assert req.messages == (
        Message(role="user", content="hi"),
        Message(role="assistant", content="answer"),
        Message(role="user", content="next"),
    )


def test_tool_result_content_drops_search_results_and_thinking():
    req = parse(
        messages=[
            USER,
            assistant({"type": "tool_use", "id": "a", "name": "f", "input": {}}),
            user(
                {
                    "type": "tool_result",
                    "tool_use_id": "a",
                    "content": [text("kept"), {"type": "search_result", "source": "s", "title": "t", "content": []}],
                }
            ),
        ]
    )
    assert req.messages[2] == Message(role="tool", content="kept", tool_call_id="a")


def test_tools_server_tools_are_dropped_and_schemas_get_defaults():
    req = parse(
        tools=[
            WEATHER,
            {"type": "custom", "name": "no_props", "input_schema": {"type": "object"}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
            {"type": "bash_20250124", "name": "bash"},
            {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
        ]
    )
    assert req.tools == (
        FunctionTool(name="get_weather", description="Weather in a city", parameters=WEATHER["input_schema"]),
        FunctionTool(name="no_props", description="", parameters={"type": "object", "properties": {}}),
    )
    assert req.tool_choice == "auto" and req.parallel_tool_calls is True


@pytest.mark.parametrize(
    ("choice", "canonical", "parallel"),
    [
        ({"type": "auto"}, "auto", True),
        ({"type": "any"}, "required", True),
        ({"type": "tool", "name": "get_weather"}, "get_weather", True),
        ({"type": "none"}, "none", True),
        ({"type": "auto", "disable_parallel_tool_use": True}, "auto", False),
        ({"type": "any", "disable_parallel_tool_use": True}, "required", False),
        ({"type": "tool", "name": "get_weather", "disable_parallel_tool_use": False}, "get_weather", True),
    ],
)
def test_tool_choice_mapping(choice, canonical, parallel):
    req = parse(tools=[WEATHER], tool_choice=choice)
    assert (req.tool_choice, req.parallel_tool_calls) == (canonical, parallel)


def test_tool_choice_none_without_tools_is_auto():
    assert parse(tool_choice={"type": "none"}).tool_choice == "auto"
    assert parse(tool_choice={"type": "auto"}).tool_choice == "auto"


@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "web_search"}])
def test_tool_choice_among_server_tools_only_falls_back_to_auto(choice):
    req = parse(tools=[{"type": "web_search_20250305", "name": "web_search"}], tool_choice=choice)
    assert req.tools == () and req.tool_choice == "auto"


@pytest.mark.parametrize(
    ("thinking", "budget"),
    [
        (None, None),
        ({"type": "enabled", "budget_tokens": 2048}, 2048),
        ({"type": "enabled", "budget_tokens": 64000}, 64000),  # capped later, for the bot (chat_body)
        ({"type": "disabled"}, None),
        ({"type": "adaptive"}, None),
    ],
)
def test_thinking_budget_is_carried(thinking, budget):
    req = parse(thinking=thinking)
    assert req.thinking_budget == budget
    assert req.reasoning_effort is None


@pytest.mark.parametrize(
    ("effort", "canonical"),
    [
        (None, None),
        ({}, None),
        ({"effort": None}, None),
        ({"effort": "low"}, "low"),
        ({"effort": "high"}, "high"),
        ({"effort": "max"}, "xhigh"),
    ],
)
def test_output_config_effort_is_carried(effort, canonical):
    req = parse(output_config=effort)
    assert req.reasoning_effort == canonical and req.thinking_budget is None


def test_system_turns_mid_conversation_stay_system_messages():
    req = parse(
        messages=[USER, {"role": "system", "content": "Be terse now."}, {"role": "system", "content": [text("a"), text("b")]}]
    )
    assert req.messages[1:] == (Message(role="system", content="Be terse now."), Message(role="system", content="a\nb"))


@pytest.mark.parametrize(
    ("model_id", "bot"),
    [
        ("claude-sonnet-4.5", "Claude-Sonnet-4.5"),
        ("claude-sonnet-4-5-20250929", "Claude-Sonnet-4.5"),
        ("claude-sonnet-4-5", "Claude-Sonnet-4.5"),
        ("claude-opus-4-1-20250805", "Claude-Opus-4.1"),
        ("claude-haiku-4-5-20251001", "Claude-Haiku-4.5"),
        ("claude-opus-4-6", "Claude-Opus-4.6"),
        ("claude-sonnet-4-20250514", "Claude-Sonnet-4"),
        ("claude-3-5-haiku-20241022", "Claude-Haiku-3.5"),
        ("claude-3-7-sonnet-latest", "Claude-Sonnet-3.7"),
        ("Claude-Sonnet-4.5", "Claude-Sonnet-4.5"),
    ],
)
def test_anthropic_model_ids_resolve_to_poe_bots(model_id, bot):
    req = parse(model=model_id)
    assert Catalogue().resolve(req.model).bot == bot


def test_an_unknown_model_is_a_404_naming_model():
    with pytest.raises(NotFound) as info:
        Catalogue().resolve(parse(model="claude-nonsense-9").model)
    assert info.value.param == "model"


def test_count_tokens_is_the_proxy_estimate():
    raw = body(system="Be brief.", tools=[WEATHER])
    del raw["max_tokens"]
    response = handle_count_tokens(Catalogue(), json.dumps(raw).encode())
    assert response.status == 200
    assert json.loads(response.body) == {"input_tokens": estimate_prompt_tokens(parse_messages_request(raw, count_only=True))}
    with pytest.raises(NotFound):
        handle_count_tokens(Catalogue(), json.dumps({**raw, "model": "no-such-model"}).encode())
    with pytest.raises(InvalidRequest):
        handle_count_tokens(Catalogue(), b"[]")


# ---------------------------------------------------------------- the request: every rejection names its param


def _without(key: str) -> dict[str, Any]:
    raw = body()
    del raw[key]
    return raw


def _msgs(*messages: Any) -> dict[str, Any]:
    return body(messages=list(messages))


def _img(source: Any) -> dict[str, Any]:
    return _msgs(user({"type": "image", "source": source}))


def _result(**fields: Any) -> dict[str, Any]:
    return _msgs(user({"type": "tool_result", "tool_use_id": "t", **fields}))


REJECTIONS = [
    (_without("max_tokens"), "max_tokens"),
    (body(max_tokens=0), "max_tokens"),
    (body(max_tokens="1024"), "max_tokens"),
    (body(max_tokens=True), "max_tokens"),
    (body(max_tokens=10.5), "max_tokens"),
    (_without("model"), "model"),
    (body(model="   "), "model"),
    (body(model=["claude"]), "model"),
    (_without("messages"), "messages"),
    (body(messages=[]), "messages"),
    (body(messages={"role": "user"}), "messages"),
    (body(messages=["hi"]), "messages[0]"),
    (_msgs({"role": "developer", "content": "x"}), "messages.0.role"),
    (_msgs(USER, {"role": "tool", "content": "x"}), "messages.1.role"),
    (_msgs({"content": "x"}), "messages.0.role"),
    (_msgs({"role": "user"}), "messages.0.content"),
    (_msgs({"role": "user", "content": 5}), "messages.0.content"),
    (_msgs(user("just a string")), "messages.0.content[0]"),
    (_msgs(user({"type": "document", "source": {}})), "messages.0.content.0.type"),
    (_msgs(user(text("ok"), {"type": "audio"})), "messages.0.content.1.type"),
    (_msgs(user({"text": "no type"})), "messages.0.content.0.type"),
    (_msgs(user({"type": 7})), "messages.0.content.0.type"),
    (_msgs(user({"type": "text"})), "messages.0.content.0.text"),
    (_msgs(user({"type": "text", "text": ["a"]})), "messages.0.content.0.text"),
    (_msgs(USER, assistant({"type": "image", "source": {"type": "url", "url": "https://x/y.png"}})), "messages.1.content.0.type"),
    (_img(None), "messages.0.content.0.source"),
    (_img("https://x/y.png"), "messages.0.content.0.source"),
    (_img({"type": "file", "file_id": "f"}), "messages.0.content.0.source.type"),
    (_img({"type": "base64", "media_type": "image/bmp", "data": "AA"}), "messages.0.content.0.source.media_type"),
    (_img({"type": "base64", "data": "AA"}), "messages.0.content.0.source.media_type"),
    (_img({"type": "base64", "media_type": "image/png"}), "messages.0.content.0.source.data"),
    (_img({"type": "url", "url": "ftp://x/y.png"}), "messages.0.content.0.source.url"),
    (_img({"type": "url"}), "messages.0.content.0.source.url"),
    (_msgs(user({"type": "tool_use", "id": "t", "name": "f", "input": {}})), "messages.0.content.0.type"),
    (_msgs(USER, assistant({"type": "tool_use", "name": "f", "input": {}})), "messages.1.content.0.id"),
    (_msgs(USER, assistant({"type": "tool_use", "id": "t", "input": {}})), "messages.1.content.0.name"),
    (_msgs(USER, assistant({"type": "tool_use", "id": "t", "name": "f", "input": [1]})), "messages.1.content.0.input"),
    (_msgs(USER, assistant({"type": "tool_use", "id": "t", "name": "f", "input": None})), "messages.1.content.0.input"),
    (_msgs(USER, assistant({"type": "tool_result", "tool_use_id": "t"})), "messages.1.content.0.type"),
    (_msgs(user({"type": "tool_result"})), "messages.0.content.0.tool_use_id"),
    (_result(is_error="yes"), "messages.0.content.0.is_error"),
    (_result(content=5), "messages.0.content.0.content"),
    (_result(content=[{"type": "video"}]), "messages.0.content.0.content[0].type"),
    (_result(content=[{"type": "text"}]), "messages.0.content.0.content[0].text"),
    (
        _result(content=[{"type": "image", "source": {"type": "url", "url": "file:///etc"}}]),
        "messages.0.content.0.content[0].source.url",
    ),
    (body(system=5), "system"),
    (body(system=[{"type": "image"}]), "system[0].type"),
    (body(system=[{"type": "text"}]), "system[0].text"),
    (body(system=["text"]), "system[0]"),
    (body(tools={"name": "f"}), "tools"),
    (body(tools=[{"input_schema": {}}]), "tools[0].name"),
    (body(tools=[{"name": "has space", "input_schema": {}}]), "tools[0].name"),
    (body(tools=[{"name": "", "input_schema": {}}]), "tools[0].name"),
    (body(tools=[{"name": "x" * 129, "input_schema": {}}]), "tools[0].name"),
    (body(tools=[{"name": "f"}]), "tools[0].input_schema"),
    (body(tools=[{"name": "f", "input_schema": "object"}]), "tools[0].input_schema"),
    (body(tools=[{"name": "f", "input_schema": {"properties": []}}]), "tools[0].input_schema"),
    (body(tools=[WEATHER, {"name": "g", "input_schema": {}, "description": 5}]), "tools[1].description"),
    (body(tools=[WEATHER], tool_choice="auto"), "tool_choice"),
    (body(tools=[WEATHER], tool_choice={"type": "function"}), "tool_choice.type"),
    (body(tools=[WEATHER], tool_choice={"type": "tool", "name": "get_time"}), "tool_choice.name"),
    (body(tools=[WEATHER], tool_choice={"type": "tool"}), "tool_choice.name"),
    (body(tool_choice={"type": "any"}), "tool_choice"),
    (
        body(tools=[WEATHER], tool_choice={"type": "auto", "disable_parallel_tool_use": "yes"}),
        "tool_choice.disable_parallel_tool_use",
    ),
    (body(thinking="enabled"), "thinking"),
    (body(thinking={"type": "on"}), "thinking.type"),
    (body(thinking={"type": "enabled"}), "thinking.budget_tokens"),
    (body(thinking={"type": "enabled", "budget_tokens": 0}), "thinking.budget_tokens"),
    (body(thinking={"type": "enabled", "budget_tokens": "1024"}), "thinking.budget_tokens"),
    (body(temperature=1.5), "temperature"),
    (body(temperature=-0.1), "temperature"),
    (body(temperature="hot"), "temperature"),
    (body(temperature=True), "temperature"),
    (body(top_p=1.01), "top_p"),
    (body(top_k=-1), "top_k"),
    (body(top_k=1.5), "top_k"),
    (body(stop_sequences="END"), "stop_sequences"),
    (body(stop_sequences=["END", 5]), "stop_sequences"),
    (body(metadata=["u"]), "metadata"),
    (body(stream="yes"), "stream"),
    (body(output_config="high"), "output_config"),
    (body(output_config={"effort": "extreme"}), "output_config.effort"),
    (body(output_config={"effort": 3}), "output_config.effort"),
    (_msgs(USER, {"role": "system", "content": [{"type": "tool_result", "tool_use_id": "t"}]}), "messages.1.content.0.type"),
    (
        _msgs(USER, {"role": "system", "content": [{"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]}),
        "messages.1.content.0.type",
    ),
]


@pytest.mark.parametrize(("raw", "param"), REJECTIONS, ids=[p for _, p in REJECTIONS])
def test_rejections_name_their_param(raw, param):
    assert rejected(raw).param == param


def test_rejection_codes():
    assert rejected(_without("max_tokens")).code == "missing_required_parameter"
    assert rejected(_without("messages")).code == "missing_required_parameter"
    assert rejected(body(messages=[])).code == "empty_array"
    assert rejected(body(max_tokens="1")).code == "invalid_type"
    assert rejected(body(temperature=3)).code == "invalid_value"
    assert rejected(_msgs({"role": "developer", "content": "x"})).code == "invalid_value"


@pytest.mark.parametrize(
    "raw",
    [
        _msgs(user({"type": ["text"]})),
        _msgs(user({"type": {"x": 1}})),
        _result(content=[{"type": ["text"]}]),
    ],
    ids=["block-array", "block-object", "tool-result-block-array"],
)
def test_unhashable_block_type_is_a_400(raw):
    rejected(raw)


# ---------------------------------------------------------------- the request: random JSON never crashes it


VOCAB = [
    "user", "assistant", "system", "text", "image", "tool_use", "tool_result", "thinking", "document",
    "base64", "url", "image/png", "https://x/y.png", "enabled", "disabled", "auto", "any", "tool", "none",
    "custom", "get_weather", "web_search_20250305",
]  # fmt: skip
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(["", " ", "\u0000", "\ud7ff\ufeff", "é\u0301", "🙂", "\u202e", "𝔘"])
    | st.sampled_from(VOCAB)
)
KEYS = [
    "type", "text", "role", "content", "source", "media_type", "data", "url", "id", "name", "input",
    "tool_use_id", "is_error", "input_schema", "properties", "budget_tokens", "user_id", "disable_parallel_tool_use", "effort",
]  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
TOP_FIELDS = [
    "model", "max_tokens", "messages", "system", "stop_sequences", "tools", "tool_choice", "top_k", "top_p",
    "temperature", "metadata", "stream", "thinking", "output_config", "service_tier", "container", "mcp_servers",
]  # fmt: skip
BLOCK_TYPES = ["text", "image", "tool_use", "tool_result", "thinking", "document", "search_result", "server_tool_use"]
blocks = st.fixed_dictionaries({"type": st.sampled_from(BLOCK_TYPES) | json_values}, optional={k: json_values for k in KEYS[1:]})
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system"]) | json_values},
        optional={"content": json_values | st.lists(blocks | json_values, max_size=4)},
    )
    | json_values,
    max_size=4,
)


def _parse_or_reject(raw: dict[str, Any]) -> ChatRequest | InvalidRequest | None:
    try:
        return parse_messages_request(raw)
    except InvalidRequest as err:
        assert err.status == 400
        assert err.param is None or isinstance(err.param, str)
        json.dumps(error_object(err))
        return err


@settings(max_examples=120)
@given(st.dictionaries(st.sampled_from(TOP_FIELDS), json_values, max_size=8), messages)
def test_random_json_gives_a_request_or_invalid_request(fields, msgs):
    raw = body(messages=msgs)
    raw.update(fields)
    before = copy.deepcopy(raw)
    _parse_or_reject(raw)
    assert repr(raw) == repr(before)  # the input is not mutated


@settings(max_examples=120)
@given(st.sampled_from(TOP_FIELDS), json_values)
def test_one_random_field_on_a_valid_request(field, value):
    raw = body(tools=[WEATHER])
    raw[field] = value
    result = _parse_or_reject(raw)
    if isinstance(result, InvalidRequest) and result.param is not None:
        assert re.split(r"[.\[]", result.param)[0] in (field, "tools"), result.param


@settings(max_examples=80)
@given(st.lists(blocks, min_size=1, max_size=4), st.sampled_from(["user", "assistant", "system"]))
def test_random_blocks_in_one_message(content, role):
    _parse_or_reject(_msgs(USER, {"role": role, "content": content}))


# ---------------------------------------------------------------- the answer, whole


def answer(content: str = "", reasoning: str = "", calls: tuple[ToolCall, ...] = (), reason: str = "stop") -> Collected:
    return Collected(content, reasoning, calls, reason, Usage(10, 5, 2))


def valid_message(obj: dict[str, Any]) -> SDKMessage:
    return SDKMessage.model_validate(obj, strict=True)


def test_message_object_text():
    obj = message_object("msg_1", "claude-sonnet-4-5", answer("Hello"))
    assert obj == {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Hello"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
    }
    valid_message(obj)


def test_message_object_thinking_text_and_tool_uses():
    calls = (ToolCall("toolu_a", "get_weather", '{"city":"Paris"}'), ToolCall("", "noop", ""))
    obj = message_object("msg_1", "m", answer("Checking.", "User wants weather.", calls, "tool_calls"))
    msg = valid_message(obj)
    assert [b.type for b in msg.content] == ["thinking", "text", "tool_use", "tool_use"]
    assert obj["content"][0] == {"type": "thinking", "thinking": "User wants weather.", "signature": ""}
    assert obj["content"][2] == {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "Paris"}}
    assert obj["content"][3]["id"].startswith("toolu_") and obj["content"][3]["input"] == {}
    assert obj["stop_reason"] == "tool_use"


def test_message_object_tool_calls_only_has_no_text_block():
    obj = message_object("msg_1", "m", answer(calls=(ToolCall("t", "f", "{}"),), reason="tool_calls"))
    assert [b["type"] for b in obj["content"]] == ["tool_use"]
    valid_message(obj)


def test_message_object_empty_answer_is_one_empty_text_block():
    obj = message_object("msg_1", "m", answer())
    assert obj["content"] == [{"type": "text", "text": ""}]
    valid_message(obj)


@pytest.mark.parametrize(
    ("reason", "stop"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
        ("odd", "end_turn"),
    ],
)
def test_stop_reasons(reason, stop):
    obj = message_object("msg_1", "m", answer("x", reason=reason))
    assert obj["stop_reason"] == stop
    valid_message(obj)


@pytest.mark.parametrize(
    ("arguments", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        ("", {}),
        ("   ", {}),
        ("[1, 2]", {"value": [1, 2]}),
        ("42", {"value": 42}),
        ('"s"', {"value": "s"}),
        ("not json", {"arguments": "not json"}),
        ('{"a": ', {"arguments": '{"a": '}),
    ],
)
def test_tool_input_is_always_an_object(arguments, value):
    assert tool_input(arguments) == value


def test_new_message_id():
    a, b = new_message_id(), new_message_id()
    assert a != b and re.fullmatch(r"msg_[0-9a-f]{24}", a)


@pytest.mark.parametrize(
    ("err", "status", "kind"),
    [
        (InvalidRequest("bad"), 400, "invalid_request_error"),
        (Unauthorized("who"), 401, "authentication_error"),
        (NotFound("none"), 404, "not_found_error"),
        (RateLimited("slow down"), 429, "rate_limit_error"),
        (InsufficientQuota("no points"), 429, "rate_limit_error"),
        (UpstreamError("poe broke"), 502, "api_error"),
        (UpstreamTimeout("poe slow"), 504, "timeout_error"),
        (ProxyError("bug"), 500, "api_error"),
    ],
)
def test_error_objects_are_anthropic_errors(err, status, kind):
    assert error_status(err) == status
    obj = error_object(err)
    assert obj == {"type": "error", "error": {"type": kind, "message": err.message}}
    ErrorResponse.model_validate(obj, strict=True)
    response = anthropic_error_response(err)
    assert response.status == status and json.loads(response.body) == obj


def test_error_object_413_and_overloaded():
    # 413's "request_too_large" is in Anthropic's documented error list but not in the SDK's ErrorObject union
    assert error_object(PayloadTooLarge("big"))["error"]["type"] == "request_too_large"
    cooling = UpstreamError("every key is cooling")
    cooling.status = 503
    assert error_status(cooling) == 529
    ErrorResponse.model_validate(error_object(cooling), strict=True)
    assert error_object(cooling)["error"]["type"] == "overloaded_error"


def test_rate_limit_headers_go_out_with_the_error():
    err = RateLimited("slow", headers=(("retry-after", "3"),))
    assert ("retry-after", "3") in anthropic_error_response(err).headers


# ---------------------------------------------------------------- the answer, streamed

EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
FRAME = re.compile(r"event: (?P<event>[a-z_]+)\ndata: (?P<data>[^\n]*)")


def frames(raw: bytes) -> list[dict[str, Any]]:
    """The stream's events; each frame is exactly ``event: X`` then one ``data:`` line whose ``type`` is X."""
    decoded = raw.decode()
    assert decoded.endswith("\n\n")
    out = []
    for block in decoded[:-2].split("\n\n"):
        m = FRAME.fullmatch(block)
        assert m is not None, block
        data = json.loads(m["data"])
        assert data["type"] == m["event"]
        out.append(data)
    return out


def check_stream(events: list[dict[str, Any]]) -> SDKMessage | None:
    """Every event valid in the SDK's strict types, blocks opened/closed in order; the message a client folds."""
    assert events[0]["type"] == "message_start"
    snapshot = None
    bufs: dict[int, bytes] = {}
    open_block: tuple[int, str] | None = None
    next_index = 0
    ended = False
    for i, ev in enumerate(events):
        assert not ended, f"event after the end: {ev}"
        kind = ev["type"]
        if kind == "ping":
            assert ev == {"type": "ping"}
            continue
        if kind == "error":
            ErrorResponse.model_validate(ev, strict=True)
            assert i == len(events) - 1, "the error event is the last"
            return None
        parsed = EVENT_ADAPTER.validate_python(ev, strict=True)
        if kind == "message_start":
            assert i == 0
        elif kind == "content_block_start":
            assert open_block is None and ev["index"] == next_index
            open_block = (ev["index"], ev["content_block"]["type"])
            next_index += 1
        elif kind == "content_block_delta":
            assert open_block is not None and ev["index"] == open_block[0]
            expected = {"text": "text_delta", "thinking": "thinking_delta", "tool_use": "input_json_delta"}[open_block[1]]
            assert ev["delta"]["type"] == expected
        elif kind == "content_block_stop":
            assert open_block is not None and ev["index"] == open_block[0]
            open_block = None
        elif kind == "message_delta":
            assert open_block is None
        elif kind == "message_stop":
            ended = True
        snapshot = accumulate_event(event=parsed, current_snapshot=snapshot, json_bufs=bufs)
    assert ended and snapshot is not None
    return SDKMessage.model_validate(snapshot.to_dict(), strict=True)


def run(events: list[AnswerEvent], input_tokens: int = 7) -> list[dict[str, Any]]:
    stream = MessageStream("msg_test", "claude-sonnet-4-5", input_tokens)
    return frames(stream.start() + b"".join(stream.feed(ev) for ev in events))


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


STOP = Finish("stop", Usage(7, 3))


def test_stream_text():
    events = run([Delta(content="Hel"), Delta(content="lo"), STOP])
    assert kinds(events) == [
        "message_start", "ping", "content_block_start", "content_block_delta", "content_block_delta",
        "content_block_stop", "message_delta", "message_stop",
    ]  # fmt: skip
    start = events[0]["message"]
    assert start["id"] == "msg_test" and start["model"] == "claude-sonnet-4-5" and start["content"] == []
    assert start["usage"]["input_tokens"] == 7 and start["stop_reason"] is None
    assert events[2] == {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    assert events[3]["delta"] == {"type": "text_delta", "text": "Hel"}
    assert events[6]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert events[6]["usage"]["output_tokens"] == 3
    message = check_stream(events)
    assert message is not None
    assert [(b.type, b.text) for b in message.content] == [("text", "Hello")]  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn" and message.usage.output_tokens == 3


def test_stream_thinking_text_and_two_tool_calls():
    events = run(
        [
            Delta(reasoning="Think"),
            Delta(reasoning="ing."),
            Delta(content="Let me check."),
            Delta(tool_calls=(ToolCallDelta(0, "toolu_1", "get_weather", ""),)),
            Delta(tool_calls=(ToolCallDelta(0, None, None, '{"city":'),)),
            Delta(tool_calls=(ToolCallDelta(0, None, None, '"Paris"}'), ToolCallDelta(1, "toolu_2", "get_time", "{}"))),
            Finish("tool_calls", Usage(7, 30, 4)),
        ]
    )
    starts = [e for e in events if e["type"] == "content_block_start"]
    assert [(e["index"], e["content_block"]["type"]) for e in starts] == [
        (0, "thinking"),
        (1, "text"),
        (2, "tool_use"),
        (3, "tool_use"),
    ]
    assert starts[0]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    assert starts[2]["content_block"] == {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
    assert [(e["index"]) for e in events if e["type"] == "content_block_stop"] == [0, 1, 2, 3]
    partial = [e["delta"]["partial_json"] for e in events if e["type"] == "content_block_delta" and e["index"] == 2]
    assert partial == ['{"city":', '"Paris"}']  # an empty arguments piece sends no delta
    message = check_stream(events)
    assert message is not None
    assert message.stop_reason == "tool_use"
    dumped = [b.model_dump(exclude_none=True) for b in message.content]
    assert dumped == [
        {"type": "thinking", "thinking": "Thinking.", "signature": ""},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
    ]


def test_stream_tool_call_without_id_or_name_gets_a_fresh_id():
    events = run([Delta(tool_calls=(ToolCallDelta(0, None, None, "{}"),)), Finish("tool_calls", Usage(1, 1))])
    block = next(e for e in events if e["type"] == "content_block_start")["content_block"]
    assert re.fullmatch(r"toolu_[0-9a-f]{24}", block["id"]) and block["name"] == ""
    check_stream(events)


def test_stream_replace_appends_after_a_blank_line():
    events = run([Delta(content="draft"), Replace("final", "ignored reasoning"), STOP])
    deltas = [e["delta"]["text"] for e in events if e["type"] == "content_block_delta"]
    assert deltas == ["draft", "\n\nfinal"]
    assert sum(e["type"] == "content_block_start" for e in events) == 1
    message = check_stream(events)
    assert message is not None and message.content[0].text == "draft\n\nfinal"  # type: ignore[union-attr]


def test_stream_replace_after_thinking_opens_a_text_block_and_empty_replace_sends_nothing():
    stream = MessageStream("msg_1", "m", 1)
    assert stream.feed(Replace("")) == b""
    events = frames(stream.start() + stream.feed(Delta(reasoning="r")) + stream.feed(Replace("x")) + stream.feed(STOP))
    assert [(e["index"], e["content_block"]["type"]) for e in events if e["type"] == "content_block_start"] == [
        (0, "thinking"),
        (1, "text"),
    ]
    check_stream(events)


def test_stream_keepalive_is_a_ping_and_empty_delta_is_nothing():
    stream = MessageStream("msg_1", "m", 1)
    assert frames(stream.feed(KeepAlive())) == [{"type": "ping"}]
    assert stream.feed(Delta()) == b""
    events = run([KeepAlive(), Delta(content="a"), KeepAlive(), Delta(), STOP])
    assert kinds(events).count("ping") == 3  # the one after message_start, and one per KeepAlive
    check_stream(events)


@pytest.mark.parametrize(
    ("reason", "stop"),
    [("stop", "end_turn"), ("length", "max_tokens"), ("tool_calls", "tool_use"), ("content_filter", "refusal")],
)
def test_stream_finish_reasons(reason, stop):
    events = run([Delta(content="x"), Finish(reason, Usage(7, 9, 1))])
    delta = next(e for e in events if e["type"] == "message_delta")
    assert delta["delta"]["stop_reason"] == stop
    assert delta["usage"] == {
        "input_tokens": 7,
        "output_tokens": 9,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    message = check_stream(events)
    assert message is not None and message.stop_reason == stop


def test_stream_finish_with_nothing_said_has_no_blocks():
    events = run([STOP])
    assert kinds(events) == ["message_start", "ping", "message_delta", "message_stop"]
    message = check_stream(events)
    assert message is not None and message.content == []


def test_stream_failure_is_an_error_event_after_what_was_sent():
    events = run([Delta(content="partial"), Failure(UpstreamTimeout("Poe went quiet"))])
    assert kinds(events)[-2:] == ["content_block_delta", "error"]
    assert events[-1] == {"type": "error", "error": {"type": "timeout_error", "message": "Poe went quiet"}}
    check_stream(events)


@settings(max_examples=60)
@given(answers(("get_weather", "run", "x"), "toolu_"))
def test_any_answer_streams_valid_events_that_fold_into_its_message(case):
    events, collected = case
    message = check_stream(run(events))
    assert message is not None
    streamed = message.model_dump(exclude_none=True)
    whole = SDKMessage.model_validate(message_object("msg_test", "claude-sonnet-4-5", collected), strict=True)
    assert streamed["stop_reason"] == whole.stop_reason
    assert streamed["usage"]["output_tokens"] == whole.usage.output_tokens
    # the stream may split text and thinking into several blocks; their texts and the calls are the same
    blocks = streamed["content"]
    assert "".join(b["text"] for b in blocks if b["type"] == "text") == collected.content
    assert "".join(b["thinking"] for b in blocks if b["type"] == "thinking") == collected.reasoning
    calls = [(b["id"], b["name"], b["input"]) for b in blocks if b["type"] == "tool_use"]
    assert calls == [(c.id, c.name, json.loads(c.arguments)) for c in collected.tool_calls]
    assert calls == [(b.id, b.name, b.input) for b in whole.content if b.type == "tool_use"]


# ---------------------------------------------------------------- write_stream


async def written(source: Source, logs: list[str] | None = None) -> tuple[list[bytes], list[dict[str, Any]]]:
    stream = MessageStream("msg_w", "m", 3)
    chunks = [c async for c in write_stream(source, stream, runtime([] if logs is None else logs), stream.start())]  # type: ignore[arg-type]
    return chunks, frames(b"".join(chunks))


async def test_write_stream_one_write_per_batch():
    source = Source([[Delta(content="a"), Delta(content="b")], [], [KeepAlive()], [Delta(content="c"), STOP]])
    chunks, events = await written(source)
    assert len(chunks) == 3  # each batch that had bytes, the head with the first (the empty one writes nothing)
    assert kinds(frames(chunks[0]))[:2] == ["message_start", "ping"]  # the head leads the first batch's write
    assert kinds(events)[-2:] == ["message_delta", "message_stop"]
    assert source.closed == 1
    message = check_stream(events)
    assert message is not None and message.content[0].text == "abc"  # type: ignore[union-attr]


async def test_write_stream_failure_event_is_redacted():
    source = Source([[Delta(content="a")], [Failure(UpstreamError("Poe said: bad key secret-key-1"))]])
    _, events = await written(source)
    assert events[-1] == {"type": "error", "error": {"type": "api_error", "message": "Poe said: bad key [redacted]"}}
    assert source.closed == 1
    check_stream(events)


@pytest.mark.parametrize("fail_after", [0, 1, 2])
async def test_write_stream_a_raising_source_ends_with_the_error_event(fail_after):
    logs: list[str] = []
    source = Source([[Delta(content="a")], [Delta(reasoning="b")], [STOP]], fail_after=fail_after)
    _, events = await written(source, logs)
    assert events[-1]["type"] == "error"
    assert events[-1]["error"] == {"type": "api_error", "message": "The proxy hit an internal error; the answer is incomplete."}
    assert source.closed == 1
    assert logs == ["internal error while streaming: RuntimeError"]  # the type, never the message
    check_stream(events)


async def test_write_stream_a_raising_writer_ends_with_the_error_event():
    class Broken(MessageStream):
        def feed(self, ev: AnswerEvent) -> bytes:
            if isinstance(ev, Finish):
                raise KeyError("bug")
            return super().feed(ev)

    source = Source([[Delta(content="a")], [STOP]])
    writer = Broken("msg_b", "m", 1)
    chunks = [c async for c in write_stream(source, writer, runtime([]), writer.start())]  # type: ignore[arg-type]
    events = frames(b"".join(chunks))
    assert kinds(events)[-1] == "error" and source.closed == 1


async def test_write_stream_closes_the_source_when_the_client_goes_away():
    source = Source([[Delta(content="a")], [Delta(content="b")], [STOP]])
    writer = MessageStream("msg_c", "m", 1)
    out = write_stream(source, writer, runtime([]), writer.start())  # type: ignore[arg-type]
    await anext(out)  # the head with the first batch: the source has started
    await out.aclose()  # type: ignore[attr-defined]
    assert source.closed == 1 and source.served == 1

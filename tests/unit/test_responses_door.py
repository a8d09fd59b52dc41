"""The OpenAI Responses door: request JSON -> ChatRequest + options, canonical events -> the response and its stream.

The parser is checked item by item and rejection by rejection (every 400 names
its ``param``), and with random JSON that must give a request or an
InvalidRequest, never another exception. The writers' bytes are parsed back
and every event and response is validated with the official SDK's types in
strict mode (pydantic's strict mode accepts an int for a float field, so
``created_at`` as an int passes), then followed by the SDK's own stream state
machine (what ``client.responses.stream`` does).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent
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
from poe.doors.responses_parse import CUSTOM_INPUT, ResponsesOptions, parse_responses_request
from poe.doors.responses_wire import (
    ResponseStream,
    custom_input,
    finished_status,
    new_response_id,
    output_items,
    response_object,
)
from poe.doors.streaming import write_stream
from poe.errors import InsufficientQuota, InvalidRequest, RateLimited, UpstreamError, UpstreamTimeout, error_body
from tests.support_streams import Source, answers, runtime

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": True,
}
APPLY_PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edit files",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"},
}
CREATED = 1_700_000_000


def body(**fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"model": "gpt-5", "input": "hi"}
    out.update(fields)
    return out


def parse(**fields: Any) -> tuple[ChatRequest, ResponsesOptions]:
    return parse_responses_request(body(**fields))


def rejected(raw: dict[str, Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as info:
        parse_responses_request(raw)
    err = info.value
    assert err.status == 400 and err.type == "invalid_request_error"
    assert err.message and "Traceback" not in err.message
    return err


def msg(role: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": content, **extra}


# ---------------------------------------------------------------- the request: what maps where


def test_minimal_request_and_default_options():
    req, options = parse()
    assert req == ChatRequest(model="gpt-5", messages=(Message(role="user", content="hi"),), include_usage=True)
    assert options == ResponsesOptions(
        instructions=None,
        tools=(),
        tool_choice="auto",
        custom_tools=frozenset(),
        max_output_tokens=None,
        metadata={},
        text_format={"type": "text"},
        reasoning_effort=None,
    )


def test_scalar_fields_are_carried():
    req, options = parse(
        model=" gpt-5 ",
        stream=True,
        temperature=2,
        top_p=0.5,
        max_output_tokens=300,
        user="u-1",
        parallel_tool_calls=False,
        metadata={"k": "v"},
        store=True,  # accepted, answered as false
        include=["reasoning.encrypted_content"],
        truncation="auto",
    )
    assert req.model == "gpt-5" and req.stream is True and req.include_usage is True
    assert req.temperature == 2.0 and isinstance(req.temperature, float) and req.top_p == 0.5
    assert req.max_tokens == 300 and options.max_output_tokens == 300
    assert req.user == "u-1" and req.parallel_tool_calls is False
    assert options.metadata == {"k": "v"}


def test_instructions_then_the_whole_transcript():
    req, _ = parse(
        instructions="You are terse.",
        tools=[WEATHER, APPLY_PATCH],
        input=[
            {"role": "developer", "content": "Be brief."},  # no type: a message
            msg("system", [{"type": "input_text", "text": "Really."}]),
            msg(
                "user",
                [
                    {"type": "input_text", "text": "look"},
                    {"type": "input_image", "image_url": "https://x/y.png", "detail": "low"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
                ],
            ),
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hmm"}], "encrypted_content": "x"},
            msg("assistant", [{"type": "output_text", "text": "Checking.", "annotations": []}], id="msg_1", status="completed"),
            {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city":"Paris"}', "id": "fc_1"},
            {"type": "custom_tool_call", "call_id": "c2", "name": "apply_patch", "input": "*** Begin Patch"},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
            {"type": "custom_tool_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "done"}]},
            {"role": "user", "content": "thanks"},
        ],
    )
    assert req.messages == (
        Message(role="system", content="You are terse."),
        Message(role="system", content="Be brief."),
        Message(role="system", content="Really."),
        Message(
            role="user",
            content="look",
            images=(
                ImagePart(url="https://x/y.png", detail="low", param="input[2].content[1].image_url"),
                ImagePart(url="data:image/png;base64,AAAA", param="input[2].content[2].image_url"),
            ),
        ),
        Message(
            role="assistant",
            content="Checking.",
            tool_calls=(
                ToolCall("c1", "get_weather", '{"city":"Paris"}'),
                ToolCall("c2", "apply_patch", json.dumps({CUSTOM_INPUT: "*** Begin Patch"})),
            ),
        ),
        Message(role="tool", content="sunny", tool_call_id="c1"),
        Message(role="tool", content="done", tool_call_id="c2"),
        Message(role="user", content="thanks"),
    )


def test_function_calls_without_an_assistant_message_join_one():
    req, _ = parse(
        input=[
            msg("user", "go"),
            {"type": "reasoning", "id": "rs", "summary": []},
            {"type": "function_call", "call_id": "a", "name": "f"},
            {"type": "function_call", "call_id": "b", "name": "g", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "a", "output": None},
            {"type": "function_call_output", "call_id": "b", "output": "ok"},
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
        ]
    )
    assert req.messages == (
        Message(role="user", content="go"),
        Message(role="assistant", content="", tool_calls=(ToolCall("a", "f", ""), ToolCall("b", "g", "{}"))),
        Message(role="tool", content="", tool_call_id="a"),
        Message(role="tool", content="ok", tool_call_id="b"),
        Message(role="assistant", content="", tool_calls=(ToolCall("c", "f", "{}"),)),
    )


def test_text_part_kinds_join():
    req, _ = parse(
        input=[
            msg(
                "assistant",
                [
                    {"type": "output_text", "text": "a"},
                    {"type": "refusal", "refusal": "b"},
                    {"type": "text", "text": "c"},
                    {"type": "summary_text", "text": "d"},
                    {"type": "refusal"},
                ],
            )
        ]
    )
    assert req.messages == (Message(role="assistant", content="a\nb\nc\nd\n"),)


def test_instructions_empty_is_no_message():
    req, options = parse(instructions="")
    assert req.messages == (Message(role="user", content="hi"),) and options.instructions == ""


def test_custom_tools_become_functions_with_one_string_input():
    req, options = parse(tools=[APPLY_PATCH, {"type": "custom", "name": "note"}, WEATHER])
    assert req.tools[0] == FunctionTool(
        name="apply_patch",
        description="Edit files\n\nThe input must follow this lark grammar:\nstart: /.+/",
        parameters={
            "type": "object",
            "properties": {CUSTOM_INPUT: {"type": "string", "description": "The tool's whole input, as free text."}},
            "required": [CUSTOM_INPUT],
        },
    )
    assert req.tools[1].name == "note" and req.tools[1].description == ""
    assert req.tools[2] == FunctionTool(name="get_weather", description="Weather in a city", parameters=WEATHER["parameters"])
    assert options.custom_tools == frozenset({"apply_patch", "note"})
    assert options.tools == (
        {"type": "custom", "name": "apply_patch", "description": "Edit files"},
        {"type": "custom", "name": "note", "description": ""},
        {**WEATHER, "strict": True},
    )


def test_function_tool_schema_defaults_and_strict_echo():
    req, options = parse(
        tools=[
            {"type": "function", "name": "f"},
            {"type": "function", "name": "g", "parameters": {"type": "object"}, "strict": "yes"},
        ]
    )
    assert [t.parameters for t in req.tools] == [{"type": "object", "properties": {}}] * 2
    assert [t["strict"] for t in options.tools] == [False, False]


def test_built_in_tools_are_dropped():
    req, options = parse(
        tools=[
            {"type": "web_search"},
            {"type": "web_search_preview"},
            {"type": "file_search", "vector_store_ids": ["vs"]},
            {"type": "local_shell"},
            {"type": "mcp", "server_label": "x"},
            {"type": "image_generation"},
            WEATHER,
        ]
    )
    assert [t.name for t in req.tools] == ["get_weather"] and [t["name"] for t in options.tools] == ["get_weather"]


@pytest.mark.parametrize(
    ("choice", "tools", "canonical", "echo"),
    [
        (None, [WEATHER], "auto", "auto"),
        ("auto", [WEATHER], "auto", "auto"),
        ("none", [WEATHER], "none", "none"),
        ("required", [WEATHER], "required", "required"),
        ("required", [{"type": "web_search"}], "auto", "required"),  # only built-ins: nothing to require
        ({"type": "function", "name": "get_weather"}, [WEATHER], "get_weather", {"type": "function", "name": "get_weather"}),
        ({"type": "custom", "name": "apply_patch"}, [APPLY_PATCH], "apply_patch", {"type": "custom", "name": "apply_patch"}),
        ({"type": "web_search_preview"}, [WEATHER], "auto", "auto"),
        (
            {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_weather"}]},
            [WEATHER],
            "required",
            {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_weather"}]},
        ),
        (
            {"type": "allowed_tools", "mode": "auto", "tools": []},
            [WEATHER],
            "auto",
            {"type": "allowed_tools", "mode": "auto", "tools": []},
        ),
        (
            {"type": "allowed_tools", "mode": "required", "tools": []},
            [],
            "auto",
            {"type": "allowed_tools", "mode": "required", "tools": []},
        ),
    ],
)
def test_tool_choice(choice, tools, canonical, echo):
    req, options = parse(tools=tools, tool_choice=choice)
    assert req.tool_choice == canonical and options.tool_choice == echo


@pytest.mark.parametrize(
    ("reasoning", "effort"),
    [
        (None, None),
        ({}, None),
        ({"effort": None, "summary": "auto"}, None),
        ({"effort": "none"}, None),
        ({"effort": "minimal"}, "minimal"),
        ({"effort": "low"}, "low"),
        ({"effort": "medium"}, "medium"),
        ({"effort": "high", "summary": "detailed"}, "high"),
        ({"effort": "xhigh"}, "xhigh"),
    ],
)
def test_reasoning_effort_is_carried(reasoning, effort):
    req, options = parse(reasoning=reasoning)
    assert req.reasoning_effort == effort and options.reasoning_effort == effort
    assert req.thinking_budget is None


@pytest.mark.parametrize(
    ("text", "fmt", "json_mode"),
    [
        (None, {"type": "text"}, False),
        ({}, {"type": "text"}, False),
        ({"verbosity": "low"}, {"type": "text"}, False),
        ({"format": {"type": "text"}}, {"type": "text"}, False),
        ({"format": {"type": "json_object"}}, {"type": "json_object"}, True),
        (
            {"format": {"type": "json_schema", "name": "x", "schema": {"type": "object"}, "strict": True}},
            {"type": "json_schema", "name": "x", "schema": {"type": "object"}, "strict": True},
            True,
        ),
    ],
)
def test_text_format(text, fmt, json_mode):
    req, options = parse(text=text)
    assert options.text_format == fmt and req.json_mode is json_mode


# ---------------------------------------------------------------- the request: every rejection names its param


def _without(key: str) -> dict[str, Any]:
    raw = body()
    del raw[key]
    return raw


def _items(*items: Any) -> dict[str, Any]:
    return body(input=list(items))


def _parts(*parts: Any, role: str = "user") -> dict[str, Any]:
    return _items(msg(role, list(parts)))


REJECTIONS = [
    (_without("model"), "model", "missing_required_parameter"),
    (body(model=""), "model", "invalid_value"),
    (body(model=5), "model", "invalid_type"),
    (body(previous_response_id="resp_123"), "previous_response_id", "unsupported_parameter"),
    (body(conversation="conv_1"), "conversation", "unsupported_parameter"),
    (body(conversation={"id": "conv_1"}), "conversation", "unsupported_parameter"),
    (body(background=True), "background", "unsupported_parameter"),
    (body(background="no"), "background", "invalid_type"),
    (_without("input"), "input", "missing_required_parameter"),
    (body(input=[]), "input", "empty_array"),
    (body(input=5), "input", "invalid_type"),
    (body(input={"role": "user"}), "input", "invalid_type"),
    (_items("hi"), "input[0]", "invalid_type"),
    (_items({"type": "item_reference", "id": "msg_1"}), "input[0].type", "unsupported_parameter"),
    (_items({"type": "computer_call", "call_id": "c"}), "input[0].type", "invalid_value"),
    (_items({"type": None, "role": "user", "content": "x"}), "input[0].type", "invalid_type"),
    (_items({"role": "tool", "content": "x"}), "input[0].role", "invalid_value"),
    (_items({"content": "x"}), "input[0].role", "invalid_value"),
    (_items({"role": "user"}), "input[0].content", None),
    (_items({"role": "user", "content": 5}), "input[0].content", "invalid_type"),
    (_parts({"type": "input_file", "file_id": "file_1"}), "input[0].content[0].type", "unsupported_parameter"),
    (_parts({"type": "input_audio", "input_audio": {}}), "input[0].content[0].type", "unsupported_parameter"),
    (_parts({"type": "input_video"}), "input[0].content[0].type", "invalid_value"),
    (_parts({"text": "no type"}), "input[0].content[0].type", "missing_required_parameter"),
    (_parts({"type": "input_text"}), "input[0].content[0].text", "missing_required_parameter"),
    (_parts({"type": "input_text", "text": 5}), "input[0].content[0].text", "invalid_type"),
    (_parts({"type": "refusal", "refusal": 5}, role="assistant"), "input[0].content[0].refusal", "invalid_type"),
    (_parts({"type": "input_image", "file_id": "file_1"}), "input[0].content[0].file_id", "unsupported_parameter"),
    (_parts({"type": "input_image"}), "input[0].content[0].image_url", "invalid_type"),
    (_parts({"type": "input_image", "image_url": {"url": "https://x"}}), "input[0].content[0].image_url", "invalid_type"),
    (_parts({"type": "input_image", "image_url": "ftp://x/y.png"}), "input[0].content[0].image_url", "invalid_value"),
    (
        _parts({"type": "input_image", "image_url": "https://x/y.png"}, role="assistant"),
        "input[0].content[0].type",
        "invalid_value",
    ),
    (
        _parts({"type": "input_image", "image_url": "https://x/y.png"}, role="developer"),
        "input[0].content[0].type",
        "invalid_value",
    ),
    (_items({"type": "function_call", "name": "f", "arguments": "{}"}), "input[0].call_id", "missing_required_parameter"),
    (_items({"type": "function_call", "call_id": "c", "arguments": "{}"}), "input[0].name", "missing_required_parameter"),
    (_items({"type": "function_call", "call_id": "c", "name": "f", "arguments": {"a": 1}}), "input[0].arguments", "invalid_type"),
    (_items({"type": "custom_tool_call", "call_id": "c", "name": "f", "input": {"a": 1}}), "input[0].input", "invalid_type"),
    (_items({"type": "function_call_output", "output": "x"}), "input[0].call_id", "missing_required_parameter"),
    (_items({"type": "custom_tool_call_output", "call_id": 5, "output": "x"}), "input[0].call_id", "invalid_type"),
    (_items({"type": "function_call_output", "call_id": "c", "output": 5}), "input[0].output", "invalid_type"),
    (
        _items({"type": "function_call_output", "call_id": "c", "output": [{"type": "input_file"}]}),
        "input[0].output[0].type",
        "unsupported_parameter",
    ),
    (body(instructions=5), "instructions", "invalid_type"),
    (body(tools={"type": "function"}), "tools", "invalid_type"),
    (body(tools=["get_weather"]), "tools[0]", "invalid_type"),
    (body(tools=[{"type": "function"}]), "tools[0].name", "missing_required_parameter"),
    (body(tools=[{"type": "function", "name": "bad name"}]), "tools[0].name", "invalid_value"),
    (body(tools=[{"type": "custom", "name": "x" * 65}]), "tools[0].name", "invalid_value"),
    (body(tools=[{"type": "function", "name": "f", "parameters": []}]), "tools[0].parameters", "invalid_type"),
    (
        body(tools=[{"type": "function", "name": "f", "parameters": {"properties": 1}}]),
        "tools[0].parameters",
        "invalid_function_parameters",
    ),
    (body(tools=[WEATHER, {"type": "function", "name": "g", "description": 5}]), "tools[1].description", "invalid_type"),
    (body(tools=[WEATHER], tool_choice={"type": "function", "name": "get_time"}), "tool_choice.name", "invalid_value"),
    (body(tools=[WEATHER], tool_choice={"type": "function"}), "tool_choice.name", "missing_required_parameter"),
    (body(tool_choice={"type": "custom", "name": "apply_patch"}), "tool_choice.name", "invalid_value"),
    (body(tool_choice=5), "tool_choice", "invalid_type"),
    (body(tool_choice="sometimes"), "tool_choice", "invalid_type"),
    (body(text="json"), "text", "invalid_type"),
    (body(text={"format": {"type": "xml"}}), "text.format.type", "invalid_value"),
    (body(text={"format": "json_object"}), "text.format.type", "invalid_value"),
    (body(reasoning="high"), "reasoning", "invalid_type"),
    (body(reasoning={"effort": "maximum"}), "reasoning.effort", "invalid_value"),
    (body(max_output_tokens=0), "max_output_tokens", "invalid_value"),
    (body(max_output_tokens="100"), "max_output_tokens", "invalid_type"),
    (body(temperature=2.5), "temperature", "invalid_value"),
    (body(temperature=-1), "temperature", "invalid_value"),
    (body(temperature="warm"), "temperature", "invalid_type"),
    (body(top_p=1.5), "top_p", "invalid_value"),
    (body(metadata=[]), "metadata", "invalid_type"),
    (body(user=5), "user", "invalid_type"),
    (body(stream="yes"), "stream", "invalid_type"),
    (body(parallel_tool_calls="no"), "parallel_tool_calls", "invalid_type"),
]


@pytest.mark.parametrize(("raw", "param", "code"), REJECTIONS, ids=[f"{p}-{c}" for _, p, c in REJECTIONS])
def test_rejections_name_their_param(raw, param, code):
    err = rejected(raw)
    assert (err.param, err.code) == (param, code)
    assert error_body(err)["error"]["param"] == param


@pytest.mark.parametrize("role", [["user"], {"user": 1}])
def test_unhashable_role_is_a_400(role):
    assert rejected(_items({"role": role, "content": "x"})).param == "input[0].role"


# ---------------------------------------------------------------- the request: random JSON never crashes it


VOCAB = [
    "user", "assistant", "system", "developer", "message", "function_call", "function_call_output",
    "custom_tool_call", "custom_tool_call_output", "reasoning", "item_reference", "input_text",
    "input_image", "output_text", "refusal", "function", "custom", "auto", "none", "required",
    "allowed_tools", "json_schema", "json_object", "high", "get_weather", "https://x/y.png", "data:,",
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
    "type", "role", "content", "text", "image_url", "file_id", "detail", "call_id", "name", "arguments",
    "input", "output", "id", "parameters", "properties", "format", "effort", "mode", "refusal", "definition",
]  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
TOP_FIELDS = [
    "model", "input", "instructions", "tools", "tool_choice", "text", "reasoning", "max_output_tokens",
    "metadata", "user", "stream", "temperature", "top_p", "parallel_tool_calls", "previous_response_id",
    "conversation", "background", "store", "include", "truncation", "prompt_cache_key",
]  # fmt: skip
ITEM_TYPES = ["message", "function_call", "function_call_output", "custom_tool_call", "custom_tool_call_output", "reasoning"]
PART_TYPES = ["input_text", "output_text", "input_image", "refusal", "input_file", "summary_text"]
# arrays and objects where a string belongs (a type, a role): the shapes a typo or a fuzzer sends
odd = st.lists(json_scalars, max_size=2) | st.dictionaries(st.sampled_from(KEYS), json_scalars, max_size=2)
parts = st.fixed_dictionaries(
    {"type": st.sampled_from(PART_TYPES) | json_values | odd}, optional={k: json_values for k in KEYS[1:]}
)
items = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(ITEM_TYPES) | json_values | odd,
        "role": st.sampled_from(["user", "assistant", "system", "developer"]) | json_values | odd,
        "content": json_values | st.lists(parts | json_values, max_size=3),
        **{k: json_values for k in ("call_id", "name", "arguments", "input", "output")},
    },
)


def _parse_or_reject(raw: dict[str, Any]) -> tuple[ChatRequest, ResponsesOptions] | InvalidRequest | None:
    try:
        return parse_responses_request(raw)
    except InvalidRequest as err:
        assert err.status == 400
        assert err.param is None or isinstance(err.param, str)
        json.dumps(error_body(err))
        return err


@settings(max_examples=120)
@given(
    st.dictionaries(st.sampled_from(TOP_FIELDS), json_values, max_size=8), st.lists(items | json_values, max_size=4) | json_values
)
def test_random_json_gives_a_request_or_invalid_request(fields, input_):
    raw = body(input=input_)
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
@given(st.lists(items, min_size=1, max_size=4))
def test_random_items(input_):
    _parse_or_reject(body(input=input_, tools=[WEATHER, APPLY_PATCH]))


# ---------------------------------------------------------------- the response, whole

OPTIONS = parse(tools=[WEATHER, APPLY_PATCH], instructions="Be terse.", reasoning={"effort": "low"}, max_output_tokens=500)[1]


def answer(content: str = "", reasoning: str = "", calls: tuple[ToolCall, ...] = (), reason: str = "stop") -> Collected:
    return Collected(content, reasoning, calls, reason, Usage(10, 5, 2))


def whole(a: Collected, options: ResponsesOptions = OPTIONS) -> dict[str, Any]:
    return response_object(
        "resp_1",
        CREATED,
        "gpt-5",
        options,
        status=finished_status(a.finish_reason),
        output=output_items(a, options.custom_tools),
        usage=a.usage,
        reason=a.finish_reason,
    )


def valid_response(obj: dict[str, Any]) -> Response:
    return Response.model_validate(obj, strict=True)


def test_response_object_completed():
    obj = whole(answer("Hello"))
    valid_response(obj)
    assert obj["status"] == "completed" and obj["error"] is None and obj["incomplete_details"] is None
    assert obj["output"][0]["type"] == "message"
    assert obj["output"][0]["content"] == [{"type": "output_text", "text": "Hello", "annotations": [], "logprobs": []}]
    assert obj["usage"] == {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 2},
        "total_tokens": 15,
    }
    assert obj["instructions"] == "Be terse." and obj["max_output_tokens"] == 500
    assert obj["reasoning"] == {"effort": "low", "summary": None}
    assert obj["store"] is False and obj["previous_response_id"] is None
    assert [t["type"] for t in obj["tools"]] == ["function", "custom"]
    assert obj["created_at"] == CREATED and obj["object"] == "response" and obj["model"] == "gpt-5"


@pytest.mark.parametrize(
    ("reason", "status", "details"),
    [
        ("length", "incomplete", "max_output_tokens"),
        ("content_filter", "incomplete", "content_filter"),
        ("tool_calls", "completed", None),
        ("stop", "completed", None),
    ],
)
def test_response_object_statuses(reason, status, details):
    obj = whole(answer("x", reason=reason))
    assert finished_status(reason) == status
    assert obj["status"] == status
    assert obj["incomplete_details"] == ({"reason": details} if details else None)
    valid_response(obj)


def test_response_object_failed():
    obj = response_object("resp_1", CREATED, "gpt-5", OPTIONS, status="failed", output=[], error=UpstreamError("Poe broke"))
    assert obj["error"] == {"code": "server_error", "message": "Poe broke"} and obj["usage"] is None
    valid_response(obj)


def test_output_items_reasoning_message_function_and_custom_calls():
    calls = (ToolCall("c1", "get_weather", '{"city":"Paris"}'), ToolCall("c2", "apply_patch", '{"input": "*** Begin Patch\\n"}'))
    items_ = output_items(answer("Checking.", "User wants weather.", calls, "tool_calls"), OPTIONS.custom_tools)
    assert [i["type"] for i in items_] == ["reasoning", "message", "function_call", "custom_tool_call"]
    assert items_[0]["summary"] == [{"type": "summary_text", "text": "User wants weather."}]
    assert {k: v for k, v in items_[2].items() if k != "id"} == {
        "type": "function_call",
        "call_id": "c1",
        "name": "get_weather",
        "arguments": '{"city":"Paris"}',
        "status": "completed",
    }
    assert {k: v for k, v in items_[3].items() if k != "id"} == {
        "type": "custom_tool_call",
        "call_id": "c2",
        "name": "apply_patch",
        "input": "*** Begin Patch\n",
    }
    assert re.fullmatch(r"rs_[0-9a-f]{32}", items_[0]["id"]) and re.fullmatch(r"msg_[0-9a-f]{32}", items_[1]["id"])
    assert len({i["id"] for i in items_}) == 4
    valid_response(whole(answer("Checking.", "User wants weather.", calls, "tool_calls")))


def test_output_items_tool_calls_only_and_empty_answer():
    only_calls = output_items(answer(calls=(ToolCall("c", "get_weather", "{}"),), reason="tool_calls"), frozenset())
    assert [i["type"] for i in only_calls] == ["function_call"]
    empty = output_items(answer(), frozenset())
    assert [(i["type"], i["content"][0]["text"]) for i in empty] == [("message", "")]


@pytest.mark.parametrize(
    ("arguments", "value"),
    [
        ('{"input": "patch"}', "patch"),
        ('{"input": ""}', ""),
        ("raw text", "raw text"),
        ('{"other": 1}', '{"other": 1}'),
        ('{"input": 5}', '{"input": 5}'),
        ("[1]", "[1]"),
        ("", ""),
    ],
)
def test_custom_input(arguments, value):
    assert custom_input(arguments) == value


def test_new_response_id():
    a, b = new_response_id(), new_response_id()
    assert a != b and re.fullmatch(r"resp_[0-9a-f]{32}", a)


# ---------------------------------------------------------------- the response, streamed

EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
FRAME = re.compile(r"event: (?P<event>[a-z_.]+)\ndata: (?P<data>[^\n]*)")
PING = {"type": ":ping"}  # an SSE comment: no event, no sequence number


def frames(raw: bytes) -> list[dict[str, Any]]:
    """Each frame is ``event: X`` then one ``data:`` line whose ``type`` is X, or the ``: ping`` comment."""
    decoded = raw.decode()
    assert decoded.endswith("\n\n")
    out = []
    for block in decoded[:-2].split("\n\n"):
        if block == ": ping":
            out.append(PING)
            continue
        m = FRAME.fullmatch(block)
        assert m is not None, block
        data = json.loads(m["data"])
        assert data["type"] == m["event"]
        out.append(data)
    return out


FINAL = ("response.completed", "response.incomplete", "response.failed")


def check_stream(events: list[dict[str, Any]]) -> Response:
    """Every event valid in the SDK's strict types, numbered 0, 1, 2...; items opened and closed in order."""
    numbered = [e for e in events if e is not PING]
    assert [e["sequence_number"] for e in numbered] == list(range(len(numbered)))
    assert [e["type"] for e in numbered[:2]] == ["response.created", "response.in_progress"]
    state = ResponseStreamState(input_tools=omit, text_format=omit)
    done: list[dict[str, Any]] = []
    open_item: dict[str, Any] | None = None
    final = None
    for i, ev in enumerate(numbered):
        kind = ev["type"]
        assert final is None, "an event after the end"
        state.handle_event(EVENT_ADAPTER.validate_python(ev, strict=True))
        if kind in ("response.created", "response.in_progress"):
            assert i < 2 and ev["response"]["status"] == "in_progress" and ev["response"]["output"] == []
            valid_response(ev["response"])
        elif kind == "response.output_item.added":
            assert open_item is None and ev["output_index"] == len(done)
            open_item = ev["item"]
            if open_item["type"] in ("message", "function_call"):
                assert open_item["status"] == "in_progress"
        elif kind == "response.output_item.done":
            assert open_item is not None and ev["output_index"] == len(done)
            assert ev["item"]["id"] == open_item["id"] and ev["item"]["type"] == open_item["type"]
            done.append(ev["item"])
            open_item = None
        elif kind in FINAL:
            final = ev["response"]
            if kind != "response.failed":
                assert open_item is None
        else:  # a part, delta or done of the open item
            assert open_item is not None, kind
            assert ev["item_id"] == open_item["id"] and ev["output_index"] == len(done)
    assert final is not None
    assert final["output"] == done
    return valid_response(final)


def run(events: list[AnswerEvent], options: ResponsesOptions = OPTIONS) -> list[dict[str, Any]]:
    stream = ResponseStream("resp_test", CREATED, "gpt-5", options)
    return frames(stream.start() + b"".join(stream.feed(ev) for ev in events))


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


STOP = Finish("stop", Usage(7, 3))


def test_stream_text():
    events = run([Delta(content="Hel"), Delta(content="lo"), STOP])
    assert kinds(events) == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.completed",
    ]  # fmt: skip
    assert events[2]["item"]["content"] == [] and events[2]["item"]["role"] == "assistant"
    assert events[3]["part"] == {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    assert [e["delta"] for e in events if e["type"] == "response.output_text.delta"] == ["Hel", "lo"]
    assert events[6]["text"] == "Hello" and events[7]["part"]["text"] == "Hello"
    response = check_stream(events)
    assert response.output_text == "Hello"
    assert response.status == "completed" and response.id == "resp_test" and response.created_at == CREATED
    assert response.usage is not None and (response.usage.input_tokens, response.usage.output_tokens) == (7, 3)


def test_stream_reasoning_text_function_and_custom_calls():
    events = run(
        [
            Delta(reasoning="Think"),
            Delta(reasoning="ing."),
            Delta(content="Checking."),
            Delta(tool_calls=(ToolCallDelta(0, "c1", "get_weather", '{"city":'),)),
            Delta(tool_calls=(ToolCallDelta(0, None, None, '"Paris"}'),)),
            Delta(tool_calls=(ToolCallDelta(1, "c2", "apply_patch", '{"input": "*** Begin'),)),
            Delta(tool_calls=(ToolCallDelta(1, None, None, ' Patch"}'),)),
            Finish("tool_calls", Usage(7, 30, 4)),
        ]
    )
    assert kinds(events) == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
        "response.output_item.added", "response.content_part.added", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
        "response.function_call_arguments.done", "response.output_item.done",
        "response.output_item.added", "response.custom_tool_call_input.delta", "response.custom_tool_call_input.done",
        "response.output_item.done",
        "response.completed",
    ]  # fmt: skip
    added = [e for e in events if e["type"] == "response.output_item.added"]
    assert [(e["output_index"], e["item"]["type"]) for e in added] == [
        (0, "reasoning"),
        (1, "message"),
        (2, "function_call"),
        (3, "custom_tool_call"),
    ]
    assert added[2]["item"] == {
        "type": "function_call",
        "id": added[2]["item"]["id"],
        "call_id": "c1",
        "name": "get_weather",
        "arguments": "",
        "status": "in_progress",
    }
    assert added[3]["item"]["input"] == "" and added[3]["item"]["call_id"] == "c2"
    args_done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert args_done["arguments"] == '{"city":"Paris"}'
    custom = [e for e in events if e["type"].startswith("response.custom_tool_call_input")]
    assert custom[0]["delta"] == "*** Begin Patch" and custom[1]["input"] == "*** Begin Patch"  # the freeform input, whole
    response = check_stream(events)
    assert response.status == "completed"
    out = [item.model_dump(exclude_none=True) for item in response.output]
    assert out[0]["summary"] == [{"type": "summary_text", "text": "Thinking."}]
    assert out[1]["content"][0]["text"] == "Checking."
    assert (out[2]["call_id"], out[2]["name"], out[2]["arguments"], out[2]["status"]) == (
        "c1",
        "get_weather",
        '{"city":"Paris"}',
        "completed",
    )
    assert (out[3]["type"], out[3]["call_id"], out[3]["input"]) == ("custom_tool_call", "c2", "*** Begin Patch")
    assert response.usage is not None and response.usage.output_tokens_details.reasoning_tokens == 4


def test_stream_custom_call_with_freeform_arguments():
    events = run([Delta(tool_calls=(ToolCallDelta(0, "c", "apply_patch", "not json"),)), Finish("tool_calls", Usage(1, 1))])
    done = next(e for e in events if e["type"] == "response.custom_tool_call_input.done")
    assert done["input"] == "not json"
    check_stream(events)


def test_stream_tool_call_without_id_gets_one():
    events = run([Delta(tool_calls=(ToolCallDelta(0, None, "get_weather", "{}"),)), Finish("tool_calls", Usage(1, 1))])
    response = check_stream(events)
    call = response.output[0]
    assert call.type == "function_call" and re.fullmatch(r"call_[0-9a-f]{32}", call.call_id)


def test_stream_replace_appends_after_a_blank_line():
    events = run([Delta(content="draft"), Replace("final"), STOP])
    assert [e["delta"] for e in events if e["type"] == "response.output_text.delta"] == ["draft", "\n\nfinal"]
    assert check_stream(events).output_text == "draft\n\nfinal"
    stream = ResponseStream("resp_1", CREATED, "gpt-5", OPTIONS)
    assert stream.feed(Replace("")) == b""


def test_stream_keepalive_is_a_comment_without_a_number():
    events = run([KeepAlive(), Delta(content="a"), KeepAlive(), Delta(), STOP])
    assert events.count(PING) == 2 and events[2] is PING
    check_stream(events)


@pytest.mark.parametrize(
    ("reason", "final", "details"),
    [
        ("stop", "response.completed", None),
        ("tool_calls", "response.completed", None),
        ("length", "response.incomplete", "max_output_tokens"),
        ("content_filter", "response.incomplete", "content_filter"),
    ],
)
def test_stream_finish_reasons(reason, final, details):
    events = run([Delta(content="x"), Finish(reason, Usage(7, 9, 1))])
    assert events[-1]["type"] == final
    response = check_stream(events)
    assert (response.incomplete_details.reason if response.incomplete_details else None) == details


def test_stream_finish_with_nothing_said_has_no_items():
    events = run([STOP])
    assert kinds(events) == ["response.created", "response.in_progress", "response.completed"]
    assert check_stream(events).output == []


def test_stream_error_is_response_failed_with_what_was_done():
    stream = ResponseStream("resp_1", CREATED, "gpt-5", OPTIONS)
    raw = stream.start() + stream.feed(Delta(reasoning="r")) + stream.feed(Delta(content="partial"))
    raw += stream.error(UpstreamTimeout("Poe went quiet"))
    events = frames(raw)
    failed = events[-1]
    assert failed["type"] == "response.failed"
    assert failed["response"]["status"] == "failed"
    assert failed["response"]["error"] == {"code": "server_error", "message": "Poe went quiet"}
    assert [i["type"] for i in failed["response"]["output"]] == ["reasoning"]  # the open message never finished
    check_stream(events)


def test_stream_shell_events_keep_an_empty_output():
    events = run([Delta(content="a"), STOP])
    assert events[0]["response"]["output"] == [] and events[1]["response"]["output"] == []
    assert len(events[-1]["response"]["output"]) == 1


def _without_ids(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "id"}


@settings(max_examples=60)
@given(answers(("get_weather", "apply_patch", "other"), "call_", custom=("apply_patch", CUSTOM_INPUT), reasoning_tokens=True))
def test_any_answer_streams_valid_events_that_end_in_its_response(case):
    events, collected = case
    streamed = check_stream(run(events)).model_dump(mode="json", exclude_none=True)
    expected = valid_response(whole(collected)).model_dump(mode="json", exclude_none=True)
    for key in ("status", "incomplete_details", "usage", "tools", "tool_choice", "reasoning", "text", "instructions"):
        assert streamed.get(key) == expected.get(key), key
    # the stream may split text and reasoning into several items; their texts and the calls are the same
    out = streamed["output"]
    assert "".join(p["text"] for i in out if i["type"] == "message" for p in i["content"]) == collected.content
    assert "".join(s["text"] for i in out if i["type"] == "reasoning" for s in i["summary"]) == collected.reasoning
    calls = [_without_ids(i) for i in out if i["type"] in ("function_call", "custom_tool_call")]
    assert calls == [_without_ids(i) for i in expected["output"] if i["type"] in ("function_call", "custom_tool_call")]


# ---------------------------------------------------------------- write_stream


async def written(source: Source, logs: list[str] | None = None) -> tuple[list[bytes], list[dict[str, Any]]]:
    stream = ResponseStream("resp_w", CREATED, "gpt-5", OPTIONS)
    chunks = [
        c async for c in write_stream(source, stream, runtime([] if logs is None else logs, float(CREATED)), stream.start())
    ]  # type: ignore[arg-type]
    return chunks, frames(b"".join(chunks))


async def test_write_stream_one_write_per_batch():
    source = Source([[Delta(content="a"), Delta(content="b")], [], [KeepAlive()], [Delta(content="c"), STOP]])
    chunks, events = await written(source)
    assert len(chunks) == 3  # each batch that had bytes, the head with the first (the empty one writes nothing)
    assert kinds(frames(chunks[0]))[:2] == ["response.created", "response.in_progress"]
    assert frames(chunks[1]) == [PING]
    assert source.closed == 1
    assert check_stream(events).output_text == "abc"


async def test_write_stream_failure_is_redacted_response_failed():
    source = Source([[Delta(content="a")], [Failure(UpstreamError("Poe said: key secret-key-1 is bad"))]])
    _, events = await written(source)
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["error"] == {"code": "server_error", "message": "Poe said: key [redacted] is bad"}
    assert source.closed == 1
    check_stream(events)


@pytest.mark.parametrize("fail_after", [0, 1, 2])
async def test_write_stream_a_raising_source_ends_with_response_failed(fail_after):
    logs: list[str] = []
    source = Source([[Delta(reasoning="r")], [Delta(content="a")], [STOP]], fail_after=fail_after)
    _, events = await written(source, logs)
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["error"]["message"] == "The proxy hit an internal error; the answer is incomplete."
    assert source.closed == 1
    assert logs == ["internal error while streaming: RuntimeError"]  # the type, never the message
    check_stream(events)  # still numbered 0, 1, 2... up to the failure


async def test_write_stream_closes_the_source_when_the_client_goes_away():
    source = Source([[Delta(content="a")], [Delta(content="b")], [STOP]])
    writer = ResponseStream("resp_c", CREATED, "gpt-5", OPTIONS)
    out = write_stream(source, writer, runtime([]), writer.start())  # type: ignore[arg-type]
    assert kinds(frames(await anext(out)))[:2] == ["response.created", "response.in_progress"]  # with the first batch
    await out.aclose()  # type: ignore[attr-defined]
    assert source.closed == 1 and source.served == 1


# ---------------------------------------------------------------- review fixes


def test_a_call_without_arguments_says_empty_object_streamed_and_not():
    call = ToolCallDelta(index=0, id="call_1", name="get_weather", arguments="")
    writer = ResponseStream("resp_e", CREATED, "gpt-5", OPTIONS)
    raw = writer.start() + writer.feed(Delta(tool_calls=(call,))) + writer.feed(Finish("tool_calls", Usage(3, 1)))
    events = frames(raw)
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta")
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert deltas == done["arguments"] == "{}"
    assert check_stream(events).output[0].arguments == "{}"  # type: ignore[union-attr]
    answer = Collected("", "", (ToolCall("call_1", "get_weather", ""),), "tool_calls", Usage(3, 1))
    assert output_items(answer, frozenset())[0]["arguments"] == "{}"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (RateLimited("slow down"), "rate_limit_exceeded"),
        (InsufficientQuota("no points"), "insufficient_quota"),
        (InvalidRequest("too long", code="context_length_exceeded"), "context_length_exceeded"),
        (UpstreamError("broke"), "server_error"),
    ],
)
def test_response_failed_carries_a_code_clients_act_on(error, code):
    writer = ResponseStream("resp_f", CREATED, "gpt-5", OPTIONS)
    events = frames(writer.start() + writer.error(error))
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["error"] == {"code": code, "message": error.message}

"""load_json / parse_chat_request: OpenAI Chat Completions JSON -> ChatRequest.

Every rejection is an InvalidRequest (HTTP 400, OpenAI error shape) naming the
offending ``param`` the way OpenAI does; nothing else ever escapes.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poe.canonical import ChatRequest, FunctionTool, ImagePart, Message, ToolCall
from poe.doors.common import load_json
from poe.doors.openai_parse import parse_chat_request
from poe.errors import InvalidRequest, error_body

USER = {"role": "user", "content": "hi"}


def body(**fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"model": "gpt-4o", "messages": [dict(USER)]}
    out.update(fields)
    return out


def rejected(raw: dict[str, Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as info:
        parse_chat_request(raw)
    err = info.value
    assert err.status == 400
    assert err.type == "invalid_request_error"
    assert err.message and "Traceback" not in err.message
    return err


TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


# ---------------------------------------------------------------- load_json


@pytest.mark.parametrize(
    "raw",
    [b"", b"   \n", b"{", b"{'model': 1}", b"\xff\xfe\x00garbage", b"[1, 2]", b'"text"', b"42", b"null", b"\xc3\x28{}"],
)
def test_load_json_rejects_what_is_not_a_json_object(raw):
    with pytest.raises(InvalidRequest) as info:
        load_json(raw)
    assert info.value.status == 400
    assert info.value.param is None


def test_load_json_reports_where_the_syntax_error_is():
    with pytest.raises(InvalidRequest) as info:
        load_json(b'{"model": "x",\n "messages": [}')
    assert "line 2" in info.value.message


def test_load_json_deeply_nested_body_is_a_400_not_a_crash():
    for raw in (b"[" * 200_000, b'{"a":' * 200_000):
        with pytest.raises(InvalidRequest):
            load_json(raw)


def test_load_json_accepts_an_object():
    assert load_json(b' {"model": "gpt-4o"} ') == {"model": "gpt-4o"}
    assert load_json('{"model": "é"}'.encode()) == {"model": "é"}


# ---------------------------------------------------------------- valid requests


def test_minimal_request_defaults():
    req = parse_chat_request(body())
    assert req == ChatRequest(model="gpt-4o", messages=(Message(role="user", content="hi"),))
    assert req.stream is False and req.include_usage is False
    assert req.tool_choice == "auto" and req.parallel_tool_calls is True
    assert req.max_tokens is None and req.temperature is None and req.stop == ()


def test_full_request():
    req = parse_chat_request(
        body(
            model="  Claude-3.5-Sonnet ",
            messages=[
                {"role": "developer", "content": "be brief"},
                {"role": "system", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                {
                    "role": "user",
                    "name": "ann",
                    "content": [
                        {"type": "text", "text": "look"},
                        {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            ],
            stream=True,
            stream_options={"include_usage": True},
            temperature=0.5,
            top_p=0.9,
            presence_penalty=-1,
            frequency_penalty=2,
            seed=7,
            stop=["\n\n", "END"],
            max_tokens=100,
            user="u1",
            tools=[TOOL],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            parallel_tool_calls=False,
            logit_bias={"50256": -100, "1": 5},
            response_format={"type": "json_object"},
            unknown_field={"ignored": True},
        )
    )
    assert req.model == "Claude-3.5-Sonnet"
    assert [m.role for m in req.messages] == ["system", "system", "user", "assistant", "tool"]
    assert req.messages[1].content == "a\nb"
    assert req.messages[2] == Message(
        role="user",
        content="look",
        images=(ImagePart("https://x/y.png", "low", param="messages[2].content[1].image_url.url"),),
        name="ann",
    )
    assert req.messages[3].content == ""
    assert req.messages[3].tool_calls == (ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}'),)
    assert req.messages[4].tool_call_id == "call_1" and req.messages[4].content == "sunny"
    assert req.stream and req.include_usage
    assert req.temperature == 0.5 and isinstance(req.temperature, float)
    assert req.stop == ("\n\n", "END")
    assert req.max_tokens == 100
    assert req.user == "u1"
    assert req.tools == (FunctionTool("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}}),)
    assert req.tool_choice == "get_weather"
    assert req.parallel_tool_calls is False
    assert dict(req.logit_bias) == {"50256": -100.0, "1": 5.0}
    assert req.json_mode is True


def test_lenient_content_forms():
    req = parse_chat_request(
        body(
            messages=[
                {
                    "role": "user",
                    "content": [
                        "bare",
                        {"type": "input_text", "text": "typed"},
                        {"type": "image_url", "image_url": "data:image/png;base64,AAAA"},
                    ],
                },
                {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]},
                {"role": "system", "content": None},
                {"role": "assistant"},
                {"role": "user", "content": ""},
            ]
        )
    )
    assert req.messages[0].content == "bare\ntyped"
    assert req.messages[0].images == (ImagePart("data:image/png;base64,AAAA", param="messages[0].content[2].image_url"),)
    assert req.messages[1].content == "no"
    assert req.messages[2].content == ""
    assert req.messages[3] == Message(role="assistant", content="")
    assert req.messages[4].content == ""


def test_tool_calls_on_non_assistant_messages_are_ignored():
    req = parse_chat_request(body(messages=[{"role": "user", "content": "x", "tool_calls": "junk"}]))
    assert req.messages[0].tool_calls == ()


def test_stop_string_and_null():
    assert parse_chat_request(body(stop="END")).stop == ("END",)
    assert parse_chat_request(body(stop=None)).stop == ()
    assert parse_chat_request(body(stop=[])).stop == ()


def test_max_completion_tokens_wins_over_max_tokens():
    assert parse_chat_request(body(max_tokens=10, max_completion_tokens=20)).max_tokens == 20
    assert parse_chat_request(body(max_tokens=10)).max_tokens == 10


def test_numbers_at_the_edges_of_their_ranges():
    assert parse_chat_request(body(temperature=0)).temperature == 0.0
    assert parse_chat_request(body(temperature=2)).temperature == 2.0
    parse_chat_request(body(top_p=0, presence_penalty=-2, frequency_penalty=2.0, n=1, seed=-(2**63)))


def test_response_format_text_is_not_json_mode():
    assert parse_chat_request(body(response_format={"type": "text"})).json_mode is False
    assert parse_chat_request(body(response_format={"type": "json_schema", "json_schema": {}})).json_mode is True


def test_tool_choice_forms():
    assert parse_chat_request(body(tools=[TOOL], tool_choice="required")).tool_choice == "required"
    assert parse_chat_request(body(tools=[TOOL], tool_choice="none")).tool_choice == "none"
    assert parse_chat_request(body(tool_choice="none")).tool_choice == "none"
    assert parse_chat_request(body(tools=[TOOL], tool_choice=None)).tool_choice == "auto"


def test_tool_without_parameters_gets_an_empty_object_schema():
    req = parse_chat_request(body(tools=[{"type": "function", "function": {"name": "now"}}]))
    assert req.tools == (FunctionTool("now", "", {"type": "object", "properties": {}}),)
    req = parse_chat_request(body(tools=[{"function": {"name": "now", "parameters": {"required": []}}}]))
    assert req.tools[0].parameters == {"type": "object", "properties": {}, "required": []}


def test_deprecated_functions_and_function_call():
    req = parse_chat_request(
        body(functions=[{"name": "f", "parameters": {"type": "object", "properties": {}}}], function_call={"name": "f"})
    )
    assert [t.name for t in req.tools] == ["f"]
    assert req.tool_choice == "f"
    with pytest.raises(InvalidRequest) as info:
        parse_chat_request(body(functions=[{"name": "f"}], function_call="bogus"))
    assert info.value.param == "function_call"
    with pytest.raises(InvalidRequest) as info:
        parse_chat_request(body(functions="f"))
    assert info.value.param == "functions"


# ---------------------------------------------------------------- invalid requests: param and code


def _msgs(*extra: Any) -> list[Any]:
    return [dict(USER), {"role": "assistant", "content": "ok"}, *extra]


INVALID: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("no model", {"model": None}, "model", "missing_required_parameter"),
    ("model number", {"model": 4}, "model", "invalid_type"),
    ("model blank", {"model": "  "}, "model", "invalid_value"),
    ("no messages", {"messages": None}, "messages", "missing_required_parameter"),
    ("messages object", {"messages": {"role": "user"}}, "messages", "invalid_type"),
    ("messages empty", {"messages": []}, "messages", "empty_array"),
    ("bad role", {"messages": _msgs({"role": "wizard", "content": "x"})}, "messages[2].role", "invalid_value"),
    ("role number", {"messages": _msgs({"role": 1, "content": "x"})}, "messages[2].role", "invalid_value"),
    ("role missing", {"messages": [{"content": "x"}]}, "messages[0].role", "missing_required_parameter"),
    ("message not object", {"messages": [USER, "hello"]}, "messages[1]", "invalid_type"),
    ("content missing", {"messages": [{"role": "user"}]}, "messages[0].content", "missing_required_parameter"),
    ("system content missing", {"messages": [{"role": "system"}]}, "messages[0].content", "missing_required_parameter"),
    ("user content null", {"messages": [{"role": "user", "content": None}]}, "messages[0].content", "invalid_type"),
    ("content number", {"messages": [{"role": "user", "content": 5}]}, "messages[0].content", "invalid_type"),
    ("content object", {"messages": [{"role": "user", "content": {"text": "x"}}]}, "messages[0].content", "invalid_type"),
    ("part number", {"messages": [{"role": "user", "content": [5]}]}, "messages[0].content[0]", "invalid_type"),
    (
        "part type unknown",
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "input_audio"}]}]},
        "messages[0].content[1].type",
        "invalid_value",
    ),
    ("part type missing", {"messages": [{"role": "user", "content": [{"text": "a"}]}]}, "messages[0].content[0].type", None),
    (
        "text missing",
        {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
        "messages[0].content[0].text",
        "invalid_type",
    ),
    (
        "refusal missing",
        {"messages": [{"role": "assistant", "content": [{"type": "refusal"}]}]},
        "messages[0].content[0].refusal",
        "invalid_type",
    ),
    (
        "image in system",
        {"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://x"}}]}]},
        "messages[0].content[0]",
        None,
    ),
    (
        "image ftp",
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}]},
        "messages[0].content[0].image_url.url",
        "invalid_image_url",
    ),
    (
        "image bare ftp",
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "file:///etc/passwd"}]}]},
        "messages[0].content[0].image_url",
        "invalid_image_url",
    ),
    (
        "image url number",
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": 1}}]}]},
        "messages[0].content[0].image_url.url",
        "invalid_type",
    ),
    (
        "image_url missing",
        {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
        "messages[0].content[0].image_url",
        "invalid_type",
    ),
    ("name number", {"messages": [{"role": "user", "content": "x", "name": 3}]}, "messages[0].name", "invalid_type"),
    (
        "tool_call_id missing",
        {"messages": _msgs({"role": "tool", "content": "x"})},
        "messages[2].tool_call_id",
        "missing_required_parameter",
    ),
    (
        "tool_call_id number",
        {"messages": _msgs({"role": "tool", "content": "x", "tool_call_id": 1})},
        "messages[2].tool_call_id",
        "invalid_type",
    ),
    ("tool_calls object", {"messages": _msgs({"role": "assistant", "tool_calls": {}})}, "messages[2].tool_calls", "invalid_type"),
    (
        "tool_call not object",
        {"messages": _msgs({"role": "assistant", "tool_calls": ["x"]})},
        "messages[2].tool_calls[0]",
        "invalid_type",
    ),
    (
        "tool_call function missing",
        {"messages": _msgs({"role": "assistant", "tool_calls": [{"id": "c"}]})},
        "messages[2].tool_calls[0].function",
        "invalid_type",
    ),
    (
        "tool_call id missing",
        {"messages": _msgs({"role": "assistant", "tool_calls": [{"function": {"name": "f"}}]})},
        "messages[2].tool_calls[0].id",
        "missing_required_parameter",
    ),
    (
        "tool_call name missing",
        {"messages": _msgs({"role": "assistant", "tool_calls": [{"id": "c", "function": {}}]})},
        "messages[2].tool_calls[0].function.name",
        "missing_required_parameter",
    ),
    (
        "tool_call args number",
        {"messages": _msgs({"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": 1}}]})},
        "messages[2].tool_calls[0].function.arguments",
        "invalid_type",
    ),
    ("stream string", {"stream": "yes"}, "stream", "invalid_type"),
    ("stream_options list", {"stream_options": []}, "stream_options", "invalid_type"),
    ("include_usage string", {"stream_options": {"include_usage": "yes"}}, "stream_options.include_usage", "invalid_type"),
    ("temperature high", {"temperature": 2.5}, "temperature", "invalid_value"),
    ("temperature negative", {"temperature": -0.1}, "temperature", "invalid_value"),
    ("temperature string", {"temperature": "0.5"}, "temperature", "invalid_type"),
    ("temperature bool", {"temperature": True}, "temperature", "invalid_type"),
    ("temperature huge int", {"temperature": 10**400}, "temperature", "invalid_value"),
    ("temperature NaN", {"temperature": float("nan")}, "temperature", "invalid_type"),
    ("temperature inf", {"temperature": float("inf")}, "temperature", "invalid_type"),
    ("top_p high", {"top_p": 1.01}, "top_p", "invalid_value"),
    ("presence_penalty low", {"presence_penalty": -2.1}, "presence_penalty", "invalid_value"),
    ("frequency_penalty string", {"frequency_penalty": "1"}, "frequency_penalty", "invalid_type"),
    ("seed float", {"seed": 1.5}, "seed", "invalid_type"),
    ("stop number", {"stop": 5}, "stop", "invalid_type"),
    ("stop object", {"stop": {"a": 1}}, "stop", "invalid_type"),
    ("stop too many", {"stop": ["a", "b", "c", "d", "e"]}, "stop", "invalid_value"),
    ("stop item number", {"stop": ["a", 1]}, "stop[1]", "invalid_type"),
    ("max_tokens zero", {"max_tokens": 0}, "max_tokens", "invalid_value"),
    ("max_tokens float", {"max_tokens": 1.5}, "max_tokens", "invalid_type"),
    ("max_tokens string", {"max_tokens": "100"}, "max_tokens", "invalid_type"),
    ("max_completion_tokens negative", {"max_completion_tokens": -1}, "max_completion_tokens", "invalid_value"),
    ("n two", {"n": 2}, "n", "unsupported_parameter"),
    ("n zero", {"n": 0}, "n", "invalid_value"),
    ("n string", {"n": "1"}, "n", "invalid_type"),
    ("logprobs", {"logprobs": True}, "logprobs", "unsupported_parameter"),
    ("logprobs string", {"logprobs": "yes"}, "logprobs", "invalid_type"),
    ("top_logprobs", {"top_logprobs": 2}, "top_logprobs", "unsupported_parameter"),
    ("modalities audio", {"modalities": ["text", "audio"]}, "modalities", "unsupported_parameter"),
    ("modalities string", {"modalities": "text"}, "modalities", "unsupported_parameter"),
    ("audio", {"audio": {"voice": "alloy"}}, "audio", "unsupported_parameter"),
    ("logit_bias list", {"logit_bias": [1]}, "logit_bias", "invalid_type"),
    ("logit_bias value string", {"logit_bias": {"50256": "-100"}}, "logit_bias.50256", "invalid_type"),
    ("logit_bias value out of range", {"logit_bias": {"50256": -101}}, "logit_bias.50256", "invalid_value"),
    ("logit_bias NaN", {"logit_bias": {"1": float("nan")}}, "logit_bias.1", "invalid_value"),
    ("logit_bias huge", {"logit_bias": {"1": 10**400}}, "logit_bias.1", "invalid_value"),
    ("response_format string", {"response_format": "json"}, "response_format", "invalid_type"),
    ("response_format no type", {"response_format": {}}, "response_format", "invalid_type"),
    ("response_format unknown", {"response_format": {"type": "xml"}}, "response_format.type", "invalid_value"),
    ("tools object", {"tools": {}}, "tools", "invalid_type"),
    ("tool not object", {"tools": [TOOL, "x"]}, "tools[1]", "invalid_type"),
    ("tool type", {"tools": [{"type": "code_interpreter"}]}, "tools[0].type", "invalid_value"),
    ("tool function missing", {"tools": [{"type": "function"}]}, "tools[0].function", "invalid_type"),
    (
        "tool name missing",
        {"tools": [{"type": "function", "function": {}}]},
        "tools[0].function.name",
        "missing_required_parameter",
    ),
    ("tool name empty", {"tools": [{"type": "function", "function": {"name": ""}}]}, "tools[0].function.name", "invalid_value"),
    (
        "tool name space",
        {"tools": [{"type": "function", "function": {"name": "get weather"}}]},
        "tools[0].function.name",
        "invalid_value",
    ),
    (
        "tool name too long",
        {"tools": [{"type": "function", "function": {"name": "a" * 65}}]},
        "tools[0].function.name",
        "invalid_value",
    ),
    (
        "tool name non-ascii",
        {"tools": [{"type": "function", "function": {"name": "météo"}}]},
        "tools[0].function.name",
        "invalid_value",
    ),
    (
        "tool description number",
        {"tools": [{"type": "function", "function": {"name": "f", "description": 1}}]},
        "tools[0].function.description",
        "invalid_type",
    ),
    (
        "tool parameters list",
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]},
        "tools[0].function.parameters",
        "invalid_type",
    ),
    (
        "tool parameters type",
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": 1}}}]},
        "tools[0].function.parameters",
        "invalid_function_parameters",
    ),
    (
        "tool parameters properties",
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"properties": []}}}]},
        "tools[0].function.parameters",
        "invalid_function_parameters",
    ),
    (
        "tool parameters required",
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"required": "city"}}}]},
        "tools[0].function.parameters",
        "invalid_function_parameters",
    ),
    ("tool_choice unknown", {"tool_choice": "sometimes"}, "tool_choice", "invalid_value"),
    ("tool_choice required no tools", {"tool_choice": "required"}, "tool_choice", "invalid_value"),
    (
        "tool_choice unknown function",
        {"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
        "tool_choice",
        "invalid_value",
    ),
    (
        "tool_choice function no tools",
        {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
        "tool_choice",
        "invalid_value",
    ),
    ("tool_choice number", {"tool_choice": 1}, "tool_choice", "invalid_type"),
    ("parallel_tool_calls string", {"parallel_tool_calls": "no"}, "parallel_tool_calls", "invalid_type"),
    ("user number", {"user": 1}, "user", "invalid_type"),
]


@pytest.mark.parametrize(("fields", "param", "code"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_request_names_the_param(fields, param, code):
    err = rejected(body(**fields))
    assert err.param == param
    if code is not None:
        assert err.code == code
    shape = error_body(err)["error"]
    assert shape["param"] == param and shape["type"] == "invalid_request_error"
    assert isinstance(shape["message"], str) and shape["message"]


def test_invalid_values_are_also_rejected_through_the_json_path():
    """NaN / Infinity / 400-digit numbers are valid input to json.loads."""
    for raw in (
        b'{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":NaN}',
        b'{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":Infinity}',
        b'{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":1' + b"0" * 400 + b"}",
        b'{"model":"m","messages":[{"role":"user","content":"x"}],"logit_bias":{"1":-Infinity}}',
    ):
        with pytest.raises(InvalidRequest):
            parse_chat_request(load_json(raw))


def test_error_message_names_the_bad_role():
    err = rejected(body(messages=_msgs({"role": "wizard", "content": "x"})))
    assert '"wizard"' in err.message
    assert "messages[2].role" in err.message


# ---------------------------------------------------------------- never another exception

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**310)
    | st.floats()  # NaN and infinities too: json.loads accepts them
    | st.text(max_size=10)
    | st.sampled_from(
        [
            "user",
            "assistant",
            "tool",
            "system",
            "developer",
            "function",
            "text",
            "image_url",
            "auto",
            "none",
            "required",
            "https://x/y.png",
            "data:,",
            "get_weather",
        ]
    )
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(max_size=8) | st.sampled_from(["type", "text", "name", "url", "function", "arguments", "id"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
TOP_FIELDS = [
    "model", "messages", "stream", "stream_options", "temperature", "top_p", "presence_penalty", "frequency_penalty",
    "seed", "stop", "max_tokens", "max_completion_tokens", "n", "logprobs", "top_logprobs", "modalities", "audio",
    "logit_bias", "response_format", "tools", "functions", "tool_choice", "function_call", "parallel_tool_calls", "user",
]  # fmt: skip
MESSAGE_FIELDS = ["role", "content", "name", "tool_calls", "tool_call_id"]

messages_strategy = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "developer", "user", "assistant", "tool"])},
        optional={k: json_values for k in MESSAGE_FIELDS[1:]},
    )
    | st.dictionaries(st.sampled_from(MESSAGE_FIELDS), json_values, max_size=5)
    | json_values,
    max_size=4,
)


def _parse_or_reject(raw: dict[str, Any]) -> ChatRequest | InvalidRequest:
    try:
        return parse_chat_request(raw)
    except InvalidRequest as err:
        assert err.status == 400
        assert err.param is None or isinstance(err.param, str)
        json.dumps(error_body(err))  # always serialisable
        return err


@given(st.dictionaries(st.sampled_from(TOP_FIELDS), json_values, max_size=8), messages_strategy)
def test_random_json_gives_a_request_or_invalid_request(fields, messages):
    raw = body(messages=messages)
    raw.update(fields)
    before = copy.deepcopy(raw)
    _parse_or_reject(raw)
    assert repr(raw) == repr(before)  # the input is not mutated


@given(st.sampled_from(TOP_FIELDS), json_values)
def test_one_random_field_on_a_valid_request(field, value):
    raw = body()
    raw[field] = value
    result = _parse_or_reject(raw)
    if isinstance(result, InvalidRequest) and result.param is not None:
        # the error points at the field we broke (or inside it)
        assert result.param.split("[")[0].split(".")[0] in (field, "functions", "tools")


@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_random_bytes_through_load_json(raw):
    try:
        obj = load_json(raw)
    except InvalidRequest:
        return
    assert isinstance(obj, dict)
    _parse_or_reject(obj)

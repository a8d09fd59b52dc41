"""to_query: ChatRequest -> Poe QueryRequest body, checked with fastapi_poe's own model."""

from __future__ import annotations

import json
from typing import Any

from fastapi_poe.types import QueryRequest
from hypothesis import given
from hypothesis import strategies as st

from poe.canonical import ChatRequest, FunctionTool, ImagePart, Message, ToolCall
from poe.doors.openai_parse import parse_chat_request
from poe.errors import InvalidRequest
from poe.upstreams.bot_query import JSON_MODE_HINT, query_bytes, to_query


def validated(req: ChatRequest, **kw: Any) -> QueryRequest:
    body = to_query(req, **kw)
    # what goes on the wire is strict JSON (no NaN), and Poe's own model accepts it
    wire = json.loads(query_bytes(body))
    assert wire == body
    json.dumps(body, allow_nan=False)
    return QueryRequest.model_validate(wire)


def req(*messages: Message, **kw: Any) -> ChatRequest:
    return ChatRequest(model="gpt-4o", messages=messages, **kw)


U = Message(role="user", content="hello")


def test_minimal_body():
    body = to_query(req(U))
    assert body["version"] == "1.2"
    assert body["type"] == "query"
    assert body["query"] == [{"role": "user", "content": "hello", "content_type": "text/markdown"}]
    assert body["temperature"] is None
    assert body["stop_sequences"] == [] and body["logit_bias"] == {}
    assert "tools" not in body and "tool_calls" not in body and "tool_results" not in body
    q = validated(req(U))
    assert q.query[0].role == "user" and q.query[0].content == "hello"


def test_roles_are_mapped_and_assistant_never_reaches_poe():
    parsed = parse_chat_request(
        {
            "model": "m",
            "messages": [
                {"role": "developer", "content": "dev"},
                {"role": "system", "content": "sys"},
                {"role": "user", "content": "u1"},
                {"role": "assistant", "content": "a1"},
                {"role": "user", "content": "u2"},
            ],
        }
    )
    q = validated(parsed)
    assert [(m.role, m.content) for m in q.query] == [
        ("system", "dev"),
        ("system", "sys"),
        ("user", "u1"),
        ("bot", "a1"),
        ("user", "u2"),
    ]


def test_sampling_fields_are_forwarded():
    q = validated(req(U, temperature=0.3, stop=("END", "\n\n"), logit_bias={"50256": -100.0}, user="someone"))
    assert q.temperature == 0.3
    assert q.stop_sequences == ["END", "\n\n"]
    assert q.logit_bias == {"50256": -100.0}
    assert q.user_id == ""  # the client's "user" is not forwarded as Poe's user id


def test_ids_are_passed_through():
    q = validated(req(U), conversation_id="c1", message_id="m1")
    assert (q.conversation_id, q.message_id) == ("c1", "m1")


WEATHER = FunctionTool(
    "get_weather", "Weather in a city", {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
)


def test_tools_are_sent_unless_tool_choice_is_none():
    q = validated(req(U, tools=(WEATHER,)))
    assert q.tools is not None and len(q.tools) == 1
    fn = q.tools[0].function
    assert (q.tools[0].type, fn.name, fn.description) == ("function", "get_weather", "Weather in a city")
    assert fn.parameters.properties == {"city": {"type": "string"}} and fn.parameters.required == ["city"]
    assert "tools" not in to_query(req(U, tools=(WEATHER,), tool_choice="none"))


def test_last_tool_round_goes_to_native_fields():
    call1 = ToolCall("call_1", "get_weather", '{"city":"Paris"}')
    call2 = ToolCall("call_2", "get_time", "{}")
    r = req(
        Message(role="system", content="sys"),
        U,
        Message(role="assistant", content="", tool_calls=(call1, call2)),
        Message(role="tool", content="sunny", tool_call_id="call_1"),
        Message(role="tool", content="noon", tool_call_id="call_2"),
        tools=(WEATHER,),
    )
    q = validated(r)
    assert [(m.role, m.content) for m in q.query] == [("system", "sys"), ("user", "hello")]
    assert q.tool_calls is not None and q.tool_results is not None
    assert [(c.id, c.type, c.function.name, c.function.arguments) for c in q.tool_calls] == [
        ("call_1", "function", "get_weather", '{"city":"Paris"}'),
        ("call_2", "function", "get_time", "{}"),
    ]
    assert [(t.role, t.name, t.tool_call_id, t.content) for t in q.tool_results] == [
        ("tool", "get_weather", "call_1", "sunny"),
        ("tool", "get_time", "call_2", "noon"),
    ]


def test_earlier_tool_rounds_are_written_into_the_transcript():
    call1 = ToolCall("call_1", "get_weather", '{"city":"Paris"}')
    call2 = ToolCall("call_2", "get_weather", '{"city":"Rome"}')
    r = req(
        U,
        Message(role="assistant", content="let me check", tool_calls=(call1,)),
        Message(role="tool", content="sunny", tool_call_id="call_1"),
        Message(role="assistant", content="Paris is sunny."),
        Message(role="user", content="and Rome?"),
        Message(role="assistant", content="", tool_calls=(call2,)),
        Message(role="tool", content="rainy", tool_call_id="call_2"),
    )
    q = validated(r)
    assert [m.role for m in q.query] == ["user", "bot", "user", "bot", "user"]
    assert q.query[1].content == 'let me check\n[called tool get_weather (id call_1) with arguments {"city":"Paris"}]'
    assert q.query[2].content == "[result of tool get_weather (id call_1)]\nsunny"
    assert q.tool_calls is not None and [c.id for c in q.tool_calls] == ["call_2"]
    assert q.tool_results is not None and [t.content for t in q.tool_results] == ["rainy"]


def test_tool_messages_without_a_calling_assistant_become_user_text():
    for messages in (
        (Message(role="tool", content="orphan", tool_call_id="x"),),
        (U, Message(role="assistant", content="no calls"), Message(role="tool", content="orphan", tool_call_id="x")),
    ):
        q = validated(req(*messages))
        assert q.tool_calls is None and q.tool_results is None
        assert q.query[-1].role == "user"
        assert q.query[-1].content == "[result of tool tool (id x)]\norphan"


def test_a_tool_round_followed_by_a_user_turn_is_history():
    call = ToolCall("c", "f", "{}")
    q = validated(
        req(
            U,
            Message(role="assistant", content="", tool_calls=(call,)),
            Message(role="tool", content="r", tool_call_id="c"),
            Message(role="user", content="next"),
        )
    )
    assert q.tool_calls is None
    assert [m.role for m in q.query] == ["user", "bot", "user", "user"]


def test_json_mode_adds_a_system_hint_first():
    q = validated(req(U, json_mode=True))
    assert (q.query[0].role, q.query[0].content) == ("system", JSON_MODE_HINT)
    assert q.query[1].content == "hello"


def test_attachments_go_on_the_indexed_message():
    att = {"url": "https://pfst.cf2.poecdn.net/base/image/x.png", "content_type": "image/png", "name": "x.png"}
    r = req(
        U, Message(role="assistant", content="ok"), Message(role="user", content="this", images=(ImagePart("https://x/y.png"),))
    )
    q = validated(r, attachments={2: [att]})
    assert q.query[0].attachments == [] and q.query[1].attachments == []
    assert [(a.url, a.content_type, a.name) for a in q.query[2].attachments] == [(att["url"], "image/png", "x.png")]


def test_query_bytes_is_compact_utf8():
    raw = query_bytes(to_query(req(Message(role="user", content="héllo 😀"))))
    assert "héllo 😀".encode() in raw
    assert b": " not in raw


# ---------------------------------------------------------------- properties

ids = st.text(alphabet="abcdefghij_0123456789", min_size=1, max_size=8)
tool_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-0123456789", min_size=1, max_size=12)
any_text = st.text(max_size=30)
tool_call = st.builds(ToolCall, id=ids, name=tool_names, arguments=any_text)
image = st.builds(
    ImagePart, url=st.sampled_from(["https://x/y.png", "data:image/png;base64,AAAA"]), detail=st.none() | st.just("low")
)
message = st.one_of(
    st.builds(Message, role=st.just("system"), content=any_text),
    st.builds(
        Message, role=st.just("user"), content=any_text, images=st.lists(image, max_size=2).map(tuple), name=st.none() | any_text
    ),
    st.builds(Message, role=st.just("assistant"), content=any_text, tool_calls=st.lists(tool_call, max_size=3).map(tuple)),
    st.builds(Message, role=st.just("tool"), content=any_text, tool_call_id=ids),
)
schema = st.fixed_dictionaries(
    {"type": st.just("object"), "properties": st.dictionaries(tool_names, st.just({"type": "string"}), max_size=3)},
    optional={"required": st.lists(tool_names, max_size=2)},
)
function_tool = st.builds(FunctionTool, name=tool_names, description=any_text, parameters=schema)
chat_requests = st.builds(
    ChatRequest,
    model=st.just("gpt-4o"),
    messages=st.lists(message, min_size=1, max_size=7).map(tuple),
    temperature=st.none() | st.floats(0, 2),
    stop=st.lists(any_text, max_size=4).map(tuple),
    logit_bias=st.dictionaries(st.text(alphabet="0123456789", min_size=1, max_size=5), st.floats(-100, 100), max_size=3),
    tools=st.lists(function_tool, max_size=3).map(tuple),
    tool_choice=st.sampled_from(["auto", "none", "required"]),
    json_mode=st.booleans(),
)


@given(chat_requests)
def test_every_request_validates_as_a_poe_query(r):
    q = validated(r)
    roles = [m.role for m in q.query]
    assert "assistant" not in roles
    # nothing is lost: each message is in the transcript or in the native tool round
    in_round = len(q.tool_results or [])
    caller = 1 if q.tool_calls is not None else 0
    assert len(q.query) == len(r.messages) - in_round - caller + (1 if r.json_mode else 0)
    if q.tool_calls is not None:
        assert r.messages[-1].role == "tool"
        assert [t.content for t in q.tool_results or []] == [m.content for m in r.messages[len(r.messages) - in_round :]]
    for m in r.messages:
        if m.content and m.role in ("system", "user"):
            assert any(m.content in p.content for p in q.query)


_body_fields = st.fixed_dictionaries(
    {
        "model": st.just("gpt-4o"),
        "messages": st.lists(
            st.one_of(
                st.fixed_dictionaries({"role": st.sampled_from(["system", "developer", "user"]), "content": any_text}),
                st.fixed_dictionaries(
                    {"role": st.just("assistant"), "content": st.none() | any_text},
                    optional={
                        "tool_calls": st.lists(
                            st.fixed_dictionaries(
                                {
                                    "id": ids,
                                    "type": st.just("function"),
                                    "function": st.fixed_dictionaries(
                                        {
                                            "name": tool_names,
                                            "arguments": any_text | st.dictionaries(any_text, st.integers(), max_size=2),
                                        }
                                    ),
                                }
                            ),
                            max_size=2,
                        )
                    },
                ),
                st.fixed_dictionaries({"role": st.just("tool"), "content": any_text, "tool_call_id": ids}),
            ),
            min_size=1,
            max_size=6,
        ),
    },
    optional={
        "temperature": st.floats(0, 2) | st.integers(0, 2),
        "stop": any_text | st.lists(any_text, max_size=4),
        "logit_bias": st.dictionaries(
            st.text(alphabet="0123456789", min_size=1, max_size=5), st.integers(-100, 100) | st.floats(-100, 100), max_size=3
        ),
        "tools": st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.just("function"),
                    "function": st.fixed_dictionaries(
                        {"name": tool_names},
                        optional={
                            "description": any_text,
                            "parameters": st.dictionaries(
                                st.sampled_from(["type", "properties", "required", "additionalProperties"]),
                                st.none() | st.booleans() | st.just("object") | st.just({}) | st.just(["a"]),
                                max_size=3,
                            ),
                        },
                    ),
                }
            ),
            max_size=2,
        ),
        "response_format": st.sampled_from([{"type": "text"}, {"type": "json_object"}]),
    },
)


@given(_body_fields)
def test_whatever_parse_accepts_translates_into_a_valid_query(raw):
    try:
        parsed = parse_chat_request(raw)
    except InvalidRequest:
        return
    validated(parsed)

"""The demo upstream's fake of Poe's Anthropic-compatible API (demo/messages_api.py), on a real uvicorn."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import MessageParam, ToolParam
from starlette.types import Message

from demo import messages_api, upstream
from tests.support import ServerThread

Json = dict[str, Any]
VERSION = {"anthropic-version": "2023-06-01"}
USER_HI: list[MessageParam] = [{"role": "user", "content": "hi"}]
WEATHER: ToolParam = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
RESET = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with ServerThread(upstream.make_app()) as server:
        yield server


@pytest.fixture(scope="module")
def http(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def client(server: ServerThread, key: str = "good", **options: Any) -> anthropic.Anthropic:
    """The official SDK in strict mode: it sends x-api-key (or Bearer with auth_token=) and its anthropic-version."""
    return anthropic.Anthropic(
        base_url=server.url, api_key=key, max_retries=0, timeout=10, _strict_response_validation=True, **options
    )


@pytest.fixture(scope="module")
def sdk(server: ServerThread) -> Iterator[anthropic.Anthropic]:
    with client(server) as sdk:
        yield sdk


def post(http: httpx.Client, body: Json | str, headers: dict[str, str] | None = None) -> httpx.Response:
    headers = {"x-api-key": "good", **VERSION} if headers is None else headers
    content = body if isinstance(body, str) else json.dumps(body)
    return http.post("/v1/messages", content=content, headers={"content-type": "application/json", **headers})


def hi(**fields: Any) -> Json:
    return {"model": "claude-sonnet-4.5", "max_tokens": 100, "messages": USER_HI, **fields}


def events(raw: bytes) -> list[tuple[str, Json]]:
    """(event name, data) of each SSE event, checking that the data's type repeats the name."""
    parsed = []
    for block in raw.decode().split("\n\n"):
        if block:
            name, data = block.split("\n")
            assert name.startswith("event: ") and data.startswith("data: ")
            obj = json.loads(data.removeprefix("data: "))
            assert obj["type"] == name.removeprefix("event: ")
            parsed.append((obj["type"], obj))
    return parsed


# ---------------------------------------------------------------- answers, through the official SDK


def test_non_streamed_answer_has_poes_shape(sdk: anthropic.Anthropic) -> None:
    raw = sdk.messages.with_raw_response.create(
        model="claude-sonnet-4.5", max_tokens=100, messages=[{"role": "user", "content": "héllo 🌍"}]
    )
    message = raw.parse()
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [("text", "Echo: héllo 🌍")]
    assert message.model == "claude-sonnet-4-5-20250929"  # the dated id, not the name sent
    assert re.fullmatch(r"req_poe_[0-9a-f]{32}", message.id)
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    usage = message.usage
    assert (usage.input_tokens, usage.output_tokens) == (2, 3)  # words
    assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (0, 0)
    assert usage.model_extra == {"total_tokens": 5}
    assert raw.headers["anthropic-ratelimit-requests-limit"] == "500"
    assert raw.headers["anthropic-ratelimit-requests-remaining"] == "499"
    assert re.fullmatch(RESET, raw.headers["anthropic-ratelimit-requests-reset"])
    assert not [name for name in raw.headers if name.startswith(("openai-", "x-ratelimit-"))]


def test_body_keys_and_order_as_recorded(http: httpx.Client) -> None:
    r = post(http, hi(messages=[{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]))
    body = r.json()
    assert list(body) == ["model", "id", "type", "role", "content", "stop_reason", "stop_sequence", "usage"]
    assert body["content"] == [{"type": "text", "text": "Echo: a\nb"}]  # text blocks joined
    assert body["usage"]["cache_creation"] == {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}
    assert r.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("model", "resolved"),
    [
        ("claude-sonnet-4.5", "claude-sonnet-4-5-20250929"),
        ("Claude-Sonnet-4.5", "claude-sonnet-4-5-20250929"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929"),
        ("CLAUDE-SONNET-4-5", "claude-sonnet-4-5-20250929"),
        ("claude-haiku-3.5", "claude-3-5-haiku-20241022"),
        ("claude-haiku-3-5", "claude-3-5-haiku-20241022"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku-20241022"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku-20241022"),
        ("claude-3.5-haiku", "claude-3-5-haiku-20241022"),
        ("Claude-Sonnet-3.5", "claude-3-5-sonnet-20241022"),
        ("claude-opus-4-5-20250514", "claude-opus-4-5-20251101"),  # a wrong date is accepted (seen on Poe)
        ("Claude-Opus-4.1", "claude-opus-4-1-20250805"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4-20250514"),
    ],
)
def test_claude_names_resolve_to_dated_ids(http: httpx.Client, model: str, resolved: str) -> None:
    # not through the SDK: it warns (an error here) about some of these ids as deprecated
    assert post(http, hi(model=model)).json()["model"] == resolved


def test_no_two_claude_models_share_a_spelling() -> None:
    for bot, dated in messages_api.CLAUDE.items():
        assert messages_api.RESOLVE[messages_api.model_key(bot)] == dated
        assert messages_api.RESOLVE[messages_api.model_key(dated)] == dated


@pytest.mark.parametrize("model", ["gpt-4o", "GPT-4o", "Echo", "claude-sonnet-9", "Claude-Sonnet-4-Reasoning", "DeepClaude"])
def test_other_models_are_not_found(sdk: anthropic.Anthropic, model: str) -> None:
    with pytest.raises(anthropic.NotFoundError) as info:
        sdk.messages.create(model=model, max_tokens=10, messages=USER_HI)
    assert info.value.body == {
        "type": "error",
        "error": {"type": "not_found_error", "message": f"model: {model} is not available on /v1/messages (Claude models only)"},
    }


def test_streamed_answer_through_the_sdk(sdk: anthropic.Anthropic) -> None:
    text = "naïve café 🌍 ok"
    with sdk.messages.stream(model="claude-haiku-3.5", max_tokens=100, messages=[{"role": "user", "content": text}]) as stream:
        assert "".join(stream.text_stream) == f"Echo: {text}"
        final = stream.get_final_message()
    assert final.model == "claude-3-5-haiku-20241022" and re.fullmatch(r"req_poe_[0-9a-f]{32}", final.id)
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 5


def test_stream_events_in_anthropics_order(http: httpx.Client) -> None:
    r = post(http, hi(stream=True, messages=[{"role": "user", "content": "one two three"}]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["anthropic-ratelimit-requests-limit"] == "500"
    parsed = events(r.content)
    names = [name for name, _ in parsed]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 4,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = parsed[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["model"] == "claude-sonnet-4-5-20250929"
    assert start["usage"]["input_tokens"] == 3 and start["usage"]["output_tokens"] == 0
    assert parsed[1][1] == {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    assert "".join(d["delta"]["text"] for n, d in parsed if n == "content_block_delta") == "Echo: one two three"
    assert all(d["delta"]["type"] == "text_delta" and d["index"] == 0 for n, d in parsed if n == "content_block_delta")
    assert parsed[-2][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 4},
    }


def test_thinking_comes_first_with_a_signature(sdk: anthropic.Anthropic, http: httpx.Client) -> None:
    thinking: Any = {"type": "enabled", "budget_tokens": 1024}
    message = sdk.messages.create(model="claude-sonnet-4.5", max_tokens=2000, thinking=thinking, messages=USER_HI)
    assert [b.type for b in message.content] == ["thinking", "text"]
    block = message.content[0]
    assert block.type == "thinking" and block.signature and block.thinking == "The user wrote “hi”. I will echo it back."
    assert message.content[1].type == "text" and message.content[1].text == "Echo: hi"

    with sdk.messages.stream(model="claude-sonnet-4.5", max_tokens=2000, thinking=thinking, messages=USER_HI) as stream:
        kinds = [e.delta.type for e in stream if e.type == "content_block_delta"]
        streamed = stream.get_final_message().content
    assert [b.model_dump(exclude={"parsed_output"}) for b in streamed] == [b.model_dump() for b in message.content]
    assert kinds.index("signature_delta") == kinds.index("text_delta") - 1  # the signature closes the thinking block

    parsed = events(post(http, hi(max_tokens=2000, thinking=thinking, stream=True)).content)
    assert parsed[1][1]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    assert parsed[2][0] == "ping"
    adaptive = post(http, hi(thinking={"type": "adaptive"})).json()["content"]
    assert [b["type"] for b in adaptive] == ["thinking", "text"]
    assert [b["type"] for b in post(http, hi(thinking={"type": "disabled"})).json()["content"]] == ["text"]


def test_tool_use_when_asked(sdk: anthropic.Anthropic, http: httpx.Client) -> None:
    ask: list[MessageParam] = [{"role": "user", "content": "Please use tool for Paris"}]
    message = sdk.messages.create(model="claude-sonnet-4.5", max_tokens=100, tools=[WEATHER], messages=ask)
    assert message.stop_reason == "tool_use"
    text, call = message.content
    assert text.type == "text" and text.text == "I will call get_weather."
    assert call.type == "tool_use" and (call.name, call.input) == ("get_weather", {"city": "Paris"})
    assert re.fullmatch(r"toolu_vrtx_01[0-9a-f]{22}", call.id)

    with sdk.messages.stream(model="claude-sonnet-4.5", max_tokens=100, tools=[WEATHER], messages=ask) as stream:
        partial = [e.delta.partial_json for e in stream if e.type == "content_block_delta" and e.delta.type == "input_json_delta"]
        final = stream.get_final_message()
    assert len(partial) == 2 and json.loads("".join(partial)) == {"city": "Paris"}
    assert final.stop_reason == "tool_use" and final.content[1].type == "tool_use" and final.content[1].input == {"city": "Paris"}

    history: list[MessageParam] = [
        *ask,
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]},
    ]
    answer = sdk.messages.create(model="claude-sonnet-4.5", max_tokens=100, tools=[WEATHER], messages=history)
    assert answer.content[0].type == "text" and answer.content[0].text == "Tool said: get_weather=sunny"
    assert answer.stop_reason == "end_turn"

    no_city = {"name": "now", "input_schema": {"type": "object", "properties": {}}}
    body = post(http, hi(tools=[no_city], messages=ask)).json()
    assert body["content"][1] | {"id": "x"} == {"type": "tool_use", "id": "x", "name": "now", "input": {}}
    assert post(http, hi(tools=[WEATHER])).json()["stop_reason"] == "end_turn"  # tools, but not asked
    assert post(http, hi(messages=ask)).json()["content"] == [{"type": "text", "text": "Echo: Please use tool for Paris"}]


def test_stop_sequences_and_max_tokens(sdk: anthropic.Anthropic) -> None:
    words: list[MessageParam] = [{"role": "user", "content": "one two three four"}]
    stopped = sdk.messages.create(model="claude-sonnet-4.5", max_tokens=100, stop_sequences=["zzz", "three"], messages=words)
    assert (stopped.stop_reason, stopped.stop_sequence) == ("stop_sequence", "three")
    assert stopped.content[0].type == "text" and stopped.content[0].text == "Echo: one two "
    cut = sdk.messages.create(model="claude-sonnet-4.5", max_tokens=2, messages=words)
    assert (cut.stop_reason, cut.stop_sequence, cut.usage.output_tokens) == ("max_tokens", None, 2)
    assert cut.content[0].type == "text" and cut.content[0].text == "Echo: one"


def test_params_reports_the_body_and_headers_untouched(sdk: anthropic.Anthropic) -> None:
    messages: list[MessageParam] = [
        {"role": "user", "content": "earlier"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "/params", "cache_control": {"type": "ephemeral"}}]},
    ]
    message = sdk.messages.create(
        model="Claude-Sonnet-4.5",
        max_tokens=7,
        system=[{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        messages=messages,
        stop_sequences=["END"],
        tools=[WEATHER],
        tool_choice={"type": "auto"},
        metadata={"user_id": "u-1"},
        extra_headers={"anthropic-beta": "prompt-caching-2024-07-31", **VERSION},  # over the SDK's own version
        extra_body={"temperature": 0.5, "top_k": 3, "poe_extra": [1, {"b": 2, "a": 1}]},
    )
    assert message.content[0].type == "text"
    text = message.content[0].text
    received = json.loads(text)
    assert text == json.dumps(received, sort_keys=True, ensure_ascii=False)  # keys sorted, at every level
    assert received == {
        "anthropic-beta": "prompt-caching-2024-07-31",
        "anthropic-version": "2023-06-01",
        "body": {
            "model": "Claude-Sonnet-4.5",  # verbatim
            "max_tokens": 7,
            "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
            "messages": messages,
            "temperature": 0.5,
            "top_k": 3,
            "stop_sequences": ["END"],
            "tools": [WEATHER],
            "tool_choice": {"type": "auto"},
            "metadata": {"user_id": "u-1"},
            "poe_extra": [1, {"b": 2, "a": 1}],
        },
    }
    assert message.stop_reason == "end_turn"  # /params is never cut by max_tokens


# ---------------------------------------------------------------- auth and errors


def test_x_api_key_wins_over_bearer(server: ServerThread, http: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with anthropic.Anthropic(base_url=server.url, auth_token="good", max_retries=0) as bearer:
        assert bearer.messages.create(model="claude-haiku-3.5", max_tokens=10, messages=USER_HI).content
    assert post(http, hi(), {"authorization": "Bearer good", **VERSION}).status_code == 200
    assert post(http, hi(), {"x-api-key": "good", "authorization": "Bearer bad-1", **VERSION}).status_code == 200
    assert post(http, hi(), {"x-api-key": "bad-1", "authorization": "Bearer good", **VERSION}).status_code == 401
    assert post(http, hi(), {"authorization": "good", **VERSION}).status_code == 401  # not a Bearer header


@pytest.mark.parametrize(
    ("key", "status", "type_", "headers"),
    [
        (None, 401, "authentication_error", {}),
        ("bad-1", 401, "authentication_error", {}),
        ("broke-1", 402, "billing_error", {}),
        ("busy-1", 429, "rate_limit_error", {"retry-after": None, "anthropic-ratelimit-requests-remaining": "0"}),
        ("limited-1", 429, "rate_limit_error", {"retry-after": "30", "anthropic-ratelimit-requests-remaining": "0"}),
        ("down-1", 503, "api_error", {"retry-after": "5"}),
        ("overloaded-1", 529, "overloaded_error", {}),
    ],
)
def test_key_prefixes(http: httpx.Client, key: str | None, status: int, type_: str, headers: dict[str, str | None]) -> None:
    r = post(http, "{not json", {"x-api-key": key} if key else {})  # the key is checked before anything else
    assert r.status_code == status
    body = r.json()
    assert body["type"] == "error" and body["error"]["type"] == type_ and body["error"]["message"]
    assert set(body) == {"type", "error"} and set(body["error"]) == {"type", "message"}
    assert r.headers["anthropic-ratelimit-requests-limit"] == "500"
    assert "openai-version" not in r.headers and "x-ratelimit-remaining-requests" not in r.headers
    for name, value in headers.items():
        assert r.headers.get(name) == value


def test_html_key_gets_a_cloudflare_page(http: httpx.Client) -> None:
    r = post(http, hi(), {"x-api-key": "html-1", **VERSION})
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html") and "Bad gateway" in r.text


def test_sdk_raises_the_matching_errors(server: ServerThread) -> None:
    for key, error in (
        ("bad-2", anthropic.AuthenticationError),
        ("broke-2", anthropic.PaymentRequiredError),
        ("busy-2", anthropic.RateLimitError),
        ("down-2", anthropic.ServiceUnavailableError),
        ("overloaded-2", anthropic.OverloadedError),
    ):
        with client(server, key) as sdk, pytest.raises(error) as info:
            sdk.messages.create(model="claude-sonnet-4.5", max_tokens=10, messages=USER_HI)
        assert isinstance(info.value.body, dict) and info.value.body["error"]["message"]


def test_anthropic_version_is_required(http: httpx.Client) -> None:
    r = post(http, hi(), {"x-api-key": "good"})
    assert r.status_code == 400
    assert r.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "anthropic-version: header is required"},
    }
    assert post(http, hi(), {"x-api-key": "good", "anthropic-version": ""}).status_code == 400
    assert post(http, hi(), {"x-api-key": "bad-3"}).status_code == 401  # the key first


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("[1]", 400, "We could not parse the JSON body of your request."),
        ("{not json", 400, "We could not parse the JSON body of your request."),
        ({"max_tokens": 10, "messages": USER_HI}, 400, "model: Field required"),
        ({"model": "gpt-4o"}, 404, "model: gpt-4o is not available on /v1/messages (Claude models only)"),
        ({"model": "claude-sonnet-4.5", "messages": USER_HI}, 400, "max_tokens: Field required"),
        (hi(max_tokens=0), 400, "max_tokens: Input should be an integer greater than or equal to 1"),
        (hi(max_tokens="10"), 400, "max_tokens: Input should be an integer greater than or equal to 1"),
        ({"model": "claude-sonnet-4.5", "max_tokens": 10}, 400, "messages: Field required"),
        (hi(messages=[]), 400, "messages: at least one message is required"),
        (hi(messages={"role": "user"}), 400, "messages: at least one message is required"),
        (
            hi(messages=[{"role": "tool", "content": "x"}, *USER_HI]),
            400,
            "messages.0.role: Input should be 'user', 'assistant' or 'system'",
        ),
        (
            hi(thinking={"type": "enabled", "budget_tokens": 1000}),
            400,
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
        ),
        (
            hi(thinking={"type": "enabled", "budget_tokens": 2048}),
            400,
            "`max_tokens` must be greater than `thinking.budget_tokens`",
        ),
        (hi(messages=[{"role": "user", "content": "fail midway"}]), 500, "The model crashed halfway."),
        (hi(messages=[{"role": "user", "content": "cut off"}]), 502, "The model backend stopped answering."),
    ],
)
def test_request_errors(http: httpx.Client, body: Json | str, status: int, message: str) -> None:
    r = post(http, body)
    assert r.status_code == status
    type_ = {400: "invalid_request_error", 404: "not_found_error"}.get(status, "api_error")
    assert r.json() == {"type": "error", "error": {"type": type_, "message": message}}
    assert r.headers["anthropic-ratelimit-requests-remaining"] == "499"


def test_failing_stream_ends_with_an_error_event(sdk: anthropic.Anthropic, http: httpx.Client) -> None:
    ask: list[MessageParam] = [{"role": "user", "content": "then fail midway please"}]
    r = post(http, hi(messages=ask, stream=True))
    assert r.status_code == 200
    parsed = events(r.content)
    assert "".join(d["delta"]["text"] for n, d in parsed if n == "content_block_delta") == "Echo: then "
    assert parsed[-1] == (
        "error",
        {"type": "error", "error": {"type": "api_error", "message": "The model crashed halfway."}},
    )
    assert "message_stop" not in [n for n, _ in parsed] and r.content.endswith(b"\n\n")

    received = []
    with (
        pytest.raises(anthropic.APIStatusError) as info,  # the status line said 200
        sdk.messages.stream(model="claude-sonnet-4.5", max_tokens=100, messages=ask) as stream,
    ):
        received.extend(stream.text_stream)
    assert "".join(received) == "Echo: then "
    assert info.value.body == {"type": "error", "error": {"type": "api_error", "message": "The model crashed halfway."}}


def test_cutoff_stream_just_stops(http: httpx.Client) -> None:
    parsed = events(post(http, hi(messages=[{"role": "user", "content": "cut off here"}], stream=True)).content)
    assert [n for n, _ in parsed] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
    ]


# ---------------------------------------------------------------- counters and the split stream


def test_requests_are_counted_per_key(http: httpx.Client) -> None:
    before = http.get("/stats").json()
    post(http, hi(), {"x-api-key": "good-messages", "authorization": "Bearer other", **VERSION})
    post(http, hi(), {"authorization": "Bearer good-messages", **VERSION})
    post(http, hi(), {"x-api-key": "busy-messages", **VERSION})
    after = http.get("/stats").json()
    assert after["good-messages"] - before.get("good-messages", 0) == 2
    assert after["busy-messages"] - before.get("busy-messages", 0) == 1
    assert after.get("other", 0) == before.get("other", 0)


async def test_pieces_are_separate_writes() -> None:
    """At the ASGI level: more body messages than events, some cut inside a character, and they still decode."""
    text = "ü " * 40
    request = json.dumps(hi(stream=True, messages=[{"role": "user", "content": text}])).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/messages",
        "raw_path": b"/v1/messages",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"x-api-key", b"good"), (b"anthropic-version", b"2023-06-01"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    messages = [{"type": "http.request", "body": request, "more_body": False}]
    sent: list[Message] = []

    async def receive() -> Message:
        if messages:
            return messages.pop()
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await upstream.make_app()(scope, receive, send)
    pieces = [m["body"] for m in sent if m["type"] == "http.response.body" and m["body"]]
    raw = b"".join(pieces)
    assert len(pieces) > raw.count(b"\n\n")
    assert any(not p.isascii() for p in pieces)
    assert "".join(d["delta"].get("text", "") for n, d in events(raw) if n == "content_block_delta") == f"Echo: {text}"

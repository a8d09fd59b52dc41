"""Anthropic Messages (``POST /v1/messages``, ``/v1/messages/count_tokens``) through the proxy, as the official
``anthropic`` SDK (strict response validation) and a raw HTTP client see it.

Every answer and every streamed event is validated strictly against the SDK's own pydantic types
(tests/contract/schemas.py), in front of the real demo upstream in both upstream modes.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from tests.conftest import Proxy, ProxyFactory
from tests.contract.schemas import anthropic_error, anthropic_message, anthropic_stream, assemble_anthropic
from tests.contract.test_features import png
from tests.support import ACCESS_TOKEN

HEADERS = {"x-api-key": ACCESS_TOKEN, "anthropic-version": "2023-06-01"}
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
QUESTION = "What is the weather in Paris?"

_CLIENTS: dict[tuple[str, str, str], anthropic.Anthropic] = {}


@pytest.fixture(scope="module", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    for client in _CLIENTS.values():
        client.close()
    _CLIENTS.clear()


def claude(proxy: Proxy, api_key: str = ACCESS_TOKEN, *, bearer: bool = False) -> anthropic.Anthropic:
    """The official SDK in strict mode (``x-api-key``, or ``Authorization: Bearer`` with ``bearer``), one per token."""
    key = (proxy.url, api_key, "bearer" if bearer else "x-api-key")
    if key not in _CLIENTS:
        auth: dict[str, Any] = {"auth_token": api_key} if bearer else {"api_key": api_key}
        _CLIENTS[key] = anthropic.Anthropic(
            base_url=proxy.url, max_retries=0, timeout=30, _strict_response_validation=True, **auth
        )
    return _CLIENTS[key]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def post(proxy: Proxy, body: object, path: str = "/v1/messages", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{proxy.url}{path}", json=body, headers=HEADERS if headers is None else headers, timeout=30)


def raw_stream(proxy: Proxy, body: dict[str, Any]) -> tuple[httpx.Response, bytes]:
    """POST with stream=true; the response and its raw body bytes."""
    data = b""
    with httpx.stream("POST", f"{proxy.url}/v1/messages", json={**body, "stream": True}, headers=HEADERS, timeout=30) as r:
        for piece in r.iter_raw():
            data += piece
    return r, data


def text_of(message: dict[str, Any]) -> str:
    return "".join(b["text"] for b in message["content"] if b["type"] == "text")


def seen_by_bot(proxy: Proxy, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    """What the echo bot received, for a request whose last user text is ``/params``."""
    r = post(proxy, body, headers={**HEADERS, **(headers or {})})
    assert r.status_code == 200, r.text
    return dict(json.loads(text_of(r.json())))


# ---------------------------------------------------------------- answers


def test_answer_is_a_valid_message(proxy: Proxy) -> None:
    raw = claude(proxy).messages.with_raw_response.create(model="echo", max_tokens=100, messages=[user("hello there")])
    assert raw.http_response.headers["content-type"].startswith("application/json")
    body = raw.http_response.json()
    message = anthropic_message(body)
    assert message.id.startswith("msg_")
    assert (message.type, message.role, message.model) == ("message", "assistant", "echo")
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [("text", "hello there")]
    assert message.stop_reason == "end_turn"
    assert "stop_sequence" in body and body["stop_sequence"] is None
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert raw.parse().content == message.content
    # other catalogue ids answer too, and the answer names the model as the client asked for it (not a Claude bot:
    # in openai mode those may go to Poe's own Anthropic-compatible API, which answers in its own words)
    for model in ("gpt-4o", "GPT-4o"):
        answer = claude(proxy).messages.create(model=model, max_tokens=100, messages=[user("via catalogue")])
        assert answer.model == model
        assert [(b.type, getattr(b, "text", None)) for b in answer.content] == [("text", "via catalogue")]


def test_auth_and_anthropic_headers(proxy: Proxy) -> None:
    body = {"model": "echo", "max_tokens": 50, "messages": [user("hi")]}
    for headers, path in (
        ({"x-api-key": ACCESS_TOKEN, "anthropic-version": "2023-06-01"}, "/v1/messages"),
        ({"authorization": f"Bearer {ACCESS_TOKEN}"}, "/v1/messages"),  # no anthropic-version: not required
        (
            {**HEADERS, "anthropic-beta": "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"},
            "/v1/messages?beta=true",
        ),
        ({"x-api-key": "sk-second-token"}, "/v1/messages"),
    ):
        r = post(proxy, body, path, headers)
        assert r.status_code == 200, (headers, r.text)
        assert text_of(anthropic_message(r.json()).model_dump()) == "hi"
    for headers in ({"x-api-key": "sk-wrong", "anthropic-version": "2023-06-01"}, {"authorization": "Bearer sk-wrong"}, {}):
        r = post(proxy, body, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        anthropic_error(r.json(), "authentication_error")
    # the SDK: x-api-key, Bearer (auth_token), the beta namespace (?beta=true with anthropic-beta), a wrong key
    assert claude(proxy, bearer=True).messages.create(**body).content[0].type == "text"
    beta = claude(proxy).beta.messages.create(**body, betas=["interleaved-thinking-2025-05-14"])
    assert [(b.type, getattr(b, "text", None)) for b in beta.content] == [("text", "hi")]
    with pytest.raises(anthropic.AuthenticationError):
        claude(proxy, "sk-wrong").messages.create(**body)


def test_request_reaches_the_bot(proxy: Proxy) -> None:
    seen = seen_by_bot(
        proxy,
        {
            "model": "echo",
            "max_tokens": 500,
            "temperature": 0.3,
            "stop_sequences": ["END"],
            "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
            "tools": [WEATHER_TOOL],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "first", "cache_control": {"type": "ephemeral"}}]},
                {"role": "assistant", "content": "ok"},
                user("/params"),
            ],
            # ignored, not refused
            "metadata": {"user_id": "someone"},
            "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
        },
        headers={"anthropic-beta": "context-management-2025-06-27"},
    )
    assistant = "bot" if proxy.mode == "bot" else "assistant"
    assert seen["roles"] == ["system", "user", assistant, "user"]  # the system prompt arrives first, as a system message
    assert seen["contents"] == ["be brief", "first", "ok", "/params"]
    assert seen["temperature"] == 0.3
    assert seen["tools"] == ["get_weather"]
    if proxy.mode == "bot":
        assert seen["stop_sequences"] == ["END"]
    else:
        assert seen["stop"] == ["END"]
        assert seen["max_tokens"] == 500 or "max_completion_tokens" in seen["keys"]


def test_thinking_comes_as_a_thinking_block(proxy: Proxy) -> None:
    message = claude(proxy).messages.create(model="thinker", max_tokens=2048, messages=[user("6*7?")])
    assert [b.type for b in message.content] == ["thinking", "text"]
    thinking, text = message.content
    assert thinking.type == "thinking" and "6 times 7" in thinking.thinking
    assert text.type == "text" and text.text == "The answer is 42."
    assert message.stop_reason == "end_turn"

    body = {
        "model": "thinker",
        "max_tokens": 2048,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [user("6*7?")],
    }
    _, data = raw_stream(proxy, body)
    events = anthropic_stream(data)
    starts = [e for e in events if e["type"] == "content_block_start"]
    assert [(s["index"], s["content_block"]["type"]) for s in starts] == [(0, "thinking"), (1, "text")]
    thinking_deltas = [e for e in events if e["type"] == "content_block_delta" and e["delta"]["type"] == "thinking_delta"]
    assert thinking_deltas and {e["index"] for e in thinking_deltas} == {0}
    streamed = assemble_anthropic(events)
    assert "6 times 7" in streamed["content"][0]["thinking"]
    assert streamed["content"][1]["text"] == "The answer is 42."
    anthropic_message(streamed)


# ---------------------------------------------------------------- streaming


def test_stream_framing_and_event_order(proxy: Proxy) -> None:
    body = {"model": "slowstory", "max_tokens": 1000, "messages": [user("0.01")]}  # SlowStory, 10 ms a word
    r, data = raw_stream(proxy, body)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = anthropic_stream(data)  # strict types, `event:` lines, order
    start = events[0]["message"]
    assert start["id"].startswith("msg_") and start["model"] == "slowstory" and start["role"] == "assistant"
    text_deltas = [e for e in events if e["type"] == "content_block_delta"]
    assert len(text_deltas) >= 2, "the text should arrive in pieces"
    assert all(e["delta"]["type"] == "text_delta" for e in text_deltas)
    (delta,) = [e for e in events if e["type"] == "message_delta"]
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["output_tokens"] > 0
    assert [e["type"] for e in events if e["type"] != "ping"][-2:] == ["message_delta", "message_stop"]
    streamed = assemble_anthropic(events)
    anthropic_message(streamed)
    assert streamed["id"] == start["id"]
    text = text_of(streamed)
    assert text.startswith("Once upon a time") and text.endswith("The end.")
    # the same request without streaming gives the same text
    whole = post(proxy, body)
    assert whole.status_code == 200, whole.text
    assert text_of(anthropic_message(whole.json()).model_dump()) == text


def test_sdk_stream_helpers(proxy: Proxy) -> None:
    client = claude(proxy)
    with client.messages.stream(model="echo", max_tokens=100, messages=[user("stream me")]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "stream me"
    assert [(b.type, getattr(b, "text", None)) for b in final.content] == [("text", "stream me")]
    assert final.stop_reason == "end_turn" and final.model == "echo" and final.id.startswith("msg_")
    # stream=True on create: typed events, the same order
    events = list(client.messages.create(model="echo", max_tokens=100, stream=True, messages=[user("again")]))
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta") == "again"
    # a tool call through the helper: the input is parsed from its JSON pieces
    with client.messages.stream(model="toolbot", max_tokens=500, tools=[WEATHER_TOOL], messages=[user(QUESTION)]) as stream:
        final = stream.get_final_message()
    uses = [b for b in final.content if b.type == "tool_use"]
    assert len(uses) == 1 and uses[0].name == "get_weather" and uses[0].input == {"city": "Paris"}
    assert final.stop_reason == "tool_use"


# ---------------------------------------------------------------- tools


def test_tool_use_answer_and_stream(proxy: Proxy) -> None:
    message = claude(proxy).messages.create(model="toolbot", max_tokens=500, tools=[WEATHER_TOOL], messages=[user(QUESTION)])
    uses = [b for b in message.content if b.type == "tool_use"]
    assert len(uses) == 1
    use = uses[0]
    assert use.type == "tool_use" and use.id and use.name == "get_weather"
    assert use.input == {"city": "Paris"}
    assert message.stop_reason == "tool_use"

    _, data = raw_stream(proxy, {"model": "toolbot", "max_tokens": 500, "tools": [WEATHER_TOOL], "messages": [user(QUESTION)]})
    events = anthropic_stream(data)
    tool_starts = [e for e in events if e["type"] == "content_block_start" and e["content_block"]["type"] == "tool_use"]
    assert len(tool_starts) == 1
    block = tool_starts[0]["content_block"]
    assert block["id"] and block["name"] == "get_weather" and block["input"] == {}
    pieces = [
        e["delta"]["partial_json"]
        for e in events
        if e["type"] == "content_block_delta"
        and e["index"] == tool_starts[0]["index"]
        and e["delta"]["type"] == "input_json_delta"
    ]
    assert pieces and json.loads("".join(pieces)) == {"city": "Paris"}
    (delta,) = [e for e in events if e["type"] == "message_delta"]
    assert delta["delta"]["stop_reason"] == "tool_use"
    assert next(b for b in assemble_anthropic(events)["content"] if b["type"] == "tool_use")["input"] == {"city": "Paris"}


def test_tool_result_round_trip(proxy: Proxy) -> None:
    client = claude(proxy)
    first = client.messages.create(model="toolbot", max_tokens=500, tools=[WEATHER_TOOL], messages=[user(QUESTION)])
    use = next(b for b in first.content if b.type == "tool_use")
    assert use.type == "tool_use"
    assistant = {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me look that up."},
            {"type": "tool_use", "id": use.id, "name": use.name, "input": use.input},
        ],
    }
    for result in ("sunny, 21 C", [{"type": "text", "text": "sunny, 21 C"}]):
        second = client.messages.create(
            model="toolbot",
            max_tokens=500,
            tools=[WEATHER_TOOL],
            messages=[
                user(QUESTION),
                assistant,  # type: ignore[list-item]
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": use.id, "content": result, "is_error": False}],
                },  # type: ignore[typeddict-item]
            ],
        )
        assert second.stop_reason == "end_turn", result
        assert [(b.type, getattr(b, "text", None)) for b in second.content] == [("text", "Tool said: get_weather=sunny, 21 C")]


# ---------------------------------------------------------------- images


def test_base64_image_input(proxy: Proxy) -> None:
    data = base64.b64encode(png(noise=os.urandom(8).hex().encode())).decode()
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}
    body = {
        "model": "echo",
        "max_tokens": 500,
        "messages": [{"role": "user", "content": [image, {"type": "text", "text": "/params"}]}],
    }
    seen = seen_by_bot(proxy, body)
    assert seen["contents"][-1] == "/params"
    if proxy.mode == "bot":
        assert len(seen["attachments"][-1]) == 1  # uploaded to Poe and attached
    else:
        assert seen["images"][-1] == [f"data:image/png;base64,{data}"]
    bad = {**image, "source": {**image["source"], "data": "@@@not-base64@@@"}}
    r = post(proxy, {**body, "messages": [{"role": "user", "content": [bad, {"type": "text", "text": "look"}]}]})
    assert r.status_code == 400, r.text
    anthropic_error(r.json(), "invalid_request_error")


# ---------------------------------------------------------------- limits and errors


def test_max_tokens_stops_with_max_tokens(bot_proxy: Proxy) -> None:
    # only the bot protocol is deterministic here: the proxy cuts the answer (the demo's OpenAI API ignores max_tokens)
    message = claude(bot_proxy).messages.create(model="slowstory", max_tokens=5, messages=[user("0")])
    assert message.stop_reason == "max_tokens"
    text = "".join(b.text for b in message.content if b.type == "text")
    assert text.startswith("Once") and len(text) < 60
    _, data = raw_stream(bot_proxy, {"model": "slowstory", "max_tokens": 5, "messages": [user("0")]})
    events = anthropic_stream(data)
    (delta,) = [e for e in events if e["type"] == "message_delta"]
    assert delta["delta"]["stop_reason"] == "max_tokens"


def test_invalid_requests_are_400_naming_the_field(proxy: Proxy) -> None:
    base: dict[str, Any] = {"model": "echo", "max_tokens": 50, "messages": [user("x")]}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"model": "echo", "messages": [user("x")]}, "max_tokens"),
        ({**base, "max_tokens": 0}, "max_tokens"),
        ({**base, "max_tokens": -5}, "max_tokens"),
        ({**base, "max_tokens": "many"}, "max_tokens"),
        ({**base, "max_tokens": 2.5}, "max_tokens"),
        ({"max_tokens": 50, "messages": [user("x")]}, "model"),
        ({"model": "echo", "max_tokens": 50}, "messages"),
        ({**base, "messages": []}, "messages"),
        ({**base, "messages": [user("a"), {"role": "wizard", "content": "b"}]}, "role"),
        ({**base, "messages": [{"role": "user", "content": [{"type": "hologram", "data": "x"}]}]}, "content"),
        ({**base, "tools": [WEATHER_TOOL], "tool_choice": {"type": "tool", "name": "get_time"}}, "tool_choice"),
        ({**base, "temperature": 1.5}, "temperature"),
        ({**base, "temperature": -0.1}, "temperature"),
    ]
    for body, field in cases:
        r = post(proxy, body)
        assert r.status_code == 400, (body, r.text)
        err = anthropic_error(r.json(), "invalid_request_error")
        assert field in err["message"], (body, err["message"])
    with pytest.raises(anthropic.BadRequestError) as info:
        claude(proxy).messages.create(model="echo", max_tokens=0, messages=[user("x")])
    assert info.value.status_code == 400
    # unknown model: 404 not_found_error
    with pytest.raises(anthropic.NotFoundError):
        claude(proxy).messages.create(model="no-such-model", max_tokens=50, messages=[user("x")])
    r = post(proxy, {**base, "model": "no-such-model"})
    assert r.status_code == 404, r.text
    anthropic_error(r.json(), "not_found_error")


def test_oversized_body_is_413(bot_proxy: Proxy) -> None:
    huge = "x" * (21 * 1024 * 1024)
    r = post(bot_proxy, {"model": "echo", "max_tokens": 50, "messages": [user(huge)]})
    assert r.status_code == 413, r.text[:500]
    anthropic_error(r.json(), "request_too_large")


def test_failing_bot_ends_the_stream_with_an_error_event(proxies: ProxyFactory, target: str) -> None:
    # Poe's OpenAI-compatible API answers a failed bot with HTTP 500, which cools the key: a proxy of its own
    proxy = proxies.get(target, ERROR_COOLDOWN="0")
    body = {"model": "failing", "max_tokens": 500, "messages": [user("x")]}
    r, data = raw_stream(proxy, body)
    assert r.status_code == 200
    events = anthropic_stream(data)  # an error event may end it; nothing may follow it
    assert events[-1]["type"] == "error"
    err = anthropic_error(events[-1], "api_error")
    assert "crashed halfway" in err["message"]
    assert not any(e["type"] in ("message_delta", "message_stop") for e in events)
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == "I will start, but then"
    # the SDK raises it
    with pytest.raises(anthropic.APIError):
        for _ in claude(proxy).messages.create(model="failing", max_tokens=500, stream=True, messages=[user("x")]):
            pass
    # without streaming: a 5xx with Anthropic's error body
    r = post(proxy, body)
    assert 500 <= r.status_code < 600, r.text
    assert "crashed halfway" in anthropic_error(r.json())["message"]


# ---------------------------------------------------------------- count_tokens


def test_count_tokens(proxy: Proxy) -> None:
    client = claude(proxy)
    raw = client.messages.with_raw_response.count_tokens(model="echo", messages=[user("hi")])
    assert set(raw.http_response.json()) == {"input_tokens"}
    short = raw.parse()
    assert isinstance(short.input_tokens, int) and short.input_tokens > 0
    longer = client.messages.count_tokens(model="echo", messages=[user("hello there, " * 200)])
    assert longer.input_tokens > short.input_tokens
    richer = client.messages.count_tokens(
        model="gpt-4o", system="You answer in one word.", tools=[WEATHER_TOOL], messages=[user("hi")]
    )
    assert richer.input_tokens > short.input_tokens
    r = post(proxy, {"model": "echo"}, "/v1/messages/count_tokens")
    assert r.status_code == 400, r.text
    assert "messages" in anthropic_error(r.json(), "invalid_request_error")["message"]
    r = post(proxy, {"model": "no-such-model", "messages": [user("x")]}, "/v1/messages/count_tokens")
    assert r.status_code == 404, r.text
    anthropic_error(r.json(), "not_found_error")
    r = post(proxy, {"model": "echo", "messages": [user("x")]}, "/v1/messages/count_tokens", {"authorization": "Bearer sk-wrong"})
    assert r.status_code == 401
    anthropic_error(r.json(), "authentication_error")

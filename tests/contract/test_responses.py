"""OpenAI Responses (``POST /v1/responses``, stateless) through the proxy, as the openai SDK (strict mode) and a raw
HTTP client see it.

Every answer and every streamed event is validated strictly against the SDK's own pydantic types
(tests/contract/schemas.py), in front of the real demo upstream in both upstream modes.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import Proxy, ProxyFactory
from tests.contract.schemas import response_object, responses_stream
from tests.contract.test_chat import assert_error
from tests.contract.test_features import data_uri, png
from tests.support import ACCESS_TOKEN, conformance

HEADERS = {"authorization": f"Bearer {ACCESS_TOKEN}"}
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
QUESTION = "What is the weather in Paris?"


def post(proxy: Proxy, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{proxy.url}/v1/responses", json=body, headers=HEADERS if headers is None else headers, timeout=30)


def raw_stream(proxy: Proxy, body: dict[str, Any]) -> tuple[httpx.Response, bytes]:
    """POST with stream=true; the response and its raw body bytes."""
    data = b""
    with httpx.stream("POST", f"{proxy.url}/v1/responses", json={**body, "stream": True}, headers=HEADERS, timeout=30) as r:
        for piece in r.iter_raw():
            data += piece
    return r, data


def output_text(response: dict[str, Any]) -> str:
    return "".join(
        part["text"]
        for item in response["output"]
        if item["type"] == "message"
        for part in item["content"]
        if part["type"] == "output_text"
    )


def shape(output: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """An output list without its generated ids: what a streamed and a non-streamed answer must share."""
    out: list[tuple[Any, ...]] = []
    for item in output:
        if item["type"] == "message":
            out.append(("message", item["role"], [(p["type"], p["text"]) for p in item["content"]]))
        elif item["type"] == "function_call":
            out.append(("function_call", item["name"], json.loads(item["arguments"])))
        elif item["type"] == "reasoning":
            out.append(("reasoning", [s["text"] for s in item["summary"]]))
        else:
            out.append((item["type"],))
    return out


def seen_by_bot(proxy: Proxy, body: dict[str, Any]) -> dict[str, Any]:
    """What the echo bot received, for a request whose last user text is ``/params``."""
    r = post(proxy, body)
    assert r.status_code == 200, r.text
    response_object(r.json())
    return dict(json.loads(output_text(r.json())))


# ---------------------------------------------------------------- answers


def test_answer_is_a_valid_response(proxy: Proxy) -> None:
    client = proxy.client()
    raw = client.responses.with_raw_response.create(model="echo", input="hello there")
    assert raw.http_response.headers["content-type"].startswith("application/json")
    body = raw.http_response.json()
    response = response_object(body)
    assert response.id.startswith("resp_")
    assert (response.object, response.status, response.model) == ("response", "completed", "echo")
    assert [item.type for item in response.output] == ["message"]
    message = response.output[0]
    assert message.type == "message" and message.role == "assistant" and message.status == "completed"
    assert [(part.type, getattr(part, "text", None)) for part in message.content] == [("output_text", "hello there")]
    assert raw.parse().output_text == "hello there"
    assert response.error is None and response.incomplete_details is None
    usage = response.usage
    assert usage is not None and usage.input_tokens > 0 and usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    # any catalogue id answers, and the answer names the model as the client asked for it; input as message items
    for model in ("gpt-4o", "claude-sonnet-3.5"):
        answer = client.responses.create(model=model, input=[{"role": "user", "content": "via catalogue"}])
        assert answer.model == model and answer.output_text == "via catalogue"


def test_request_reaches_the_bot(proxy: Proxy) -> None:
    seen = seen_by_bot(
        proxy,
        {
            "model": "echo",
            "instructions": "be brief",
            "input": [
                {"type": "message", "role": "developer", "content": "answer in English"},
                {"role": "user", "content": [{"type": "input_text", "text": "first"}]},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok", "annotations": []}]},
                {"role": "user", "content": "/params"},
            ],
            "tools": [WEATHER_TOOL, {"type": "web_search"}],  # a built-in tool is dropped, not refused
            "tool_choice": "auto",
            "temperature": 0.3,
            "top_p": 0.9,
            "max_output_tokens": 500,
            "text": {"format": {"type": "text"}},
            "reasoning": {"effort": "low"},
            "store": False,
            "include": ["reasoning.encrypted_content"],
            "parallel_tool_calls": True,
            "prompt_cache_key": "poe-proxy-tests",
        },
    )
    assistant = "bot" if proxy.mode == "bot" else "assistant"
    # instructions first, as a system message; the developer message before the conversation
    assert seen["roles"][0] == "system" and seen["contents"][0].startswith("be brief")
    assert "answer in English" in "\n".join(seen["contents"][:-3])
    assert seen["roles"][-3:] == ["user", assistant, "user"]
    assert seen["contents"][-3:] == ["first", "ok", "/params"]
    assert seen["temperature"] == 0.3
    assert seen["tools"] == ["get_weather"]
    if proxy.mode == "openai":
        assert seen["max_tokens"] == 500 or "max_completion_tokens" in seen["keys"]


def test_reasoning_item_comes_before_the_message(proxy: Proxy) -> None:
    response = proxy.client().responses.create(model="thinker", input="6*7?")
    assert [item.type for item in response.output] == ["reasoning", "message"]
    reasoning = response.output[0]
    assert reasoning.type == "reasoning" and reasoning.summary
    assert reasoning.summary[0].type == "summary_text" and "6 times 7" in reasoning.summary[0].text
    assert response.output_text == "The answer is 42."

    _, data = raw_stream(proxy, {"model": "thinker", "input": "6*7?", "reasoning": {"summary": "auto"}})
    events = responses_stream(data)
    kinds = [e["type"] for e in events]
    assert "response.reasoning_summary_text.delta" in kinds
    assert kinds.index("response.reasoning_summary_text.delta") < kinds.index("response.output_text.delta")
    completed = events[-1]["response"]
    assert shape(completed["output"])[0][0] == "reasoning" and "6 times 7" in shape(completed["output"])[0][1][0]
    assert output_text(completed) == "The answer is 42."


# ---------------------------------------------------------------- streaming


def test_stream_framing_and_event_order(proxy: Proxy) -> None:
    body = {"model": "slowstory", "input": "0.01"}  # SlowStory, 10 ms a word
    r, data = raw_stream(proxy, body)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = responses_stream(data)  # strict types, `event:` lines, sequence numbers, order
    created = events[0]["response"]
    assert created["id"].startswith("resp_") and created["model"] == "slowstory" and created["output"] == []
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert len(deltas) >= 2, "the text should arrive in pieces"
    completed = events[-1]
    assert completed["type"] == "response.completed"
    response = response_object(completed["response"])
    assert response.status == "completed" and response.id == created["id"]
    assert response.usage is not None and response.usage.output_tokens > 0
    text = "".join(deltas)
    assert text.startswith("Once upon a time") and text.endswith("The end.")
    assert output_text(completed["response"]) == text
    # the same request without streaming: the same output
    whole = post(proxy, body)
    assert whole.status_code == 200, whole.text
    response_object(whole.json())
    assert shape(whole.json()["output"]) == shape(completed["response"]["output"])


def test_sdk_streaming(proxy: Proxy) -> None:
    client = proxy.client()
    events = list(client.responses.create(model="echo", input="stream me", stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "stream me"
    assert events[-1].response.output_text == "stream me"
    with client.responses.stream(model="echo", input="stream again") as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == "stream again" and final.output_text == "stream again" and final.status == "completed"


# ---------------------------------------------------------------- tools


def test_function_call_answer_and_stream(proxy: Proxy) -> None:
    response = proxy.client().responses.create(model="toolbot", input=QUESTION, tools=[WEATHER_TOOL])  # type: ignore[list-item]
    calls = [item for item in response.output if item.type == "function_call"]
    assert len(calls) == 1
    call = calls[0]
    assert call.type == "function_call" and call.call_id and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}
    assert response.status == "completed"

    _, data = raw_stream(proxy, {"model": "toolbot", "input": QUESTION, "tools": [WEATHER_TOOL]})
    events = responses_stream(data)  # checks the deltas add up to .done's arguments and the item
    pieces = [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"]
    assert pieces and json.loads("".join(pieces)) == {"city": "Paris"}
    added = [e["item"] for e in events if e["type"] == "response.output_item.added" and e["item"]["type"] == "function_call"]
    assert len(added) == 1 and added[0]["name"] == "get_weather" and added[0]["call_id"]
    completed = events[-1]["response"]
    assert [s for s in shape(completed["output"]) if s[0] == "function_call"] == [
        ("function_call", "get_weather", {"city": "Paris"})
    ]


def test_function_call_round_trip(proxy: Proxy) -> None:
    client = proxy.client()
    first = client.responses.create(model="toolbot", input=QUESTION, tools=[WEATHER_TOOL])  # type: ignore[list-item]
    call = next(item for item in first.output if item.type == "function_call")
    items: list[dict[str, Any]] = [
        {"role": "user", "content": QUESTION},
        {"type": "reasoning", "id": "rs_demo_1", "summary": [{"type": "summary_text", "text": "Ask the weather tool."}]},
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21 C"},
    ]
    second = client.responses.create(model="toolbot", input=items, tools=[WEATHER_TOOL])  # type: ignore[arg-type,list-item]
    assert second.status == "completed"
    assert [item.type for item in second.output] == ["message"]
    assert second.output_text == "Tool said: get_weather=sunny, 21 C"


# ---------------------------------------------------------------- images


def test_image_input(proxy: Proxy) -> None:
    image = data_uri(png(noise=os.urandom(8).hex().encode()))
    content = [{"type": "input_text", "text": "/params"}, {"type": "input_image", "image_url": image, "detail": "auto"}]
    seen = seen_by_bot(proxy, {"model": "echo", "input": [{"role": "user", "content": content}]})
    assert seen["contents"][-1] == "/params"
    if proxy.mode == "bot":
        assert len(seen["attachments"][-1]) == 1  # uploaded to Poe and attached
    else:
        assert seen["images"][-1] == [image]
    bad = [content[0], {"type": "input_image", "image_url": "data:image/png;base64,@@@not-base64@@@"}]
    err = assert_error(post(proxy, {"model": "echo", "input": [{"role": "user", "content": bad}]}), 400)
    assert str(err["param"]).startswith("input[0].content[1]"), err


# ---------------------------------------------------------------- limits and errors


def test_max_output_tokens_makes_it_incomplete(bot_proxy: Proxy) -> None:
    # only the bot protocol is deterministic here: the proxy cuts the answer (the demo's OpenAI API ignores max_tokens)
    response = bot_proxy.client().responses.create(model="slowstory", input="0", max_output_tokens=16)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text.startswith("Once") and len(response.output_text) < 120
    _, data = raw_stream(bot_proxy, {"model": "slowstory", "input": "0", "max_output_tokens": 16})
    events = responses_stream(data)
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_invalid_requests_name_the_param(proxy: Proxy) -> None:
    cases: list[tuple[dict[str, Any], tuple[str, ...]]] = [
        ({"model": "echo", "input": "x", "previous_response_id": "resp_123"}, ("previous_response_id",)),
        (
            {"model": "echo", "input": [{"role": "user", "content": [{"type": "input_video", "url": "x"}]}]},
            ("input[0].content[0].type",),
        ),
        ({"model": "echo", "input": [{"role": "wizard", "content": "x"}]}, ("input[0].role", "input[0]")),
        ({"model": "echo", "input": 42}, ("input",)),
        ({"input": "x"}, ("model",)),
        ({"model": "echo", "input": "x", "temperature": "hot"}, ("temperature",)),
    ]
    for body, params in cases:
        err = assert_error(post(proxy, body), 400)
        assert err["param"] in params, (body, err)
    with pytest.raises(openai.BadRequestError) as info:
        proxy.client().responses.create(model="echo", input="x", previous_response_id="resp_123")
    assert info.value.param == "previous_response_id"


def test_auth_and_model_errors_in_openai_shape(proxy: Proxy) -> None:
    body = {"model": "echo", "input": "x"}
    with pytest.raises(openai.AuthenticationError):
        proxy.client(api_key="sk-wrong").responses.create(model="echo", input="x")
    assert_error(post(proxy, body, headers={}), 401, code="invalid_api_key")
    assert_error(post(proxy, body, headers={"authorization": "Bearer sk-wrong"}), 401)
    with pytest.raises(openai.NotFoundError) as info:
        proxy.client().responses.create(model="gpt-nonexistent", input="x")
    assert info.value.code == "model_not_found"
    assert_error(post(proxy, {"model": "nope", "input": "x"}), 404, "model", "model_not_found")


def test_failing_bot_ends_the_stream_with_response_failed(proxies: ProxyFactory, target: str) -> None:
    # Poe's OpenAI-compatible API answers a failed bot with HTTP 500, which cools the key: a proxy of its own
    proxy = proxies.get(target, ERROR_COOLDOWN="0")
    body = {"model": "failing", "input": "x"}
    r, data = raw_stream(proxy, body)
    assert r.status_code == 200
    events = responses_stream(data)
    failed = events[-1]
    assert failed["type"] == "response.failed"
    assert failed["response"]["status"] == "failed"
    assert "crashed halfway" in failed["response"]["error"]["message"]
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "I will start, but then"
    # the SDK hands the event over as it is
    typed = list(proxy.client().responses.create(model="failing", input="x", stream=True))
    assert typed[-1].type == "response.failed"
    # without streaming: a 5xx in OpenAI's error shape
    r = post(proxy, body)
    assert 500 <= r.status_code < 600, r.text
    conformance.validate("error", r.json())
    assert "crashed halfway" in r.json()["error"]["message"]

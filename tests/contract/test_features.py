"""Tools, images in and out, CORS, max_tokens: the rest of the Chat Completions surface.

Each test runs against the core under CPython and against the Worker in
workerd, in front of the real fastapi_poe demo upstream.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import zlib

import httpx
import openai
import pytest

from tests.conftest import Proxy, ProxyFactory
from tests.contract.test_chat import HEADERS, assert_error, post, raw_stream
from tests.support import content_of, sse_chunks

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def png(width: int = 2, height: int = 2, noise: bytes = b"") -> bytes:
    """A real PNG (unique per call when noise is given)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([255, 0, 0]) * width for _ in range(height))
    extra = chunk(b"tEXt", b"noise\x00" + noise) if noise else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + extra
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


# ---------------------------------------------------------------- tools


def test_tool_call_round_trip_with_the_sdk(proxy: Proxy) -> None:
    client = proxy.client()
    messages: list[dict[str, object]] = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.chat.completions.create(model="toolbot", messages=messages, tools=[WEATHER_TOOL])  # type: ignore[list-item,arg-type]
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls and len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert call.id

    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"})
    second = client.chat.completions.create(model="toolbot", messages=messages, tools=[WEATHER_TOOL])  # type: ignore[arg-type]
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "Tool said: get_weather=sunny, 21 C"


def test_streamed_tool_call_deltas(proxy: Proxy) -> None:
    _, data = raw_stream(
        proxy, {"model": "toolbot", "tools": [WEATHER_TOOL], "messages": [{"role": "user", "content": "weather?"}]}
    )
    chunks = sse_chunks(data)  # checks: first delta of the call has id, type, name
    calls = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    assert len(calls) >= 2, "the arguments should arrive in pieces"
    assert {tc["index"] for tc in calls} == {0}
    assert calls[0]["function"]["name"] == "get_weather" and calls[0]["id"]
    assert json.loads("".join(tc["function"]["arguments"] for tc in calls)) == {"city": "Paris"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    # the SDK accumulates the same thing
    stream = proxy.client().chat.completions.create(
        model="toolbot",
        stream=True,
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "weather?"}],
    )
    args = "".join(tc.function.arguments or "" for c in stream for tc in (c.choices[0].delta.tool_calls or []) if tc.function)
    assert json.loads(args) == {"city": "Paris"}


def test_tool_choice_none_sends_no_tools(bot_proxy: Proxy) -> None:
    r = post(
        bot_proxy,
        {"model": "toolbot", "tools": [WEATHER_TOOL], "tool_choice": "none", "messages": [{"role": "user", "content": "x"}]},
    )
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"] == "no tools given"


def test_invalid_tools_name_the_param(proxy: Proxy) -> None:
    bad = {"type": "function", "function": {"name": "has spaces", "parameters": {"type": "object"}}}
    assert_error(
        post(proxy, {"model": "toolbot", "tools": [WEATHER_TOOL, bad], "messages": [{"role": "user", "content": "x"}]}),
        400,
        "tools[1].function.name",
    )


# ---------------------------------------------------------------- images in


def test_data_uri_image_is_uploaded_once_and_attached(bot_proxy: Proxy, upstream: object) -> None:
    base = upstream.url  # type: ignore[attr-defined]
    image = data_uri(png(noise=os.urandom(8).hex().encode()))
    body = {
        "model": "echo",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "/params"}, {"type": "image_url", "image_url": {"url": image}}]}
        ],
    }
    uploads_before = httpx.get(f"{base}/events").json().get("uploads", 0)
    r = post(bot_proxy, body)
    assert r.status_code == 200, r.text
    seen = json.loads(r.json()["choices"][0]["message"]["content"])
    assert len(seen["attachments"][0]) == 1 and seen["attachments"][0][0].startswith(f"{base}/files/")
    assert httpx.get(f"{base}/events").json()["uploads"] == uploads_before + 1
    # the same image again, streamed this time: attached, not uploaded again
    _, data = raw_stream(bot_proxy, body)
    again = json.loads(content_of(sse_chunks(data)))
    assert again["attachments"] == seen["attachments"]
    assert httpx.get(f"{base}/events").json()["uploads"] == uploads_before + 1


def test_https_image_goes_by_download_url(bot_proxy: Proxy) -> None:
    body = {
        "model": "echo",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": f"https://example.invalid/cat-{os.urandom(4).hex()}.png"}},
                    {"type": "text", "text": "/params"},
                ],
            }
        ],
    }
    r = post(bot_proxy, body)
    assert r.status_code == 200, r.text
    assert len(json.loads(r.json()["choices"][0]["message"]["content"])["attachments"][0]) == 1


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("data:image/png;base64,@@@not-base64@@@", "invalid_image_url"),
        ("data:text/plain;base64,aGVsbG8=", "invalid_image_format"),
        ("data:image/png,rawbytes", "invalid_image_url"),
        ("ftp://example.invalid/x.png", "invalid_image_url"),
    ],
)
def test_malformed_images_are_400_with_param(proxy: Proxy, url: str, code: str) -> None:
    body = {
        "model": "echo",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": url}}]},
        ],
    }
    assert_error(post(proxy, body), 400, "messages[1].content[1].image_url.url", code)


def test_oversized_image_is_400(proxies: ProxyFactory, target: str) -> None:
    proxy = proxies.get(target, MAX_IMAGE_BYTES="2048")
    big = data_uri(png(noise=os.urandom(3000).hex().encode()))
    body = {"model": "echo", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": big}}]}]}
    assert_error(post(proxy, body), 400, "messages[0].content[0].image_url.url", "image_too_large")


# ---------------------------------------------------------------- images out


def test_image_generation_returns_urls(proxy: Proxy) -> None:
    raw = proxy.client().images.with_raw_response.generate(model="artist", prompt="a red square", size="1024x1024")
    result = raw.parse()
    assert result.data and result.data[0].url == "https://example.invalid/picture.png"
    assert isinstance(raw.http_response.json()["created"], int)


def test_image_generation_validates(proxy: Proxy) -> None:
    assert_error(post(proxy, {"model": "artist"}, "/v1/images/generations"), 400, "prompt")
    assert_error(post(proxy, {"model": "artist", "prompt": "x", "n": 3}, "/v1/images/generations"), 400, "n")
    assert_error(
        post(proxy, {"model": "artist", "prompt": "x", "response_format": "b64_json"}, "/v1/images/generations"),
        400,
        "response_format",
    )
    assert_error(post(proxy, {"model": "echo", "prompt": "no image here"}, "/v1/images/generations"), 502)


# ---------------------------------------------------------------- CORS


def test_cors_preflight_and_headers_on_every_response(proxy: Proxy) -> None:
    origin = {"origin": "https://chat.example"}
    for path in ("/v1/chat/completions", "/v1/models", "/health", "/v1/images/generations"):
        r = httpx.options(
            f"{proxy.url}{path}",
            headers={
                **origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            },
        )
        assert r.status_code == 204, path
        assert r.headers["access-control-allow-origin"] == "*"
        assert "POST" in r.headers["access-control-allow-methods"]
        assert "authorization" in r.headers["access-control-allow-headers"]
    # errors and streams carry the headers too
    assert httpx.post(f"{proxy.url}/v1/chat/completions", json={}, headers=origin).headers["access-control-allow-origin"] == "*"
    with httpx.stream(
        "POST",
        f"{proxy.url}/v1/chat/completions",
        json={"model": "echo", "stream": True, "messages": [{"role": "user", "content": "x"}]},
        headers={**HEADERS, **origin},
    ) as r:
        assert r.headers["access-control-allow-origin"] == "*"
        r.read()


def test_cors_allowed_origins_are_configurable(proxies: ProxyFactory, target: str) -> None:
    proxy = proxies.get(target, CORS_ORIGINS="https://app.example, https://other.example")
    ok = httpx.get(f"{proxy.url}/health", headers={"origin": "https://app.example"})
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    assert "origin" in ok.headers["vary"].lower()
    denied = httpx.options(
        f"{proxy.url}/v1/chat/completions", headers={"origin": "https://evil.example", "access-control-request-method": "POST"}
    )
    assert "access-control-allow-origin" not in denied.headers


# ---------------------------------------------------------------- parameters


def test_max_tokens_stops_the_answer_with_length(bot_proxy: Proxy) -> None:
    completion = bot_proxy.client().chat.completions.create(
        model="slowstory", max_tokens=5, messages=[{"role": "user", "content": "go"}]
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content is not None
    assert len(completion.choices[0].message.content) < 60


def test_unknown_and_ignored_fields_do_not_break_requests(proxy: Proxy) -> None:
    r = post(
        proxy,
        {
            "model": "echo",
            "messages": [{"role": "user", "content": "fine", "extra_field": 1}],
            "top_p": 0.5,
            "presence_penalty": 0.1,
            "frequency_penalty": 0.1,
            "seed": 7,
            "metadata": {"a": "b"},
            "store": False,
            "reasoning_effort": "low",
            "some_vendor_extension": {"x": [1, 2]},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "fine"


def test_logprobs_are_refused_by_name(proxy: Proxy) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        proxy.client().chat.completions.create(model="echo", logprobs=True, messages=[{"role": "user", "content": "x"}])
    assert info.value.param == "logprobs"

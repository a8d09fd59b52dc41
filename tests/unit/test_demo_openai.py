"""The demo upstream's fake of Poe's OpenAI-compatible API (demo/openai_api.py), on a real uvicorn."""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
from starlette.types import Message

from demo import openai_api, upstream
from tests.support import ServerThread, sse_chunks

Json = dict[str, Any]
USER_HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with ServerThread(upstream.make_app()) as server:
        yield server


@pytest.fixture(scope="module")
def http(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def sdk(server: ServerThread) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="good", max_retries=0, _strict_response_validation=True)
    yield client
    client.close()


def chat(http: httpx.Client, body: Json, key: str | None = "good") -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key is not None else {}
    return http.post("/v1/chat/completions", json=body, headers=headers)


def frames(raw: bytes) -> list[str]:
    """The data of each SSE frame, as sent (no validation: error frames and cut-off streams too)."""
    return [block.removeprefix("data: ") for block in raw.decode().split("\n\n") if block]


# ---------------------------------------------------------------- answers, through the official SDK


def test_non_streamed_answer_has_poes_shape(http: httpx.Client, sdk: openai.OpenAI) -> None:
    answer = sdk.chat.completions.create(model="ECHO", messages=[{"role": "user", "content": "héllo 🌍"}])
    assert answer.choices[0].message.content == "héllo 🌍"
    assert answer.model == "ECHO"  # verbatim, not the bot's spelling
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{24}", answer.id)
    assert answer.usage is not None and answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens

    r = chat(http, {"model": "gpt-4O", "messages": USER_HI})
    body = r.json()
    assert set(body) == {"id", "object", "created", "model", "choices", "usage"}  # no system_fingerprint
    assert body["choices"][0] == {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    assert abs(body["created"] - time.time()) < 60  # seconds
    assert r.headers["openai-version"] == "2020-10-01"
    assert int(r.headers["openai-processing-ms"]) >= 0
    assert r.headers["x-request-id"] != chat(http, {"model": "Echo", "messages": USER_HI}).headers["x-request-id"]
    assert r.headers["x-ratelimit-limit-requests"] == "500"


def test_streamed_answer_decodes_and_validates(http: httpx.Client, sdk: openai.OpenAI) -> None:
    text = "naïve café 🌍 ok"
    stream = sdk.chat.completions.create(
        model="Echo", messages=[{"role": "user", "content": text}], stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
    assert chunks[-1].choices == [] and chunks[-1].usage is not None

    r = chat(http, {"model": "Echo", "messages": [{"role": "user", "content": text}], "stream": True})
    assert r.headers["content-type"].startswith("text/event-stream")
    assert "x-ratelimit-limit-requests" not in r.headers  # only some responses carry them
    parsed = sse_chunks(r.content)  # the conformance kit: framing, schema, rules across chunks
    assert parsed[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert parsed[-1]["choices"][0]["finish_reason"] == "stop"  # no usage chunk unless asked
    assert len({c["id"] for c in parsed}) == 1
    assert r.content.endswith(b"data: [DONE]\n\n")


def test_thinker_reasons(http: httpx.Client, sdk: openai.OpenAI) -> None:
    message = sdk.chat.completions.create(model="Thinker", messages=USER_HI).choices[0].message
    assert message.content == "The answer is 42."
    reasoning = "The user wants a number. 6 times 7 is 42."
    assert message.model_extra == {"reasoning_content": reasoning, "reasoning": reasoning}

    chunks = list(sdk.chat.completions.create(model="thinker", messages=USER_HI, stream=True))
    deltas = [c.choices[0].delta.model_extra or {} for c in chunks]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == reasoning
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "The answer is 42."
    sse_chunks(chat(http, {"model": "Thinker", "messages": USER_HI, "stream": True}).content)


WEATHER: ChatCompletionToolParam = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}


def test_toolbot_calls_a_tool_then_reads_the_result(http: httpx.Client, sdk: openai.OpenAI) -> None:
    choice = sdk.chat.completions.create(model="ToolBot", messages=USER_HI, tools=[WEATHER]).choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content == ""
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == ("call_demo_1", "get_weather", {"city": "Paris"})

    calls: dict[int, Json] = {}
    for chunk in sdk.chat.completions.create(model="ToolBot", messages=USER_HI, tools=[WEATHER], stream=True):
        for delta in chunk.choices[0].delta.tool_calls or []:
            assert delta.function is not None
            entry = calls.setdefault(delta.index, {"id": delta.id, "name": delta.function.name, "arguments": ""})
            entry["arguments"] += delta.function.arguments or ""
    assert calls == {0: {"id": "call_demo_1", "name": "get_weather", "arguments": '{"city": "Paris"}'}}
    sse_chunks(chat(http, {"model": "ToolBot", "messages": USER_HI, "tools": [WEATHER], "stream": True}).content)

    history: list[ChatCompletionMessageParam] = [
        *USER_HI,
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    answer = sdk.chat.completions.create(model="ToolBot", messages=history, tools=[WEATHER])
    assert answer.choices[0].message.content == "Tool said: get_weather=sunny"
    assert sdk.chat.completions.create(model="ToolBot", messages=USER_HI).choices[0].message.content == "no tools given"
    no_city = {"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}}
    assert chat(http, {"model": "ToolBot", "messages": USER_HI, "tools": [no_city]}).json()["choices"][0]["message"][
        "tool_calls"
    ][0]["function"] == {"name": "now", "arguments": "{}"}


@pytest.mark.parametrize(
    ("model", "content"),
    [
        (
            "Artist",
            "Here is your picture.\n\n![picture.png](https://example.invalid/picture.png)\n\nhttps://example.invalid/picture.png",
        ),
        ("Replacer", "Final answer"),
        ("SlowStory", upstream.STORY),
    ],
)
def test_other_bots(sdk: openai.OpenAI, model: str, content: str) -> None:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "0"}]
    assert sdk.chat.completions.create(model=model, messages=messages).choices[0].message.content == content


def test_params_reports_what_was_received(sdk: openai.OpenAI) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "/params"},
                {"type": "image_url", "image_url": {"url": "https://example.invalid/a.png"}},
            ],
        },
    ]
    answer = sdk.chat.completions.create(
        model="Claude-Sonnet-3.5",
        messages=messages,
        temperature=0.5,
        stop=["END"],
        max_tokens=7,
        tools=[WEATHER],
        extra_body={"thinking_budget": 1024, "web_search": True},
    )
    received = json.loads(answer.choices[0].message.content or "")
    assert received == {
        "model": "Claude-Sonnet-3.5",
        "keys": ["max_tokens", "messages", "model", "stop", "temperature", "thinking_budget", "tools", "web_search"],
        "roles": ["system", "user"],
        "contents": ["be brief", "/params"],
        "images": [[], ["https://example.invalid/a.png"]],
        "temperature": 0.5,
        "stop": ["END"],
        "tools": ["get_weather"],
        "max_tokens": 7,
        "extra": {"thinking_budget": 1024, "web_search": True},  # extra_body arrives at top level
    }


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("key", "status", "type_", "code", "headers"),
    [
        (None, 401, "authentication_error", "invalid_api_key", {}),
        ("bad-1", 401, "authentication_error", "invalid_api_key", {}),
        ("broke-1", 402, "insufficient_credits", "insufficient_points", {}),
        ("busy-1", 429, "rate_limit_error", "rate_limit_exceeded", {"retry-after": None}),
        (
            "limited-1",
            429,
            "rate_limit_error",
            "rate_limit_exceeded",
            {"retry-after": "30", "x-ratelimit-remaining-requests": "0"},
        ),
        ("down-1", 503, "api_error", "internal_error", {"retry-after": "5"}),
        ("overloaded-1", 529, "overloaded_error", "overloaded", {}),
    ],
)
def test_key_prefixes(
    http: httpx.Client, key: str | None, status: int, type_: str, code: str, headers: dict[str, str | None]
) -> None:
    r = chat(http, {"model": "nonexistent", "stream": True}, key)  # the key is checked before anything else
    assert r.status_code == status
    error = r.json()["error"]
    assert (error["type"], error["code"]) == (type_, code) and error["message"]
    assert r.headers["openai-version"] == "2020-10-01"
    for name, value in headers.items():
        assert r.headers.get(name) == value


def test_html_key_gets_a_cloudflare_page(http: httpx.Client) -> None:
    r = chat(http, {"model": "Echo", "messages": USER_HI}, "html-1")
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
    assert "Bad gateway" in r.text


def test_sdk_raises_the_matching_errors(server: ServerThread) -> None:
    for key, error in (
        ("bad-2", openai.AuthenticationError),
        ("broke-2", openai.APIStatusError),
        ("busy-2", openai.RateLimitError),
    ):
        with openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0) as client, pytest.raises(error) as info:
            client.chat.completions.create(model="Echo", messages=USER_HI)
        assert isinstance(info.value.body, dict) and info.value.body["message"]


@pytest.mark.parametrize(
    ("body", "status", "type_", "code", "param"),
    [
        ("[1]", 400, "invalid_request_error", None, None),
        ("{not json", 400, "invalid_request_error", None, None),
        ({"messages": USER_HI}, 400, "invalid_request_error", "missing_parameter", "model"),
        ({"model": "Echo"}, 400, "invalid_request_error", "missing_parameter", "messages"),
        ({"model": "Echo", "messages": []}, 400, "invalid_request_error", "invalid_parameter", "messages"),
        ({"model": "Echo", "messages": USER_HI, "n": 2}, 400, "invalid_request_error", "invalid_parameter", "n"),
        ({"model": "No-Such-Bot", "messages": USER_HI}, 404, "not_found_error", "model_not_found", None),
        ({"model": "missing-400", "messages": USER_HI}, 400, "invalid_request_error", "model_not_found", "model"),
        (
            {"model": "Refuser", "messages": USER_HI, "stream": True},
            400,
            "invalid_request_error",
            "content_policy_violation",
            None,
        ),
        ({"model": "Failing", "messages": USER_HI}, 500, "api_error", None, None),
        ({"model": "Cutoff", "messages": USER_HI}, 502, "upstream_error", None, None),
    ],
)
def test_request_errors(
    http: httpx.Client, body: Json | str, status: int, type_: str, code: str | None, param: str | None
) -> None:
    content = body if isinstance(body, str) else json.dumps(body)
    r = http.post("/v1/chat/completions", content=content, headers={"authorization": "Bearer good"})
    assert r.status_code == status
    error = r.json()["error"]
    assert (error["type"], error.get("code"), error.get("param")) == (type_, code, param)
    if code == "model_not_found" and isinstance(body, dict):
        assert error["message"] == f"Model {body['model']} not found"


def test_failing_stream_ends_with_an_error_frame_then_done(http: httpx.Client) -> None:
    r = chat(http, {"model": "Failing", "messages": USER_HI, "stream": True})
    assert r.status_code == 200
    data = frames(r.content)
    assert "".join(json.loads(d)["choices"][0]["delta"].get("content", "") for d in data[:-2]) == "I will start, but then"
    assert json.loads(data[-2]) == {"error": {"message": "The bot crashed halfway.", "type": "api_error"}}
    assert data[-1] == "[DONE]"


def test_cutoff_stream_just_stops(http: httpx.Client) -> None:
    r = chat(http, {"model": "Cutoff", "messages": USER_HI, "stream": True})
    data = frames(r.content)
    assert r.status_code == 200 and len(data) == 4
    assert all(json.loads(d)["choices"][0]["finish_reason"] is None for d in data)  # no finish, no error, no [DONE]


def test_silent_waits_before_the_status_line(http: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upstream, "SILENT_SECONDS", 0.3)
    started = time.monotonic()
    with http.stream(
        "POST",
        "/v1/chat/completions",
        json={"model": "Silent", "messages": USER_HI, "stream": True},
        headers={"authorization": "Bearer good"},
    ) as r:
        assert time.monotonic() - started >= 0.3
        assert int(r.headers["openai-processing-ms"]) >= 300
        assert "finally" in r.read().decode()


# ---------------------------------------------------------------- counters, disconnects, the split stream


def test_requests_are_counted_per_key(http: httpx.Client) -> None:
    before = http.get("/stats").json()
    chat(http, {"model": "Echo", "messages": USER_HI}, "good-counted")
    chat(http, {"model": "Echo", "messages": USER_HI}, "busy-counted")
    chat(http, {"model": "Echo", "messages": USER_HI}, "good-counted")
    after = http.get("/stats").json()
    assert after["good-counted"] - before.get("good-counted", 0) == 2
    assert after["busy-counted"] - before.get("busy-counted", 0) == 1


def wait_for(name: str, value: int) -> int:
    """The server's counter, read in-process: a request would wake the server (and its GC) up."""
    deadline = time.monotonic() + 1
    while upstream.EVENTS[name] < value and time.monotonic() < deadline:
        time.sleep(0.005)
    return upstream.EVENTS[name]


@pytest.mark.parametrize("pace", ["0.05", "0 1000000"])  # asleep between words, or busy sending
def test_client_disconnect_is_counted(http: httpx.Client, pace: str) -> None:
    """A client that closes after two chunks: the story is cancelled at once, never completed."""
    before = http.get("/events").json()  # the same counters
    assert before == dict(upstream.EVENTS)
    body = {"model": "SlowStory", "messages": [{"role": "user", "content": pace}], "stream": True}
    for n in range(1, 6):  # several times: where the cancellation lands varies
        with http.stream("POST", "/v1/chat/completions", json=body, headers={"authorization": "Bearer good"}) as r:
            for i, _ in enumerate(r.iter_raw()):
                if i == 1:
                    break
        assert wait_for("cancelled", before.get("cancelled", 0) + n) == before.get("cancelled", 0) + n
    assert http.get("/events").json().get("completed", 0) == before.get("completed", 0)


def test_story_length_and_completion(http: httpx.Client) -> None:
    before = http.get("/events").json()
    r = chat(http, {"model": "SlowStory", "messages": [{"role": "user", "content": "0 150"}], "stream": True})
    chunks = sse_chunks(r.content)
    deltas = [c["choices"][0]["delta"].get("content") for c in chunks[1:-1]]
    assert len(deltas) == 150 and deltas[0] == "Once" and all(d.startswith(" ") for d in deltas[1:])
    words = upstream.STORY.split(" ")
    assert "".join(deltas).split(" ") == [words[i % len(words)] for i in range(150)]
    assert wait_for("completed", before.get("completed", 0) + 1) == before.get("completed", 0) + 1


def test_bot_protocol_slowstory_takes_the_length_too(http: httpx.Client) -> None:
    query = {
        "version": "1.0",
        "type": "query",
        "query": [{"role": "user", "content": "0 80", "content_type": "text/markdown"}],
        "user_id": "u",
        "conversation_id": "c",
        "message_id": "m",
    }
    r = http.post("/bot/SlowStory", json=query, headers={"authorization": "Bearer good"})
    assert r.text.count("event: text") == 80


def test_story_plan() -> None:
    words = upstream.STORY.split(" ")
    assert upstream.story_plan("0.3") == (0.3, words)
    assert upstream.story_plan("5") == (1.0, words)  # capped
    assert upstream.story_plan("0 3") == (0.0, words[:3])
    assert len(upstream.story_plan("0 1000")[1]) == 1000
    for text in ("", "once", "0 many", "0 -1"):
        assert upstream.story_plan(text) == (upstream.SLOW_DELAY, words)


def test_frames_are_cut_at_random_offsets_also_inside_characters() -> None:
    frame = 'data: {"delta":{"content":"naïve 🌍"}}\n\n'.encode()
    inside_a_character = 0
    for seed in range(200):
        pieces = openai_api._cut(frame, random.Random(seed))
        assert b"".join(pieces) == frame and 1 <= len(pieces) <= 3 and all(pieces)
        for piece in pieces[:-1]:
            try:
                piece.decode()
            except UnicodeDecodeError:
                inside_a_character += 1
    assert inside_a_character > 20


async def test_pieces_are_separate_writes() -> None:
    """At the ASGI level (a network may join them again): more body messages than frames, and they still decode."""
    request = json.dumps({"model": "Echo", "messages": [{"role": "user", "content": "ü " * 40}], "stream": True}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"authorization", b"Bearer good"), (b"content-type", b"application/json")],
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
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in sse_chunks(raw) if c["choices"]) == "ü " * 40


# ---------------------------------------------------------------- models and balance


def test_models_list_in_poes_shape(http: httpx.Client, sdk: openai.OpenAI) -> None:
    r = http.get("/v1/models")  # no key needed
    assert r.status_code == 200 and r.headers["openai-version"] == "2020-10-01"
    data = r.json()["data"]
    assert [m["metadata"]["display_name"] for m in data] == list(openai_api.BOTS)
    assert all(m["id"] == m["id"].lower() and m["created"] > 10**12 for m in data)  # milliseconds
    assert {m["pricing"] is None for m in data} == {True, False}
    assert {m["context_window"] is None for m in data} == {True, False}
    assert {m["reasoning"] is None for m in data} == {True, False}
    assert {not m["supported_endpoints"] for m in data} == {True, False}
    assert any(p.get("schema", {}).get("enum") for m in data for p in m["parameters"])
    assert [m.id for m in sdk.models.list()] == [m["id"] for m in data]


@pytest.mark.parametrize(
    ("key", "status", "body"),
    [(None, 401, None), ("bad-3", 401, None), ("broke-3", 200, 0), ("good", 200, 1500), ("rich-3", 200, 4500)],
)
def test_current_balance(http: httpx.Client, key: str | None, status: int, body: int | None) -> None:
    r = http.get("/usage/current_balance", headers={"authorization": f"Bearer {key}"} if key else {})
    assert r.status_code == status
    if status == 200:
        assert r.json() == {"current_point_balance": body}
    else:
        assert r.json()["error"]["type"] == "authentication_error"

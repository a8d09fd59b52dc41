"""Chat Completions through the proxy, as the openai SDK (strict mode) sees it.

Each test runs twice: against the core under CPython (self-hosted ASGI mode)
and against the Worker in workerd (`wrangler dev`), both in front of a real
fastapi_poe upstream on 127.0.0.1.
"""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.conftest import Proxy, ProxyFactory
from tests.support import ACCESS_TOKEN, ADMIN_TOKEN, admin_status, conformance, content_of, reset_upstream_stats, sse_chunks

HEADERS = {"authorization": f"Bearer {ACCESS_TOKEN}"}


def post(proxy: Proxy, body: object, path: str = "/v1/chat/completions", **kw: object) -> httpx.Response:
    headers = {**HEADERS, **kw.pop("headers", {})}  # type: ignore[dict-item]
    return httpx.post(f"{proxy.url}{path}", json=body, headers=headers, timeout=30, **kw)  # type: ignore[arg-type]


def raw_stream(proxy: Proxy, body: dict[str, object]) -> tuple[httpx.Response, bytes]:
    """POST with stream=true; the response and its raw body bytes."""
    data = b""
    with httpx.stream(
        "POST", f"{proxy.url}/v1/chat/completions", json={**body, "stream": True}, headers=HEADERS, timeout=30
    ) as r:
        for piece in r.iter_raw():
            data += piece
    return r, data


# ---------------------------------------------------------------- happy paths


def test_non_streaming_answer_is_a_valid_completion(proxy: Proxy) -> None:
    raw = proxy.client().chat.completions.with_raw_response.create(
        model="echo", messages=[{"role": "user", "content": "hello there"}]
    )
    conformance.validate("chat.completion", raw.http_response.json())
    completion = raw.parse()
    assert completion.choices[0].message.content == "hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "echo"
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_both_paths_serve_chat(proxy: Proxy) -> None:
    for path in ("/v1/chat/completions", "/chat/completions"):
        r = post(proxy, {"model": "echo", "messages": [{"role": "user", "content": "ping"}]}, path)
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] == "ping"


def test_streaming_with_the_sdk(proxy: Proxy) -> None:
    stream = proxy.client().chat.completions.create(
        model="slowstory", stream=True, messages=[{"role": "user", "content": "tell me a story"}]
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("Once upon a time") and text.endswith("The end.")
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason] == ["stop"]


def test_stream_arrives_incrementally_and_conforms(proxy: Proxy, upstream: object) -> None:
    base = upstream.url  # type: ignore[attr-defined]
    body = {
        "model": "slowstory",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "go"}],
    }
    data = b""
    completed_before: int | None = None
    with httpx.stream("POST", f"{proxy.url}/v1/chat/completions", json=body, headers=HEADERS, timeout=30) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for piece in r.iter_raw():
            data += piece
            if completed_before is None and b'"content"' in data:
                completed_before = httpx.get(f"{base}/events").json().get("completed", 0)
    chunks = sse_chunks(data)
    assert content_of(chunks).endswith("The end.")
    # causal, not timed: the upstream finished its story only after our first text had arrived
    assert completed_before is not None
    assert httpx.get(f"{base}/events").json()["completed"] == completed_before + 1
    usage = chunks[-1]
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] > 0


def test_first_chunk_comes_before_the_upstream_finishes(proxy: Proxy, upstream: object) -> None:
    base = upstream.url  # type: ignore[attr-defined]
    reset_upstream_stats(base)  # counters from earlier legs (a cancelled story is started, never completed) must not count
    body = {"model": "slowstory", "stream": True, "messages": [{"role": "user", "content": "go"}]}
    with httpx.stream("POST", f"{proxy.url}/v1/chat/completions", json=body, headers=HEADERS, timeout=30) as r:
        first = b""
        for piece in r.iter_raw():  # up to the first whole event (Poe may split one across reads)
            first += piece
            if b"\n\n" in first:
                break
        assert b'"role":"assistant"' in first
        running = httpx.get(f"{base}/events").json()
        # this story is still being written upstream: the proxy did not buffer it
        assert running.get("started") == 1 and not running.get("completed")


def test_no_usage_chunk_unless_asked(proxy: Proxy) -> None:
    _, data = raw_stream(proxy, {"model": "echo", "messages": [{"role": "user", "content": "hi"}]})
    chunks = sse_chunks(data)
    assert all(c["choices"] for c in chunks)
    assert data.endswith(b"data: [DONE]\n\n")


def test_catalogue_ids_resolve_case_insensitively(proxy: Proxy) -> None:
    for model in ("gpt-4o", "GPT-4O", "claude-3.5-sonnet", "poe/Claude-Sonnet-3.5"):
        r = post(proxy, {"model": model, "messages": [{"role": "user", "content": "via catalogue"}]})
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] == "via catalogue"
        # the bot protocol answers with the id asked for; Poe's OpenAI-compatible API echoes the name
        # it was sent: the id asked for, or for an alias the bot's own name
        assert r.json()["model"] == model or (proxy.mode == "openai" and r.json()["model"] == "Claude-Sonnet-3.5")


def test_parameters_reach_the_bot(bot_proxy: Proxy) -> None:
    r = post(
        bot_proxy,
        {
            "model": "echo",
            "temperature": 0.3,
            "stop": ["END"],
            "max_tokens": 500,
            "user": "someone",
            "messages": [
                {"role": "developer", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "first"}]},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": "/params"},
            ],
        },
    )
    assert r.status_code == 200, r.text
    seen = json.loads(r.json()["choices"][0]["message"]["content"])
    assert seen["roles"] == ["system", "user", "bot", "user"]
    assert seen["contents"][:3] == ["be brief", "first", "ok"]
    assert seen["temperature"] == 0.3
    assert seen["stop_sequences"] == ["END"]


def test_the_whole_request_reaches_poes_openai_api(openai_proxy: Proxy) -> None:
    image = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJRU5ErkJggg=="
    )
    r = post(
        openai_proxy,
        {
            "model": "claude-3.5-sonnet",  # an alias: Poe gets the bot's name
            "temperature": 0.3,
            "stop": ["END"],
            "max_tokens": 500,
            "user": "someone",
            "thinking_budget": 1024,  # a bot parameter (extra_body in the SDK): forwarded, not lost
            "messages": [
                {"role": "developer", "content": "be brief"},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "first"}, {"type": "image_url", "image_url": {"url": image}}],
                },
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": "/params"},
            ],
        },
    )
    assert r.status_code == 200, r.text
    seen = json.loads(r.json()["choices"][0]["message"]["content"])
    assert seen["model"] == "Claude-Sonnet-3.5"
    assert seen["roles"] == ["system", "user", "assistant", "user"]  # developer goes as system
    assert seen["contents"][:3] == ["be brief", "first", "ok"]
    assert seen["images"][1] == [image]  # passed as it came: no upload step
    assert (seen["temperature"], seen["stop"], seen["max_tokens"]) == (0.3, ["END"], 500)
    assert seen["extra"]["thinking_budget"] == 1024


def test_reasoning_is_split_from_the_answer(proxy: Proxy) -> None:
    completion = proxy.client().chat.completions.create(model="thinker", messages=[{"role": "user", "content": "6*7?"}])
    message = completion.choices[0].message
    assert message.content == "The answer is 42."
    assert "6 times 7 is 42." in (message.model_extra or {}).get("reasoning_content", "")
    _, data = raw_stream(proxy, {"model": "thinker", "messages": [{"role": "user", "content": "6*7?"}]})
    chunks = sse_chunks(data)
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in chunks)
    assert content_of(chunks) == "The answer is 42."
    assert "The user wants a number." in reasoning


def test_image_answers_become_markdown(proxy: Proxy) -> None:
    completion = proxy.client().chat.completions.create(model="artist", messages=[{"role": "user", "content": "draw"}])
    assert completion.choices[0].message.content is not None
    assert "![picture.png](https://example.invalid/picture.png)" in completion.choices[0].message.content
    _, data = raw_stream(proxy, {"model": "artist", "messages": [{"role": "user", "content": "draw"}]})
    assert "![picture.png](https://example.invalid/picture.png)" in content_of(sse_chunks(data))


def test_replace_response_replaces_the_answer(proxy: Proxy) -> None:
    completion = proxy.client().chat.completions.create(model="replacer", messages=[{"role": "user", "content": "x"}])
    assert completion.choices[0].message.content == "Final answer"


# ---------------------------------------------------------------- models


def test_models_list_and_item(proxy: Proxy) -> None:
    client = proxy.client()
    raw = client.models.with_raw_response.list()
    conformance.validate("model.list", raw.http_response.json())
    ids = {m.id for m in raw.parse()}
    assert {"gpt-4o", "claude-sonnet-3.5", "echo", "dall-e-3", "stablediffusionxl"} <= ids
    model = client.models.retrieve("claude-sonnet-3.5")
    assert model.id == "claude-sonnet-3.5" and model.owned_by == "anthropic"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


# ---------------------------------------------------------------- errors


def assert_error(r: httpx.Response, status: int, param: str | None = None, code: str | None = None) -> dict[str, object]:
    assert r.status_code == status, r.text
    body = r.json()
    conformance.validate("error", body)
    err = body["error"]
    if param is not None:
        assert err["param"] == param
    if code is not None:
        assert err["code"] == code
    assert "Traceback" not in err["message"]
    return dict(err)


def test_unknown_model_is_404(proxy: Proxy) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        proxy.client().chat.completions.create(model="gpt-nonexistent", messages=[{"role": "user", "content": "x"}])
    assert info.value.code == "model_not_found"
    assert_error(post(proxy, {"model": "nope", "messages": [{"role": "user", "content": "x"}]}), 404, "model", "model_not_found")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "echo"}, "messages"),
        ({"model": "echo", "messages": []}, "messages"),
        (
            {
                "model": "echo",
                "messages": [
                    {"role": "user", "content": "a"},
                    {"role": "user", "content": "b"},
                    {"role": "wizard", "content": "c"},
                ],
            },
            "messages[2].role",
        ),
        ({"model": "echo", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"model": "echo", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}, "temperature"),
        ({"model": "echo", "messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
        ({"model": "echo", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}, "stream"),
        ({"model": 42, "messages": [{"role": "user", "content": "x"}]}, "model"),
    ],
)
def test_invalid_requests_name_the_param(proxy: Proxy, body: dict[str, object], param: str) -> None:
    assert_error(post(proxy, body), 400, param)


def test_malformed_json_is_400(proxy: Proxy) -> None:
    r = httpx.post(
        f"{proxy.url}/v1/chat/completions", content=b'{"model": "echo", ', headers={**HEADERS, "content-type": "application/json"}
    )
    err = assert_error(r, 400)
    assert "not valid JSON" in str(err["message"])
    assert_error(httpx.post(f"{proxy.url}/v1/chat/completions", content=b"[1,2]", headers=HEADERS), 400)


def test_auth_failures_are_401(proxy: Proxy) -> None:
    with pytest.raises(openai.AuthenticationError):
        proxy.client(api_key="sk-wrong").chat.completions.create(model="echo", messages=[{"role": "user", "content": "x"}])
    body = {"model": "echo", "messages": [{"role": "user", "content": "x"}]}
    assert_error(httpx.post(f"{proxy.url}/v1/chat/completions", json=body), 401, code="invalid_api_key")
    assert_error(httpx.post(f"{proxy.url}/v1/chat/completions", json=body, headers={"authorization": "Bearer"}), 401)
    # the second configured token works too
    assert post(proxy, body, headers={"authorization": "Bearer sk-second-token"}).status_code == 200


def test_unknown_path_and_wrong_method(proxy: Proxy) -> None:
    assert_error(httpx.get(f"{proxy.url}/v1/nothing-here", headers=HEADERS), 404)
    r = httpx.get(f"{proxy.url}/v1/chat/completions", headers=HEADERS)
    assert_error(r, 405)
    assert "POST" in r.headers["allow"]


def test_oversized_body_is_413(proxy: Proxy) -> None:
    huge = "x" * (21 * 1024 * 1024)
    r = post(proxy, {"model": "echo", "messages": [{"role": "user", "content": huge}]})
    assert_error(r, 413, code="request_too_large")


def test_health_is_quiet_and_the_pool_is_for_admins(proxy: Proxy) -> None:
    r = httpx.get(f"{proxy.url}/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": r.json()["version"], "configured": True}  # nothing about keys
    for headers in ({}, {"authorization": f"Bearer {ACCESS_TOKEN}"}, {"authorization": "Bearer nope"}):
        denied = httpx.get(f"{proxy.url}/admin/status", headers=headers)
        assert denied.status_code == 401, denied.text  # an access token never opens the admin API
    status = admin_status(proxy.url)
    assert status["keys"]["configured"] == 1
    text = json.dumps(status)
    assert "good-key-1" not in text and ACCESS_TOKEN not in text and ADMIN_TOKEN not in text


def test_error_event_before_answer_is_a_400_with_poes_message(proxy: Proxy) -> None:
    err = assert_error(post(proxy, {"model": "refuser", "messages": [{"role": "user", "content": "x"}]}), 400)
    assert "breaks the bot's rules" in str(err["message"])


def test_error_after_streaming_started_ends_with_error_chunk_and_done(proxy: Proxy) -> None:
    r, data = raw_stream(proxy, {"model": "failing", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 200
    if proxy.mode == "openai":
        # passed through: Poe's own error frame, then [DONE] (its error object has no param/code)
        chunks = conformance.parse_sse(data)
        for chunk in chunks[:-1]:
            conformance.validate("chat.completion.chunk", chunk)
    else:
        chunks = sse_chunks(data)  # validates: error chunk last, then [DONE]
    assert content_of(chunks) == "I will start, but then"
    assert "crashed halfway" in chunks[-1]["error"]["message"]
    assert data.endswith(b"data: [DONE]\n\n")
    # the SDK surfaces it as an error too
    with pytest.raises(openai.APIError):
        list(proxy.client().chat.completions.create(model="failing", stream=True, messages=[{"role": "user", "content": "x"}]))


def test_error_mid_answer_without_streaming_is_502(proxies: ProxyFactory, target: str) -> None:
    # Poe's OpenAI-compatible API answers a failed bot with HTTP 500, which cools the key: a proxy of its own
    proxy = proxies.get(target, ERROR_COOLDOWN="0")
    err = assert_error(post(proxy, {"model": "failing", "messages": [{"role": "user", "content": "x"}]}), 502)
    assert "crashed halfway" in str(err["message"])


def test_silent_upstream_times_out_with_504(proxy: Proxy) -> None:
    err = assert_error(post(proxy, {"model": "silent", "messages": [{"role": "user", "content": "x"}]}), 504)
    assert "TIMEOUT" in str(err["message"])


def test_unreachable_upstream_is_502(proxies: object, target: str) -> None:
    from tests.support import free_port

    proxy = proxies.get(target, POE_BASE_URL=f"http://127.0.0.1:{free_port()}")  # type: ignore[attr-defined]
    err = assert_error(post(proxy, {"model": "echo", "messages": [{"role": "user", "content": "x"}]}), 502)
    assert "reach Poe" in str(err["message"])


def test_no_access_tokens_means_no_proxying(proxies: object, target: str) -> None:
    proxy = proxies.get(target, API_ACCESS_TOKENS="")  # type: ignore[attr-defined]
    r = httpx.post(f"{proxy.url}/v1/chat/completions", json={"model": "echo", "messages": [{"role": "user", "content": "x"}]})
    err = assert_error(r, 500)
    assert "API_ACCESS_TOKENS" in str(err["message"])

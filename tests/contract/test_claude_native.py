"""Claude bots on /v1/messages in openai mode: Poe's own Anthropic endpoint, passed through.

The demo's /v1/messages answers "Echo: <text>" with Poe's ``req_poe_`` ids and the
dated Anthropic model id, which the proxy's translation never produces: so each
test can tell the passthrough from the translation. ``CLAUDE_NATIVE=false`` and
bot mode translate the same request.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import OPENAI_TARGETS, ProxyFactory
from tests.contract.schemas import anthropic_error, anthropic_message, anthropic_stream, assemble_anthropic
from tests.support import ACCESS_TOKEN, upstream_stats

HEADERS = {"x-api-key": ACCESS_TOKEN, "anthropic-version": "2023-06-01"}
HELLO = [{"role": "user", "content": "hello there"}]


def post(url: str, body: dict[str, object], headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{url}/v1/messages", json=body, headers={**HEADERS, **(headers or {})}, timeout=30)


@pytest.mark.parametrize("target", OPENAI_TARGETS)
def test_claude_answer_comes_from_poes_anthropic_endpoint(proxies: ProxyFactory, target: str) -> None:
    proxy = proxies.get(target)
    r = post(proxy.url, {"model": "claude-sonnet-4-5-20250929", "max_tokens": 100, "messages": HELLO})
    assert r.status_code == 200, r.text
    msg = anthropic_message(r.json())
    assert msg.id.startswith("req_poe_")  # Poe's id: the body was not rebuilt by the proxy
    assert msg.model == "claude-sonnet-4-5-20250929"
    assert msg.content[0].type == "text" and msg.content[0].text == "Echo: hello there"
    assert r.json()["usage"]["total_tokens"] == msg.usage.input_tokens + msg.usage.output_tokens  # Poe's extra field


@pytest.mark.parametrize("target", OPENAI_TARGETS)
def test_claude_body_and_anthropic_headers_reach_poe_untouched(proxies: ProxyFactory, target: str) -> None:
    proxy = proxies.get(target)
    body = {
        "model": "claude-sonnet-4.5",
        "max_tokens": 100,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "/params", "cache_control": {"type": "ephemeral"}}]}],
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
    }
    r = post(proxy.url, body, {"anthropic-beta": "prompt-caching-2024-07-31", "anthropic-version": "2023-06-01"})
    assert r.status_code == 200, r.text
    received = json.loads(anthropic_message(r.json()).content[0].text)  # type: ignore[union-attr]
    assert received["anthropic-beta"] == "prompt-caching-2024-07-31"
    assert received["anthropic-version"] == "2023-06-01"
    sent = received["body"]
    assert sent["system"] == body["system"] and sent["messages"] == body["messages"]  # cache_control kept
    assert sent["context_management"] == body["context_management"]
    assert sent["model"].lower() == "claude-sonnet-4.5"


@pytest.mark.parametrize("target", OPENAI_TARGETS)
def test_claude_stream_is_poes_own(proxies: ProxyFactory, target: str) -> None:
    proxy = proxies.get(target)
    body = {
        "model": "claude-sonnet-4.5",
        "max_tokens": 2000,
        "stream": True,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": HELLO,
    }
    with httpx.stream("POST", f"{proxy.url}/v1/messages", json=body, headers=HEADERS, timeout=30) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = r.read()
    events = anthropic_stream(raw)
    message = assemble_anthropic(events)
    assert events[0]["message"]["id"].startswith("req_poe_")
    kinds = [block["type"] for block in message["content"]]
    assert kinds == ["thinking", "text"]
    assert message["content"][0]["signature"]  # a real signature: only the native endpoint has one
    assert message["content"][1]["text"] == "Echo: hello there"


@pytest.mark.parametrize("target", OPENAI_TARGETS)
def test_poes_anthropic_errors_reach_the_client_in_anthropic_shape(proxies: ProxyFactory, target: str) -> None:
    proxy = proxies.get(target)
    # the demo, like Anthropic, wants max_tokens above the thinking budget
    body = {
        "model": "claude-sonnet-4.5",
        "max_tokens": 100,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": HELLO,
    }
    r = post(proxy.url, body)
    assert r.status_code == 400
    assert "budget_tokens" in anthropic_error(r.json(), "invalid_request_error")["message"]


@pytest.mark.parametrize("target", OPENAI_TARGETS)
def test_native_fails_over_to_the_next_key(proxies: ProxyFactory, target: str) -> None:
    proxy = proxies.get(target, POE_APIKEYS="broke-native-1,good-native-2")
    for _ in range(2):  # whichever key rotation starts with, the answer comes from the good one
        r = post(proxy.url, {"model": "claude-sonnet-4.5", "max_tokens": 50, "messages": HELLO})
        assert r.status_code == 200, r.text
        assert r.json()["id"].startswith("req_poe_")


@pytest.mark.parametrize("target", OPENAI_TARGETS)
def test_claude_native_off_translates(proxies: ProxyFactory, target: str) -> None:
    proxy = proxies.get(target, CLAUDE_NATIVE="false")
    r = post(proxy.url, {"model": "claude-sonnet-3.5", "max_tokens": 50, "messages": HELLO})
    assert r.status_code == 200, r.text
    msg = anthropic_message(r.json())
    assert msg.id.startswith("msg_") and msg.model == "claude-sonnet-3.5"
    assert msg.content[0].text == "hello there"  # type: ignore[union-attr]  # the chat completions Echo bot


def test_a_claude_bot_poes_anthropic_endpoint_does_not_know_is_translated(proxies: ProxyFactory, upstream: object) -> None:
    key = "good-fallback-1"
    proxy = proxies.get("asgi/openai", POE_APIKEYS=key, CUSTOM_MODELS="my-claude=Claude-Sonnet-3.5-Search")
    r = post(proxy.url, {"model": "my-claude", "max_tokens": 50, "messages": HELLO})
    # Poe's Anthropic endpoint has no such bot (404), so chat completions is asked too (the demo has none there either)
    assert r.status_code == 404
    assert anthropic_error(r.json(), "not_found_error")
    assert upstream_stats(upstream.url).get(key) == 2  # type: ignore[attr-defined]  # /v1/messages, then /v1/chat/completions


def test_count_tokens_needs_no_upstream(proxies: ProxyFactory) -> None:
    proxy = proxies.get("asgi/openai")
    r = httpx.post(
        f"{proxy.url}/v1/messages/count_tokens",
        json={"model": "claude-sonnet-4.5", "messages": HELLO},
        headers=HEADERS,
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["input_tokens"] > 0


PDF_BLOCK = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQK"}}


@pytest.mark.parametrize("target", OPENAI_TARGETS)
def test_documents_and_signed_thinking_reach_claude_while_unsigned_thinking_is_dropped(
    proxies: ProxyFactory, target: str
) -> None:
    proxy = proxies.get(target)
    messages = [
        {"role": "user", "content": [PDF_BLOCK, {"type": "text", "text": "Summarise it."}]},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "from a translated answer", "signature": ""},
                {"type": "thinking", "thinking": "Claude's own", "signature": "c2lnbmVk"},
                {"type": "text", "text": "It is short."},
            ],
        },
        {"role": "user", "content": "/params"},
    ]
    r = post(proxy.url, {"model": "claude-sonnet-4.5", "max_tokens": 100, "messages": messages})
    assert r.status_code == 200, r.text
    sent = json.loads(anthropic_message(r.json()).content[0].text)["body"]  # type: ignore[union-attr]
    assert sent["messages"][0]["content"][0] == PDF_BLOCK
    thinking = [b for b in sent["messages"][1]["content"] if b["type"] == "thinking"]
    assert thinking == [{"type": "thinking", "thinking": "Claude's own", "signature": "c2lnbmVk"}]


def test_documents_for_other_models_are_a_clear_400(proxies: ProxyFactory) -> None:
    proxy = proxies.get("asgi/openai")
    messages = [{"role": "user", "content": [PDF_BLOCK, {"type": "text", "text": "Summarise it."}]}]
    r = post(proxy.url, {"model": "gpt-4o", "max_tokens": 100, "messages": messages})
    assert r.status_code == 400
    assert "document" in anthropic_error(r.json(), "invalid_request_error")["message"]

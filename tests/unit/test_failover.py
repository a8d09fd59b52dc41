"""Failover decisions of pool.open_with_failover through both upstreams, with an in-memory HTTP peer.

The peer answers like Poe does (status codes, SSE bodies produced by
sse_starlette, the same encoder fastapi_poe uses), chosen per key and URL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sse_starlette.event import ServerSentEvent

from poe.catalogue import Catalogue, Model
from poe.doors.openai_chat import handle_chat
from poe.errors import ProxyError, RateLimited, UpstreamError
from poe.http import OutboundRequest, Passthrough, Runtime, UpstreamResponse
from poe.pool import KeyPool, Opened, open_with_failover
from poe.settings import Config
from poe.upstreams.poe_bot import BotStream, open_bot

Answer = tuple[int, dict[str, str], bytes]


def sse(*events: tuple[str, dict[str, Any]]) -> bytes:
    return b"".join(ServerSentEvent(data=json.dumps(data), event=name).encode() for name, data in events)


OK = (200, {"content-type": "text/event-stream"}, sse(("text", {"text": "hello"}), ("done", {})))


class Peer:
    def __init__(self, answer: Callable[[OutboundRequest], Answer]) -> None:
        self.answer = answer
        self.calls: list[OutboundRequest] = []

    async def send(self, request: OutboundRequest) -> UpstreamResponse:
        self.calls.append(request)
        status, headers, body = self.answer(request)

        async def chunks() -> AsyncIterator[bytes]:
            yield body

        async def close() -> None:
            return None

        return UpstreamResponse(status, headers, chunks(), close)

    def keys_used(self, path: str) -> list[str]:
        return [c.headers["authorization"].removeprefix("Bearer ") for c in self.calls if path in c.url]


def runtime(peer: Peer) -> Runtime:
    return Runtime(http=peer, kv=None, clock=lambda: 1000.0, defer=lambda _w: None, log=lambda _l: None)


def config(keys: tuple[str, ...], **kw: Any) -> Config:
    kw.setdefault("protocol", "bot")
    return Config.defaults(
        api_keys=keys, access_tokens=("t",), base_url="http://poe.test", upload_url="http://poe.test/upload", **kw
    )


async def open_bot_answer(rt: Runtime, cfg: Config, pool: KeyPool) -> Opened[BotStream]:
    async def attempt(key: str, connect_timeout: float, deadline: float) -> BotStream:
        return await open_bot(rt, "http://poe.test/bot/Bot", key, b"{}", connect_timeout=connect_timeout, deadline=deadline)

    return await open_with_failover(rt, cfg, pool, attempt)


async def test_two_server_failures_stop_the_failover() -> None:
    keys = ("k1", "k2", "k3", "k4")
    peer = Peer(lambda r: (503, {}, b"down"))
    cfg = config(keys)
    pool = KeyPool(keys, cfg)
    with pytest.raises(UpstreamError) as info:
        await open_bot_answer(runtime(peer), cfg, pool)
    assert len(peer.calls) == 2  # Poe itself is down: no need to spend every key on it
    assert "503" in info.value.message
    assert len(pool.healthy(1000.0)) == 2


async def test_rate_limited_keys_fail_over_to_a_working_one() -> None:
    keys = ("k1", "k2", "k3")

    def answer(r: OutboundRequest) -> Answer:
        if r.headers["authorization"].endswith("k3"):
            return OK
        return (200, {}, sse(("error", {"text": "You have exceeded the rate limit", "allow_retry": True}), ("done", {})))

    peer = Peer(answer)
    cfg = config(keys)
    pool = KeyPool(keys, cfg)
    opened = await open_bot_answer(runtime(peer), cfg, pool)
    assert opened.key_index == 2
    assert pool.healthy(1000.0) == [2]
    await opened.value.close()


async def test_max_attempts_cut_is_a_short_429_while_keys_remain() -> None:
    keys = ("k1", "k2", "k3", "k4")
    peer = Peer(lambda r: (429, {"retry-after": "30"}, b""))
    cfg = config(keys, max_attempts=2)
    pool = KeyPool(keys, cfg)
    with pytest.raises(RateLimited) as info:
        await open_bot_answer(runtime(peer), cfg, pool)
    assert len(peer.calls) == 2
    assert dict(info.value.headers)["retry-after"] == "1"  # two keys are still healthy


async def test_an_image_upload_rejected_for_one_key_fails_over_to_the_next() -> None:
    keys = ("bad", "good")

    def answer(r: OutboundRequest) -> Answer:
        if r.url.endswith("/upload"):
            if r.headers["authorization"] == "bad":
                return (401, {}, b"")
            return (
                200,
                {"content-type": "application/json"},
                b'{"attachment_url": "https://cdn.test/a.png", "mime_type": "image/png"}',
            )
        return OK

    peer = Peer(answer)
    cfg = config(keys, custom_models=(Model("bot", "Bot", "custom"),))
    pool = KeyPool(keys, cfg)
    png = "data:image/png;base64,iVBORw0KGgo="
    body = {"model": "bot", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": png}}]}]}
    rt = runtime(peer)
    resp = await handle_chat(rt, cfg, Catalogue(cfg.custom_models), pool, json.dumps(body).encode())
    assert resp.status == 200
    assert peer.keys_used("/bot/Bot") == ["good"]  # the bot call uses the key the upload succeeded with
    sent = json.loads(next(c.body for c in peer.calls if c.url.endswith("/bot/Bot")) or b"")
    assert sent["query"][0]["attachments"][0]["url"] == "https://cdn.test/a.png"
    assert pool.healthy(1000.0) == [1]
    assert isinstance(resp.body, bytes) and json.loads(resp.body)["choices"][0]["message"]["content"] == "hello"


async def test_a_stalled_error_body_does_not_hang_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    import poe.pool

    monkeypatch.setattr(poe.pool, "ERROR_BODY_SECONDS", 0.05)

    class Stalling(Peer):
        async def send(self, request: OutboundRequest) -> UpstreamResponse:
            self.calls.append(request)

            async def chunks() -> AsyncIterator[bytes]:
                await asyncio.sleep(3600)
                yield b""

            async def close() -> None:
                return None

            return UpstreamResponse(500, {}, chunks(), close)

    keys = ("k1",)
    peer = Stalling(lambda r: OK)
    cfg = config(keys)
    with pytest.raises(UpstreamError):
        await asyncio.wait_for(open_bot_answer(runtime(peer), cfg, KeyPool(keys, cfg)), 5)


async def test_a_key_running_out_mid_answer_is_retried_when_nothing_was_sent() -> None:
    keys = ("k1", "k2")

    def answer(r: OutboundRequest) -> Answer:
        if r.headers["authorization"].endswith("k1"):
            events = (
                ("text", {"text": "partial "}),
                ("error", {"text": "You do not have enough points.", "error_type": "insufficient_fund"}),
                ("done", {}),
            )
            return (200, {}, sse(*events))
        return OK

    peer = Peer(answer)
    cfg = config(keys, custom_models=(Model("bot", "Bot", "custom"),))
    pool = KeyPool(keys, cfg)
    body = {"model": "bot", "messages": [{"role": "user", "content": "hi"}]}
    resp = await handle_chat(runtime(peer), cfg, Catalogue(cfg.custom_models), pool, json.dumps(body).encode())
    assert resp.status == 200
    assert isinstance(resp.body, bytes) and json.loads(resp.body)["choices"][0]["message"]["content"] == "hello"
    assert peer.keys_used("/bot/Bot") == ["k1", "k2"]
    assert pool.healthy(1000.0) == [1]


# ---------------------------------------------------------------- Poe's OpenAI-compatible API

COMPLETION = {
    "id": "chatcmpl-0123456789abcdef01234567",
    "object": "chat.completion",
    "created": 1,
    "model": "Bot",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}


def openai_peer(failing: dict[str, Answer]) -> Peer:
    def answer(r: OutboundRequest) -> Answer:
        key = r.headers["authorization"].removeprefix("Bearer ")
        if key in failing:
            return failing[key]
        if json.loads(r.body or b"{}").get("stream"):
            return (200, {"content-type": "text/event-stream"}, b"data: {}\n\ndata: [DONE]\n\n")
        return (200, {"content-type": "application/json"}, json.dumps(COMPLETION).encode())

    return Peer(answer)


@pytest.mark.parametrize(
    ("status", "headers", "reason"),
    [
        (401, {}, "invalid_key"),
        (403, {}, "invalid_key"),
        (402, {}, "out_of_points"),
        (429, {"retry-after": "7"}, "rate_limited"),
        (503, {}, "unavailable"),
        (307, {"location": "https://elsewhere.test/"}, "unavailable"),
    ],
)
async def test_openai_statuses_fail_over_and_cool_the_key(status: int, headers: dict[str, str], reason: str) -> None:
    keys = ("k1", "k2")
    peer = openai_peer({"k1": (status, headers, b'{"error": {"message": "no", "type": "x"}}')})
    cfg = config(keys, protocol="openai", custom_models=(Model("bot", "Bot", "custom"),))
    pool = KeyPool(keys, cfg)
    body = {"model": "bot", "messages": [{"role": "developer", "content": "be brief"}, {"role": "user", "content": "hi"}]}
    resp = await handle_chat(runtime(peer), cfg, Catalogue(cfg.custom_models), pool, json.dumps(body).encode())
    assert resp.status == 200
    assert peer.keys_used("/v1/chat/completions") == ["k1", "k2"]
    assert pool.cooling(0, 1000.0) is not None and pool.cooling(0, 1000.0).reason == reason  # type: ignore[union-attr]
    if status == 429:
        assert pool.cooling(0, 1000.0).until == 1007.0  # type: ignore[union-attr]
    sent = json.loads(peer.calls[-1].body or b"")
    assert sent["model"] == "bot" and sent["messages"][0]["role"] == "system"  # the same bot, as asked
    answer = json.loads(resp.body)  # type: ignore[arg-type]
    # what OpenAI's schema requires and Poe leaves out
    assert answer["choices"][0]["logprobs"] is None and answer["choices"][0]["message"]["refusal"] is None


async def test_openai_stream_is_handed_over_untouched() -> None:
    keys = ("k1",)
    peer = openai_peer({})
    cfg = config(keys, protocol="openai", custom_models=(Model("bot", "Bot", "custom"),))
    body = {"model": "bot", "stream": True, "messages": [{"role": "user", "content": "hi"}], "thinking_budget": 512}
    resp = await handle_chat(runtime(peer), cfg, Catalogue(cfg.custom_models), KeyPool(keys, cfg), json.dumps(body).encode())
    assert isinstance(resp.body, Passthrough)
    assert b"".join([c async for c in resp.body.upstream.body]) == b"data: {}\n\ndata: [DONE]\n\n"
    assert json.loads(peer.calls[0].body or b"")["thinking_budget"] == 512  # a bot parameter is forwarded, not lost


async def test_openai_client_errors_are_not_retried() -> None:
    keys = ("k1", "k2")
    peer = openai_peer(
        {"k1": (400, {}, b'{"error": {"message": "Model does not support tools", "type": "invalid_request_error"}}')}
    )
    cfg = config(keys, protocol="openai", custom_models=(Model("bot", "Bot", "custom"),))
    pool = KeyPool(keys, cfg)
    body = {"model": "bot", "messages": [{"role": "user", "content": "hi"}]}
    from poe.errors import InvalidRequest

    with pytest.raises(InvalidRequest) as info:
        await handle_chat(runtime(peer), cfg, Catalogue(cfg.custom_models), pool, json.dumps(body).encode())
    assert "does not support tools" in info.value.message
    assert len(peer.calls) == 1 and pool.healthy(1000.0) == [0, 1]


async def test_a_model_pinned_to_the_bot_protocol_uses_it() -> None:
    keys = ("k1",)
    peer = Peer(lambda r: OK)
    cfg = config(keys, protocol="openai", custom_models=(Model("bot", "Bot", "custom", protocol="bot"),))
    body = {"model": "bot", "messages": [{"role": "user", "content": "hi"}]}
    resp = await handle_chat(runtime(peer), cfg, Catalogue(cfg.custom_models), KeyPool(keys, cfg), json.dumps(body).encode())
    assert resp.status == 200 and peer.keys_used("/bot/Bot") == ["k1"]


async def test_a_connection_broken_before_the_first_event_fails_over() -> None:
    class Breaking(Peer):
        async def send(self, request: OutboundRequest) -> UpstreamResponse:
            self.calls.append(request)
            if request.headers["authorization"].endswith("k1"):

                async def broken() -> AsyncIterator[bytes]:
                    raise ConnectionResetError("reset by peer")
                    yield b""  # an async generator

                async def close() -> None:
                    return None

                return UpstreamResponse(200, {}, broken(), close)
            return await super().send(request)

    keys = ("k1", "k2")
    peer = Breaking(lambda r: OK)
    cfg = config(keys)
    pool = KeyPool(keys, cfg)
    opened = await open_bot_answer(runtime(peer), cfg, pool)
    assert opened.key_index == 1
    assert pool.cooling(0, 1000.0) is not None and pool.cooling(0, 1000.0).reason == "unavailable"  # type: ignore[union-attr]
    await opened.value.close()


async def test_a_dropped_connection_is_tried_again_and_cools_no_key() -> None:
    """A pooled connection Poe closed just as it was used: once more on the same key; if Poe stays
    unreachable, the next key is tried, but no key is cooled for a network fault (bench's load run found
    one such drop leaving a one-key pool cooled, and every client refused, for ERROR_COOLDOWN)."""

    class Dropping(Peer):
        def __init__(self, drops: int) -> None:
            super().__init__(lambda _r: OK)
            self.drops = drops

        async def send(self, request: OutboundRequest) -> UpstreamResponse:
            if self.drops > 0:
                self.drops -= 1
                self.calls.append(request)
                raise ConnectionResetError("connection lost")
            return await super().send(request)

    once = Dropping(drops=1)
    pool = KeyPool(("k1",), config(("k1",)))
    opened = await open_bot_answer(runtime(once), config(("k1",)), pool)
    assert opened.key_index == 0 and len(once.calls) == 2  # the same key, a second time
    await opened.value.close()

    down = Dropping(drops=10)
    keys = ("k1", "k2")
    pool = KeyPool(keys, config(keys))
    with pytest.raises(ProxyError):
        await open_bot_answer(runtime(down), config(keys), pool)
    assert pool.healthy(1000.0) == [0, 1]  # nobody's fault: every key still serves

"""Failover decisions of chat.open_with_failover, with an in-memory HTTP peer.

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

from poe.chat import handle_chat, open_with_failover
from poe.config import Config
from poe.errors import RateLimited, UpstreamError
from poe.keys import KeyPool
from poe.models import Catalogue, Model
from poe.types import OutboundRequest, Runtime, UpstreamResponse

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
    return Config(api_keys=keys, access_tokens=("t",), base_url="http://poe.test", upload_url="http://poe.test/upload", **kw)


async def body_for(_key: str) -> bytes:
    return b"{}"


async def test_two_server_failures_stop_the_failover() -> None:
    keys = ("k1", "k2", "k3", "k4")
    peer = Peer(lambda r: (503, {}, b"down"))
    cfg = config(keys)
    pool = KeyPool(keys, cfg)
    with pytest.raises(UpstreamError) as info:
        await open_with_failover(runtime(peer), cfg, pool, "Bot", body_for)
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
    opened = await open_with_failover(runtime(peer), cfg, pool, "Bot", body_for)
    assert opened.key_index == 2
    assert pool.healthy(1000.0) == [2]
    await opened.stream.close()


async def test_max_attempts_cut_is_a_short_429_while_keys_remain() -> None:
    keys = ("k1", "k2", "k3", "k4")
    peer = Peer(lambda r: (429, {"retry-after": "30"}, b""))
    cfg = config(keys, max_attempts=2)
    pool = KeyPool(keys, cfg)
    with pytest.raises(RateLimited) as info:
        await open_with_failover(runtime(peer), cfg, pool, "Bot", body_for)
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
    import poe.upstream

    monkeypatch.setattr(poe.upstream, "ERROR_BODY_SECONDS", 0.05)

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
        await asyncio.wait_for(open_with_failover(runtime(peer), cfg, KeyPool(keys, cfg), "Bot", body_for), 5)


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

"""Poe's OpenAI-compatible API (``POST {POE_BASE_URL}/v1/chat/completions``).

For an OpenAI chat request the body goes to Poe as the client sent it, with the
model id mapped to Poe's bot name and the pool's key in ``Authorization``. The
commit point is Poe's status: 401/403/402/429/5xx, a redirect or no connection
fail over to the next key; a 200 is the answer. A streamed 200 is handed to the
client untouched (``Passthrough``: the Workers edge pipes the JS stream, no
Python per chunk); a non-streamed one is completed in one pass where Poe's JSON
lacks fields OpenAI's schema requires.

Poe sends a non-streamed answer's headers only once the answer is complete, and
nobody has recorded when a streamed answer's headers come, so Poe's headers may
take up to ``TIMEOUT``: a slow answer is a 504 that does not cool the key, as a
slow bot is on the bot protocol.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

from ..canonical import Batches, ChatRequest
from ..catalogue import Model
from ..data_uri import check_images
from ..errors import InvalidRequest, UpstreamError, UpstreamTimeout
from ..http import OutboundRequest, Runtime, UpstreamResponse
from ..meter import usage_of
from ..pool import AttemptFailed, KeyPool, Opened, open_with_failover, read_head, send_attempt
from ..settings import Config
from ..sse import SSEEvent
from .event_stream import EventStream, read_answer
from .openai_chunks import ChunkReader, chat_body, refused_fields

__all__ = [
    "MAX_ANSWER_BYTES",
    "complete",
    "normalise_completion",
    "open_answer",
    "open_chat",
    "open_messages",
    "open_post",
    "upstream_body",
]

MAX_ANSWER_BYTES = 32 * 1024 * 1024
ANTHROPIC_VERSION = "2023-06-01"  # Poe requires the header; clients that leave it out get Anthropic's current one


def upstream_body(body: dict[str, Any], model: Model) -> bytes:
    """The client's body for Poe: the bot's name as ``model``; ``developer`` messages as ``system``.

    Poe matches names case-insensitively and echoes the name it was sent, so a client that
    asked for ``gpt-4o`` sees ``gpt-4o`` in the answer; an alias is sent as the bot's name.
    """
    out = dict(body)
    asked = str(body.get("model", "")).strip()
    out["model"] = asked if asked.lower() == model.bot.lower() else model.bot
    messages = body.get("messages")
    if isinstance(messages, list) and any(isinstance(m, dict) and m.get("role") == "developer" for m in messages):
        # Poe documents system, user, assistant and tool only
        out["messages"] = [
            {**m, "role": "system"} if isinstance(m, dict) and m.get("role") == "developer" else m for m in messages
        ]
    return _dumps(out)


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


async def open_chat(rt: Runtime, cfg: Config, pool: KeyPool, data: bytes, *, stream: bool) -> Opened[UpstreamResponse]:
    """POST to Poe's chat completions with the pool's keys until one is answered with 200."""
    accept = "text/event-stream" if stream else "application/json"
    return await open_post(
        rt, cfg, pool, "/v1/chat/completions", data, lambda key: {"authorization": f"Bearer {key}", "accept": accept}
    )


async def open_messages(
    rt: Runtime, cfg: Config, pool: KeyPool, data: bytes, headers: Mapping[str, str]
) -> Opened[UpstreamResponse]:
    """POST to Poe's Anthropic-compatible ``/v1/messages`` (Claude bots) with the client's Anthropic headers."""
    forwarded = {
        "anthropic-version": headers.get("anthropic-version") or ANTHROPIC_VERSION,
        **{k: v for k in ("anthropic-beta", "accept") if (v := headers.get(k))},
    }
    return await open_post(rt, cfg, pool, "/v1/messages", data, lambda key: {**forwarded, "x-api-key": key})


async def open_post(
    rt: Runtime, cfg: Config, pool: KeyPool, path: str, data: bytes, headers: Callable[[str], dict[str, str]]
) -> Opened[UpstreamResponse]:
    """POST ``data`` as JSON to Poe with the pool's keys (``headers(key)`` carries one) until one gets a 200."""
    url = f"{cfg.base_url}{path}"

    async def attempt(key: str, _connect_timeout: float, deadline: float) -> UpstreamResponse:
        request = OutboundRequest("POST", url, {"content-type": "application/json", **headers(key)}, data)
        try:
            return await send_attempt(rt, request, max(0.001, deadline - asyncio.get_running_loop().time()))
        except AttemptFailed as failure:
            if failure.kind == "timeout":  # the model is slow, not the key
                raise UpstreamTimeout(f"Poe did not answer within the proxy's TIMEOUT ({cfg.timeout:g} s).") from None
            raise

    return await open_with_failover(rt, cfg, pool, attempt)


def normalise_completion(obj: Any) -> dict[str, Any]:
    """Poe's non-streamed answer with what OpenAI's schema requires and Poe leaves out (one pass)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("choices"), list):
        raise UpstreamError("Poe answered with something that is not a chat completion.")
    obj.setdefault("object", "chat.completion")
    for choice in obj["choices"]:
        if not isinstance(choice, dict):
            continue
        choice.setdefault("logprobs", None)
        message = choice.get("message")
        if isinstance(message, dict):
            message.setdefault("refusal", None)
            message.setdefault("content", None)
    return obj


async def complete(rt: Runtime, cfg: Config, pool: KeyPool, data: bytes) -> dict[str, Any]:
    """A non-streamed answer as a normalised dict."""
    opened = await open_chat(rt, cfg, pool, data, stream=False)
    response = opened.value
    try:
        raw = await read_head(response, MAX_ANSWER_BYTES + 1)
    except Exception:
        raise UpstreamError("The connection to Poe broke before the answer was complete.") from None
    finally:
        await response.close()
    if len(raw) > MAX_ANSWER_BYTES:
        raise UpstreamError(f"Poe's answer is larger than {MAX_ANSWER_BYTES} bytes.")
    try:
        obj = json.loads(raw)
    except ValueError:
        raise UpstreamError("Poe's answer is not valid JSON.") from None
    obj = normalise_completion(obj)
    if rt.meter is not None and isinstance(obj.get("usage"), dict):  # no usage: tokens unknown, not zero
        rt.meter.tokens(usage_of(obj["usage"]))
    return obj


# ---------------------------------------------------------------- translated answers


async def open_answer(rt: Runtime, cfg: Config, pool: KeyPool, req: ChatRequest, model: Model) -> Opened[Batches]:
    """A canonical request through Poe's chat completions; the answer as batches of canonical events."""
    check_images(req, cfg.max_image_bytes)
    body = chat_body(req, model)
    try:
        opened = await open_chat(rt, cfg, pool, _dumps(body), stream=True)
    except InvalidRequest as err:
        refused = refused_fields(err, body)
        if not refused:
            raise
        # the bot takes no such parameter (or not this value): answer without it, as the bot can
        rt.log(f"Poe refused {', '.join(refused)} for {model.bot}; asking again without")
        opened = await open_chat(rt, cfg, pool, _dumps({k: v for k, v in body.items() if k not in refused}), stream=True)
    stream = EventStream(opened.value, _frame, _is_done)
    stream.watch(cfg.timeout)
    return Opened(read_answer(stream, ChunkReader(req), cfg.timeout), opened.key_index, opened.on_failure)


def _frame(event: SSEEvent) -> SSEEvent:
    return event


def _is_done(event: SSEEvent) -> bool:
    data = event.data
    return data == "[DONE]" or (data[:1] in " \t\n" and data.strip() == "[DONE]")

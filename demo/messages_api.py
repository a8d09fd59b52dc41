"""Poe's Anthropic-compatible API (POST api.poe.com/v1/messages), faked for local use and tests.

Claude models only, in Anthropic's shapes with Poe's differences as recorded: the id is
"req_poe_" + 32 hex, `model` is the dated Anthropic id the name resolves to (not the name
sent), usage has the cache fields and an extra total_tokens; every response carries
anthropic-ratelimit-requests-limit/-remaining/-reset (an RFC 3339 time) and no openai-*
headers. Streams are Anthropic's SSE with `event:` lines, cut at random byte offsets like
the chat stream of demo/openai_api.py.

Models: the Poe names and the Anthropic ids of CLAUDE, case-insensitively, dots or dashes,
with or without a date or "-latest" (claude-sonnet-4.5, Claude-Sonnet-4-5,
claude-sonnet-4-5-20250929, claude-3-5-haiku-latest). Anything else is 404 not_found_error.

Checked in this order: the key (x-api-key wins over Authorization: Bearer; the prefixes of
demo/openai_api.py: none or bad- 401, broke- 402 billing_error, busy- 429, limited- 429 with
retry-after, down- 503 api_error, overloaded- 529, html- a Cloudflare page), the
anthropic-version header (400), the JSON body, model (400 if missing, 404 if not Claude),
max_tokens (a positive integer), messages (a non-empty array of user/assistant/system messages),
thinking (budget_tokens >= 1024 and < max_tokens).

The answer, from the last user message's text:

  "/params"        the JSON (sorted keys) of {"body": the body received,
                   "anthropic-version": ..., "anthropic-beta": ... (the headers, or null)}
  "... use tool ..."  with tools: "I will call <name>." then a tool_use block calling the
                   first tool ({"city": "Paris"} if its schema has "city", else {});
                   stop_reason tool_use
  "... fail midway ..."  streamed: half the echo, then `event: error` (api_error);
                   not streamed: 500 api_error
  "... cut off ..."  streamed: half the echo, then the stream just ends (no message_stop);
                   not streamed: 502 api_error
  a tool_result    "Tool said: <tool name>=<result text>, ..."
  anything else    "Echo: <text>" ("(empty)" for no text), cut at the first of
                   stop_sequences (stop_reason stop_sequence) or after max_tokens words
                   (stop_reason max_tokens)

With thinking enabled ({"type": "enabled", "budget_tokens": n}, or "adaptive") a thinking
block with a signature comes first. Tokens are words.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import random
import re
import time
import uuid
from collections.abc import AsyncGenerator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from demo import upstream
from demo.openai_api import ApiError, Cutoff, EventStream, _frame, _last_user, _load, _refuse, _split, _text, _words

Json = dict[str, Any]

# Poe's Claude bots and the dated Anthropic ids their answers name
CLAUDE: dict[str, str] = {
    "Claude-Haiku-3": "claude-3-haiku-20240307",
    "Claude-Haiku-3.5": "claude-3-5-haiku-20241022",
    "Claude-Haiku-4.5": "claude-haiku-4-5-20251001",
    "Claude-Opus-3": "claude-3-opus-20240229",
    "Claude-Opus-4": "claude-opus-4-20250514",
    "Claude-Opus-4.1": "claude-opus-4-1-20250805",
    "Claude-Opus-4.5": "claude-opus-4-5-20251101",
    "Claude-Sonnet-3.5": "claude-3-5-sonnet-20241022",
    "Claude-Sonnet-3.7": "claude-3-7-sonnet-20250219",
    "Claude-Sonnet-4": "claude-sonnet-4-20250514",
    "Claude-Sonnet-4.5": "claude-sonnet-4-5-20250929",
}
# Anthropic's error type for each status; any other is api_error
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}
DELTA_FIELDS = {
    "text_delta": "text",
    "thinking_delta": "thinking",
    "signature_delta": "signature",
    "input_json_delta": "partial_json",
}


def model_key(name: str) -> str:
    """The spelling-free form of a Claude name: lower case, dashes for dots, no date or -latest."""
    return re.sub(r"-(\d{8}|latest)$", "", name.strip().lower().replace(".", "-"))


RESOLVE = {model_key(name): dated for bot, dated in CLAUDE.items() for name in (bot, dated)}


def error_body(err: ApiError) -> Json:
    return {"type": "error", "error": {"type": ERROR_TYPES.get(err.status, "api_error"), "message": str(err)}}


# ---------------------------------------------------------------- the request


def _invalid(message: str) -> ApiError:
    return ApiError(400, message, "invalid_request_error")


def _parse(raw: bytes) -> tuple[Json, str]:
    """The request body and the dated model id, or the 400/404 Poe (or Anthropic behind it) would answer."""
    body = _load(raw)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _invalid("model: Field required" if model is None else "model: Input should be a non-empty string")
    if model_key(model) not in RESOLVE:
        raise ApiError(404, f"model: {model} is not available on /v1/messages (Claude models only)", "not_found_error")
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        raise _invalid("max_tokens: Field required")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise _invalid("max_tokens: Input should be an integer greater than or equal to 1")
    messages = body.get("messages")
    if messages is None:
        raise _invalid("messages: Field required")
    if not isinstance(messages, list) or not messages:
        raise _invalid("messages: at least one message is required")
    for i, msg in enumerate(messages):
        # Claude Code sends system turns inside messages too, so Anthropic's API takes them
        if not isinstance(msg, dict) or msg.get("role") not in ("user", "assistant", "system"):
            raise _invalid(f"messages.{i}.role: Input should be 'user', 'assistant' or 'system'")
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1024:
            raise _invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if budget >= max_tokens:
            raise _invalid("`max_tokens` must be greater than `thinking.budget_tokens`")
    return body, RESOLVE[model_key(model)]


def _thinking(body: Json) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def _tool_results(body: Json) -> list[str] | None:
    """'name=result' for each tool_result block of the last message, if it has any."""
    content = body["messages"][-1].get("content")
    results = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"] if isinstance(content, list) else []
    if not results:
        return None
    names = {
        block.get("id"): block.get("name")
        for msg in body["messages"]
        if msg.get("role") == "assistant" and isinstance(msg.get("content"), list)
        for block in msg["content"]
        if isinstance(block, dict) and block.get("type") == "tool_use"
    }
    return [f"{names.get(r.get('tool_use_id'))}={_text(r.get('content'))}" for r in results]


# ---------------------------------------------------------------- the answer: content blocks and their deltas


def _pieces(text: str) -> list[str]:
    """The text in word-sized deltas (each word with the spaces before the next)."""
    return [p for p in re.split(r"(?<=\s)(?=\S)", text) if p]


def _echo(body: Json, text: str) -> tuple[str, str, str | None]:
    """The echo, cut where Claude would stop: (text, stop_reason, stop_sequence)."""
    answer = f"Echo: {text or '(empty)'}"
    stop_reason, stop_sequence = "end_turn", None
    sequences = body.get("stop_sequences")
    found = (
        [(answer.find(s), s) for s in sequences if isinstance(s, str) and s and s in answer]
        if isinstance(sequences, list)
        else []
    )
    if found:
        at, stop_sequence = min(found)
        answer, stop_reason = answer[:at], "stop_sequence"
    pieces = _pieces(answer)
    if len(pieces) > body["max_tokens"]:
        answer, stop_reason, stop_sequence = "".join(pieces[: body["max_tokens"]]).rstrip(), "max_tokens", None
    return answer, stop_reason, stop_sequence


async def claude(body: Json, headers: Json) -> AsyncGenerator[Json, None]:
    """The answer as a block start (a content block with its fields empty), then that block's deltas, ..., then
    {"type": "stop", "stop_reason", "stop_sequence"}. Raises ApiError (an error event) or Cutoff (the stream ends)."""
    text = _last_user(body)
    lowered = text.lower()
    if _thinking(body):
        thought = f"The user wrote “{text}”. I will echo it back."
        yield {"type": "thinking", "thinking": "", "signature": ""}
        for piece in _pieces(thought):
            yield {"type": "thinking_delta", "thinking": piece}
        yield {"type": "signature_delta", "signature": base64.b64encode(hashlib.sha256(thought.encode()).digest() * 3).decode()}
    stop: Json = {"type": "stop", "stop_reason": "end_turn", "stop_sequence": None}
    tools = [t for t in body["tools"] if isinstance(t, dict)] if isinstance(body.get("tools"), list) else []
    results = _tool_results(body)
    if text.strip() == "/params":
        answer = json.dumps({"body": body, **headers}, sort_keys=True, ensure_ascii=False)
    elif results is not None:
        answer = "Tool said: " + ", ".join(results)
    elif "use tool" in lowered and tools:
        answer = f"I will call {tools[0].get('name')}."
    else:
        answer, stop["stop_reason"], stop["stop_sequence"] = _echo(body, text)
    pieces = _pieces(answer)
    yield {"type": "text", "text": ""}
    for i, piece in enumerate(pieces):
        if i == len(pieces) // 2 and "fail midway" in lowered:
            raise ApiError(500, "The model crashed halfway.", "api_error")
        if i == len(pieces) // 2 and "cut off" in lowered:
            raise Cutoff
        yield {"type": "text_delta", "text": piece}
    if "use tool" in lowered and tools and results is None:
        properties = (tools[0].get("input_schema") or {}).get("properties") or {}
        args = json.dumps({"city": "Paris"}) if "city" in properties else "{}"
        yield {"type": "tool_use", "id": f"toolu_vrtx_01{uuid.uuid4().hex[:22]}", "name": tools[0].get("name"), "input": {}}
        for part in (args[: len(args) // 2], args[len(args) // 2 :]):
            yield {"type": "input_json_delta", "partial_json": part}
        stop["stop_reason"] = "tool_use"
    yield stop


def _item_words(item: Json) -> int:
    return _words(item.get("text", "") + item.get("thinking", "") + item.get("partial_json", ""))


def _usage(prompt: int, completion: int) -> Json:
    return {
        "input_tokens": prompt,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": completion,
        "total_tokens": prompt + completion,
    }


async def _complete(answer: AsyncGenerator[Json, None]) -> tuple[list[Json], Json, int]:
    """The whole answer: its content blocks, its stop item and its word count."""
    blocks: list[Json] = []
    arguments: dict[int, str] = {}  # tool_use input, as streamed
    stop: Json = {}
    words = 0
    try:
        async for item in answer:
            kind = item["type"]
            if kind == "stop":
                stop = item
            elif kind == "input_json_delta":
                arguments[len(blocks) - 1] = arguments.get(len(blocks) - 1, "") + item["partial_json"]
            elif kind in DELTA_FIELDS:
                blocks[-1][DELTA_FIELDS[kind]] += item[DELTA_FIELDS[kind]]
            else:
                blocks.append(dict(item))
            words += _item_words(item)
    except Cutoff:
        raise ApiError(502, "The model backend stopped answering.", "api_error") from None
    for index, raw in arguments.items():
        blocks[index]["input"] = json.loads(raw or "{}")
    return blocks, stop, words


def _event(obj: Json) -> bytes:
    return f"event: {obj['type']}\n".encode() + _frame(obj)


async def _events(answer: AsyncGenerator[Json, None], first: Json | None, message: Json) -> AsyncGenerator[bytes, None]:
    """message_start, each block's start, deltas and stop (a ping after the first start), message_delta, message_stop."""
    async with contextlib.aclosing(answer):  # the generator sees a client that went away
        yield _event({"type": "message_start", "message": message})
        index, words, stop = -1, 0, {}
        try:
            item = first
            while item is not None:
                kind = item["type"]
                if kind == "stop":
                    stop = item
                elif kind in DELTA_FIELDS:
                    words += _item_words(item)
                    yield _event({"type": "content_block_delta", "index": index, "delta": item})
                else:
                    if index >= 0:
                        yield _event({"type": "content_block_stop", "index": index})
                    index += 1
                    yield _event({"type": "content_block_start", "index": index, "content_block": item})
                    if index == 0:
                        yield _event({"type": "ping"})
                item = await anext(answer, None)
        except ApiError as err:
            yield _event(error_body(err))
            return
        except Cutoff:
            return
        if index >= 0:
            yield _event({"type": "content_block_stop", "index": index})
        delta = {"stop_reason": stop.get("stop_reason"), "stop_sequence": stop.get("stop_sequence")}
        yield _event({"type": "message_delta", "delta": delta, "usage": {"output_tokens": words}})
        yield _event({"type": "message_stop"})


# ---------------------------------------------------------------- responses


def _headers(remaining: int = 499) -> dict[str, str]:
    """The rate-limit headers every recorded /v1/messages response carried (the reset is a time, not seconds)."""
    return {
        "anthropic-ratelimit-requests-limit": "500",
        "anthropic-ratelimit-requests-remaining": str(remaining),
        "anthropic-ratelimit-requests-reset": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60)),
    }


async def _messages(request: Request) -> Response:
    page = _refuse(upstream._api_key(request))
    if page:
        return page
    if not request.headers.get("anthropic-version"):
        raise _invalid("anthropic-version: header is required")
    raw = await request.body()
    body, model = _parse(raw)
    received = {name: request.headers.get(name) for name in ("anthropic-version", "anthropic-beta")}
    answer = claude(body, received)
    prompt = _words(_text(body.get("system"))) + sum(_words(_text(m.get("content"))) for m in body["messages"])
    message: Json = {
        "model": model,
        "id": f"req_poe_{uuid.uuid4().hex}",
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _usage(prompt, 0),
    }
    if body.get("stream") is not True:
        blocks, stop, words = await _complete(answer)
        message |= {"content": blocks, "stop_reason": stop["stop_reason"], "stop_sequence": stop["stop_sequence"]}
        return JSONResponse(message | {"usage": _usage(prompt, words)}, headers=_headers())
    first = await anext(answer, None)  # errors before the first block are statuses, as with chat completions
    rng = random.Random(raw)  # the same request is cut the same way
    return EventStream(_split(_events(answer, first, message), rng), media_type="text/event-stream", headers=_headers())


def add_messages_routes(app: FastAPI) -> None:
    @app.post("/v1/messages")
    async def messages(request: Request) -> Response:
        try:
            return await _messages(request)
        except ApiError as err:
            headers = _headers(0 if err.status == 429 else 499)
            if "retry-after" in err.headers:
                headers["retry-after"] = err.headers["retry-after"]
            return JSONResponse(error_body(err), status_code=err.status, headers=headers)

"""Poe's OpenAI-compatible API (api.poe.com/v1), faked for local use and tests.

POST /v1/chat/completions answers with the bots of demo/upstream.py in the
shapes seen from Poe: no logprobs, refusal or system_fingerprint; usage always;
streamed bytes cut at random offsets, often inside a UTF-8 character.

  Echo, GPT-4o, Claude-Sonnet-3.5
              the last user text; "/params" answers what was received, as JSON
  NewBot-2026 the same; in no catalogue of the proxy, only in this /v1/models list
  SlowStory   the story, one delta a word ("0.3": seconds per word; "0 10000":
              also the number of words)
  Thinker     reasoning_content (and reasoning), then "The answer is 42."
  Failing     two deltas, an error frame, [DONE] (not streamed: 500)
  Cutoff      a few deltas, then the stream ends without [DONE] (not streamed: 502)
  Refuser     400 content_policy_violation
  Silent      waits DEMO_SILENT_SECONDS before the status line, then "finally"
  ToolBot     calls the first tool; then answers from the tool results
  Artist      image-bot Markdown: a picture link, then the bare URL
  Replacer    "Final answer"

The key's prefix is checked first: none or bad- 401, broke- 402, busy- 429,
limited- 429 with Retry-After, down- 503, overloaded- 529, html- 502 with an
HTML page. Model names match case-insensitively; unknown is 404, "missing-400"
is 400. GET /v1/models lists the bots in Poe's shape; GET /usage/current_balance too
(1500 points; broke- keys 0, rich- keys 4500; none or bad- 401).
POST /v1/messages (Claude models, Anthropic's shapes) is in demo/messages_api.py
and shares the key prefixes, the JSON parsing and the split stream with this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import AsyncGenerator, Callable
from itertools import pairwise
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from demo import upstream

Json = dict[str, Any]
Bot = Callable[[Json], AsyncGenerator[Json, None]]  # request body -> deltas

# top-level keys of OpenAI's CreateChatCompletionRequest; anything else is a Poe bot parameter
OPENAI_FIELDS = frozenset(
    {
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "messages",
        "metadata",
        "modalities",
        "model",
        "moderation",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
        "verbosity",
        "web_search_options",
    }
)
CREATED_MS = 1_770_248_062_467  # /v1/models: Poe gives milliseconds
BALANCE = 1500
CLOUDFLARE_502 = """<!DOCTYPE html>
<html lang="en-US"><head><title>api.poe.com | 502: Bad gateway</title></head>
<body><div id="cf-error-details"><h1>Bad gateway</h1><span>Error code 502</span>
<p>The web server reported a bad gateway error.</p>
<p>Cloudflare Ray ID: <strong>8f0c2d1e3a4b5c6d</strong></p></div></body></html>
"""


class ApiError(Exception):
    """An OpenAI-style error: an HTTP status before the stream starts, an error frame after."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> Json:
        error: Json = {"message": str(self), "type": self.type}
        if self.code:
            error["code"] = self.code
        if self.param:
            error["param"] = self.param
        return {"error": error}


class Cutoff(Exception):
    """The answer stops here: the stream ends with neither [DONE] nor an error frame."""


# ---------------------------------------------------------------- request helpers


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return content if isinstance(content, str) else ""


def _images(content: Any) -> list[str]:
    if not isinstance(content, list):
        return []
    return [
        p["image_url"].get("url", "")
        for p in content
        if isinstance(p, dict) and p.get("type") == "image_url" and isinstance(p.get("image_url"), dict)
    ]


def _last_user(body: Json) -> str:
    for msg in reversed(body["messages"]):
        if msg.get("role") == "user":
            return _text(msg.get("content"))
    return ""


def _tool_names(body: Json) -> list[str]:
    tools = body.get("tools")
    return [str((t.get("function") or {}).get("name")) for t in tools if isinstance(t, dict)] if isinstance(tools, list) else []


def _words(text: str) -> int:
    return len(text.split())


# ---------------------------------------------------------------- bots: request body -> deltas


async def echo(body: Json) -> AsyncGenerator[Json, None]:
    text = _last_user(body)
    if text.strip() != "/params":
        yield {"content": text or "(empty)"}
        return
    messages = body["messages"]
    received = {
        "model": body["model"],
        "keys": sorted(body),
        "roles": [m.get("role") for m in messages],
        "contents": [_text(m.get("content")) for m in messages],
        "images": [_images(m.get("content")) for m in messages],
        "temperature": body.get("temperature"),
        "stop": body.get("stop"),
        "tools": _tool_names(body),
        "max_tokens": body.get("max_tokens"),
        "extra": {k: v for k, v in body.items() if k not in OPENAI_FIELDS},
    }
    yield {"content": json.dumps(received)}


async def slow_story(body: Json) -> AsyncGenerator[Json, None]:
    delay, words = upstream.story_plan(_last_user(body))
    upstream.EVENTS["started"] += 1
    try:
        for i, word in enumerate(words):
            yield {"content": word if i == 0 else " " + word}
            await asyncio.sleep(delay)
    except (asyncio.CancelledError, GeneratorExit):
        upstream.EVENTS["cancelled"] += 1  # the client (the proxy) went away
        raise
    upstream.EVENTS["completed"] += 1


async def thinker(body: Json) -> AsyncGenerator[Json, None]:
    for piece in ("The user wants a number.", " 6 times 7", " is 42."):
        yield {"reasoning_content": piece}
        await asyncio.sleep(0.01)
    for piece in ("The answer", " is 42."):
        yield {"content": piece}
        await asyncio.sleep(0.01)


async def failing(body: Json) -> AsyncGenerator[Json, None]:
    for piece in ("I will start, ", "but then"):
        yield {"content": piece}
        await asyncio.sleep(0.05)
    raise ApiError(500, "The bot crashed halfway.", "api_error")


async def cutoff(body: Json) -> AsyncGenerator[Json, None]:
    for piece in ("This answer", " stops", " in the"):
        yield {"content": piece}
        await asyncio.sleep(0.01)
    raise Cutoff


async def refuser(body: Json) -> AsyncGenerator[Json, None]:
    raise ApiError(400, "This message breaks the bot's rules.", "invalid_request_error", "content_policy_violation")
    yield {}  # unreachable; makes this an async generator like the others


async def silent(body: Json) -> AsyncGenerator[Json, None]:
    await asyncio.sleep(upstream.SILENT_SECONDS)
    yield {"content": "finally"}


async def tool_bot(body: Json) -> AsyncGenerator[Json, None]:
    messages = body["messages"]
    if messages[-1].get("role") == "tool":
        names = {
            call.get("id"): (call.get("function") or {}).get("name")
            for msg in messages
            if msg.get("role") == "assistant"
            for call in msg.get("tool_calls") or []
        }
        results: list[str] = []
        for msg in reversed(messages):  # the trailing run of tool messages
            if msg.get("role") != "tool":
                break
            results.insert(0, f"{names.get(msg.get('tool_call_id'))}={_text(msg.get('content'))}")
        yield {"content": "Tool said: " + ", ".join(results)}
        return
    tools = body.get("tools")
    if not isinstance(tools, list) or not tools or not isinstance(tools[0], dict):
        yield {"content": "no tools given"}
        return
    fn = tools[0].get("function") or {}
    properties = (fn.get("parameters") or {}).get("properties") or {}
    args = json.dumps({"city": "Paris"}) if "city" in properties else "{}"
    half = len(args) // 2
    first = {"index": 0, "id": "call_demo_1", "type": "function", "function": {"name": fn.get("name"), "arguments": args[:half]}}
    yield {"tool_calls": [first]}
    yield {"tool_calls": [{"index": 0, "function": {"arguments": args[half:]}}]}


async def artist(body: Json) -> AsyncGenerator[Json, None]:
    url = "https://example.invalid/picture.png"
    yield {"content": f"Here is your picture.\n\n![picture.png]({url})\n\n{url}"}


async def replacer(body: Json) -> AsyncGenerator[Json, None]:
    yield {"content": "Final answer"}


BOTS: dict[str, Bot] = {
    "Echo": echo,
    "GPT-4o": echo,
    "Claude-Sonnet-3.5": echo,
    "NewBot-2026": echo,
    "SlowStory": slow_story,
    "Thinker": thinker,
    "Failing": failing,
    "Cutoff": cutoff,
    "Refuser": refuser,
    "Silent": silent,
    "ToolBot": tool_bot,
    "Artist": artist,
    "Replacer": replacer,
}
BY_LOWER = {name.lower(): name for name in BOTS}


# ---------------------------------------------------------------- responses


def _headers(started: float, rate_limit: bool = False) -> dict[str, str]:
    headers = {
        "openai-version": "2020-10-01",
        "openai-processing-ms": str(int((time.monotonic() - started) * 1000)),
        "x-request-id": uuid.uuid4().hex,
    }
    if rate_limit:  # documented for every response, seen on none: sent on some only
        headers |= {
            "x-ratelimit-limit-requests": "500",
            "x-ratelimit-remaining-requests": "499",
            "x-ratelimit-reset-requests": "1",
        }
    return headers


def _key_error(key: str) -> ApiError | None:
    if not key or key.startswith("bad-"):
        return ApiError(401, "Invalid API key", "authentication_error", "invalid_api_key")
    if key.startswith("broke-"):
        message = "Insufficient points to complete this request. Please add points to your account."
        return ApiError(402, message, "insufficient_credits", "insufficient_points")
    if key.startswith("busy-"):
        return ApiError(429, "Rate limit exceeded. Please slow down.", "rate_limit_error", "rate_limit_exceeded")
    if key.startswith("limited-"):
        headers = {"retry-after": "30", "x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "0"}
        return ApiError(
            429, "Rate limit exceeded: 500 requests per minute.", "rate_limit_error", "rate_limit_exceeded", None, headers
        )
    if key.startswith("down-"):
        return ApiError(503, "The service is temporarily unavailable.", "api_error", "internal_error", None, {"retry-after": "5"})
    if key.startswith("overloaded-"):
        return ApiError(529, "The model is overloaded. Please try again later.", "overloaded_error", "overloaded")
    if key.startswith("leaky-"):  # an upstream that echoes the key it was sent: the proxy must redact it
        return ApiError(400, f"The request sent with key {key} is not allowed.", "invalid_request_error", "leaky")
    return None


def _refuse(key: str) -> HTMLResponse | None:
    """Raises the error the key's prefix asks for; Cloudflare's own page (not Poe's JSON) for html- keys."""
    refusal = _key_error(key)
    if refusal:
        raise refusal
    return HTMLResponse(CLOUDFLARE_502, status_code=502) if key.startswith("html-") else None


def _load(raw: bytes) -> Json:
    """The request body as a JSON object, or a 400."""
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, "We could not parse the JSON body of your request.", "invalid_request_error")
    return body


def _parse(raw: bytes) -> tuple[Json, str]:
    """The request body and the bot's name, or the 400/404 Poe would answer."""
    body = _load(raw)
    model, messages = body.get("model"), body.get("messages")
    if not isinstance(model, str) or not model:
        code = "missing_parameter" if model is None else "invalid_parameter"
        raise ApiError(400, "model must be a non-empty string", "invalid_request_error", code, "model")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        code = "missing_parameter" if messages is None else "invalid_parameter"
        raise ApiError(400, "messages must be a non-empty array of message objects", "invalid_request_error", code, "messages")
    if body.get("n") not in (None, 1):
        raise ApiError(400, "n must be 1", "invalid_request_error", "invalid_parameter", "n")
    if model == "missing-400":  # the errors page's variant of an unknown model
        raise ApiError(400, f"Model {model} not found", "invalid_request_error", "model_not_found", "model")
    if model.lower() not in BY_LOWER:
        raise ApiError(404, f"Model {model} not found", "not_found_error", "model_not_found")
    return body, BY_LOWER[model.lower()]


def _usage(prompt: int, completion: int) -> Json:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _delta_words(delta: Json) -> int:
    calls = delta.get("tool_calls") or []
    args = "".join(c["function"].get("arguments", "") for c in calls)
    return _words(delta.get("content", "") + delta.get("reasoning_content", "") + args)


async def _complete(answer: AsyncGenerator[Json, None]) -> tuple[Json, str, int]:
    """The whole answer as one message, its finish_reason and its word count."""
    content: list[str] = []
    reasoning: list[str] = []
    calls: dict[int, Json] = {}
    words = 0
    try:
        async for delta in answer:
            words += _delta_words(delta)
            content.append(delta.get("content", ""))
            reasoning.append(delta.get("reasoning_content", ""))
            for call in delta.get("tool_calls", []):
                if call["index"] in calls:
                    calls[call["index"]]["function"]["arguments"] += call["function"]["arguments"]
                else:
                    calls[call["index"]] = {"id": call["id"], "type": "function", "function": dict(call["function"])}
    except Cutoff:
        raise ApiError(502, "The model backend stopped answering.", "upstream_error") from None
    message: Json = {"role": "assistant", "content": "".join(content)}
    if any(reasoning):
        message["reasoning_content"] = message["reasoning"] = "".join(reasoning)
    if calls:
        message["tool_calls"] = list(calls.values())
    return message, "tool_calls" if calls else "stop", words


def _frame(obj: Json) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


async def _chunks(
    answer: AsyncGenerator[Json, None], first: Json | None, base: Json, usage_wanted: bool, prompt: int
) -> AsyncGenerator[bytes, None]:
    """One SSE frame per delta: role, deltas, finish_reason, usage if asked, [DONE]."""

    def chunk(delta: Json, finish: str | None = None) -> bytes:
        return _frame({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    async with contextlib.aclosing(answer):  # the bot sees a client that went away
        yield chunk({"role": "assistant", "content": ""})
        words, finish = 0, "stop"
        try:
            delta = first
            while delta is not None:
                words += _delta_words(delta)
                finish = "tool_calls" if "tool_calls" in delta else finish
                yield chunk(delta)
                delta = await anext(answer, None)
        except ApiError as err:
            yield _frame(err.body())
            yield b"data: [DONE]\n\n"
            return
        except Cutoff:
            return
        yield chunk({}, finish)
        if usage_wanted:
            yield _frame({**base, "choices": [], "usage": _usage(prompt, words)})
        yield b"data: [DONE]\n\n"


def _cut(frame: bytes, rng: random.Random) -> list[bytes]:
    """A frame in 1-3 pieces, as a network may deliver it; half the cuts fall inside a UTF-8 character if it has one."""
    inside = [] if frame.isascii() else [i for i, b in enumerate(frame) if b & 0xC0 == 0x80]
    offsets = {
        rng.choice(inside) if inside and rng.random() < 0.5 else rng.randrange(1, len(frame)) for _ in range(rng.randint(0, 2))
    }
    bounds = [0, *sorted(offsets), len(frame)]
    return [frame[a:b] for a, b in pairwise(bounds)]


async def _split(frames: AsyncGenerator[bytes, None], rng: random.Random) -> AsyncGenerator[bytes, None]:
    async with contextlib.aclosing(frames):
        async for frame in frames:
            for piece in _cut(frame, rng):
                yield piece
                await asyncio.sleep(0)  # a separate write for each piece


class EventStream(StreamingResponse):
    """Closes its body when the client goes away, so the bot's generator learns it at once (not at GC)."""

    body_iterator: AsyncGenerator[bytes, None]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.body_iterator.aclose()


async def _chat(request: Request, started: float) -> Response:
    page = _refuse(upstream._key(request))
    if page:
        return page
    raw = await request.body()
    body, name = _parse(raw)
    answer = BOTS[name](body)
    prompt = sum(_words(_text(m.get("content"))) for m in body["messages"])
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if body.get("stream") is not True:
        message, finish, words = await _complete(answer)
        result = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": _usage(prompt, words),
        }
        return JSONResponse(result, headers=_headers(started, rate_limit=True))
    first = await anext(answer, None)  # before the status line: Silent waits here, Refuser fails here
    base = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": body["model"]}
    options = body.get("stream_options")
    usage_wanted = isinstance(options, dict) and options.get("include_usage") is True
    frames = _chunks(answer, first, base, usage_wanted, prompt)
    rng = random.Random(raw)  # the same request is cut the same way
    return EventStream(_split(frames, rng), media_type="text/event-stream", headers=_headers(started))


def _model(name: str, **overrides: Any) -> Json:
    """A /v1/models entry in Poe's shape."""
    model_id = name.lower()
    entry: Json = {
        "id": model_id,
        "object": "model",
        "created": CREATED_MS,
        "description": f"Demo bot {name}.",
        "owned_by": "Poe",
        "root": model_id,
        "architecture": {"input_modalities": ["text"], "output_modalities": ["text"], "modality": "text->text"},
        "supported_features": [],
        "supported_endpoints": [],
        "pricing": None,
        "context_window": None,
        "context_length": None,
        "metadata": {
            "display_name": name,
            "image": {"url": f"https://example.invalid/{model_id}.png", "alt": name, "width": 100, "height": 100},
            "url": f"https://poe.com/{model_id}",
        },
        "reasoning": None,
        "parameters": [],
    }
    entry |= overrides
    if entry["context_window"]:
        entry["context_length"] = entry["context_window"]["context_length"]
    return entry


def _pricing(prompt: str | None = None, completion: str | None = None, request: str | None = None) -> Json:
    return {
        "prompt": prompt,
        "completion": completion,
        "image": None,
        "request": request,
        "input_cache_read": None,
        "input_cache_write": None,
    }


def models() -> list[Json]:
    chat_only = ["/v1/chat/completions"]
    image_in = {"input_modalities": ["text", "image"], "output_modalities": ["text"], "modality": "text,image->text"}
    web_search = {"name": "web_search", "schema": {"type": "boolean"}, "default_value": False}
    overrides: dict[str, Json] = {
        "GPT-4o": {
            "owned_by": "OpenAI",
            "architecture": image_in,
            "supported_features": ["tools", "web_search"],
            "supported_endpoints": ["/v1/chat/completions", "/v1/responses"],
            "pricing": _pricing("0.0000025", "0.00001"),
            "context_window": {"context_length": 128000, "max_output_tokens": 16384},
            "parameters": [web_search],
        },
        "Claude-Sonnet-3.5": {
            "owned_by": "Anthropic",
            "architecture": image_in,
            "supported_features": ["tools"],
            "supported_endpoints": ["/v1/chat/completions", "/v1/messages"],
            "pricing": _pricing("0.0000026", "0.000013"),
            "context_window": {"context_length": 200000, "max_output_tokens": 8192},
            "reasoning": {
                "budget": {"max_tokens": 31999, "min_tokens": 0},
                "required": False,
                "supports_reasoning_effort": False,
            },
            "parameters": [
                {"name": "thinking_budget", "schema": {"type": "integer", "minimum": 0, "maximum": 31999}},
                web_search,
            ],
        },
        "Thinker": {
            "reasoning": {"budget": None, "required": True, "supports_reasoning_effort": True},
            "supported_endpoints": chat_only,
            "parameters": [
                {"name": "reasoning_effort", "schema": {"enum": ["low", "medium", "high"]}, "default_value": "medium"}
            ],
        },
        "ToolBot": {"supported_features": ["tools"], "supported_endpoints": chat_only},
        "NewBot-2026": {
            "owned_by": "NewLab",
            "created": 1_767_225_600_000,
            "architecture": image_in,
            "supported_endpoints": ["/v1/chat/completions", "/v1/responses"],
            "context_window": {"context_length": 256000, "max_output_tokens": 32000},
        },
        "Artist": {
            "owned_by": "fal",
            "architecture": {"input_modalities": ["text"], "output_modalities": ["image"], "modality": "text->image"},
            "supported_endpoints": ["/v1/images"],
            "pricing": _pricing(request="0.04"),
            "parameters": [{"name": "aspect", "schema": {"enum": ["1:1", "3:2", "2:3"]}, "default_value": "1:1"}],
        },
    }
    return [_model(name, **overrides.get(name, {})) for name in BOTS]


def add_openai_routes(app: FastAPI) -> None:
    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        started = time.monotonic()
        try:
            return await _chat(request, started)
        except ApiError as err:
            return JSONResponse(err.body(), status_code=err.status, headers={**_headers(started), **err.headers})

    @app.get("/v1/models")
    async def list_models() -> JSONResponse:
        return JSONResponse({"object": "list", "data": models()}, headers=_headers(time.monotonic()))

    @app.get("/usage/current_balance")
    async def current_balance(request: Request) -> JSONResponse:
        upstream.EVENTS["balance_reads"] += 1  # how often the proxy's scheduled pass asked
        key = upstream._key(request)
        if not key or key.startswith("bad-"):
            error = ApiError(401, "Invalid API key", "authentication_error", "invalid_api_key")
            return JSONResponse(error.body(), status_code=401)
        points = 0 if key.startswith("broke-") else 3 * BALANCE if key.startswith("rich-") else BALANCE
        return JSONResponse({"current_point_balance": points})

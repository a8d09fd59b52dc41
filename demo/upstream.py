"""A real Poe-protocol server (fastapi_poe) for local use and for the tests.

Bots (each at /bot/<Name>):

  Echo        repeats the last user message; also reports what it received
              when asked ("/params" as the message)
  GPT-4o, Claude-Sonnet-3.5
              same as Echo (so catalogue ids and aliases resolve end to end)
  NewBot-2026 same as Echo; only the demo's GET /v1/models lists it (a bot Poe
              added after the proxy's bundled copy was taken)
  SlowStory   streams a longer answer in many small pieces, slowly (send a
              number such as "0.3" as the message to set the seconds per word,
              "0 10000" to also set the number of words)
  Thinker     "*Thinking...*" with quoted lines, then the answer
  Failing     sends some text, then an error event
  Refuser     an error event first (user_caused_error)
  Silent      waits a long time before answering (for timeouts)
  ToolBot     asks for a tool call when given tools; answers from tool results
  Artist      answers with a file (image) event
  Replacer    text, then replace_response

Key-dependent behaviour (for key-pool tests); the key's prefix decides:

  bad-...     HTTP 401 (invalid key)
  broke-...   200 + error event "You do not have enough points" (insufficient_fund)
  busy-...    200 + error event about a rate limit
  limited-... HTTP 429 with Retry-After: 30
  down-...    HTTP 503
  anything else answers normally.

GET /stats returns how many queries each key made, GET /events how many
SlowStory answers started, completed or were cancelled by the client,
how many files were uploaded to POST /file_upload (a stand-in for Poe's
upload endpoint) and how many balances were read (balance_reads);
POST /stats/reset clears both. Only for tests: the keys here are fake.

The same bots also answer Poe's OpenAI-compatible API (POST /v1/chat/completions,
GET /v1/models, GET /usage/current_balance): see demo/openai_api.py; and Claude
models answer Poe's Anthropic-compatible POST /v1/messages: see demo/messages_api.py.

Run: python demo/upstream.py --port 8081
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
from collections import Counter
from collections.abc import AsyncIterable
from itertools import cycle, islice
from pathlib import Path

import fastapi_poe as fp
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sse_starlette.event import ServerSentEvent
from starlette.datastructures import UploadFile
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

STATS: Counter[str] = Counter()  # queries per key
EVENTS: Counter[str] = Counter()  # what happened to SlowStory answers
SLOW_DELAY = float(os.environ.get("DEMO_SLOW_DELAY", "0.15"))
SILENT_SECONDS = float(os.environ.get("DEMO_SILENT_SECONDS", "30"))

STORY = (
    "Once upon a time, in a quiet valley between two mountains, there lived a clockmaker "
    "who could hear the heartbeat of every clock she built. Each morning she walked to the "
    "market with a basket of small brass clocks, and each evening she came home with one "
    "less, because one always chose to stay with someone who needed time more than she did. "
    "The end."
)


def story_plan(text: str) -> tuple[float, list[str]]:
    """SlowStory's seconds per word and words: "0.3" sets the delay, "0 10000" also the length (the story repeats)."""
    words = STORY.split(" ")
    try:
        delay, *count = text.split()
        seconds = min(float(delay), 1.0)
        return seconds, list(islice(cycle(words), int(count[0]))) if count else words
    except ValueError:  # not numbers (or no message): the default pace
        return SLOW_DELAY, words


def _key(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    return auth.split(" ", 1)[1] if auth.lower().startswith("bearer ") else ""


def _api_key(request: Request) -> str:
    """/v1/messages takes Anthropic's x-api-key (it wins) or Authorization: Bearer."""
    return request.headers.get("x-api-key") or _key(request)


class KeyBehaviour(BaseHTTPMiddleware):
    """HTTP-level failures chosen by the key, before fastapi_poe sees the request."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.method == "POST" and request.url.path == "/v1/chat/completions":
            STATS[_key(request)] += 1  # demo/openai_api.py answers the key's failures in Poe's OpenAI shape
        if request.method == "POST" and request.url.path == "/v1/messages":
            STATS[_api_key(request)] += 1  # demo/messages_api.py, in Anthropic's shape
        if request.method == "POST" and request.url.path.startswith("/bot/"):
            key = _key(request)
            STATS[key] += 1
            if not key or key.startswith("bad-"):
                return JSONResponse({"detail": "Invalid access key"}, status_code=401)
            if key.startswith("limited-"):
                return JSONResponse({"detail": "Too many requests"}, status_code=429, headers={"retry-after": "30"})
            if key.startswith("down-"):
                return JSONResponse({"detail": "Service unavailable"}, status_code=503)
        return await call_next(request)


def _last_user(request: fp.QueryRequest) -> str:
    for msg in reversed(request.query):
        if msg.role == "user":
            return msg.content
    return ""


class Bot(fp.PoeBot):
    async def get_response_with_context(
        self, request: fp.QueryRequest, context: fp.RequestContext
    ) -> AsyncIterable[fp.PartialResponse | ServerSentEvent]:
        key = _key(context.http_request)
        if key.startswith("broke-"):
            yield fp.ErrorResponse(
                text="You do not have enough points to run this bot.", error_type="insufficient_fund", allow_retry=False
            )
            return
        if key.startswith("busy-"):
            yield fp.ErrorResponse(text="You have exceeded the rate limit for this bot. Please slow down.", allow_retry=True)
            return
        if key.startswith("leaky-"):  # an upstream that echoes the key it was sent: the proxy must redact it
            yield fp.ErrorResponse(text=f"The query sent with key {key} is not allowed.", error_type="user_caused_error")
            return
        async for event in self.answer(request):
            yield event

    async def answer(self, request: fp.QueryRequest) -> AsyncIterable[fp.PartialResponse | ServerSentEvent]:
        raise NotImplementedError


def _json_event(data: dict[str, object]) -> ServerSentEvent:
    """Poe's `json` event (tool calls), as fastapi_poe passes a ServerSentEvent through."""
    return ServerSentEvent(data=json.dumps(data), event="json")


class Echo(Bot):
    async def answer(self, request: fp.QueryRequest) -> AsyncIterable[fp.PartialResponse | ServerSentEvent]:
        text = _last_user(request)
        if text.strip() == "/params":
            yield fp.PartialResponse(
                text=json.dumps(
                    {
                        "roles": [m.role for m in request.query],
                        "contents": [m.content for m in request.query],
                        "attachments": [[a.url for a in m.attachments] for m in request.query],
                        "temperature": request.temperature,
                        "stop_sequences": request.stop_sequences,
                        "tools": [t.function.name for t in request.tools or []],
                        "tool_results": [r.content for r in request.tool_results or []],
                    }
                )
            )
            return
        yield fp.PartialResponse(text=text or "(empty)")


class SlowStory(Bot):
    async def answer(self, request: fp.QueryRequest) -> AsyncIterable[fp.PartialResponse | ServerSentEvent]:
        delay, words = story_plan(_last_user(request))
        EVENTS["started"] += 1
        try:
            for i, word in enumerate(words):
                yield fp.PartialResponse(text=word if i == 0 else " " + word)
                await asyncio.sleep(delay)
        except (asyncio.CancelledError, GeneratorExit):
            EVENTS["cancelled"] += 1  # the client (the proxy) went away
            raise
        EVENTS["completed"] += 1


class Thinker(Bot):
    async def answer(self, request: fp.QueryRequest) -> AsyncIterable[fp.PartialResponse | ServerSentEvent]:
        for piece in (
            "*Thinking...*\n\n",
            "> The user",
            " wants a number.\n",
            ">\n",
            "> 6 times 7 is 42.\n\n",
            "The answer",
            " is 42.",
        ):
            yield fp.PartialResponse(text=piece)
            await asyncio.sleep(0.01)


class Failing(Bot):
    async def answer(self, request: fp.QueryRequest) -> AsyncIterable[fp.PartialResponse | ServerSentEvent]:
        yield fp.PartialResponse(text="I will start, ")
        await asyncio.sleep(0.05)
        yield fp.PartialResponse(text="but then")
        await asyncio.sleep(0.05)
        yield fp.ErrorResponse(text="The bot crashed halfway.", allow_retry=True)


class Refuser(Bot):
    async def answer(self, request: fp.QueryRequest) -> AsyncIterable[fp.PartialResponse | ServerSentEvent]:
        yield fp.ErrorResponse(text="This message breaks the bot's rules.", error_type="user_caused_error", allow_retry=False)


class Silent(Bot):
    async def answer(self, request: fp.QueryRequest) -> AsyncIterable[fp.PartialResponse | ServerSentEvent]:
        await asyncio.sleep(SILENT_SECONDS)
        yield fp.PartialResponse(text="finally")


class ToolBot(Bot):
    async def answer(self, request: fp.QueryRequest) -> AsyncIterable[fp.PartialResponse | ServerSentEvent]:
        if request.tool_results:
            results = ", ".join(f"{r.name}={r.content}" for r in request.tool_results)
            yield fp.PartialResponse(text=f"Tool said: {results}")
            return
        if not request.tools:
            yield fp.PartialResponse(text="no tools given")
            return
        fn = request.tools[0].function
        args = json.dumps({"city": "Paris"}) if "city" in fn.parameters.properties else "{}"
        half = len(args) // 2
        for i, part in enumerate((args[:half], args[half:])):
            delta: dict[str, object] = {"index": 0, "function": {"arguments": part}}
            if i == 0:
                delta.update({"id": "call_demo_1", "type": "function", "function": {"name": fn.name, "arguments": part}})
            yield _json_event({"choices": [{"index": 0, "delta": {"tool_calls": [delta]}, "finish_reason": None}]})
        yield _json_event({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})


class Artist(Bot):
    async def answer(self, request: fp.QueryRequest) -> AsyncIterable[fp.PartialResponse | ServerSentEvent]:
        yield fp.PartialResponse(text="Here is your picture.")
        yield self.file_event(url="https://example.invalid/picture.png", content_type="image/png", name="picture.png")  # type: ignore[call-arg]


class Replacer(Bot):
    async def answer(self, request: fp.QueryRequest) -> AsyncIterable[fp.PartialResponse | ServerSentEvent]:
        yield fp.PartialResponse(text="Draft")
        yield fp.PartialResponse(text="Final answer", is_replace_response=True)


BOTS: dict[str, type[Bot]] = {
    "Echo": Echo,
    "GPT-4o": Echo,
    "Claude-Sonnet-3.5": Echo,
    "NewBot-2026": Echo,
    "SlowStory": SlowStory,
    "Thinker": Thinker,
    "Failing": Failing,
    "Refuser": Refuser,
    "Silent": Silent,
    "ToolBot": ToolBot,
    "Artist": Artist,
    "Replacer": Replacer,
}

DEMO_MODELS = "echo=Echo,slowstory=SlowStory,thinker=Thinker,failing=Failing,refuser=Refuser,silent=Silent,toolbot=ToolBot,artist=Artist,replacer=Replacer"


def make_app() -> FastAPI:
    import logging

    from demo.messages_api import add_messages_routes  # here: these modules import this one
    from demo.openai_api import add_openai_routes

    logging.getLogger("uvicorn.default").setLevel(logging.ERROR)  # fastapi_poe's settings-sync banner
    app = FastAPI()
    bots = [cls(path=f"/bot/{name}", access_key=None) for name, cls in BOTS.items()]
    app = fp.make_app(bots, allow_without_key=True, app=app)
    app.add_middleware(KeyBehaviour)
    add_openai_routes(app)
    add_messages_routes(app)

    @app.get("/stats")
    async def stats() -> dict[str, int]:
        return dict(STATS)

    @app.post("/file_upload")
    async def file_upload(request: Request) -> JSONResponse:
        """Stands in for Poe's file upload endpoint (same form fields and answer)."""
        key = request.headers.get("authorization", "")
        if not key or key.startswith("bad-") or key.lower().startswith("bearer "):
            return JSONResponse({"error": "invalid key"}, status_code=401)
        if key.startswith("uplimited-"):  # the uploads' own rate limit; the key's queries still work
            return JSONResponse({"error": "too many uploads"}, status_code=429, headers={"retry-after": "30"})
        async with request.form() as form:
            return await _store_upload(request, form.get("file"), form.get("download_url"))

    async def _store_upload(request: Request, upload: object, download_url: object) -> JSONResponse:
        if isinstance(download_url, str):
            EVENTS["uploads"] += 1
            digest = hashlib.sha256(download_url.encode()).hexdigest()[:16]
            return JSONResponse({"attachment_url": f"{request.base_url}files/{digest}", "mime_type": "image/png"})
        if not isinstance(upload, UploadFile):
            return JSONResponse({"error": "file or download_url required"}, status_code=400)
        data = await upload.read()
        if not (upload.content_type or "").startswith("image/") or not data:
            return JSONResponse({"error": "not an image"}, status_code=400)
        EVENTS["uploads"] += 1
        digest = hashlib.sha256(data).hexdigest()[:16]
        return JSONResponse({"attachment_url": f"{request.base_url}files/{digest}", "mime_type": upload.content_type})

    @app.get("/events")
    async def events() -> dict[str, int]:
        return dict(EVENTS)

    @app.post("/stats/reset")
    async def reset() -> dict[str, bool]:
        STATS.clear()
        EVENTS.clear()
        return {"ok": True}

    return app


def main() -> None:
    import logging

    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    logging.getLogger("fastapi_poe").setLevel(logging.ERROR)
    uvicorn.run(make_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    # run as demo.upstream, the module demo/openai_api.py imports, so both share STATS and EVENTS
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from demo.upstream import main as run

    run()

"""POST /v1/chat/completions: translate, pick keys, fail over, stream back."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from .config import Config
from .errors import ConfigError, ProxyError, RateLimited, UpstreamError, UpstreamTimeout, error_body
from .events import Done, Ping, PoeErrorEvent
from .images import generation_error, image_urls_in, parse_generation, upload_images
from .keys import KeyPool, cooldown_seconds
from .models import Catalogue
from .openai_json import ChunkWriter, completion, new_completion_id
from .output import Assembler
from .parse import load_json, parse_chat_request
from .sse import DONE, encode_data
from .tokens import Usage, estimate_prompt_tokens, estimate_tokens
from .translate import query_bytes, to_query
from .types import ChatRequest, Message, Response, Runtime
from .upstream import AttemptFailed, BotStream, classify_error_event, open_bot

__all__ = ["Opened", "collect", "handle_chat", "handle_generation", "open_with_failover", "report_failure"]

SSE_HEADERS = (
    ("content-type", "text/event-stream; charset=utf-8"),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
)
JSON_HEADERS = (("content-type", "application/json"),)


@dataclass(frozen=True, slots=True)
class Opened:
    stream: BotStream
    key_index: int


BodyFor = Callable[[str], Awaitable[bytes]]  # the upstream body for a key (uploads images with it)


def report_failure(rt: Runtime, cfg: Config, pool: KeyPool, index: int, failure: AttemptFailed) -> None:
    """A key-related failure: cool the key down for as long as the policy says."""
    pool.cool_down(rt, index, failure.kind, cooldown_seconds(cfg, failure.kind, failure.retry_after), rt.clock())
    rt.log(f"key #{index + 1} failed: {failure.detail}")


async def open_with_failover(rt: Runtime, cfg: Config, pool: KeyPool, bot: str, body_for: BodyFor) -> Opened:
    """Try healthy keys in rotation order until one starts answering."""
    if not len(pool):
        raise ConfigError("No Poe API keys are configured (POE_APIKEYS is empty).")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + cfg.timeout
    await pool.sync(rt, rt.clock())
    plan = pool.plan(rt.clock())
    pool.persist(rt, rt.clock())
    if not plan:
        raise pool.exhausted_error(rt.clock())
    url = f"{cfg.base_url}/bot/{bot}"
    failures: list[AttemptFailed] = []
    for index in plan:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        key = pool.key(index)
        try:
            body = await body_for(key)
            stream = await open_bot(
                rt,
                url,
                key,
                body,
                connect_timeout=min(cfg.connect_timeout, remaining),
                deadline=deadline,
                idle_timeout=cfg.timeout,
            )
        except AttemptFailed as failure:
            failures.append(failure)
            report_failure(rt, cfg, pool, index, failure)
            if sum(f.kind in ("unavailable", "timeout") for f in failures) >= 2:
                break  # two keys failed at the server or network level: Poe or the bot is down, not the keys
            continue
        return Opened(stream, index)
    raise _failed(pool, rt, failures, cfg)


def _failed(pool: KeyPool, rt: Runtime, failures: list[AttemptFailed], cfg: Config) -> ProxyError:
    if not failures:
        return UpstreamTimeout(f"Poe did not answer within {cfg.timeout:g} s (TIMEOUT).")
    now = rt.clock()
    kinds = {f.kind for f in failures}
    if kinds <= {"rate_limited", "out_of_points", "invalid_key"}:
        if not pool.healthy(now):
            return pool.exhausted_error(now)
        if kinds & {"rate_limited", "out_of_points"}:  # MAX_ATTEMPTS stopped the attempts while healthy keys remain
            return RateLimited(
                f"The {len(failures)} Poe key(s) tried were rate-limited or out of points; others remain, retry now.",
                headers=(("retry-after", "1"),),
            )
    if failures[-1].kind == "timeout":
        return UpstreamTimeout(f"Poe did not answer in time: {failures[-1].detail}.")
    detail = "; ".join(dict.fromkeys(f.detail for f in failures))
    return UpstreamError(f"The request failed on {len(failures)} Poe key(s): {detail}.")


async def handle_chat(rt: Runtime, cfg: Config, catalogue: Catalogue, pool: KeyPool, raw: bytes) -> Response:
    req = parse_chat_request(load_json(raw))
    model = catalogue.resolve(req.model)
    message_id, conversation_id = secrets.token_hex(8), secrets.token_hex(8)

    async def body_for(key: str) -> bytes:
        # images go up with the key that will make the call (an upload failure fails over like a call)
        attachments = await upload_images(rt, cfg, req, key) if any(m.images for m in req.messages) else {}
        return query_bytes(to_query(req, attachments=attachments, message_id=message_id, conversation_id=conversation_id))

    for attempt in range(len(pool)):
        opened = await open_with_failover(rt, cfg, pool, model.bot, body_for)
        asm = Assembler(max_tokens=req.max_tokens, split_reasoning=cfg.reasoning_split)
        on_failure = partial(report_failure, rt, cfg, pool, opened.key_index)
        if req.stream:
            return Response(200, SSE_HEADERS, _stream(opened.stream, asm, req, rt, on_failure))
        try:
            return await _complete(opened.stream, asm, req, rt, on_failure)
        except KeyFailedMidAnswer:
            # nothing was sent yet: the cooled key is out of the next plan, start over on another
            if attempt == len(pool) - 1 or not pool.healthy(rt.clock()):
                raise
    raise AssertionError("unreachable")  # the loop returns or raises


def _usage(req: ChatRequest, asm: Assembler) -> Usage:
    reasoning = estimate_tokens(asm.reasoning)
    calls = sum(estimate_tokens(c.name) + estimate_tokens(c.arguments) for c in asm.tool_calls)
    return Usage(estimate_prompt_tokens(req), estimate_tokens(asm.content) + reasoning + calls, reasoning)


def _mid_stream_error(exc: BaseException, idle: float) -> ProxyError:
    if isinstance(exc, ProxyError):
        return exc
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout(f"Poe stopped sending for {idle:g} s; the answer is incomplete.")
    return UpstreamError("The connection to Poe broke; the answer is incomplete.")


OnFailure = Callable[[AttemptFailed], None]


def _error_chunk(rt: Runtime, err: ProxyError) -> bytes:
    err.message = rt.redact(err.message)
    return encode_data(error_body(err))


def _bot_error(ev: PoeErrorEvent, on_failure: OnFailure) -> ProxyError:
    """An error event after the answer started: too late to fail over, not too late to cool the key."""
    err = classify_error_event(ev)
    if isinstance(err, ProxyError):
        return err
    on_failure(err)
    return KeyFailedMidAnswer(f"Poe stopped the answer: {err.detail}.", code=err.kind)


class KeyFailedMidAnswer(UpstreamError):
    """The key ran out (points, rate limit) after the answer began: a non-streamed answer can start over."""


async def _stream(
    stream: BotStream, asm: Assembler, req: ChatRequest, rt: Runtime, on_failure: OnFailure
) -> AsyncIterator[bytes]:
    writer = ChunkWriter(new_completion_id(), int(rt.clock()), req.model)
    out = bytearray()
    failure: ProxyError | None = None
    try:
        try:
            while True:
                if out and not stream.has_buffered():
                    # one write per upstream read, not per event: each write costs a JS round trip
                    yield bytes(out)
                    out.clear()
                try:
                    ev = await stream.next()
                except Exception as exc:  # timeout or broken connection after commit
                    failure = _mid_stream_error(exc, stream.idle_timeout)
                    break
                if ev is None:
                    if not stream.saw_done:
                        failure = UpstreamError("Poe closed the stream early; the answer is incomplete.")
                    break
                if isinstance(ev, Done):
                    break
                if isinstance(ev, Ping):
                    out += b": ping\n\n"  # keeps idle client connections open
                    continue
                if isinstance(ev, PoeErrorEvent):
                    failure = _bot_error(ev, on_failure)
                    break
                delta = asm.feed(ev)
                if delta:
                    out += encode_data(writer.delta(delta))
                if asm.finish_reason == "length":
                    break
        except Exception as exc:  # a bug must still end the stream properly
            rt.log(f"internal error while streaming: {type(exc).__name__}")
            failure = ProxyError("The proxy hit an internal error; the answer is incomplete.")
        if failure is not None:
            out += _error_chunk(rt, failure)
        else:
            tail = asm.flush()
            if tail:
                out += encode_data(writer.delta(tail))
            out += encode_data(writer.finish(asm.final_reason()))
            if req.include_usage:
                out += encode_data(writer.usage(_usage(req, asm)))
        out += DONE
        yield bytes(out)
    finally:
        await stream.close()


async def collect(stream: BotStream, asm: Assembler, on_failure: OnFailure) -> None:
    """Read a whole answer into the assembler (non-streaming). Raises ProxyError."""
    try:
        while True:
            try:
                ev = await stream.next()
            except Exception as exc:
                raise _mid_stream_error(exc, stream.idle_timeout) from None
            if ev is None:
                if not stream.saw_done:
                    raise UpstreamError("Poe closed the connection before the answer was complete.")
                break
            if isinstance(ev, Done):
                break
            if isinstance(ev, PoeErrorEvent):
                raise _bot_error(ev, on_failure)
            asm.feed(ev)
            if asm.finish_reason == "length":
                break
        asm.flush()
    finally:
        await stream.close()


async def _complete(stream: BotStream, asm: Assembler, req: ChatRequest, rt: Runtime, on_failure: OnFailure) -> Response:
    await collect(stream, asm, on_failure)
    obj = completion(
        completion_id=new_completion_id(),
        created=int(rt.clock()),
        model=req.model,
        content=asm.content,
        reasoning=asm.reasoning,
        tool_calls=asm.tool_calls,
        finish_reason=asm.final_reason(),
        usage=_usage(req, asm),
    )
    return Response(200, JSON_HEADERS, json.dumps(obj, ensure_ascii=False).encode())


async def handle_generation(rt: Runtime, cfg: Config, catalogue: Catalogue, pool: KeyPool, raw: bytes) -> Response:
    """POST /v1/images/generations: run an image bot, answer with its image URLs."""
    text, model_id, prompt = parse_generation(load_json(raw))
    model = catalogue.resolve(model_id)
    req = ChatRequest(model=model_id, messages=(Message(role="user", content=text),))
    body = query_bytes(to_query(req, message_id=secrets.token_hex(8), conversation_id=secrets.token_hex(8)))

    async def body_for(_key: str) -> bytes:
        return body

    opened = await open_with_failover(rt, cfg, pool, model.bot, body_for)
    asm = Assembler(split_reasoning=False)
    await collect(opened.stream, asm, partial(report_failure, rt, cfg, pool, opened.key_index))
    urls = [f.url for f in asm.files if f.url] or image_urls_in(asm.content)
    if not urls:
        raise generation_error(asm.content or "(empty answer)")
    data = [{"url": url, "revised_prompt": prompt} for url in urls[:1]]
    return Response(200, JSON_HEADERS, json.dumps({"created": int(rt.clock()), "data": data}).encode())

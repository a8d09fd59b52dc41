"""``POST /v1/chat/completions``: the OpenAI Chat Completions door.

With ``POE_PROTOCOL=openai`` (or a model pinned to it) the door and the upstream
speak the same protocol: the request is validated and passed through, and a
stream goes to the client untouched. With ``bot`` the request is translated and
the canonical answer written as OpenAI chunks or one completion.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..answer import collect_with_restart
from ..canonical import Batches, ChatRequest, Delta, Failure, Finish, KeepAlive, Replace
from ..catalogue import Catalogue
from ..data_uri import check_images
from ..errors import ProxyError, error_body
from ..http import Passthrough, Response, Runtime
from ..pool import KeyPool
from ..settings import Config
from ..sse import DONE, encode_comment, encode_data
from ..upstreams import poe_bot, poe_openai
from .common import SSE_HEADERS, json_response, load_json
from .openai_parse import parse_chat_request
from .openai_wire import ChunkWriter, completion, new_completion_id, usage_dict

__all__ = ["handle_chat", "stream_chunks"]

PING = encode_comment("ping")


async def handle_chat(rt: Runtime, cfg: Config, catalogue: Catalogue, pool: KeyPool, raw: bytes) -> Response:
    body = load_json(raw)
    req = parse_chat_request(body)
    model = catalogue.resolve(req.model)
    if (model.protocol or cfg.protocol) == "openai":
        check_images(req, cfg.max_image_bytes)
        data = poe_openai.upstream_body(body, model)
        if req.stream:
            upstream = (await poe_openai.open_chat(rt, cfg, pool, data, stream=True)).value
            ctype = upstream.headers.get("content-type") or SSE_HEADERS[0][1]
            return Response(200, (("content-type", ctype), *SSE_HEADERS[1:]), Passthrough(upstream))
        return json_response(200, await poe_openai.complete(rt, cfg, pool, data))
    if req.stream:
        opened = await poe_bot.open_answer(rt, cfg, pool, req, model)
        return Response(200, SSE_HEADERS, stream_chunks(opened.value, req, rt))
    answer = await collect_with_restart(lambda: poe_bot.open_answer(rt, cfg, pool, req, model), pool, rt)
    obj = completion(
        completion_id=new_completion_id(),
        created=int(rt.clock()),
        model=req.model,
        content=answer.content,
        reasoning=answer.reasoning,
        tool_calls=answer.tool_calls,
        finish_reason=answer.finish_reason,
        usage=answer.usage,
    )
    return json_response(200, obj)


def _error_chunk(rt: Runtime, err: ProxyError) -> bytes:
    err.message = rt.redact(err.message)
    return encode_data(error_body(err)) + DONE


async def stream_chunks(batches: Batches, req: ChatRequest, rt: Runtime) -> AsyncIterator[bytes]:
    """Canonical events as ``chat.completion.chunk`` frames: one write per batch; always ends in ``[DONE]``."""
    writer = ChunkWriter(new_completion_id(), int(rt.clock()), req.model)
    try:
        async for batch in batches:
            out = bytearray()
            for ev in batch:
                if isinstance(ev, Delta):
                    frame = writer.text_frame(ev.content) if not (ev.reasoning or ev.tool_calls) else None
                    out += frame if frame is not None else encode_data(writer.delta(ev))
                elif isinstance(ev, Replace):
                    if ev.content or ev.reasoning:
                        text = "\n\n" + ev.content if ev.content else ""
                        out += encode_data(writer.delta(Delta(content=text, reasoning=ev.reasoning)))
                elif isinstance(ev, KeepAlive):
                    out += PING  # keeps idle client connections open
                elif isinstance(ev, Finish):
                    out += encode_data(writer.finish(ev.reason))
                    if req.include_usage:
                        out += encode_data(writer.usage_chunk(usage_dict(ev.usage)))
                    out += DONE
                elif isinstance(ev, Failure):
                    out += _error_chunk(rt, ev.error)
            if out:
                yield bytes(out)
    except Exception as exc:  # a bug must still end the stream properly
        rt.log(f"internal error while streaming: {type(exc).__name__}")
        yield _error_chunk(rt, ProxyError("The proxy hit an internal error; the answer is incomplete."))
    finally:
        await batches.aclose()

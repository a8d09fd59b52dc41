"""``POST /v1/chat/completions``: the OpenAI Chat Completions door.

With ``POE_PROTOCOL=openai`` (or a model pinned to it) the door and the upstream
speak the same protocol: the request is validated and passed through, and a
stream goes to the client untouched. With ``bot`` the request is translated and
the canonical answer written as OpenAI chunks or one completion.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..answer import collect_answer, open_answer
from ..canonical import AnswerEvent, Batches, ChatRequest, Delta, Finish, KeepAlive, Replace
from ..catalogue import Catalogue
from ..data_uri import check_images
from ..errors import ProxyError, error_body
from ..http import Passthrough, Response, Runtime
from ..pool import KeyPool
from ..settings import Config
from ..sse import DONE, encode_comment, encode_data
from ..upstreams import poe_openai
from .common import SSE_HEADERS, json_response, load_json
from .openai_parse import parse_chat_request
from .openai_wire import ChunkWriter, completion, new_completion_id, usage_dict
from .streaming import write_stream

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
            # Poe's usage chunk comes only when asked for: without it there is nothing to count
            ends = rt.meter.passthrough("openai") if rt.meter and req.include_usage else None
            ctype = upstream.headers.get("content-type") or SSE_HEADERS[0][1]
            return Response(
                200,
                (("content-type", ctype), *SSE_HEADERS[1:]),
                Passthrough(upstream, ends),
            )
        return json_response(200, await poe_openai.complete(rt, cfg, pool, data))
    if req.stream:
        opened = await open_answer(rt, cfg, pool, req, model)
        return Response(200, SSE_HEADERS, stream_chunks(opened.value, req, rt))
    answer = await collect_answer(rt, cfg, pool, req, model)
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


class ChunkStream:
    """Canonical events as ``chat.completion.chunk`` frames, ending in ``[DONE]``."""

    def __init__(self, req: ChatRequest, rt: Runtime) -> None:
        self.writer = ChunkWriter(new_completion_id(), int(rt.clock()), req.model)
        self.include_usage = req.include_usage

    def feed(self, ev: AnswerEvent) -> bytes:
        writer = self.writer
        if isinstance(ev, Delta):
            frame = writer.text_frame(ev.content) if not (ev.reasoning or ev.tool_calls) else None
            return frame if frame is not None else encode_data(writer.delta(ev))
        if isinstance(ev, Replace):
            if ev.content or ev.reasoning:
                text = "\n\n" + ev.content if ev.content else ""
                return encode_data(writer.delta(Delta(content=text, reasoning=ev.reasoning)))
            return b""
        if isinstance(ev, KeepAlive):
            return PING  # keeps idle client connections open
        if isinstance(ev, Finish):
            out = encode_data(writer.finish(ev.reason))
            if self.include_usage:
                out += encode_data(writer.usage_chunk(usage_dict(ev.usage)))
            return out + DONE
        return b""

    def error(self, err: ProxyError) -> bytes:
        return encode_data(error_body(err)) + DONE


def stream_chunks(batches: Batches, req: ChatRequest, rt: Runtime) -> AsyncIterator[bytes]:
    """Canonical events as ``chat.completion.chunk`` frames: one write per batch; always ends in ``[DONE]``."""
    return write_stream(batches, ChunkStream(req, rt), rt)

"""``POST /v1/messages`` and ``/v1/messages/count_tokens``: the Anthropic Messages door.

Every model in the catalogue answers: the request becomes a canonical
``ChatRequest``, goes to the upstream the model uses, and the canonical answer
is written as Anthropic's message object or event stream. Claude bots in
``openai`` mode go to Poe's own ``/v1/messages`` instead, validated here and
passed through untouched (``CLAUDE_NATIVE``): Anthropic's prompt caching and
thinking signatures work only there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..answer import collect_answer, open_answer
from ..canonical import ChatRequest
from ..catalogue import Catalogue, Model
from ..data_uri import check_images
from ..errors import NotFound, ProxyError
from ..estimate import estimate_prompt_tokens
from ..http import Passthrough, Response, Runtime
from ..pool import KeyPool
from ..settings import Config
from ..upstreams import poe_openai
from ..upstreams.openai_chunks import is_claude
from .anthropic_parse import parse_messages_request
from .anthropic_wire import MessageStream, error_object, error_status, message_object, new_message_id
from .common import JSON_HEADERS, SSE_HEADERS, json_response, load_json
from .streaming import write_stream

__all__ = ["anthropic_error_response", "handle_count_tokens", "handle_messages"]


def anthropic_error_response(err: ProxyError) -> Response:
    return json_response(error_status(err), error_object(err), err.headers)


async def handle_messages(
    rt: Runtime, cfg: Config, catalogue: Catalogue, pool: KeyPool, raw: bytes, headers: Mapping[str, str]
) -> Response:
    body = load_json(raw)
    asked = body.get("model")
    model = catalogue.resolve(asked) if isinstance(asked, str) and asked.strip() else None
    if model is not None and cfg.claude_native and (model.protocol or cfg.protocol) == "openai" and is_claude(model):
        req = parse_messages_request(body, native=True)
        native = await _native(rt, cfg, pool, req, model, body, headers)
        if native is not None:
            return native
    req = parse_messages_request(body)  # every block must translate
    model = model or catalogue.resolve(req.model)
    if req.stream:
        opened = await open_answer(rt, cfg, pool, req, model)
        writer = MessageStream(new_message_id(), req.model, estimate_prompt_tokens(req))
        return Response(200, SSE_HEADERS, write_stream(opened.value, writer, rt, writer.start()))
    answer = await collect_answer(rt, cfg, pool, req, model)
    return json_response(200, message_object(new_message_id(), req.model, answer))


async def _native(
    rt: Runtime, cfg: Config, pool: KeyPool, req: ChatRequest, model: Model, body: dict[str, Any], headers: Mapping[str, str]
) -> Response | None:
    """Poe's Anthropic endpoint's answer, untouched; None when it does not know the bot (then it is translated)."""
    check_images(req, cfg.max_image_bytes)
    try:
        opened = await poe_openai.open_messages(
            rt, cfg, pool, poe_openai.upstream_body(_unsigned_thinking_dropped(body), model), headers
        )
    except NotFound:
        return None
    upstream = opened.value
    ctype = upstream.headers.get("content-type") or (SSE_HEADERS if req.stream else JSON_HEADERS)[0][1]
    return Response(
        200,
        (("content-type", ctype), *(SSE_HEADERS[1:] if req.stream else ())),
        Passthrough(upstream, rt.meter.passthrough("anthropic") if rt.meter else None),
    )


def _unsigned_thinking_dropped(body: dict[str, Any]) -> dict[str, Any]:
    """The body without thinking blocks that carry no signature: the proxy's own, from a translated
    answer earlier in the conversation, which Anthropic would refuse as forged."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not any(
        isinstance(m, dict)
        and isinstance(m.get("content"), list)
        and any(isinstance(b, dict) and b.get("type") == "thinking" and not b.get("signature") for b in m["content"])
        for m in messages
    ):
        return body
    kept = []
    for m in messages:
        if isinstance(m, dict) and isinstance(m.get("content"), list):
            blocks = [
                b for b in m["content"] if not (isinstance(b, dict) and b.get("type") == "thinking" and not b.get("signature"))
            ]
            m = {**m, "content": blocks}
        kept.append(m)
    return {**body, "messages": kept}


def handle_count_tokens(catalogue: Catalogue, raw: bytes) -> Response:
    """The proxy's estimate (the same one its usage numbers use), not the model's tokenizer."""
    req = parse_messages_request(load_json(raw), count_only=True)
    catalogue.resolve(req.model)
    return json_response(200, {"input_tokens": estimate_prompt_tokens(req)})

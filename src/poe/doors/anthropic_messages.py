"""``POST /v1/messages`` and ``/v1/messages/count_tokens``: the Anthropic Messages door.

Every model in the catalogue answers: the request becomes a canonical
``ChatRequest``, goes to the upstream the model uses, and the canonical answer
is written as Anthropic's message object or event stream.
"""

from __future__ import annotations

from ..answer import collect_answer, open_answer
from ..catalogue import Catalogue
from ..errors import ProxyError
from ..estimate import estimate_prompt_tokens
from ..http import Response, Runtime
from ..pool import KeyPool
from ..settings import Config
from .anthropic_parse import parse_messages_request
from .anthropic_wire import MessageStream, error_object, error_status, message_object, new_message_id
from .common import SSE_HEADERS, json_response, load_json
from .streaming import write_stream

__all__ = ["anthropic_error_response", "handle_count_tokens", "handle_messages"]


def anthropic_error_response(err: ProxyError) -> Response:
    return json_response(error_status(err), error_object(err), err.headers)


async def handle_messages(rt: Runtime, cfg: Config, catalogue: Catalogue, pool: KeyPool, raw: bytes) -> Response:
    req = parse_messages_request(load_json(raw))
    model = catalogue.resolve(req.model)
    if req.stream:
        opened = await open_answer(rt, cfg, pool, req, model)
        writer = MessageStream(new_message_id(), req.model, estimate_prompt_tokens(req))
        return Response(200, SSE_HEADERS, write_stream(opened.value, writer, rt, writer.start()))
    answer = await collect_answer(rt, cfg, pool, req, model)
    return json_response(200, message_object(new_message_id(), req.model, answer))


def handle_count_tokens(catalogue: Catalogue, raw: bytes) -> Response:
    """The proxy's estimate (the same one its usage numbers use), not the model's tokenizer."""
    req = parse_messages_request(load_json(raw), count_only=True)
    catalogue.resolve(req.model)
    return json_response(200, {"input_tokens": estimate_prompt_tokens(req)})

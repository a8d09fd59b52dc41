"""``POST /v1/responses``: the OpenAI Responses door, stateless.

Every model in the catalogue answers: the request becomes a canonical
``ChatRequest`` and the canonical answer is written as a ``response`` object or
the Responses event stream. Nothing is stored (``store`` is accepted and
answered as false); a ``previous_response_id`` is a clear 400.
"""

from __future__ import annotations

from ..answer import collect_answer, open_answer
from ..catalogue import Catalogue
from ..http import Response, Runtime
from ..pool import KeyPool
from ..settings import Config
from .common import SSE_HEADERS, json_response, load_json
from .responses_parse import parse_responses_request
from .responses_wire import ResponseStream, finished_status, new_response_id, output_items, response_object
from .streaming import write_stream

__all__ = ["handle_responses"]


async def handle_responses(rt: Runtime, cfg: Config, catalogue: Catalogue, pool: KeyPool, raw: bytes) -> Response:
    req, options = parse_responses_request(load_json(raw))
    model = catalogue.resolve(req.model)
    created = int(rt.clock())
    if req.stream:
        opened = await open_answer(rt, cfg, pool, req, model)
        writer = ResponseStream(new_response_id(), created, req.model, options)
        return Response(200, SSE_HEADERS, write_stream(opened.value, writer, rt, writer.start()))
    answer = await collect_answer(rt, cfg, pool, req, model)
    obj = response_object(
        new_response_id(),
        created,
        req.model,
        options,
        status=finished_status(answer.finish_reason),
        output=output_items(answer, options.custom_tools),
        usage=answer.usage,
        reason=answer.finish_reason,
    )
    return json_response(200, obj)

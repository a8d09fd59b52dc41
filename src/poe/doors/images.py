"""``POST /v1/images/generations``: run an image bot, answer with its image URLs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..answer import collect_with_restart
from ..canonical import ChatRequest, Message
from ..catalogue import Catalogue
from ..errors import InvalidRequest, ProxyError, UpstreamError
from ..http import Response, Runtime
from ..pool import KeyPool
from ..settings import Config
from ..upstreams import poe_bot, poe_openai
from .common import json_response, load_json

__all__ = ["handle_generation", "image_urls_in", "parse_generation"]

# Markdown images, and the bare CDN URLs Poe's image bots add on the OpenAI-compatible API
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\((\S+?)\)")


async def handle_generation(rt: Runtime, cfg: Config, catalogue: Catalogue, pool: KeyPool, raw: bytes) -> Response:
    text, model_id, prompt = parse_generation(load_json(raw))
    model = catalogue.resolve(model_id)
    req = ChatRequest(model=model_id, messages=(Message(role="user", content=text),))
    if (model.protocol or cfg.protocol) == "openai":
        body = {"model": model_id, "messages": [{"role": "user", "content": text}], "stream": False}
        obj = await poe_openai.complete(rt, cfg, pool, poe_openai.upstream_body(body, model))
        message = obj["choices"][0].get("message") if obj["choices"] and isinstance(obj["choices"][0], dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        content = content if isinstance(content, str) else ""
    else:
        answer = await collect_with_restart(lambda: poe_bot.open_answer(rt, cfg, pool, req, model), pool, rt)
        content = answer.content
    urls = image_urls_in(content)
    if not urls:
        raise generation_error(content or "(empty answer)")
    data = [{"url": url, "revised_prompt": prompt} for url in urls[:1]]
    return json_response(200, {"created": int(rt.clock()), "data": data})


def image_urls_in(text: str) -> list[str]:
    return _MD_IMAGE.findall(text)


def parse_generation(body: Mapping[str, Any]) -> tuple[str, str, str]:
    """(prompt with hints, model id, prompt) from an images/generations body."""
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequest("Missing required parameter: 'prompt'.", param="prompt", code="missing_required_parameter")
    model = body.get("model") or "dall-e-3"
    if not isinstance(model, str):
        raise InvalidRequest("Invalid type for 'model': expected a string.", param="model", code="invalid_type")
    n = body.get("n", 1)
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n != 1):
        raise InvalidRequest("'n' must be 1: Poe image bots make one image per request.", param="n", code="unsupported_parameter")
    fmt = body.get("response_format")
    if fmt not in (None, "url"):
        raise InvalidRequest(
            "'response_format' must be 'url': Poe returns image URLs.", param="response_format", code="unsupported_parameter"
        )
    hints = []
    for name in ("size", "quality", "style"):
        value = body.get(name)
        if value is not None:
            if not isinstance(value, str):
                raise InvalidRequest(f"Invalid type for '{name}': expected a string.", param=name, code="invalid_type")
            hints.append(f"{name}: {value}")
    text = prompt.strip() + (f"\n\n({', '.join(hints)})" if hints else "")
    return text, model, prompt.strip()


def generation_error(reason: str) -> ProxyError:
    return UpstreamError(f"The image bot answered without an image: {reason[:300]}")

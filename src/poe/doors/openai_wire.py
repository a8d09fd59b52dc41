"""OpenAI Chat Completions JSON out: completions, stream chunks, usage, model objects."""

from __future__ import annotations

import json
import secrets
from typing import Any

from ..canonical import Delta, ToolCall, Usage
from ..catalogue import Model

__all__ = ["ChunkWriter", "completion", "model_list", "model_object", "new_completion_id", "usage_dict"]

FINGERPRINT = "fp_poe_proxy"


def usage_dict(u: Usage) -> dict[str, object]:
    return {
        "prompt_tokens": u.prompt,
        "completion_tokens": u.completion,
        "total_tokens": u.prompt + u.completion,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning},
    }


def new_completion_id() -> str:
    """Random: never derived from a key, a token or the request."""
    return "chatcmpl-" + secrets.token_hex(12)


class ChunkWriter:
    """Builds the ``chat.completion.chunk`` objects of one streamed answer."""

    def __init__(self, completion_id: str, created: int, model: str) -> None:
        self.id = completion_id
        self.created = created
        self.model = model
        self._role_sent = False
        # the frame of a text-only delta, split around the text: most chunks of an answer are these,
        # and filling in one string is far cheaper than building and serialising a dict each time
        head = json.dumps(
            self._chunk([{"index": 0, "delta": {"content": "\0"}, "logprobs": None, "finish_reason": None}]),
            ensure_ascii=False,
            separators=(",", ":"),
        )
        before, _, after = head.partition('"\\u0000"')
        self._text_head = b"data: " + before.encode()
        self._text_tail = after.encode() + b"\n\n"

    def text_frame(self, text: str) -> bytes | None:
        """The SSE frame of a delta with only ``text`` (None until the role went out)."""
        if not self._role_sent:
            return None
        return self._text_head + json.dumps(text, ensure_ascii=False).encode("utf-8", "replace") + self._text_tail

    def _chunk(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": FINGERPRINT,
            "choices": choices,
        }
        if usage is not None:
            chunk["usage"] = usage
        return chunk

    def _delta_body(self) -> dict[str, Any]:
        if self._role_sent:
            return {}
        self._role_sent = True
        return {"role": "assistant"}

    def delta(self, d: Delta) -> dict[str, Any]:
        body = self._delta_body()
        if d.content:
            body["content"] = d.content
        if d.reasoning:
            body["reasoning_content"] = d.reasoning
        if d.tool_calls:
            calls = []
            for c in d.tool_calls:
                call: dict[str, Any] = {"index": c.index}
                fn: dict[str, Any] = {"arguments": c.arguments}
                if c.id is not None:
                    call["id"] = c.id
                    call["type"] = "function"
                if c.name is not None and (c.name or c.id is not None):
                    fn["name"] = c.name  # also a name that arrives after the call's first delta
                call["function"] = fn
                calls.append(call)
            body["tool_calls"] = calls
        if "content" not in body and "tool_calls" not in body and "reasoning_content" not in body:
            body["content"] = ""
        return self._chunk([{"index": 0, "delta": body, "logprobs": None, "finish_reason": None}])

    def finish(self, reason: str) -> dict[str, Any]:
        body = self._delta_body()
        return self._chunk([{"index": 0, "delta": body, "logprobs": None, "finish_reason": reason}])

    def usage_chunk(self, usage: dict[str, Any]) -> dict[str, Any]:
        return self._chunk([], usage)


def completion(
    *,
    completion_id: str,
    created: int,
    model: str,
    content: str,
    reasoning: str,
    tool_calls: tuple[ToolCall, ...],
    finish_reason: str,
    usage: Usage,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": content if (content or not tool_calls) else None,
        "refusal": None,
        "annotations": [],
    }
    if reasoning:
        message["reasoning_content"] = reasoning
    if tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in tool_calls
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": FINGERPRINT,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": usage_dict(usage),
    }


def model_object(m: Model) -> dict[str, Any]:
    """OpenAI's Model, plus what Poe's list says about the model (extra fields: OpenAI's clients ignore them)."""
    return {"id": m.id, "object": "model", "created": m.created, "owned_by": m.owned_by, **dict(m.extra)}


def model_list(models: tuple[Model, ...]) -> dict[str, Any]:
    return {"object": "list", "data": [model_object(m) for m in models]}

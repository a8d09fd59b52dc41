"""Anthropic Messages JSON out: the message object, the stream's events, the error shape."""

from __future__ import annotations

import json
import secrets
from typing import Any

from ..answer import Collected
from ..canonical import AnswerEvent, Delta, Failure, Finish, KeepAlive, Replace, ToolCallDelta, Usage
from ..errors import ProxyError
from ..sse import HOLE, encode_event, event_template, json_string

__all__ = ["MessageStream", "error_object", "error_status", "message_object", "new_message_id", "tool_input"]

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}
# Anthropic's error type for each status (docs.anthropic.com/en/api/errors)
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(12)


def new_tool_id() -> str:
    return "toolu_" + secrets.token_hex(12)


def error_status(err: ProxyError) -> int:
    return 529 if err.status == 503 else err.status  # Anthropic's "overloaded" (every key cooling)


def error_object(err: ProxyError) -> dict[str, Any]:
    status = error_status(err)
    kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": err.message}}


def usage_object(u: Usage) -> dict[str, Any]:
    return {
        "input_tokens": u.prompt,
        "output_tokens": u.completion,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def tool_input(arguments: str) -> dict[str, Any]:
    """A tool call's arguments as Anthropic's ``input`` object (arguments that are not an object are wrapped)."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return {"arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}


def message_object(message_id: str, model: str, answer: Collected) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if answer.reasoning:
        content.append({"type": "thinking", "thinking": answer.reasoning, "signature": ""})
    if answer.content or not answer.tool_calls:
        content.append({"type": "text", "text": answer.content})
    for call in answer.tool_calls:
        content.append(
            {"type": "tool_use", "id": call.id or new_tool_id(), "name": call.name, "input": tool_input(call.arguments)}
        )
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": STOP_REASONS.get(answer.finish_reason, "end_turn"),
        "stop_sequence": None,
        "usage": usage_object(answer.usage),
    }


_event = encode_event
PING = _event("ping", {"type": "ping"})


class MessageStream:
    """Canonical events -> Anthropic's stream events, one content block at a time."""

    def __init__(self, message_id: str, model: str, input_tokens: int) -> None:
        self.id = message_id
        self.model = model
        self.input_tokens = input_tokens
        self._index = -1
        self._open: str | None = None  # "thinking" | "text" | "tool_use"
        self._tool: int | None = None  # the canonical index of the open tool call
        self._frame: tuple[bytes, ...] = ()  # the open text or thinking block's delta frame, around the text

    def start(self) -> bytes:
        message: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage_object(Usage(self.input_tokens, 1)),
        }
        return _event("message_start", {"type": "message_start", "message": message}) + PING

    def _begin(self, kind: str, block: dict[str, Any]) -> bytes:
        out = self._close()
        self._index += 1
        self._open = kind
        if kind in ("text", "thinking"):  # most events of an answer: their frame is filled in, not built
            delta = {"type": f"{kind}_delta", kind: HOLE}
            self._frame = event_template(
                "content_block_delta", {"type": "content_block_delta", "index": self._index, "delta": delta}
            )
        return out + _event("content_block_start", {"type": "content_block_start", "index": self._index, "content_block": block})

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        self._open, self._tool = None, None
        return _event("content_block_stop", {"type": "content_block_stop", "index": self._index})

    def _delta(self, delta: dict[str, Any]) -> bytes:
        return _event("content_block_delta", {"type": "content_block_delta", "index": self._index, "delta": delta})

    def _text(self, text: str) -> bytes:
        out = b"" if self._open == "text" else self._begin("text", {"type": "text", "text": ""})
        head, tail = self._frame
        return out + head + json_string(text) + tail

    def _calls(self, calls: tuple[ToolCallDelta, ...]) -> bytes:
        out = b""
        for c in calls:
            if self._open != "tool_use" or c.index != self._tool:
                block = {"type": "tool_use", "id": c.id or new_tool_id(), "name": c.name or "", "input": {}}
                out += self._begin("tool_use", block)
                self._tool = c.index
            if c.arguments:
                out += self._delta({"type": "input_json_delta", "partial_json": c.arguments})
        return out

    def feed(self, ev: AnswerEvent) -> bytes:
        if isinstance(ev, Delta):
            out = b""
            if ev.reasoning:
                if self._open != "thinking":
                    out += self._begin("thinking", {"type": "thinking", "thinking": "", "signature": ""})
                head, tail = self._frame
                out += head + json_string(ev.reasoning) + tail
            if ev.content:
                out += self._text(ev.content)
            if ev.tool_calls:
                out += self._calls(ev.tool_calls)
            return out
        if isinstance(ev, Replace):  # a stream cannot un-send: the final text follows after a blank line
            return self._text("\n\n" + ev.content) if ev.content else b""
        if isinstance(ev, KeepAlive):
            return PING
        if isinstance(ev, Finish):
            delta = {"stop_reason": STOP_REASONS.get(ev.reason, "end_turn"), "stop_sequence": None}
            usage = usage_object(ev.usage)
            return (
                self._close()
                + _event("message_delta", {"type": "message_delta", "delta": delta, "usage": usage})
                + _event("message_stop", {"type": "message_stop"})
            )
        if isinstance(ev, Failure):
            return self.error(ev.error)
        return b""

    @staticmethod
    def error(err: ProxyError) -> bytes:
        return _event("error", error_object(err))

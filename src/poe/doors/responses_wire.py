"""OpenAI Responses JSON out: the response object, its output items and the stream's events."""

from __future__ import annotations

import json
import secrets
from typing import Any

from ..answer import Collected
from ..canonical import AnswerEvent, Delta, Finish, KeepAlive, Replace, ToolCall, ToolCallDelta, Usage
from ..errors import ProxyError
from ..sse import HOLE, encode_comment, encode_event, event_template, json_string
from .responses_parse import CUSTOM_INPUT, ResponsesOptions

__all__ = ["ResponseStream", "new_response_id", "output_items", "response_object"]

PING = encode_comment("ping")


def new_response_id() -> str:
    return "resp_" + secrets.token_hex(16)


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


def usage_object(u: Usage) -> dict[str, Any]:
    return {
        "input_tokens": u.prompt,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": u.completion,
        "output_tokens_details": {"reasoning_tokens": u.reasoning},
        "total_tokens": u.prompt + u.completion,
    }


def _reasoning_item(item_id: str, text: str) -> dict[str, Any]:
    return {"type": "reasoning", "id": item_id, "summary": [{"type": "summary_text", "text": text}]}


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _message_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    content = [_text_part(text)] if status == "completed" else []
    return {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": content}


def _call_item(item_id: str, call: ToolCall, custom: frozenset[str], status: str = "completed") -> dict[str, Any]:
    if call.name in custom:
        return {
            "type": "custom_tool_call",
            "id": item_id,
            "call_id": call.id,
            "name": call.name,
            "input": custom_input(call.arguments),
        }
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call.id,
        "name": call.name,
        "arguments": call.arguments or ("{}" if status == "completed" else ""),  # clients parse it as JSON
        "status": status,
    }


def custom_input(arguments: str) -> str:
    """A freeform tool's input from the function-style arguments the model produced."""
    try:
        value = json.loads(arguments)
    except ValueError:
        return arguments
    if isinstance(value, dict) and isinstance(value.get(CUSTOM_INPUT), str):
        return str(value[CUSTOM_INPUT])
    return arguments


def output_items(answer: Collected, custom: frozenset[str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if answer.reasoning:
        items.append(_reasoning_item(_id("rs"), answer.reasoning))
    if answer.content or not answer.tool_calls:
        items.append(_message_item(_id("msg"), answer.content))
    for call in answer.tool_calls:
        items.append(_call_item(_id("fc"), call, custom))
    return items


def response_object(
    response_id: str,
    created_at: int,
    model: str,
    options: ResponsesOptions,
    *,
    status: str,
    output: list[dict[str, Any]],
    usage: Usage | None = None,
    reason: str = "stop",
    error: ProxyError | None = None,
) -> dict[str, Any]:
    incomplete = status == "incomplete"
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "error": {"code": failure_code(error), "message": error.message} if error is not None else None,
        "incomplete_details": {"reason": "max_output_tokens" if reason == "length" else "content_filter"} if incomplete else None,
        "instructions": options.instructions,
        "max_output_tokens": options.max_output_tokens,
        "model": model,
        "output": output,
        "parallel_tool_calls": options.parallel_tool_calls,
        "previous_response_id": None,
        "reasoning": {"effort": options.reasoning_effort, "summary": None},
        "store": False,
        "temperature": options.temperature,
        "text": {"format": options.text_format},
        "tool_choice": options.tool_choice,
        "tools": list(options.tools),
        "top_p": options.top_p,
        "truncation": "disabled",
        "usage": usage_object(usage) if usage is not None else None,
        "metadata": options.metadata,
    }


def failure_code(err: ProxyError) -> str:
    """The ``error.code`` clients such as Codex act on (wait and retry, stop, shorten the context)."""
    if err.type == "insufficient_quota" or err.code == "insufficient_quota":
        return "insufficient_quota"
    if err.status == 429:
        return "rate_limit_exceeded"
    if err.code == "context_length_exceeded":
        return "context_length_exceeded"
    return "server_error"


def finished_status(reason: str) -> str:
    return "incomplete" if reason in ("length", "content_filter") else "completed"


class ResponseStream:
    """Canonical events -> the Responses stream: one output item at a time, each event numbered."""

    def __init__(self, response_id: str, created_at: int, model: str, options: ResponsesOptions) -> None:
        self.id = response_id
        self.created_at = created_at
        self.model = model
        self.options = options
        self._seq = 0
        self._output: list[dict[str, Any]] = []
        self._open: str | None = None  # "reasoning" | "message" | "call"
        self._item_id = ""
        self._text: list[str] = []
        self._call: ToolCallDelta | None = None  # the open call's first delta (id, name)
        self._frame: tuple[bytes, ...] = ()  # the open text item's delta frame (see _template)

    def _event(self, kind: str, **fields: Any) -> bytes:
        obj = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return encode_event(kind, obj)

    def _response(self, status: str, **kw: Any) -> dict[str, Any]:
        return response_object(self.id, self.created_at, self.model, self.options, status=status, output=self._output, **kw)

    def start(self) -> bytes:
        shell = self._response("in_progress")
        return self._event("response.created", response=shell) + self._event("response.in_progress", response=shell)

    @property
    def _index(self) -> int:
        return len(self._output)

    def _begin(self, kind: str, prefix: str, item: dict[str, Any]) -> bytes:
        out = self._close()
        self._open, self._item_id, self._text = kind, _id(prefix), []
        item["id"] = self._item_id
        return out + self._event("response.output_item.added", output_index=self._index, item=item)

    def _close(self) -> bytes:
        kind, index, item_id, text = self._open, self._index, self._item_id, "".join(self._text)
        if kind is None:
            return b""
        self._open = None
        where = {"item_id": item_id, "output_index": index}
        if kind == "reasoning":
            part = {"type": "summary_text", "text": text}
            item = _reasoning_item(item_id, text)
            out = self._event("response.reasoning_summary_text.done", **where, summary_index=0, text=text)
            out += self._event("response.reasoning_summary_part.done", **where, summary_index=0, part=part)
        elif kind == "message":
            item = _message_item(item_id, text)
            out = self._event("response.output_text.done", **where, content_index=0, text=text, logprobs=[])
            out += self._event("response.content_part.done", **where, content_index=0, part=_text_part(text))
        else:
            assert self._call is not None
            call = ToolCall(self._call.id or _id("call"), self._call.name or "", text)
            item = _call_item(item_id, call, self.options.custom_tools)
            if item["type"] == "custom_tool_call":
                out = self._event("response.custom_tool_call_input.delta", **where, delta=item["input"])
                out += self._event("response.custom_tool_call_input.done", **where, input=item["input"])
            else:
                out = b""
                if not text:  # a call without arguments: "{}", as OpenAI sends, never "" (not JSON)
                    out = self._event("response.function_call_arguments.delta", **where, delta="{}")
                out += self._event("response.function_call_arguments.done", **where, name=call.name, arguments=text or "{}")
        self._output.append(item)
        return out + self._event("response.output_item.done", output_index=index, item=item)

    def _reasoning(self, text: str) -> bytes:
        out = b""
        if self._open != "reasoning":
            out += self._begin("reasoning", "rs", {"type": "reasoning", "summary": []})
            part = {"type": "summary_text", "text": ""}
            out += self._event(
                "response.reasoning_summary_part.added",
                item_id=self._item_id,
                output_index=self._index,
                summary_index=0,
                part=part,
            )
            self._template("response.reasoning_summary_text.delta", summary_index=0)
        return out + self._fill(text)

    def _content(self, text: str) -> bytes:
        out = b""
        if self._open != "message":
            out += self._begin("message", "msg", _message_item("", "", "in_progress"))
            out += self._event(
                "response.content_part.added",
                item_id=self._item_id,
                output_index=self._index,
                content_index=0,
                part=_text_part(""),
            )
            self._template("response.output_text.delta", content_index=0)
        return out + self._fill(text)

    def _template(self, kind: str, **where: int) -> None:
        """The open item's delta frame around its two holes, the sequence number and the text."""
        fields = {"type": kind, "sequence_number": HOLE, "item_id": self._item_id, "output_index": self._index, **where}
        extra: dict[str, Any] = {"logprobs": []} if kind == "response.output_text.delta" else {}
        self._frame = event_template(kind, {**fields, "delta": HOLE, **extra})

    def _fill(self, text: str) -> bytes:
        """One text delta of the open item (most events of an answer): filled in, not built."""
        self._text.append(text)
        head, middle, tail = self._frame
        seq = self._seq
        self._seq += 1
        return head + str(seq).encode() + middle + json_string(text) + tail

    def _calls(self, calls: tuple[ToolCallDelta, ...]) -> bytes:
        out = b""
        for c in calls:
            if self._open != "call" or self._call is None or c.index != self._call.index:
                c = ToolCallDelta(c.index, c.id or _id("call"), c.name or "", c.arguments)
                call = ToolCall(c.id or "", c.name or "", "")
                item = _call_item("", call, self.options.custom_tools, "in_progress")
                out += self._begin("call", "fc", item)
                self._call = c
            self._text.append(c.arguments)
            if c.arguments and self._call.name not in self.options.custom_tools:  # freeform input goes out whole
                out += self._event(
                    "response.function_call_arguments.delta", item_id=self._item_id, output_index=self._index, delta=c.arguments
                )
        return out

    def feed(self, ev: AnswerEvent) -> bytes:
        if isinstance(ev, Delta):
            out = b""
            if ev.reasoning:
                out += self._reasoning(ev.reasoning)
            if ev.content:
                out += self._content(ev.content)
            if ev.tool_calls:
                out += self._calls(ev.tool_calls)
            return out
        if isinstance(ev, Replace):
            return self._content("\n\n" + ev.content) if ev.content else b""
        if isinstance(ev, KeepAlive):
            return PING
        if isinstance(ev, Finish):
            out = self._close()
            status = finished_status(ev.reason)
            final = self._response(status, usage=ev.usage, reason=ev.reason)
            return out + self._event(f"response.{status}", response=final)
        return b""

    def error(self, err: ProxyError) -> bytes:
        return self._event("response.failed", response=self._response("failed", error=err))

"""Poe's OpenAI-compatible API for doors that translate: ChatRequest -> body, chunks -> events.

The Chat Completions door passes its client's body through; the Anthropic and
Responses doors build a canonical ``ChatRequest``, which ``chat_body`` writes
as a Chat Completions body, and read the answer's ``chat.completion.chunk``
frames back as canonical events with ``ChunkReader``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..canonical import AnswerEvent, ChatRequest, Delta, Finish, Message, ToolCallDelta, Usage, finish_reason
from ..catalogue import Model
from ..errors import ProxyError, UpstreamError
from ..estimate import TokenCounter, estimate_prompt_tokens
from ..meter import usage_of
from ..pool import snippet
from ..sse import SSEEvent

__all__ = ["ChunkReader", "chat_body", "is_claude", "refused_fields", "upstream_tool_name"]

THINKING_BUDGET_MAX = 31999  # Poe's declared range for Claude bots' thinking_budget
# Fields the proxy adds or passes on for a translated client that Poe may refuse for one bot (a bot
# without reasoning parameters, an output limit above the model's): asked again without them.
OPTIONAL_FIELDS = ("reasoning_effort", "thinking_budget", "max_tokens")
TOOL_NAME_LIMIT = 64  # OpenAI's function names; Anthropic's reach 128 (MCP tools)


def upstream_tool_name(name: str) -> str:
    """A tool name OpenAI-style upstreams accept: long names shortened, kept unique by a hash."""
    if len(name) <= TOOL_NAME_LIMIT:
        return name
    return f"{name[:55]}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def is_claude(model: Model) -> bool:
    return model.bot.lower().startswith("claude")


def _message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role}
    if m.images:
        parts: list[dict[str, Any]] = [{"type": "text", "text": m.content}] if m.content else []
        for image in m.images:
            url: dict[str, Any] = {"url": image.url}
            if image.detail:
                url["detail"] = image.detail
            parts.append({"type": "image_url", "image_url": url})
        out["content"] = parts
    else:
        out["content"] = m.content if (m.content or not m.tool_calls) else None
    if m.name:
        out["name"] = m.name
    if m.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": upstream_tool_name(c.name), "arguments": c.arguments}}
            for c in m.tool_calls
        ]
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    return out


def chat_body(req: ChatRequest, model: Model, *, hints: bool = True) -> dict[str, Any]:
    """The Chat Completions body for Poe: always streamed, with usage asked for.

    ``hints`` adds the client's reasoning request in the form Poe's bots declare:
    ``thinking_budget`` for Claude bots, ``reasoning_effort`` for the rest.
    """
    body: dict[str, Any] = {
        "model": model.bot,
        "messages": [_message(m) for m in req.messages],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if req.stop:
        body["stop"] = list(req.stop[:4])
    if req.max_tokens is not None:
        body["max_tokens"] = req.max_tokens
    if req.user:
        body["user"] = req.user
    if req.json_mode:
        body["response_format"] = {"type": "json_object"}
    if req.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {"name": upstream_tool_name(t.name), "description": t.description, "parameters": dict(t.parameters)},
            }
            for t in req.tools
        ]
        choice = req.tool_choice
        body["tool_choice"] = (
            choice
            if choice in ("auto", "none", "required")
            else {"type": "function", "function": {"name": upstream_tool_name(choice)}}
        )
        if not req.parallel_tool_calls:
            body["parallel_tool_calls"] = False
    if hints:
        if is_claude(model):
            budget = req.thinking_budget
            if budget is None and req.reasoning_effort in EFFORT_BUDGETS:
                budget = EFFORT_BUDGETS[req.reasoning_effort]
            if budget:
                body["thinking_budget"] = min(budget, THINKING_BUDGET_MAX)
        elif req.reasoning_effort:
            body["reasoning_effort"] = req.reasoning_effort
    return body


# A Claude bot asked for an effort gets a budget of this many tokens.
EFFORT_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 31999}


def refused_fields(err: ProxyError, body: dict[str, Any]) -> tuple[str, ...]:
    """The optional fields of ``body`` that Poe's 400 names: sending again without them may succeed."""
    if err.status != 400:
        return ()
    return tuple(k for k in OPTIONAL_FIELDS if k in body and k in err.message)


class ChunkReader:
    """``chat.completion.chunk`` frames -> canonical events, and the answer's end."""

    def __init__(self, req: ChatRequest) -> None:
        self._req = req
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.done = False
        self._completion = TokenCounter()
        self._reasoning = TokenCounter()
        self._called = False
        # shortened tool names back to the client's
        self._names = {upstream_tool_name(t.name): t.name for t in req.tools if len(t.name) > TOOL_NAME_LIMIT}

    def feed(self, event: SSEEvent) -> list[AnswerEvent]:
        """The events of one frame. Raises UpstreamError for an error frame."""
        data = event.data
        if data == "[DONE]" or data.strip() == "[DONE]":
            self.done = True
            return []
        try:
            chunk = json.loads(data)
        except ValueError:
            return []  # not a chunk (a comment-like line some servers send): nothing to say
        if not isinstance(chunk, dict):
            return []
        error = chunk.get("error")
        if error is not None:
            message = error.get("message") if isinstance(error, dict) else error
            raise UpstreamError(f"Poe stopped the answer: {snippet(str(message))}")
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = usage_of(usage)
        out: list[AnswerEvent] = []
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else ():
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                piece = self._delta(delta)
                if piece:
                    out.append(piece)
            reason = choice.get("finish_reason")
            if isinstance(reason, str) and reason:
                self.finish_reason = reason
        return out

    def _delta(self, delta: dict[str, Any]) -> Delta:
        content = delta.get("content")
        content = content if isinstance(content, str) else ""
        reasoning = delta.get("reasoning_content")
        if not isinstance(reasoning, str):
            reasoning = delta.get("reasoning")
        reasoning = reasoning if isinstance(reasoning, str) else ""
        calls: list[ToolCallDelta] = []
        raw_calls = delta.get("tool_calls")
        for raw in raw_calls if isinstance(raw_calls, list) else ():
            if not isinstance(raw, dict):
                continue
            fn = raw.get("function")
            fn = fn if isinstance(fn, dict) else {}
            index, call_id, name, args = raw.get("index"), raw.get("id"), fn.get("name"), fn.get("arguments")
            calls.append(
                ToolCallDelta(
                    index=index if isinstance(index, int) else len(calls),
                    id=call_id if isinstance(call_id, str) and call_id else None,
                    name=self._names.get(name, name) if isinstance(name, str) and name else None,
                    arguments=args if isinstance(args, str) else "",
                )
            )
            self._completion.add(args if isinstance(args, str) else "")
            self._called = True
        self._completion.add(content)
        self._reasoning.add(reasoning)
        return Delta(content=content, reasoning=reasoning, tool_calls=tuple(calls))

    # the Translator protocol (event_stream.read_answer)

    def step(self, event: SSEEvent, batch: list[AnswerEvent]) -> bool:
        batch.extend(self.feed(event))
        return self.done

    def ended_well(self) -> bool:
        return self.finish_reason is not None  # Poe's last chunk came, if not its [DONE]

    def finish(self) -> list[AnswerEvent]:
        return [Finish(self.final_reason(), self.final_usage())]

    def final_usage(self) -> Usage:
        """Poe's counts where it sent them, else the proxy's estimates."""
        if self.usage is not None:
            return self.usage
        reasoning = self._reasoning.tokens
        return Usage(estimate_prompt_tokens(self._req), self._completion.tokens + reasoning, reasoning)

    def final_reason(self) -> str:
        return finish_reason(self.finish_reason, self._called)

"""The canonical request and answer: what every door produces and every upstream consumes.

A door (a client protocol) parses its JSON into a ``ChatRequest``; an upstream
answers with ``AnswerEvent`` values (``Delta`` pieces, then ``Finish`` or
``Failure``); the door writes them in its own protocol. Dicts exist only at the
JSON edges.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ProxyError

__all__ = [
    "AnswerEvent",
    "Batches",
    "ChatRequest",
    "Delta",
    "Failure",
    "Finish",
    "FunctionTool",
    "ImagePart",
    "KeepAlive",
    "Message",
    "Replace",
    "Role",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "finish_reason",
]

Role = Literal["system", "user", "assistant", "tool"]


# ---------------------------------------------------------------- the request


@dataclass(frozen=True, slots=True)
class ImagePart:
    url: str  # https URL or data: URI
    detail: str | None = None
    param: str = ""  # where it came from, for error messages: messages[1].content[0].image_url.url


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str
    images: tuple[ImagePart, ...] = ()
    name: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True, slots=True)
class FunctionTool:
    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: tuple[Message, ...]
    stream: bool = False
    include_usage: bool = False
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    max_tokens: int | None = None
    user: str | None = None
    tools: tuple[FunctionTool, ...] = ()
    # "auto" | "none" | "required" | a function name
    tool_choice: str = "auto"
    parallel_tool_calls: bool = True
    logit_bias: Mapping[str, float] = field(default_factory=dict)
    json_mode: bool = False
    # reasoning asked for by the client: OpenAI's effort words, Anthropic's token budget
    reasoning_effort: str | None = None
    thinking_budget: int | None = None


# ---------------------------------------------------------------- the answer


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    index: int  # 0, 1, 2... in order of appearance
    id: str | None  # set on a call's first delta
    name: str | None  # set when the name is first known
    arguments: str


@dataclass(frozen=True, slots=True)
class Delta:
    """New answer text, reasoning text or tool-call pieces."""

    content: str = ""
    reasoning: str = ""
    tool_calls: tuple[ToolCallDelta, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.content or self.reasoning or self.tool_calls)


@dataclass(frozen=True, slots=True)
class Replace:
    """The answer so far is replaced (Poe's ``replace_response``).

    A collected answer keeps only this text; a stream, which cannot un-send, gets it after a
    blank line rather than never seeing the final answer.
    """

    content: str
    reasoning: str = ""


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts: Poe's where it reports them, else the proxy's estimates."""

    prompt: int
    completion: int
    reasoning: int = 0


@dataclass(frozen=True, slots=True)
class Finish:
    reason: str  # "stop" | "length" | "tool_calls"
    usage: Usage


def finish_reason(reported: str | None, called_tools: bool) -> str:
    """The answer's finish reason: an answer with tool calls finished for them, whatever the upstream said
    (some providers end one with "stop"; agent loops look for the tool reason), unless it was cut short."""
    if reported == "length":
        return "length"
    if called_tools or reported == "function_call":
        return "tool_calls"
    return reported or "stop"


@dataclass(frozen=True, slots=True)
class Failure:
    """The answer broke after it started: too late for another key."""

    error: ProxyError


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """Nothing new, but the upstream is alive: lets a door keep idle connections open."""


AnswerEvent = Delta | Replace | Finish | Failure | KeepAlive
# An answer: batches of events, one batch per upstream read (a door writes once per batch).
Batches = AsyncGenerator[list[AnswerEvent], None]

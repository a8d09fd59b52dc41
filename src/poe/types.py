"""Typed values that flow through the proxy. Dicts exist only at the JSON edges."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = [
    "ChatRequest",
    "FunctionTool",
    "HttpClient",
    "ImagePart",
    "KeyValueStore",
    "Message",
    "OutboundRequest",
    "Request",
    "Response",
    "Role",
    "Runtime",
    "ToolCall",
    "UpstreamResponse",
]

Role = Literal["system", "user", "assistant", "tool"]


# ---------------------------------------------------------------- OpenAI request


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
    stop: tuple[str, ...] = ()
    max_tokens: int | None = None
    user: str | None = None
    tools: tuple[FunctionTool, ...] = ()
    # "auto" | "none" | "required" | a function name
    tool_choice: str = "auto"
    parallel_tool_calls: bool = True
    logit_bias: Mapping[str, float] = field(default_factory=dict)
    json_mode: bool = False
    reasoning: bool | None = None  # per-request override of REASONING_SPLIT


# ---------------------------------------------------------------- HTTP, in and out


@dataclass(frozen=True, slots=True)
class Request:
    """An incoming request, already read by the edge."""

    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""
    query: str = ""


@dataclass(frozen=True, slots=True)
class Response:
    """What the core answers. A streamed body is an async iterator of bytes."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes | AsyncIterator[bytes] = b""


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: AsyncIterator[bytes]
    close: Callable[[], Awaitable[None]]  # cancel the body; safe to call twice


class HttpClient(Protocol):
    async def send(self, request: OutboundRequest) -> UpstreamResponse: ...


class KeyValueStore(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str, ttl: int | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class Runtime:
    """What the core may use of the outside world, injected by the edge."""

    http: HttpClient
    kv: KeyValueStore | None
    clock: Callable[[], float]  # seconds since the epoch
    defer: Callable[[Awaitable[Any]], None]  # run after the response (ctx.waitUntil)
    log: Callable[[str], None]
    redact: Callable[[str], str] = str  # removes configured secrets from text (set by the app)

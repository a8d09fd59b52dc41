"""What the core sees of HTTP and the outside world; the edges provide it.

A request arrives read (``Request``); the core answers with a ``Response`` whose
body is bytes, an async iterator of bytes (Python writes every chunk), or a
``Passthrough``: an upstream response the edge hands to the client as it is
(the Workers edge pipes the JS stream; no Python per chunk).
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .meter import HEAD_BYTES as HEAD
from .meter import TAIL_BYTES as TAIL
from .meter import Ends

if TYPE_CHECKING:  # types only: the core's modules import this one
    from .ledger import LedgerStore
    from .meter import Meter

__all__ = [
    "HttpClient",
    "KeyValueStore",
    "OutboundRequest",
    "Passthrough",
    "Relay",
    "Request",
    "Response",
    "Runtime",
    "UpstreamResponse",
]


@dataclass(frozen=True, slots=True)
class Request:
    """An incoming request, already read by the edge."""

    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""
    query: str = ""


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
    body: AsyncIterator[bytes]  # read lazily: an edge that pipes ``native`` never starts it
    close: Callable[[], Awaitable[None]]  # cancel the body; safe to call twice
    native: Any = None  # the edge's own body object (a JS ReadableStream), for Passthrough


@dataclass(frozen=True, slots=True)
class Passthrough:
    """An upstream body sent to the client untouched; ``ends`` (if set) gets its first and last bytes
    once it has ended (see ``meter.py``): the edge keeps them without running Python per chunk."""

    upstream: UpstreamResponse
    ends: Ends | None = None


@dataclass(frozen=True, slots=True)
class Response:
    """What the core answers."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes | AsyncIterator[bytes] | Passthrough = b""


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
    ledger: LedgerStore | None = None  # the deployment's ledger (a Durable Object), when the edge has one
    meter: Meter | None = None  # the request's usage account (set by the app for client requests)


class Relay:
    """A passed-through body read in Python (one an edge or the app must watch). The upstream is closed
    however the copy ends, also when it is closed before its first chunk (where an async generator's
    ``finally`` would never run); its ends go to ``body.ends`` if it was read whole."""

    def __init__(self, body: Passthrough) -> None:
        self._upstream = body.upstream
        self._chunks = body.upstream.body.__aiter__()
        self._ends = body.ends
        self._head = b""
        self._tail: deque[bytes] = deque()
        self._kept = 0
        self._closed = False

    def __aiter__(self) -> Relay:
        return self

    async def __anext__(self) -> bytes:
        try:
            chunk = await self._chunks.__anext__()
        except StopAsyncIteration:
            await self.aclose()
            if self._ends is not None:
                self._ends(self._head, b"".join(self._tail)[-TAIL:])
            raise
        except BaseException:
            await self.aclose()
            raise
        if self._ends is not None:
            if len(self._head) < HEAD:
                self._head += chunk[: HEAD - len(self._head)]
            self._tail.append(chunk)
            self._kept += len(chunk)
            while self._kept - len(self._tail[0]) >= TAIL:
                self._kept -= len(self._tail.popleft())
        return chunk

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._upstream.close()

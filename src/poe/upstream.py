"""Calling a Poe bot: send the query, read events, classify failures.

``open_bot`` returns once the first meaningful event has arrived (or the bot
finished with nothing): that is the last moment a failure can still be
answered by trying another key, so everything before it is classified into
an ``AttemptFailed`` (retry elsewhere) or a client error (do not retry).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
from collections import deque
from collections.abc import AsyncIterator
from typing import Literal

from .errors import InvalidRequest, NotFound, ProxyError, UpstreamError, UpstreamTimeout
from .events import Done, PoeErrorEvent, PoeEvent, is_meaningful, parse_event
from .sse import SSEDecoder
from .types import OutboundRequest, Runtime, UpstreamResponse

__all__ = ["AttemptFailed", "BotStream", "FailureKind", "classify_error_event", "classify_status", "open_bot"]

FailureKind = Literal["invalid_key", "out_of_points", "rate_limited", "unavailable", "timeout"]

# Poe error types caused by the request itself: another key would fail the same way.
CLIENT_ERROR_TYPES = frozenset({"user_message_too_long", "user_caused_error", "privacy_authorization_error"})
# Poe's own wording for an exhausted key; generic words ("quota") from a bot's own backend must not cool keys.
_QUOTA = re.compile(r"enough (compute )?points|insufficient[ _]fund|out of (compute )?points|run out of (compute )?points", re.I)
# Only explicit rate-limit wording: "try again later" alone is a generic bot error, not a key problem.
_RATE = re.compile(r"rate[ _-]?limit|too many requests|slow down", re.I)
MAX_RETRY_AFTER = 86400.0
DRAIN_SECONDS = 0.5
ERROR_BODY_SECONDS = 5.0
DRAIN_BYTES = 65536


class AttemptFailed(Exception):
    """A failure that another key may not have. ``detail`` is safe to show."""

    def __init__(self, kind: FailureKind, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.kind: FailureKind = kind
        self.detail = detail
        self.retry_after = retry_after


def classify_status(status: int, retry_after: float | None, body_text: str) -> AttemptFailed | ProxyError:
    """Map a non-200 upstream status to a retryable failure or a client error."""
    snippet = _snippet(body_text)
    if status in (401, 403):
        return AttemptFailed("invalid_key", f"Poe rejected the API key (HTTP {status})")
    if status == 402:
        return AttemptFailed("out_of_points", "the Poe key is out of compute points (HTTP 402)")
    if status == 429:
        return AttemptFailed("rate_limited", "the Poe key hit a rate limit (HTTP 429)", retry_after)
    if status >= 500 or status == 408:
        return AttemptFailed("unavailable", f"Poe answered HTTP {status}")
    if status == 404:
        return NotFound("Poe has no bot by this name (upstream HTTP 404).", param="model", code="model_not_found")
    if status == 400:
        return InvalidRequest(f"Poe rejected the request: {snippet}" if snippet else "Poe rejected the request (HTTP 400).")
    return UpstreamError(f"Poe answered HTTP {status}" + (f": {snippet}" if snippet else "."))


def classify_error_event(ev: PoeErrorEvent) -> AttemptFailed | ProxyError:
    """Map a Poe ``error`` event to a retryable failure or a client error."""
    text = _snippet(ev.text) or "The bot reported an error."
    if ev.error_type in CLIENT_ERROR_TYPES:
        return InvalidRequest(f"Poe refused the request: {text}", code=ev.error_type)
    if ev.error_type == "insufficient_fund" or _QUOTA.search(ev.text):
        return AttemptFailed("out_of_points", "the Poe key is out of compute points")
    if ev.error_type in ("rate_limit", "rate_limit_exceeded") or _RATE.search(ev.text):
        return AttemptFailed("rate_limited", "the Poe key hit a rate limit")
    return UpstreamError(f"The bot reported an error: {text}", code=ev.error_type or "upstream_error")


def _snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # HTTP-date form: rare for APIs; fall back to the default
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER)


class BotStream:
    """Events of one upstream answer. Buffered events come first, then the rest."""

    def __init__(self, response: UpstreamResponse, idle_timeout: float) -> None:
        self._response = response
        self._body: AsyncIterator[bytes] = response.body.__aiter__()
        self._decoder = SSEDecoder()
        self._queue: deque[PoeEvent] = deque()
        self.idle_timeout = idle_timeout
        self._ended = False
        self.saw_done = False

    async def next(self, wait: float | None = None) -> PoeEvent | None:
        """The next event, None at the end of the body. Raises TimeoutError."""
        while not self._queue:
            if self._ended:
                return None
            try:
                chunk = await asyncio.wait_for(anext(self._body), wait or self.idle_timeout)
            except StopAsyncIteration:
                self._ended = True
                self._queue.extend(parse_event(e) for e in self._decoder.close())
                continue
            self._queue.extend(parse_event(e) for e in self._decoder.feed(chunk))
        event = self._queue.popleft()
        if isinstance(event, Done):
            self.saw_done = True
        return event

    def push_front(self, events: list[PoeEvent]) -> None:
        self._queue.extendleft(reversed(events))

    def has_buffered(self) -> bool:
        """True when the next event is already decoded (no network wait)."""
        return bool(self._queue)

    async def close(self) -> None:
        if self.saw_done and not self._ended:
            # read the (tiny) rest after `done` so the connection can be reused, not torn down
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._drain(), DRAIN_SECONDS)
        await self._response.close()

    async def _drain(self) -> None:
        size = 0
        async for chunk in self._body:
            size += len(chunk)
            if size > DRAIN_BYTES:
                return
        self._ended = True


async def open_bot(
    rt: Runtime,
    url: str,
    key: str,
    body: bytes,
    *,
    connect_timeout: float,
    deadline: float,
    idle_timeout: float,
) -> BotStream:
    """POST the query; return once the answer has started. Raises AttemptFailed or ProxyError."""
    request = OutboundRequest(
        method="POST",
        url=url,
        headers={
            "authorization": f"Bearer {key}",
            "content-type": "application/json",
            "accept": "text/event-stream",
        },
        body=body,
    )
    try:
        response = await asyncio.wait_for(rt.http.send(request), connect_timeout)
    except TimeoutError:
        raise AttemptFailed("timeout", f"Poe did not answer within {connect_timeout:g} s") from None
    except ProxyError:
        raise
    except Exception as exc:  # the transport's own errors: unreachable, reset, DNS
        raise AttemptFailed("unavailable", f"could not reach Poe ({type(exc).__name__})") from None

    if response.status != 200:
        try:
            text = await asyncio.wait_for(_read_some(response), ERROR_BODY_SECONDS)
        except TimeoutError:
            text = ""
        await response.close()
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        failure = classify_status(response.status, retry_after, text)
        raise failure

    stream = BotStream(response, idle_timeout)
    loop = asyncio.get_running_loop()
    first_event_timeout = max(0.0, deadline - loop.time())
    held: list[PoeEvent] = []
    try:
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            event = await stream.next(remaining)
            if event is None:
                raise AttemptFailed("unavailable", "Poe closed the connection before answering")
            if isinstance(event, PoeErrorEvent):
                raise classify_error_event(event)
            held.append(event)
            if is_meaningful(event) or isinstance(event, Done):
                stream.push_front(held)
                return stream
    except TimeoutError:
        # the request's whole TIMEOUT is spent and the bot is slow, not the key: no cool-down, no retry
        await stream.close()
        raise UpstreamTimeout(
            f"The bot did not start answering within the proxy's TIMEOUT ({first_event_timeout:g} s left)."
        ) from None
    except BaseException:
        await stream.close()
        raise


async def read_head(response: UpstreamResponse, limit: int) -> bytes:
    """The start of a small or error body: reading stops once ``limit`` bytes are in."""
    data = b""
    async for chunk in response.body:
        data += chunk
        if len(data) >= limit:
            break
    return data


async def _read_some(response: UpstreamResponse, limit: int = 4096) -> str:
    """Read the start of an error body for its message (bounded, never fails)."""
    try:
        data = await read_head(response, limit)
    except Exception:
        data = b""
    return data[:limit].decode("utf-8", "replace")

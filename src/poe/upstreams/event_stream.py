"""One upstream answer read as server-sent events, with a watchdog for stalls.

Both upstreams stream SSE: the bot protocol's events and the OpenAI-compatible
API's chunks. ``EventStream`` decodes them lazily, lets the commit-point logic
hold events and put them back, and ends a stalled stream through one
``Watchdog`` per answer rather than a timer per read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, Protocol, TypeVar

from ..canonical import AnswerEvent, Batches, Failure
from ..errors import ProxyError, UpstreamError, UpstreamTimeout
from ..http import UpstreamResponse
from ..sse import SSEDecoder, SSEEvent

__all__ = ["EventStream", "Translator", "Watchdog", "mid_stream_error", "read_answer"]

E = TypeVar("E")
DRAIN_SECONDS = 0.5
DRAIN_BYTES = 65536


class Watchdog:
    """Calls ``on_stall`` once nothing arrived for ``idle`` seconds (detected within 1.25 × idle).

    A timer wakes every idle/4 seconds and compares a progress counter; the read path only
    increments it, which is far cheaper than a timeout around every read.
    """

    CHECKS = 4

    def __init__(self, idle: float, on_stall: Callable[[], Any]) -> None:
        self.progress = 0
        self.fired = False
        self._period = idle / self.CHECKS
        self._seen = -1
        self._quiet = 0
        self._on_stall = on_stall
        self._loop = asyncio.get_running_loop()
        self._handle = self._loop.call_later(self._period, self._check)

    def _check(self) -> None:
        if self.progress != self._seen:
            self._seen, self._quiet = self.progress, 0
        else:
            self._quiet += 1
            if self._quiet >= self.CHECKS:
                self.fired = True
                self._on_stall()
                return
        self._handle = self._loop.call_later(self._period, self._check)

    def stop(self) -> None:
        self._handle.cancel()


class EventStream(Generic[E]):
    """Events of one upstream answer. Buffered events come first, then the rest.

    ``parse`` turns an SSE event into the upstream's own event type; ``is_done`` tells the
    event that ends an answer (after it the rest of the body is drained, not torn down).
    """

    def __init__(self, response: UpstreamResponse, parse: Callable[[SSEEvent], E], is_done: Callable[[E], bool]) -> None:
        self._response = response
        self._parse = parse
        self._is_done = is_done
        self._body: AsyncIterator[bytes] = response.body.__aiter__()
        self._decoder = SSEDecoder()
        self._queue: deque[E] = deque()
        self._ended = False
        self.saw_done = False
        self.watchdog: Watchdog | None = None

    def watch(self, idle: float) -> None:
        """From the commit point on: end the stream when Poe goes silent for ``idle`` seconds."""
        self.watchdog = Watchdog(idle, lambda: asyncio.ensure_future(self._response.close()))

    async def next(self) -> E | None:
        """The next event, None at the end of the body. Raises TimeoutError when the watchdog fired."""
        while not self._queue:
            if self._ended:
                return None
            try:
                chunk = await anext(self._body)
            except StopAsyncIteration:
                self._ended = True
                self._check_stall()
                self._queue.extend(self._parse(e) for e in self._decoder.close())
                continue
            except Exception:
                self._check_stall()
                raise
            if self.watchdog is not None:
                self.watchdog.progress += 1
            self._queue.extend(self._parse(e) for e in self._decoder.feed(chunk))
        event = self._queue.popleft()
        if self._is_done(event):
            self.saw_done = True
        return event

    def _check_stall(self) -> None:
        if self.watchdog is not None and self.watchdog.fired:
            raise TimeoutError

    def push_front(self, events: list[E]) -> None:
        self._queue.extendleft(reversed(events))

    def has_buffered(self) -> bool:
        """True when the next event is already decoded (no network wait)."""
        return bool(self._queue)

    async def close(self) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()
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


def mid_stream_error(exc: BaseException, idle: float) -> ProxyError:
    """What a client is told when the answer broke after it started."""
    if isinstance(exc, ProxyError):
        return exc
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout(f"Poe stopped sending for {idle:g} s; the answer is incomplete.")
    return UpstreamError("The connection to Poe broke; the answer is incomplete.")


E_contra = TypeVar("E_contra", contravariant=True)


class Translator(Protocol[E_contra]):
    """One upstream's events -> canonical events (the rest of reading an answer is shared)."""

    def step(self, event: E_contra, batch: list[AnswerEvent]) -> bool:
        """Add the event's canonical events to ``batch``; True at the answer's end. Raises ProxyError."""
        ...

    def ended_well(self) -> bool:
        """Whether a body that just ended held a whole answer (else it was cut short)."""
        ...

    def finish(self) -> list[AnswerEvent]:
        """The answer's last events (what was held back, then ``Finish``)."""
        ...


async def read_answer(stream: EventStream[E], translator: Translator[E], idle: float) -> Batches:
    """An answer as canonical events, one batch per upstream read (each write costs a JS round trip);
    a failure after the commit point ends it with ``Failure``; the upstream is always closed."""
    batch: list[AnswerEvent] = []
    failure: ProxyError | None = None
    try:
        while True:
            if batch and not stream.has_buffered():
                yield batch
                batch = []
            try:
                event = await stream.next()
            except Exception as exc:  # a stall or a broken connection after commit
                failure = mid_stream_error(exc, idle)
                break
            if event is None:
                if not translator.ended_well():
                    failure = UpstreamError("Poe closed the stream early; the answer is incomplete.")
                break
            try:
                if translator.step(event, batch):
                    break
            except ProxyError as err:
                failure = err
                break
        batch.extend([Failure(failure)] if failure is not None else translator.finish())
        yield batch
    finally:
        await stream.close()

"""A canonical answer written as a door's stream: one write per batch, always a proper end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from ..canonical import AnswerEvent, Batches, Failure, Finish
from ..errors import ProxyError
from ..http import Runtime

__all__ = ["StreamWriter", "write_stream"]


class StreamWriter(Protocol):
    def feed(self, ev: AnswerEvent) -> bytes:
        """The bytes of one event (``Failure`` aside)."""
        ...

    def error(self, err: ProxyError) -> bytes:
        """The protocol's error event and whatever must follow it."""
        ...


async def write_stream(batches: Batches, writer: StreamWriter, rt: Runtime, head: bytes = b"") -> AsyncIterator[bytes]:
    """``head``, then the answer; an upstream failure or a bug ends it with the protocol's error event.

    The answer is opened (at its commit point) before this runs, so its first batch is at hand.
    """
    try:
        async for batch in batches:
            # head goes out with the first batch: once started, the upstream's generator closes
            # (and cancels the upstream request) with this one, however early the client leaves
            out, head = head, b""
            for ev in batch:
                if isinstance(ev, Failure):
                    ev.error.message = rt.redact(ev.error.message)
                    out += writer.error(ev.error)
                else:
                    out += writer.feed(ev)
            if batch and type(batch[-1]) is Finish and rt.meter is not None:  # an answer's Finish ends its batch
                rt.meter.tokens(batch[-1].usage)
            if out:
                yield out
        if head:  # an answer without a single batch: still a well-formed (empty) start
            yield head
    except Exception as exc:  # a bug must still end the stream properly
        rt.log(f"internal error while streaming: {type(exc).__name__}")
        yield head + writer.error(ProxyError("The proxy hit an internal error; the answer is incomplete."))
    finally:
        await batches.aclose()

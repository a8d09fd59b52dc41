"""A request's account: the usage Poe reported in a body the proxy passed through untouched, read from
its first and last bytes, and the relay that keeps those ends however the body is cut."""

from __future__ import annotations

import json

import pytest

from poe.canonical import Usage
from poe.http import Passthrough, Relay, UpstreamResponse
from poe.meter import HEAD_BYTES, TAIL_BYTES, Meter, passthrough_usage


def frame(obj: dict, event: str | None = None) -> bytes:
    return (f"event: {event}\n" if event else "").encode() + b"data: " + json.dumps(obj).encode() + b"\n\n"


def openai_stream(n: int, usage: bool) -> bytes:
    chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "word "}}]}
    body = b"".join(frame({**chunk, "usage": None} if usage else chunk) for _ in range(n))
    if usage:
        body += frame(
            {"id": "chatcmpl-1", "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": 12 + n}}
        )
    return body + b"data: [DONE]\n\n"


def anthropic_stream(n: int) -> bytes:
    start = {
        "type": "message_start",
        "message": {"id": "msg_1", "usage": {"input_tokens": 20, "cache_read_input_tokens": 5, "output_tokens": 1}},
    }
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "word "}}
    end = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": n}}
    return (
        frame(start, "message_start")
        + b"".join(frame(delta, "content_block_delta") for _ in range(n))
        + frame(end, "message_delta")
        + frame({"type": "message_stop"}, "message_stop")
    )


def ends(body: bytes) -> tuple[bytes, bytes]:
    return body[:HEAD_BYTES], body[-TAIL_BYTES:]


@pytest.mark.parametrize("n", [1, 40, 2000])
def test_an_openai_stream_with_its_usage_chunk(n: int) -> None:
    assert passthrough_usage("openai", *ends(openai_stream(n, usage=True))) == Usage(12, n)


def test_an_openai_stream_without_one_says_nothing() -> None:
    assert passthrough_usage("openai", *ends(openai_stream(50, usage=False))) is None
    body = openai_stream(3, usage=True)
    assert passthrough_usage("openai", b"", body[: body.rfind(b"total_tokens")]) is None  # cut inside the object


@pytest.mark.parametrize("n", [1, 3000])
def test_an_anthropic_stream_from_its_start_and_end(n: int) -> None:
    assert passthrough_usage("anthropic", *ends(anthropic_stream(n))) == Usage(25, n)


def test_an_anthropic_json_body() -> None:
    body = json.dumps(
        {"id": "msg_1", "content": [{"type": "text", "text": "x" * 20_000}], "usage": {"input_tokens": 9, "output_tokens": 4}}
    ).encode()
    assert passthrough_usage("anthropic", *ends(body)) == Usage(9, 4)


class Body:
    def __init__(self, data: bytes, size: int) -> None:
        self.chunks = [data[i : i + size] for i in range(0, len(data), size)]
        self.closed = False

    def response(self) -> UpstreamResponse:
        async def body():  # type: ignore[no-untyped-def]
            for chunk in self.chunks:
                yield chunk

        async def close() -> None:
            self.closed = True

        return UpstreamResponse(200, {}, body(), close)


@pytest.mark.parametrize("size", [1, 7, 1000, 100_000])
async def test_relay_hands_over_the_ends_however_the_body_is_cut(size: int) -> None:
    data = anthropic_stream(500)
    got: list[tuple[bytes, bytes]] = []
    source = Body(data, size)
    out = b"".join([chunk async for chunk in Relay(Passthrough(source.response(), lambda h, t: got.append((h, t))))])
    assert out == data and source.closed
    assert got == [ends(data)]


async def test_relay_of_a_body_left_early_reports_nothing() -> None:
    got: list[tuple[bytes, bytes]] = []
    source = Body(anthropic_stream(50), 100)
    stream = Relay(Passthrough(source.response(), lambda h, t: got.append((h, t))))
    await stream.__anext__()
    await stream.aclose()
    assert source.closed and got == []


def test_the_meter_counts_a_passthrough_for_the_token_and_the_key() -> None:
    sunk: list[tuple[int | None, str | None, dict[str, int]]] = []
    meter = Meter(lambda: "claude-sonnet-4.5", lambda *a: sunk.append(a))
    meter.attempt(1, "answered")
    meter.passthrough("anthropic")(*ends(anthropic_stream(7)))
    counts = {"input_tokens": 25, "output_tokens": 7, "metered": 1}
    assert sunk == [
        (1, "claude-sonnet-4.5", {"answered": 1}),
        (None, "claude-sonnet-4.5", counts),
        (1, "claude-sonnet-4.5", counts),
    ]


async def test_relay_closed_before_its_first_chunk_closes_the_upstream() -> None:
    got: list[tuple[bytes, bytes]] = []
    source = Body(anthropic_stream(5), 10)
    stream = Relay(Passthrough(source.response(), lambda h, t: got.append((h, t))))
    await stream.aclose()  # the client left while the answer was being opened
    assert source.closed and got == []

"""How a benchmark reads an answer: SSE blocks, and the events of the Anthropic and Responses streams.

Shared by the sequential scenarios (bench/run.py) and the load run (bench/load.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator


class BenchError(Exception):
    pass


def sse_blocks(buffer: bytearray) -> Iterator[tuple[str, str]]:
    """(event, data) for each complete SSE block in ``buffer`` (consumed); bytes are decoded per block."""
    while True:
        ends = [(i, n) for i, n in ((buffer.find(b"\r\n\r\n"), 4), (buffer.find(b"\n\n"), 2)) if i >= 0]
        if not ends:
            return
        i, n = min(ends)
        block = bytes(buffer[:i]).decode()
        del buffer[: i + n]
        event, data = "message", []
        for line in block.replace("\r\n", "\n").split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data or event != "message":
            yield event, "\n".join(data)


def anthropic_event(event: str, data: str, done: bool) -> tuple[str, bool]:
    """(text, done) of one Anthropic Messages stream event: text from text_delta, the end at message_stop."""
    if event == "ping":
        return "", done
    obj = json.loads(data)
    if event != obj.get("type"):
        raise BenchError(f"event {event!r} with data of type {obj.get('type')!r}")
    if event == "error":
        raise BenchError(f"error event: {data[:200]}")
    if done:
        raise BenchError(f"{event} after message_stop")
    if event == "content_block_delta" and obj["delta"]["type"] == "text_delta":
        return obj["delta"]["text"], False
    return "", event == "message_stop"


def responses_event(event: str, data: str, done: bool) -> tuple[str, bool]:
    """(text, done) of one Responses stream event: text from response.output_text.delta, the end at response.completed."""
    obj = json.loads(data)
    if event != obj.get("type"):
        raise BenchError(f"event {event!r} with data of type {obj.get('type')!r}")
    if event in ("error", "response.failed", "response.incomplete"):
        raise BenchError(f"{event}: {data[:200]}")
    if done:
        raise BenchError(f"{event} after response.completed")
    if event == "response.output_text.delta":
        return obj["delta"], False
    return "", event == "response.completed"

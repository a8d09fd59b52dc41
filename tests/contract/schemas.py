"""Strict checks of Anthropic Messages and OpenAI Responses bodies and streams, against the official SDKs' own types.

Every object is validated with pydantic's strict mode against the SDK's model (``anthropic.types.Message``,
``RawMessageStreamEvent``, ``openai.types.responses.Response``, ``ResponseStreamEvent``): a missing field, a wrong
type or an unknown ``type`` fails. The stream checkers also enforce the framing (an ``event:`` line naming the data's
``type``) and the event order each protocol promises, and return the decoded events.
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import anthropic
import pydantic
from anthropic.types import shared as anthropic_shared
from openai.types import responses as oai

__all__ = [
    "anthropic_error",
    "anthropic_message",
    "anthropic_stream",
    "assemble_anthropic",
    "response_object",
    "responses_stream",
    "sse_frames",
]

Json = dict[str, Any]

_MESSAGE = pydantic.TypeAdapter(anthropic.types.Message)
_MESSAGE_EVENT = pydantic.TypeAdapter(anthropic.types.RawMessageStreamEvent)
_ANTHROPIC_ERROR = pydantic.TypeAdapter(anthropic_shared.ErrorResponse)
_RESPONSE = pydantic.TypeAdapter(oai.Response)
_RESPONSE_EVENT = pydantic.TypeAdapter(oai.ResponseStreamEvent)


# ---------------------------------------------------------------- SSE framing


def sse_frames(raw: bytes) -> list[tuple[str | None, str]]:
    """(event name, data) per SSE event, by the SSE rules: LF/CRLF/CR line ends, comments skipped, several
    ``data:`` lines joined with newlines. The body must end at a frame boundary (no half-written event)."""
    text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    assert lines.pop() == "", f"the stream ends inside a line: {text[-300:]!r}"
    frames: list[tuple[str | None, str]] = []
    event: str | None = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                frames.append((event, "\n".join(data)))
            event, data = None, []
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
    assert not data, f"the stream ends inside an event: {text[-300:]!r}"
    return frames


def _typed_frames(raw: bytes) -> list[Json]:
    """Each frame's JSON data; its ``event:`` line must name the data's ``type``. A final ``data: [DONE]`` is allowed."""
    frames = sse_frames(raw)
    if frames and frames[-1] == (None, "[DONE]"):
        frames = frames[:-1]
    out: list[Json] = []
    for event, data in frames:
        obj = json.loads(data)
        assert isinstance(obj, dict) and isinstance(obj.get("type"), str), f"an SSE frame without a type: {data[:300]}"
        assert event == obj["type"], f"frame `event: {event}` carries data of type {obj['type']!r}"
        out.append(obj)
    assert out, "an empty stream"
    return out


# ---------------------------------------------------------------- Anthropic Messages


def anthropic_message(obj: Any) -> anthropic.types.Message:
    """A non-streamed Messages answer, strictly as the SDK's ``Message``."""
    assert isinstance(obj, dict), obj
    return _MESSAGE.validate_python(obj, strict=True)


def anthropic_error(body: Any, error_type: str | None = None) -> Json:
    """``{"type": "error", "error": {"type", "message"}}`` (``request_id`` allowed); the SDK's ``ErrorResponse``
    when the type is one the SDK models. Returns the inner error object."""
    assert isinstance(body, dict) and body.get("type") == "error", body
    assert set(body) <= {"type", "error", "request_id"}, body
    err = body["error"]
    assert isinstance(err, dict) and isinstance(err.get("type"), str) and isinstance(err.get("message"), str), body
    assert err["message"] and "Traceback" not in err["message"]
    if error_type is not None:
        assert err["type"] == error_type, body
    if err["type"] not in ("request_too_large", "timeout_error"):  # Anthropic's, but not in the SDK's union
        _ANTHROPIC_ERROR.validate_python(body, strict=True)
    return dict(err)


_DELTAS_FOR_BLOCK = {
    "text": {"text_delta", "citations_delta"},
    "thinking": {"thinking_delta", "signature_delta"},
    "redacted_thinking": set(),
    "tool_use": {"input_json_delta"},
}


def anthropic_stream(raw: bytes) -> list[Json]:
    """A streamed Messages answer: every event strictly valid, in Anthropic's order. Returns the events (pings too).

    ``message_start`` (empty content), then per block ``content_block_start`` / ``content_block_delta``* /
    ``content_block_stop`` with indexes 0, 1, 2..., then one ``message_delta`` and ``message_stop``. ``ping`` may
    come anywhere after ``message_start``. An ``error`` event may end the stream at any point (nothing after it).
    """
    events = _typed_frames(raw)
    started = delta_seen = ended = False
    open_block: tuple[int, str] | None = None
    next_index = 0
    for i, ev in enumerate(events):
        kind = ev["type"]
        where = f"event {i} ({kind})"
        assert not ended, f"{where} after the stream ended (message_stop or error)"
        if kind == "error":
            anthropic_error(ev)
            ended = True
            continue
        if kind == "ping":
            assert started, f"{where} before message_start"
            assert ev == {"type": "ping"}, ev
            continue
        _MESSAGE_EVENT.validate_python(ev, strict=True)
        if kind == "message_start":
            assert not started, f"{where}: a second message_start"
            assert i == 0, f"{where} is not the first event"
            message = ev["message"]
            assert message["content"] == [], f"message_start carries content: {message['content']}"
            assert message.get("stop_reason") is None, message
            started = True
            continue
        assert started, f"{where} before message_start"
        if kind == "content_block_start":
            assert open_block is None, f"{where} while block {open_block} is still open"
            assert not delta_seen, f"{where} after message_delta"
            assert ev["index"] == next_index, f"{where}: index {ev['index']}, expected {next_index}"
            open_block = (ev["index"], ev["content_block"]["type"])
        elif kind == "content_block_delta":
            assert open_block is not None and ev["index"] == open_block[0], f"{where} for a block that is not open"
            allowed = _DELTAS_FOR_BLOCK.get(open_block[1], set())
            assert ev["delta"]["type"] in allowed, f"{where}: {ev['delta']['type']} inside a {open_block[1]} block"
        elif kind == "content_block_stop":
            assert open_block is not None and ev["index"] == open_block[0], f"{where} for a block that is not open"
            open_block = None
            next_index += 1
        elif kind == "message_delta":
            assert open_block is None, f"{where} while block {open_block} is still open"
            assert not delta_seen, f"{where}: a second message_delta"
            assert ev["delta"].get("stop_reason"), f"{where} without a stop_reason"
            delta_seen = True
        elif kind == "message_stop":
            assert delta_seen, f"{where} without a message_delta before it"
            ended = True
    assert ended, f"the stream ends without message_stop or error: {[e['type'] for e in events][-5:]}"
    return events


def assemble_anthropic(events: list[Json]) -> Json:
    """The message a client builds from the stream's events (tool inputs parsed from their JSON pieces)."""
    message: Json = {}
    pieces: dict[int, str] = {}
    for ev in events:
        kind = ev["type"]
        if kind == "message_start":
            message = copy.deepcopy(ev["message"])
        elif kind == "content_block_start":
            message["content"].append(copy.deepcopy(ev["content_block"]))
        elif kind == "content_block_delta":
            block, delta = message["content"][ev["index"]], ev["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            elif delta["type"] == "input_json_delta":
                pieces[ev["index"]] = pieces.get(ev["index"], "") + delta["partial_json"]
        elif kind == "content_block_stop" and ev["index"] in pieces:
            message["content"][ev["index"]]["input"] = json.loads(pieces[ev["index"]])
        elif kind == "message_delta":
            message.update({k: v for k, v in ev["delta"].items() if k in ("stop_reason", "stop_sequence")})
            message["usage"] = {**message["usage"], **{k: v for k, v in ev["usage"].items() if v is not None}}
    return message


# ---------------------------------------------------------------- OpenAI Responses


def response_object(obj: Any) -> oai.Response:
    """A non-streamed Responses answer, strictly as the SDK's ``Response``."""
    assert isinstance(obj, dict), obj
    return _RESPONSE.validate_python(obj, strict=True)


_TERMINAL = {"response.completed": "completed", "response.failed": "failed", "response.incomplete": "incomplete"}


class _Item:
    """One output item being streamed: what its deltas have built so far."""

    def __init__(self, index: int, item: Json) -> None:
        self.index = index
        self.id = item.get("id")
        self.type = item["type"]
        self.parts: list[str] = []  # message: output_text parts
        self.part_open = False
        self.arguments = ""  # function_call
        self.args_done = False
        self.summaries: list[str] = []  # reasoning: summary parts
        self.summary_open = False
        self.summary_text_done = False


def responses_stream(raw: bytes) -> list[Json]:
    """A streamed Responses answer: every event strictly valid, ``sequence_number`` 0, then strictly increasing,
    ``response.created``, ``response.in_progress``, then each output item in turn (added, its parts and deltas,
    done), and one terminal event (``response.completed``, ``.failed`` or ``.incomplete``) last, whose
    ``response.output`` is the items as their ``output_item.done`` events gave them. Returns the events."""
    events = _typed_frames(raw)
    for ev in events:
        _RESPONSE_EVENT.validate_python(ev, strict=True)
    numbers = [ev["sequence_number"] for ev in events]
    assert numbers[0] == 0, f"the first sequence_number is {numbers[0]}"
    assert all(a < b for a, b in itertools.pairwise(numbers)), f"sequence numbers not increasing: {numbers}"
    kinds = [ev["type"] for ev in events]
    assert kinds[:2] == ["response.created", "response.in_progress"], kinds[:3]
    assert kinds[-1] in _TERMINAL, f"the stream ends with {kinds[-1]}"
    assert sum(k in _TERMINAL for k in kinds) == 1, kinds
    response_id = events[0]["response"]["id"]
    for ev in (events[0], events[1], events[-1]):
        assert ev["response"]["id"] == response_id, "the response id changes within the stream"
    assert events[0]["response"]["status"] == events[1]["response"]["status"] == "in_progress"

    done: list[Json] = []
    item: _Item | None = None
    for i, ev in enumerate(events[2:-1], start=2):
        kind = ev["type"]
        where = f"event {i} ({kind})"
        if kind == "response.output_item.added":
            assert item is None, f"{where} while item {item.index} is open"
            assert ev["output_index"] == len(done), f"{where}: output_index {ev['output_index']}, expected {len(done)}"
            assert ev["item"].get("id"), f"{where}: the item has no id"
            item = _Item(ev["output_index"], ev["item"])
            if item.type == "message":
                assert ev["item"]["content"] == [], ev
            if item.type == "reasoning":
                assert ev["item"]["summary"] == [], ev
            continue
        assert item is not None, f"{where} outside an output item"
        assert ev["output_index"] == item.index, f"{where}: output_index {ev['output_index']}, open item {item.index}"
        if kind != "response.output_item.done":
            assert ev["item_id"] == item.id, f"{where}: item_id {ev['item_id']}, open item {item.id}"
        if kind == "response.content_part.added":
            assert item.type == "message" and not item.part_open, where
            assert ev["content_index"] == len(item.parts), where
            assert ev["part"]["type"] == "output_text" and ev["part"]["text"] == "", f"{where}: {ev['part']}"
            item.parts.append("")
            item.part_open = True
        elif kind == "response.output_text.delta":
            assert item.part_open and ev["content_index"] == len(item.parts) - 1, where
            item.parts[-1] += ev["delta"]
        elif kind == "response.output_text.done":
            assert item.part_open and ev["content_index"] == len(item.parts) - 1, where
            assert ev["text"] == item.parts[-1], f"{where}: {ev['text']!r} != the deltas {item.parts[-1]!r}"
        elif kind == "response.content_part.done":
            assert item.part_open and ev["content_index"] == len(item.parts) - 1, where
            assert ev["part"]["type"] == "output_text" and ev["part"]["text"] == item.parts[-1], where
            item.part_open = False
        elif kind == "response.function_call_arguments.delta":
            assert item.type == "function_call" and not item.args_done, where
            item.arguments += ev["delta"]
        elif kind == "response.function_call_arguments.done":
            assert item.type == "function_call" and not item.args_done, where
            assert ev["arguments"] == item.arguments, f"{where}: {ev['arguments']!r} != the deltas {item.arguments!r}"
            item.args_done = True
        elif kind == "response.reasoning_summary_part.added":
            assert item.type == "reasoning" and not item.summary_open, where
            assert ev["summary_index"] == len(item.summaries), where
            item.summaries.append("")
            item.summary_open, item.summary_text_done = True, False
        elif kind == "response.reasoning_summary_text.delta":
            assert item.summary_open and not item.summary_text_done and ev["summary_index"] == len(item.summaries) - 1, where
            item.summaries[-1] += ev["delta"]
        elif kind == "response.reasoning_summary_text.done":
            assert item.summary_open and ev["summary_index"] == len(item.summaries) - 1, where
            assert ev["text"] == item.summaries[-1], where
            item.summary_text_done = True
        elif kind == "response.reasoning_summary_part.done":
            assert item.summary_open and item.summary_text_done and ev["summary_index"] == len(item.summaries) - 1, where
            assert ev["part"]["text"] == item.summaries[-1], where
            item.summary_open = False
        elif kind == "response.output_item.done":
            final = ev["item"]
            assert final.get("id") == item.id and final["type"] == item.type, f"{where}: not the open item"
            assert not item.part_open and not item.summary_open, f"{where} with a part still open"
            if item.type == "message":
                assert [p["text"] for p in final["content"]] == item.parts, where
            elif item.type == "function_call":
                assert item.args_done and final["arguments"] == item.arguments, where
            elif item.type == "reasoning":
                assert [s["text"] for s in final["summary"]] == item.summaries, where
            done.append(final)
            item = None
        else:
            raise AssertionError(f"{where}: not an event this proxy should send")

    last = events[-1]
    status = _TERMINAL[last["type"]]
    assert last["response"]["status"] == status, last["response"]["status"]
    if status == "completed":
        assert item is None, f"response.completed while item {item and item.index} is open"
        assert last["response"]["output"] == done, "response.completed's output differs from the items streamed"
    if status == "failed":
        assert last["response"]["error"], "response.failed without an error"
    return events

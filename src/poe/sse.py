"""Incremental server-sent-events decoder and encoder (sans-IO).

Follows the WHATWG event-stream rules: lines end in LF, CRLF or CR (a CR at
the end of one read may be followed by the LF at the start of the next),
``:`` lines are comments, several ``data:`` lines join with "\\n", an event is
dispatched on a blank line. Bytes are decoded incrementally, so a multibyte
UTF-8 character split across reads is handled.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from typing import Any

_EOL = re.compile(r"\r\n|\r|\n")

__all__ = [
    "DONE",
    "HOLE",
    "SSEDecoder",
    "SSEEvent",
    "compact",
    "encode_comment",
    "encode_data",
    "encode_event",
    "event_template",
    "json_string",
]


@dataclass(frozen=True, slots=True)
class SSEEvent:
    event: str
    data: str
    id: str | None = None


class SSEDecoder:
    """Feed bytes, get complete events. Keeps at most one partial line."""

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._pending_cr = False
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._started = False  # a leading U+FEFF (byte order mark) is ignored, once

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        return self._feed_text(self._utf8.decode(chunk))

    def close(self) -> list[SSEEvent]:
        """End of stream: flush the decoder. A final event without its blank line is dropped."""
        out = self._feed_text(self._utf8.decode(b"", final=True))
        if self._buf:
            self._line(self._buf, out)
            self._buf = ""
        return out

    def _feed_text(self, text: str) -> list[SSEEvent]:
        out: list[SSEEvent] = []
        if not text:
            return out
        if not self._started:
            self._started = True
            if text.startswith("\ufeff"):
                text = text[1:]
        if self._pending_cr:
            self._pending_cr = False
            if text.startswith("\n"):
                text = text[1:]
        buf = self._buf + text
        if "\r" not in buf:  # the common case: LF line ends, split without a regex
            lines = buf.split("\n")
            self._buf = lines.pop()
            for line in lines:
                self._line(line, out)
            return out
        start = 0
        for m in _EOL.finditer(buf):
            self._line(buf[start : m.start()], out)
            start = m.end()
        if start == len(buf) and buf.endswith("\r"):
            # a CR ending this read may be the first half of a CRLF
            self._pending_cr = True
        self._buf = buf[start:]
        return out

    def _line(self, line: str, out: list[SSEEvent]) -> None:
        if line == "":
            if self._data or self._event:
                out.append(SSEEvent(self._event or "message", "\n".join(self._data), self._id))
            self._event = ""
            self._data = []
            return
        if line.startswith(":"):
            return
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        elif field == "id" and "\0" not in value:
            self._id = value
        # "retry" and unknown fields are ignored, as the spec says


DONE = b"data: [DONE]\n\n"


def encode_data(obj: Any) -> bytes:
    """One ``data:`` event carrying compact JSON (no newlines by construction)."""
    return b"data: " + compact(obj) + b"\n\n"


def encode_event(kind: str, obj: Any) -> bytes:
    """One named event (``event:`` line, then ``data:``), as Anthropic's and the Responses streams have."""
    return b"event: " + kind.encode() + b"\ndata: " + compact(obj) + b"\n\n"


HOLE = "\0"  # a value left open in an event template


def event_template(kind: str, obj: Any) -> tuple[bytes, ...]:
    """The bytes of a named event around its holes (values ``HOLE``), in order: the frames of one
    content block differ only there, so each is filled in by concatenation, not built and dumped."""
    return tuple(encode_event(kind, obj).split(b'"\\u0000"'))


def json_string(text: str) -> bytes:
    return json.dumps(text, ensure_ascii=False).encode("utf-8", "replace")


def compact(obj: Any) -> bytes:
    # "replace": a lone surrogate from an upstream must not end the stream with a crash
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


def encode_comment(text: str) -> bytes:
    return b": " + text.encode() + b"\n\n"

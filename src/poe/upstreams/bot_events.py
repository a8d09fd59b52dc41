"""Poe bot-protocol server-sent events as typed values."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..sse import SSEEvent

__all__ = [
    "Data",
    "Done",
    "File",
    "JsonData",
    "Meta",
    "Ping",
    "PoeErrorEvent",
    "PoeEvent",
    "ReplaceResponse",
    "SuggestedReply",
    "Text",
    "Unknown",
    "is_meaningful",
    "parse_event",
]


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class ReplaceResponse:
    text: str


@dataclass(frozen=True, slots=True)
class JsonData:
    data: Any  # an OpenAI-style chunk, used for tool calls


@dataclass(frozen=True, slots=True)
class File:
    url: str
    content_type: str
    name: str
    inline_ref: str | None = None


@dataclass(frozen=True, slots=True)
class SuggestedReply:
    text: str


@dataclass(frozen=True, slots=True)
class Meta:
    content_type: str = "text/markdown"


@dataclass(frozen=True, slots=True)
class Data:
    metadata: str


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class PoeErrorEvent:
    text: str
    allow_retry: bool = True
    error_type: str | None = None


@dataclass(frozen=True, slots=True)
class Done:
    pass


@dataclass(frozen=True, slots=True)
class Unknown:
    name: str


PoeEvent = Text | ReplaceResponse | JsonData | File | SuggestedReply | Meta | Data | Ping | PoeErrorEvent | Done | Unknown


def _obj(data: str) -> dict[str, Any]:
    if not data:
        return {}
    try:
        value = json.loads(data)
    except ValueError:
        return {"text": data}
    return value if isinstance(value, dict) else {"value": value}


def _s(obj: dict[str, Any], key: str, default: str = "") -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else default


def parse_event(ev: SSEEvent) -> PoeEvent:
    name = ev.event
    if name == "text":
        return Text(_s(_obj(ev.data), "text"))
    if name == "replace_response":
        return ReplaceResponse(_s(_obj(ev.data), "text"))
    if name == "json":
        try:
            return JsonData(json.loads(ev.data))
        except ValueError:
            return Unknown("json")
    if name == "file":
        obj = _obj(ev.data)
        return File(
            url=_s(obj, "url"),
            content_type=_s(obj, "content_type", "application/octet-stream"),
            name=_s(obj, "name", "file"),
            inline_ref=obj.get("inline_ref") if isinstance(obj.get("inline_ref"), str) else None,
        )
    if name == "suggested_reply":
        return SuggestedReply(_s(_obj(ev.data), "text"))
    if name == "meta":
        return Meta(_s(_obj(ev.data), "content_type", "text/markdown"))
    if name == "data":
        return Data(_s(_obj(ev.data), "metadata"))
    if name == "ping":
        return Ping()
    if name == "error":
        obj = _obj(ev.data)
        et = obj.get("error_type")
        return PoeErrorEvent(
            text=_s(obj, "text", "The bot reported an error."),
            allow_retry=bool(obj.get("allow_retry", True)),
            error_type=et if isinstance(et, str) else None,
        )
    if name == "done":
        return Done()
    return Unknown(name)


def is_meaningful(event: PoeEvent) -> bool:
    """True for events that carry answer content: the point where we commit."""
    if isinstance(event, (Text, ReplaceResponse)):
        return bool(event.text)
    if isinstance(event, JsonData):
        # an OpenAI-style chunk counts only with tool calls or text, not a bare role/empty delta
        choices = event.data.get("choices") if isinstance(event.data, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return False
        delta = choices[0].get("delta")
        return isinstance(delta, dict) and bool(delta.get("tool_calls") or delta.get("content"))
    return isinstance(event, File)

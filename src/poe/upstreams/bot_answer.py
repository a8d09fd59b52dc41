"""Poe bot-protocol events -> canonical answer events (sans-IO).

One ``Assembler`` per answer. ``feed`` returns what is new, as a canonical
``Delta`` (or ``Replace``); it also keeps the running state the bot protocol
needs (tool calls by index, the reasoning splitter, ``max_tokens``).

``replace_response`` replaces the answer so far. When the replacement extends
what was sent, only the new suffix is a ``Delta``; otherwise it is a ``Replace``.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from ..canonical import Delta, Replace, ToolCall, ToolCallDelta, finish_reason
from ..estimate import TokenCounter
from .bot_events import File, JsonData, PoeEvent, ReplaceResponse, Text
from .bot_reasoning import ReasoningSplitter

__all__ = ["Assembler", "file_markdown", "new_call_id"]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def new_call_id() -> str:
    return "call_" + secrets.token_hex(12)


def file_markdown(ev: File) -> str:
    if ev.inline_ref:
        # the bot's text already refers to it as ![..][ref]: define the reference
        return f"\n\n[{ev.inline_ref}]: {ev.url}\n"
    if ev.content_type.startswith("image/"):
        return f"\n\n![{ev.name}]({ev.url})\n"
    return f"\n\n[{ev.name}]({ev.url})\n"


class Assembler:
    def __init__(self, *, max_tokens: int | None = None, split_reasoning: bool = True) -> None:
        self.max_tokens = max_tokens
        self._splitter = ReasoningSplitter() if split_reasoning else None
        self._raw = ""  # the bot's answer text before splitting (what replace_response replaces)
        self._content: list[str] = []
        self._content_tokens = TokenCounter()  # for max_tokens; re-counting the whole answer each time is quadratic
        self._reasoning: list[str] = []
        self._calls: dict[int, list[str]] = {}  # index -> [id, name, arguments]
        self._call_order: list[int] = []
        self.finish_reason: str | None = None

    # ------------------------------------------------------------ results

    @property
    def content(self) -> str:
        return "".join(self._content)

    @property
    def reasoning(self) -> str:
        return "".join(self._reasoning)

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(ToolCall(*self._calls[i]) for i in self._call_order)

    def final_reason(self) -> str:
        return finish_reason(self.finish_reason, bool(self._calls))

    # ------------------------------------------------------------ feeding

    def feed(self, ev: PoeEvent) -> Delta | Replace:
        if self.finish_reason == "length":
            return Delta()
        if isinstance(ev, Text):
            self._raw += ev.text
            return self._text(ev.text)
        if isinstance(ev, ReplaceResponse):
            if ev.text.startswith(self._raw):
                suffix = ev.text[len(self._raw) :]
                self._raw = ev.text
                return self._text(suffix)
            self._raw = ev.text
            self._content = []
            self._content_tokens = TokenCounter()
            self._reasoning = []
            if self._splitter is not None:
                self._splitter = type(self._splitter)()
            again = self._text(ev.text)
            return Replace(content=again.content, reasoning=again.reasoning)
        if isinstance(ev, File):
            # text the splitter holds back (a possible marker prefix) came before the file
            held = self._splitter.release_held() if self._splitter is not None else ""
            return self._emit(content=held + file_markdown(ev))
        if isinstance(ev, JsonData):
            return self._json(ev.data)
        return Delta()

    def flush(self) -> Delta:
        """End of answer: release text the reasoning splitter was holding back."""
        if self._splitter is None:
            return Delta()
        reasoning, content = self._splitter.flush()
        return self._emit(content=content, reasoning=reasoning)

    def _text(self, text: str) -> Delta:
        if not text:
            return Delta()
        if self._splitter is None:
            return self._emit(content=text)
        reasoning, content = self._splitter.feed(text)
        return self._emit(content=content, reasoning=reasoning)

    def _emit(self, *, content: str = "", reasoning: str = "", tool_calls: tuple[ToolCallDelta, ...] = ()) -> Delta:
        if content:
            self._content.append(content)
        if reasoning:
            self._reasoning.append(reasoning)
        if content and self.max_tokens is not None:
            self._content_tokens.add(content)
            if self._content_tokens.tokens >= self.max_tokens:
                self.finish_reason = "length"
        return Delta(content=content, reasoning=reasoning, tool_calls=tool_calls)

    def _json(self, data: Any) -> Delta:
        """An OpenAI-style chunk from a tool-using bot."""
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return Delta()
        choice: dict[str, Any] = choices[0]
        delta = _dict(choice.get("delta"))
        out: list[ToolCallDelta] = []
        raw_calls = delta.get("tool_calls")
        for raw in raw_calls if isinstance(raw_calls, list) else []:
            if not isinstance(raw, dict):
                continue
            raw_index = raw.get("index")
            index = raw_index if isinstance(raw_index, int) else len(self._call_order)
            fn = _dict(raw.get("function"))
            raw_args = fn.get("arguments")
            args = json.dumps(raw_args) if isinstance(raw_args, dict) else raw_args if isinstance(raw_args, str) else ""
            name = fn.get("name") if isinstance(fn.get("name"), str) else None
            if index not in self._calls:
                raw_id = raw.get("id")
                call_id = raw_id if isinstance(raw_id, str) and raw_id else new_call_id()
                self._calls[index] = [call_id, name or "", args]
                self._call_order.append(index)
                pos = len(self._call_order) - 1  # clients expect 0, 1, 2... in order of appearance
                out.append(ToolCallDelta(index=pos, id=call_id, name=name or "", arguments=args))
            else:
                entry = self._calls[index]
                new_name = None
                if name and not entry[1]:
                    entry[1] = new_name = name  # a streaming client must see the name too
                entry[2] += args
                pos = self._call_order.index(index)
                out.append(ToolCallDelta(index=pos, id=None, name=new_name, arguments=args))
        text = delta.get("content") if isinstance(delta.get("content"), str) else ""
        if choice.get("finish_reason") == "tool_calls" or (choice.get("finish_reason") and self._calls):
            self.finish_reason = "tool_calls" if self._calls else None
        if text:
            self._raw += text
            d = self._text(text)
            return Delta(content=d.content, reasoning=d.reasoning, tool_calls=tuple(out))
        return self._emit(tool_calls=tuple(out))

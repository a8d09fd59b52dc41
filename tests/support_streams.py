"""Answers for the doors' stream tests (test_anthropic_door, test_responses_door): a scripted upstream for
``write_stream``, and a hypothesis strategy of well-formed answers."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from poe.answer import Collected
from poe.canonical import AnswerEvent, Delta, Finish, KeepAlive, ToolCall, ToolCallDelta, Usage
from poe.http import Runtime

SECRET = "secret-key-1"  # a configured secret: the runtime below redacts it, as the app's does


class Source:
    """Batches as an upstream gives them; raises after ``fail_after`` batches (a RuntimeError with the
    secret in its message, which must never be shown); records aclose."""

    def __init__(self, batches: list[list[AnswerEvent]], fail_after: int | None = None) -> None:
        self.batches = list(batches)
        self.fail_after = fail_after
        self.served = 0
        self.closed = 0

    def __aiter__(self) -> Source:
        return self

    async def __anext__(self) -> list[AnswerEvent]:
        if self.fail_after is not None and self.served == self.fail_after:
            raise RuntimeError(f"a bug in the upstream reader, with {SECRET} in it")
        if self.served == len(self.batches):
            raise StopAsyncIteration
        self.served += 1
        return self.batches[self.served - 1]

    async def aclose(self) -> None:
        self.closed += 1


def runtime(logs: list[str], now: float = 1_700_000_000.0) -> Runtime:
    return Runtime(
        http=None,  # type: ignore[arg-type]
        kv=None,
        clock=lambda: now,
        defer=lambda _aw: None,
        log=logs.append,
        redact=lambda s: s.replace(SECRET, "[redacted]"),
    )


# a well-formed answer: reasoning/content pieces, then each tool call's pieces in turn, then the end
pieces = st.text(max_size=6, alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)))
call_args = st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=4) | st.none(), max_size=3)


def answers(
    names: tuple[str, ...], id_prefix: str, custom: tuple[str, str] | None = None, reasoning_tokens: bool = False
) -> st.SearchStrategy[tuple[list[AnswerEvent], Collected]]:
    """Answers as canonical events, and what they fold into. ``custom``: (tool name, argument name) of a
    freeform tool whose one string argument is drawn as text (Codex's ``apply_patch``)."""

    @st.composite
    def answer(draw: Any) -> tuple[list[AnswerEvent], Collected]:
        events: list[AnswerEvent] = []
        for _ in range(draw(st.integers(0, 5))):
            kind = draw(st.sampled_from(["content", "reasoning", "both", "keepalive"]))
            if kind == "keepalive":
                events.append(KeepAlive())
                continue
            events.append(
                Delta(
                    content=draw(pieces) if kind in ("content", "both") else "",
                    reasoning=draw(pieces) if kind in ("reasoning", "both") else "",
                )
            )
        calls = []
        for index in range(draw(st.integers(0, 3))):
            name = draw(st.sampled_from(names))
            if custom is not None and name == custom[0] and draw(st.booleans()):
                args = json.dumps({custom[1]: draw(pieces)}, ensure_ascii=draw(st.booleans()))
            else:
                args = json.dumps(draw(call_args), ensure_ascii=draw(st.booleans()))
            cut = sorted(draw(st.lists(st.integers(0, len(args)), max_size=3)))
            parts = [args[a:b] for a, b in zip([0, *cut], [*cut, len(args)], strict=True)]
            call_id = f"{id_prefix}{index}"
            events.append(Delta(tool_calls=(ToolCallDelta(index, call_id, name, parts[0]),)))
            events.extend(Delta(tool_calls=(ToolCallDelta(index, None, None, p),)) for p in parts[1:])
            calls.append(ToolCall(call_id, name, args))
        reason = draw(st.sampled_from(["stop", "length", "tool_calls", "content_filter"]))
        reasoning = draw(st.integers(0, 10)) if reasoning_tokens else 0
        usage = Usage(draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6)), reasoning)
        events.append(Finish(reason, usage))
        content = "".join(e.content for e in events if isinstance(e, Delta))
        text = "".join(e.reasoning for e in events if isinstance(e, Delta))
        return events, Collected(content, text, tuple(calls), reason, usage)

    return answer()

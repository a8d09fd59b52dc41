"""A canonical answer from whichever upstream serves the model; whole, for doors that do not stream."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .canonical import Batches, ChatRequest, Delta, Failure, Finish, Replace, ToolCall, Usage
from .catalogue import Model
from .errors import UpstreamError
from .http import Runtime
from .pool import KeyFailedMidAnswer, KeyPool, Opened
from .settings import Config
from .upstreams import poe_bot, poe_openai

__all__ = ["Collected", "collect", "collect_answer", "collect_with_restart", "open_answer"]


@dataclass(frozen=True, slots=True)
class Collected:
    content: str
    reasoning: str
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str
    usage: Usage


async def collect(batches: Batches) -> Collected:
    """Read an answer to its end. Raises the error of a ``Failure``."""
    content: list[str] = []
    reasoning: list[str] = []
    calls: dict[int, list[str]] = {}  # index -> [id, name, arguments]
    finish: Finish | None = None
    try:
        async for batch in batches:
            for ev in batch:
                if isinstance(ev, Delta):
                    content.append(ev.content)
                    reasoning.append(ev.reasoning)
                    for c in ev.tool_calls:
                        entry = calls.setdefault(c.index, ["", "", ""])
                        entry[0] = c.id or entry[0]
                        entry[1] = c.name or entry[1]
                        entry[2] += c.arguments
                elif isinstance(ev, Replace):
                    content, reasoning = [ev.content], [ev.reasoning]
                elif isinstance(ev, Finish):
                    finish = ev
                elif isinstance(ev, Failure):
                    raise ev.error
    finally:
        await batches.aclose()
    if finish is None:
        raise UpstreamError("Poe's answer ended without finishing.")
    tool_calls = tuple(ToolCall(*calls[i]) for i in sorted(calls))
    return Collected("".join(content), "".join(reasoning), tool_calls, finish.reason, finish.usage)


async def collect_with_restart(open_answer: Callable[[], Awaitable[Opened[Batches]]], pool: KeyPool, rt: Runtime) -> Collected:
    """Collect; when the key runs out mid-answer, start over on another (nothing was sent yet)."""
    for attempt in range(len(pool)):
        opened = await open_answer()
        try:
            collected = await collect(opened.value)
        except KeyFailedMidAnswer:
            # the key is cooled, so it is out of the next plan
            if attempt == len(pool) - 1 or not pool.healthy(rt.clock()):
                raise
            continue
        if rt.meter is not None:
            rt.meter.tokens(collected.usage)
        return collected
    raise AssertionError("unreachable")  # the loop returns or raises


async def open_answer(rt: Runtime, cfg: Config, pool: KeyPool, req: ChatRequest, model: Model) -> Opened[Batches]:
    """The answer as canonical events, from the upstream the model (or ``POE_PROTOCOL``) names."""
    if (model.protocol or cfg.protocol) == "openai":
        return await poe_openai.open_answer(rt, cfg, pool, req, model)
    return await poe_bot.open_answer(rt, cfg, pool, req, model)


async def collect_answer(rt: Runtime, cfg: Config, pool: KeyPool, req: ChatRequest, model: Model) -> Collected:
    return await collect_with_restart(lambda: open_answer(rt, cfg, pool, req, model), pool, rt)

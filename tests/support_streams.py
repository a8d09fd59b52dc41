"""A scripted upstream answer for the doors' ``write_stream`` tests (test_anthropic_door, test_responses_door)."""

from __future__ import annotations

from poe.canonical import AnswerEvent
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

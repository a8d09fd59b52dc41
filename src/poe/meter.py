"""One request's account for the usage book: the keys its attempts used, the tokens its answer took."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from .canonical import Usage

__all__ = ["HEAD_BYTES", "TAIL_BYTES", "Ends", "Meter", "Sink", "passthrough_usage", "usage_of"]

HEAD_BYTES = 4096  # an Anthropic stream's message_start (its input tokens) is in its first frames
TAIL_BYTES = 8192  # the usage chunk, message_delta or a JSON body's usage is in its last ones
# ends(head, tail): the first HEAD_BYTES and the last TAIL_BYTES of a body passed through, once it ended
Ends = Callable[[bytes, bytes], None]

# sink(key index, or None for the request's access token; model id; counters to add)
Sink = Callable[[int | None, str | None, dict[str, int]], None]


class Meter:
    """Carried by the request's ``Runtime``: the pool reports each attempt, the answer its tokens."""

    __slots__ = ("_model", "_sink", "key")

    def __init__(self, model: Callable[[], str | None], sink: Sink) -> None:
        self._model = model  # the model the request resolved to, known once the door has parsed it
        self._sink = sink
        self.key: int | None = None  # the key that answered

    def attempt(self, index: int, outcome: str) -> None:
        """An attempt on a key: ``answered``, or the class of its failure."""
        if outcome == "answered":
            self.key = index
        self._sink(index, self._model(), {outcome: 1})

    def tokens(self, usage: Usage) -> None:
        """The answer's tokens (Poe's counts where it reports them, else the proxy's estimate)."""
        counts = {"input_tokens": usage.prompt, "output_tokens": usage.completion, "metered": 1}
        model = self._model()
        self._sink(None, model, counts)
        if self.key is not None:
            self._sink(self.key, model, counts)

    def passthrough(self, protocol: Literal["openai", "anthropic"]) -> Ends:
        """What an edge calls with the ends of a body passed through untouched: its tokens, if it says them."""

        def ends(head: bytes, tail: bytes) -> None:
            try:
                usage = passthrough_usage(protocol, head, tail)
            except Exception:  # whatever Poe sent, a count must never fail the answer
                return
            if usage is not None:
                self.tokens(usage)

        return ends


def passthrough_usage(protocol: Literal["openai", "anthropic"], head: bytes, tail: bytes) -> Usage | None:
    """The usage Poe reported in a body the proxy did not read: the last ``"usage"`` object of its tail
    (an OpenAI stream's usage chunk, asked for with ``stream_options.include_usage``; an Anthropic
    ``message_delta`` or JSON body), and for Anthropic the input tokens of ``message_start`` in its head."""
    last = _usage_at(tail, tail.rfind(b'"usage"'))
    if last is None:
        return None
    if protocol == "openai":
        return usage_of(last)
    first = _usage_at(head, head.find(b'"usage"'))
    source = first if first is not None and _count(first.get("input_tokens")) else last
    prompt = sum(_count(source.get(k)) for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
    return Usage(prompt, _count(last.get("output_tokens")))


def usage_of(raw: Any) -> Usage:
    """Poe's OpenAI-shaped ``usage`` object, of a chunk, a completion or a passed-through stream's tail
    (zeros for what it leaves out)."""
    raw = raw if isinstance(raw, dict) else {}
    details = raw.get("completion_tokens_details")
    reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
    return Usage(_count(raw.get("prompt_tokens")), _count(raw.get("completion_tokens")), _count(reasoning))


def _usage_at(data: bytes, at: int) -> dict[str, Any] | None:
    if at < 0:
        return None
    start = data.find(b"{", at)
    if start < 0 or data[at + 7 : start].strip(b": \t\r\n"):  # "usage": null, or a cut frame
        return None
    try:
        obj, _ = json.JSONDecoder().raw_decode(data[start:].decode("utf-8", "replace"))
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 40 else 0

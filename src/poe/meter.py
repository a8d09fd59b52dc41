"""One request's account for the usage book: the keys its attempts used, the tokens its answer took."""

from __future__ import annotations

from collections.abc import Callable

from .canonical import Usage

__all__ = ["Meter", "Sink"]

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

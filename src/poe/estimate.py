"""Token estimates for ``usage`` where Poe reports no counts (the bot protocol).

A tokenizer-free estimate close to what BPE tokenizers give on ordinary text:
about four ASCII characters per token, and one token per character for
everything else (CJK ideographs, most emoji), plus OpenAI's per-message
framing overhead for prompts. Documented in the README as an estimate.
"""

from __future__ import annotations

from .canonical import ChatRequest

__all__ = ["TokenCounter", "estimate_prompt_tokens", "estimate_tokens"]

PER_MESSAGE = 4  # role and separators, as in OpenAI's cookbook counting
PER_REPLY = 3  # the primed assistant reply
PER_IMAGE = 85  # a low-detail image tile


def estimate_tokens(text: str) -> int:
    counter = TokenCounter()
    counter.add(text)
    return counter.tokens


class TokenCounter:
    """``estimate_tokens`` of a text that grows, in time linear in what is added."""

    def __init__(self) -> None:
        self._ascii = 0
        self._other = 0

    def add(self, text: str) -> None:
        # C-speed counts, no Python per character: this runs over every prompt of 100 KB and more
        ascii_chars = len(text) if text.isascii() else len(text.encode("ascii", "ignore"))
        self._ascii += ascii_chars
        self._other += len(text) - ascii_chars

    @property
    def tokens(self) -> int:
        return (self._ascii + 3) // 4 + self._other


def estimate_prompt_tokens(req: ChatRequest) -> int:
    total = PER_REPLY
    for msg in req.messages:
        total += PER_MESSAGE + estimate_tokens(msg.content) + PER_IMAGE * len(msg.images)
        for call in msg.tool_calls:
            total += estimate_tokens(call.name) + estimate_tokens(call.arguments)
    for tool in req.tools:
        total += estimate_tokens(tool.name) + estimate_tokens(tool.description) + estimate_tokens(str(dict(tool.parameters)))
    return total

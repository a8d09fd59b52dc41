"""Split a bot's visible thinking from its answer (sans-IO, streaming).

Poe's reasoning bots stream their thinking before the answer in one of two
shapes, and both are recognised only at the very start of the answer:

* a ``*Thinking...*`` (or ``Thinking...``) header line followed by quoted
  ``> `` lines; the first line that is not quoted starts the answer;
* a ``<think>...</think>`` block.

Text is released as soon as it is unambiguous; only a possible prefix of a
marker is held back, and newlines at the end of the reasoning so far (the
blank lines around the quote are layout, not thought: the reasoning a client
sees neither starts nor ends with one).
"""

from __future__ import annotations

__all__ = ["ReasoningSplitter"]

_HEADERS = ("*Thinking...*", "_Thinking..._", "Thinking...")
_OPEN, _CLOSE = "<think>", "</think>"
_MAX_HEADER = 40


def _could_start(text: str) -> bool:
    return any(m.startswith(text) for m in (*_HEADERS, _OPEN))


class ReasoningSplitter:
    def __init__(self) -> None:
        self._state = "detect"  # detect | header | quote | tag | content
        self._buf = ""
        self._line_start = True
        self._drop_space = False
        self._thought = False  # some reasoning went out
        self._newlines = ""  # newlines at the end of the reasoning so far, held back

    def feed(self, text: str) -> tuple[str, str]:
        """Returns (reasoning, content) released by this text."""
        self._buf += text
        reasoning: list[str] = []
        content: list[str] = []
        self._run(reasoning, content)
        return self._trim("".join(reasoning)), "".join(content)

    def flush(self) -> tuple[str, str]:
        buf, self._buf = self._buf, ""
        if self._state in ("tag", "quote") or (self._state == "header" and buf.strip() in _HEADERS):
            return self._trim(buf), ""
        return "", buf

    def _trim(self, text: str) -> str:
        """Reasoning without leading newlines; trailing ones wait until more reasoning follows them."""
        if not self._thought:
            text = text.lstrip("\n")
            if not text:
                return ""
            self._thought = True
        text = self._newlines + text
        kept = text.rstrip("\n")
        self._newlines = text[len(kept) :]
        return kept

    def release_held(self) -> str:
        """Something other than text (a file) is being added to the answer.

        Text held back while deciding whether the answer starts with a marker
        came before it, so the answer has begun: return that text as content.
        """
        if self._state != "detect" or not self._buf:
            return ""
        self._state = "content"
        buf, self._buf = self._buf, ""
        return buf

    def _run(self, reasoning: list[str], content: list[str]) -> None:
        while self._buf:
            state = self._state
            if state == "content":
                content.append(self._buf)
                self._buf = ""
            elif state == "detect":
                head = self._buf.lstrip()
                if not head or (_could_start(head) and not any(head.startswith(m) for m in (*_HEADERS, _OPEN))):
                    return  # undecided: wait for more text
                if head.startswith(_OPEN):
                    self._state, self._buf = "tag", head[len(_OPEN) :]
                elif any(head.startswith(h) for h in _HEADERS):
                    self._state, self._buf = "header", head
                else:
                    self._state = "content"
            elif state == "header":
                nl = self._buf.find("\n")
                if nl < 0:
                    if len(self._buf) > _MAX_HEADER:
                        self._state = "content"  # a long first line is an answer, not a header
                    return
                if self._buf[:nl].strip() not in _HEADERS:
                    self._state = "content"  # "Thinking... about it" is an answer that starts that way
                    continue
                self._buf = self._buf[nl + 1 :]
                self._state, self._line_start = "quote", True
            elif state == "tag":
                end = self._buf.find(_CLOSE)
                if end >= 0:
                    reasoning.append(self._buf[:end])
                    self._buf = self._buf[end + len(_CLOSE) :].lstrip("\n")
                    self._state = "content" if self._buf else "after_tag"
                    continue
                keep = _partial_suffix(self._buf, _CLOSE)
                reasoning.append(self._buf[: len(self._buf) - keep])
                self._buf = self._buf[len(self._buf) - keep :]
                return
            elif state == "after_tag":
                self._buf = self._buf.lstrip("\n")
                if self._buf:
                    self._state = "content"
            else:  # quote
                if self._drop_space:
                    if self._buf.startswith(" "):
                        self._buf = self._buf[1:]
                    self._drop_space = False
                    continue
                if self._line_start:
                    first = self._buf[0]
                    if first == ">":
                        self._buf = self._buf[1:]
                        self._line_start, self._drop_space = False, True
                    elif first == "\n":
                        reasoning.append("\n")
                        self._buf = self._buf[1:]
                    else:
                        self._state = "content"
                    continue
                nl = self._buf.find("\n")
                if nl < 0:
                    reasoning.append(self._buf)
                    self._buf = ""
                else:
                    reasoning.append(self._buf[: nl + 1])
                    self._buf = self._buf[nl + 1 :]
                    self._line_start = True


def _partial_suffix(text: str, marker: str) -> int:
    """Length of the longest suffix of text that is a proper prefix of marker."""
    for n in range(min(len(marker) - 1, len(text)), 0, -1):
        if text.endswith(marker[:n]):
            return n
    return 0

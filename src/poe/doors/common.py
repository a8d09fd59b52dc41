"""What every door shares: reading a JSON body and the response headers."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any, NoReturn

from ..errors import InvalidRequest, PayloadTooLarge
from ..http import Response

__all__ = ["JSON_HEADERS", "MAX_JSON_DEPTH", "MAX_JSON_ITEMS", "SSE_HEADERS", "json_response", "load_json"]

# What one request may make the parser build, whatever its size in bytes: Pyodide's parser
# recurses on the JS stack (deep nesting crashes the isolate, not just the request), and each
# value costs tens of bytes of the isolate's 128 MB.
MAX_JSON_DEPTH = 64
MAX_JSON_ITEMS = 100_000  # values in arrays and objects together (a long agent session holds ~20k)

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)  # one JSON string (unrolled: fast on long text)
_BRACKETS = bytes(range(256)).translate(None, b"[]{},")
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1
# lone UTF-16 surrogates: as JSON escapes, or as their (invalid) UTF-8 bytes, which json.loads lets through
# (two patterns, not one alternation: each keeps the regex engine's fast literal-prefix search)
_HIGH = re.compile(rb"\\u[dD][89abAB]")
_LONE_HIGH = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])")  # not followed by a low half
_LOW = re.compile(rb"\\u[dD][c-fC-F]")
_SURROGATE_BYTES = re.compile(rb"\xed[\xa0-\xbf]")

SSE_HEADERS = (
    ("content-type", "text/event-stream; charset=utf-8"),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
)
JSON_HEADERS = (("content-type", "application/json"),)


def json_response(status: int, obj: Any, extra: tuple[tuple[str, str], ...] = ()) -> Response:
    # "replace": a lone surrogate that slipped into a message must not turn the answer into a crash
    return Response(status, JSON_HEADERS + extra, json.dumps(obj, ensure_ascii=False).encode("utf-8", "replace"))


def load_json(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise InvalidRequest("The request body is empty; expected a JSON object.")
    _check_shape(body)
    try:
        obj = json.loads(body, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.") from None
    except UnicodeDecodeError:
        raise InvalidRequest("The request body is not valid JSON: it is not UTF-8.") from None
    except ValueError as exc:  # Python's cap on digits of an integer (4300), or NaN / Infinity
        reason = str(exc) if "JSON" in str(exc) else "a number in it has too many digits"
        raise InvalidRequest(f"The request body is not valid JSON: {reason}.") from None
    except RecursionError:
        raise InvalidRequest(f"The request body is nested more than {MAX_JSON_DEPTH} levels deep.") from None
    if not isinstance(obj, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    if _lone_escape(body) or (b"\xed" in body and _SURROGATE_BYTES.search(body)):
        where = _lone_surrogate(obj)  # rare, and exact: an escaped backslash before "u" only costs this walk
        if where is not None:
            raise InvalidRequest(
                f"Invalid value for '{where}': it contains a lone UTF-16 surrogate (\\ud800-\\udfff), which is not Unicode text.",
                param=where,
                code="invalid_value",
            )
    return obj


def _lone_escape(body: bytes) -> bool:
    """Maybe a lone surrogate escape: a high half without its low half, or more low halves than high ones."""
    if _HIGH.search(body) is None:
        return _LOW.search(body) is not None
    return _LONE_HIGH.search(body) is not None or len(_HIGH.findall(body)) != len(_LOW.findall(body))


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _check_shape(body: bytes) -> None:
    """Depth and item caps, checked on the bytes before parsing (C-speed scans, no Python per byte)."""
    opens = body.count(b"[") + body.count(b"{")
    if opens <= MAX_JSON_DEPTH and body.count(b",") < MAX_JSON_ITEMS:
        return  # cannot be deeper or have more items than allowed: the common case, decided in two scans
    skeleton, strings = _STRING.subn(b"", body)
    skeleton = skeleton.translate(None, _BRACKETS)  # only []{}, outside strings are left
    if skeleton and max(accumulate(map(_STEP.__getitem__, skeleton))) > MAX_JSON_DEPTH:
        raise InvalidRequest(f"The request body is nested more than {MAX_JSON_DEPTH} levels deep.", code="too_deep")
    if skeleton.count(b",") + strings > MAX_JSON_ITEMS:
        raise PayloadTooLarge(
            f"The request body holds more than {MAX_JSON_ITEMS} JSON values; send less at once.", code="too_many_values"
        )


def _lone_surrogate(obj: Any) -> str | None:
    """The param path of the first string (or key) holding a lone surrogate."""
    stack: list[tuple[str, Any]] = [("", obj)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if not _encodes(value):
                return path or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                sub = f"{path}.{key}" if path else str(key)
                if not _encodes(key):
                    return path or "body"
                stack.append((sub, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True

"""What every door shares: reading a JSON body and the response headers."""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidRequest
from ..http import Response

__all__ = ["JSON_HEADERS", "SSE_HEADERS", "json_response", "load_json"]

SSE_HEADERS = (
    ("content-type", "text/event-stream; charset=utf-8"),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
)
JSON_HEADERS = (("content-type", "application/json"),)


def json_response(status: int, obj: Any, extra: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, JSON_HEADERS + extra, json.dumps(obj, ensure_ascii=False).encode())


def load_json(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise InvalidRequest("The request body is empty; expected a JSON object.")
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {_json_reason(exc)}.") from None
    except RecursionError:
        raise InvalidRequest("The request body is nested too deeply.") from None
    if not isinstance(obj, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return obj


def _json_reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return "it is not UTF-8"

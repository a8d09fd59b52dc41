"""Typed reads of JSON fields with OpenAI-style 400s naming the ``param``; shared by every door's parser."""

from __future__ import annotations

import json
import math
from typing import Any

from ..errors import InvalidRequest

__all__ = [
    "bad_type",
    "boolean",
    "excerpt",
    "integer",
    "number",
    "object_schema",
    "objects",
    "string",
    "tool_name",
    "type_name",
    "unsupported",
]

EXCERPT = 60  # characters of a client's value quoted back in an error message


def excerpt(value: Any) -> str:
    """A short, safe quote of what the client sent (JSON, ASCII only, cut to a few dozen characters)."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = type_name(value)
    return text if len(text) <= EXCERPT else text[: EXCERPT - 3] + "..."


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN or Infinity"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def bad_type(param: str, expected: str, value: Any) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid type for '{param}': expected {expected}, but got {type_name(value)}.",
        param=param,
        code="invalid_type",
    )


def string(obj: dict[str, Any], key: str, param: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise InvalidRequest(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")
        return None
    if not isinstance(value, str):
        raise bad_type(param, "a string", value)
    return value


def boolean(obj: dict[str, Any], key: str, default: bool, param: str | None = None) -> bool:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_type(param or key, "a boolean", value)
    return value


def number(obj: dict[str, Any], key: str, lo: float, hi: float, param: str | None = None) -> float | None:
    value = obj.get(key)
    key = param or key
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
        raise bad_type(key, "a number", value)
    if not lo <= value <= hi:
        raise InvalidRequest(
            f"Invalid value for '{key}': {excerpt(value)} is not between {lo:g} and {hi:g}.",
            param=key,
            code="invalid_value",
        )
    return float(value)


def integer(obj: dict[str, Any], key: str, lo: int, param: str | None = None, *, required: bool = False) -> int | None:
    value = obj.get(key)
    key = param or key
    if value is None and required:
        raise InvalidRequest(f"Missing required parameter: '{key}'.", param=key, code="missing_required_parameter")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_type(key, "an integer", value)
    if value < lo:
        raise InvalidRequest(
            f"Invalid value for '{key}': {excerpt(value)} is less than the minimum of {lo}.",
            param=key,
            code="invalid_value",
        )
    return value


def unsupported(param: str, why: str) -> InvalidRequest:
    return InvalidRequest(f"'{param}' is not supported by this proxy: {why}", param=param, code="unsupported_parameter")


def objects(raw: Any, param: str) -> list[tuple[str, dict[str, Any]]]:
    """A JSON array of objects (null: none), each with its param path."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_type(param, "an array", raw)
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise bad_type(f"{param}[{i}]", "an object", item)
        out.append((f"{param}[{i}]", item))
    return out


def tool_name(obj: dict[str, Any], key: str, param: str, limit: int) -> str:
    """A tool's name: 1 to ``limit`` ASCII letters, digits, ``_`` or ``-`` (what every upstream accepts)."""
    name = string(obj, key, param, required=True)
    assert name is not None
    if not name or len(name) > limit or not all((c.isascii() and c.isalnum()) or c in "_-" for c in name):
        raise InvalidRequest(
            f"Invalid '{param}': must be 1-{limit} letters, digits, underscores or dashes.", param=param, code="invalid_value"
        )
    return name


def object_schema(raw: Any, param: str) -> dict[str, Any]:
    """A tool's JSON schema, completed to an object schema of the shape Poe's bot protocol accepts."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise bad_type(param, "an object", raw)
    schema = {"type": "object", "properties": {}, **raw}
    required = schema.get("required")
    if (
        not isinstance(schema["type"], str)
        or not isinstance(schema["properties"], dict)
        or not (required is None or (isinstance(required, list) and all(isinstance(r, str) for r in required)))
    ):
        raise InvalidRequest(
            f"Invalid schema for '{param}': 'type' must be a string, 'properties' an object and 'required' an array of strings.",
            param=param,
            code="invalid_function_parameters",
        )
    return schema

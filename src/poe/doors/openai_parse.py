"""OpenAI Chat Completions JSON -> ChatRequest, with OpenAI-style 400s.

Every rejection names the offending ``param`` the way OpenAI does
(``messages[2].role``, ``tools[0].function.name``). Unknown top-level fields are
ignored; known fields we cannot honour are rejected by name (see README).
"""

from __future__ import annotations

import json
from typing import Any

from ..canonical import ChatRequest, FunctionTool, ImagePart, Message, Role, ToolCall
from ..errors import InvalidRequest
from .fields import bad_type, boolean, excerpt, integer, number, object_schema, objects, string, tool_name, unsupported

__all__ = ["parse_chat_request"]

_ROLES: dict[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
}


# ---------------------------------------------------------------- messages


def _content(raw: Any, param: str, role: Role) -> tuple[str, tuple[ImagePart, ...]]:
    if raw is None:
        return "", ()
    if isinstance(raw, str):
        return raw, ()
    if not isinstance(raw, list):
        raise bad_type(param, "a string or an array of content parts", raw)
    texts: list[str] = []
    images: list[ImagePart] = []
    for i, part in enumerate(raw):
        p = f"{param}[{i}]"
        if isinstance(part, str):  # lenient: some clients send bare strings
            texts.append(part)
            continue
        if not isinstance(part, dict):
            raise bad_type(p, "an object", part)
        kind = part.get("type")
        if kind in ("text", "input_text", "refusal"):
            key = "refusal" if kind == "refusal" else "text"
            text = part.get(key)
            if not isinstance(text, str):
                raise bad_type(f"{p}.{key}", "a string", text)
            texts.append(text)
        elif kind == "image_url":
            if role != "user":
                raise InvalidRequest(f"Image content is only allowed in user messages ('{p}').", param=p)
            images.append(_image(part.get("image_url"), f"{p}.image_url"))
        elif isinstance(kind, str):
            raise InvalidRequest(
                f"Invalid value for '{p}.type': content parts of type '{kind}' are not supported; use 'text' or 'image_url'.",
                param=f"{p}.type",
                code="invalid_value",
            )
        else:
            raise InvalidRequest(f"Missing required parameter: '{p}.type'.", param=f"{p}.type")
    return "\n".join(texts), tuple(images)


def _image(raw: Any, param: str) -> ImagePart:
    detail: str | None = None
    if isinstance(raw, str):  # lenient form {"image_url": "https://..."}
        url = raw
    elif isinstance(raw, dict):
        raw_url = raw.get("url")
        detail = raw.get("detail") if isinstance(raw.get("detail"), str) else None
        if not isinstance(raw_url, str):
            raise bad_type(f"{param}.url", "a string", raw_url)
        url, param = raw_url, f"{param}.url"
    else:
        raise bad_type(param, "an object with 'url'", raw)
    if not (url.startswith("https://") or url.startswith("http://") or url.startswith("data:")):
        raise InvalidRequest(
            f"Invalid image URL in '{param}': expected an http(s) URL or a data: URI.",
            param=param,
            code="invalid_image_url",
        )
    return ImagePart(url=url, detail=detail, param=param)


def _function(obj: dict[str, Any], param: str) -> dict[str, Any]:
    fn = obj.get("function")
    if not isinstance(fn, dict):
        raise bad_type(f"{param}.function", "an object", fn)
    return fn


def _tool_calls(raw: Any, param: str) -> tuple[ToolCall, ...]:
    calls: list[ToolCall] = []
    for p, call in objects(raw, param):
        fn = _function(call, p)
        call_id = string(call, "id", f"{p}.id", required=True)
        name = string(fn, "name", f"{p}.function.name", required=True)
        args = fn.get("arguments", "")
        if isinstance(args, (dict, list)):  # lenient: some clients send parsed JSON
            args = json.dumps(args)
        if not isinstance(args, str):
            raise bad_type(f"{p}.function.arguments", "a string", args)
        assert call_id is not None and name is not None
        calls.append(ToolCall(id=call_id, name=name, arguments=args))
    return tuple(calls)


def _message(raw: Any, i: int) -> Message:
    param = f"messages[{i}]"
    if not isinstance(raw, dict):
        raise bad_type(param, "an object", raw)
    role_raw = raw.get("role")
    if role_raw is None:
        raise InvalidRequest(
            f"Missing required parameter: '{param}.role'.", param=f"{param}.role", code="missing_required_parameter"
        )
    if not isinstance(role_raw, str) or role_raw not in _ROLES:
        raise InvalidRequest(
            f"Invalid value for '{param}.role': {excerpt(role_raw)}. "
            "Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'.",
            param=f"{param}.role",
            code="invalid_value",
        )
    role = _ROLES[role_raw]
    if "content" not in raw and role != "assistant":
        raise InvalidRequest(
            f"Missing required parameter: '{param}.content'.", param=f"{param}.content", code="missing_required_parameter"
        )
    content, images = _content(raw.get("content"), f"{param}.content", role)
    name = string(raw, "name", f"{param}.name")
    tool_calls = _tool_calls(raw.get("tool_calls"), f"{param}.tool_calls") if role == "assistant" else ()
    tool_call_id = None
    if role == "tool":
        tool_call_id = string(raw, "tool_call_id", f"{param}.tool_call_id", required=True)
    if role == "user" and raw.get("content") is None:
        raise bad_type(f"{param}.content", "a string or an array of content parts", None)
    return Message(role=role, content=content, images=images, name=name, tool_calls=tool_calls, tool_call_id=tool_call_id)


# ---------------------------------------------------------------- tools


def _tools(body: dict[str, Any]) -> tuple[FunctionTool, ...]:
    raw = body.get("tools")
    key = "tools"
    if raw is None and body.get("functions") is not None:  # deprecated form
        raw = (
            [{"type": "function", "function": f} for f in body["functions"]]
            if isinstance(body["functions"], list)
            else body["functions"]
        )
        key = "functions"
    tools: list[FunctionTool] = []
    for p, tool in objects(raw, key):
        if tool.get("type", "function") != "function":
            raise InvalidRequest(
                f"Invalid value for '{p}.type': only 'function' tools are supported.", param=f"{p}.type", code="invalid_value"
            )
        fn = _function(tool, p)
        name = tool_name(fn, "name", f"{p}.function.name", 64)
        params = object_schema(fn.get("parameters"), f"{p}.function.parameters")
        tools.append(
            FunctionTool(name=name, description=string(fn, "description", f"{p}.function.description") or "", parameters=params)
        )
    return tuple(tools)


def _tool_choice(body: dict[str, Any], tools: tuple[FunctionTool, ...]) -> str:
    raw = body.get("tool_choice", body.get("function_call"))
    param = "tool_choice" if "tool_choice" in body else "function_call"
    if raw is None:
        return "auto"
    if isinstance(raw, str):
        if raw not in ("none", "auto", "required"):
            raise InvalidRequest(
                f"Invalid value for '{param}': {excerpt(raw)}. Use 'none', 'auto', 'required' or a function.",
                param=param,
                code="invalid_value",
            )
        if raw == "required" and not tools:
            raise InvalidRequest(f"'{param}' is 'required' but no tools were given.", param=param, code="invalid_value")
        return raw
    if isinstance(raw, dict):
        fn = raw.get("function") if "function" in raw else raw
        name = fn.get("name") if isinstance(fn, dict) else None
        if not isinstance(name, str) or name not in {t.name for t in tools}:
            raise InvalidRequest(
                f"Invalid value for '{param}': the named function is not among 'tools'.", param=param, code="invalid_value"
            )
        return name
    raise bad_type(param, "a string or an object", raw)


# ---------------------------------------------------------------- the request


def parse_chat_request(body: dict[str, Any]) -> ChatRequest:
    model = string(body, "model", "model", required=True)
    assert model is not None
    if not model.strip():
        raise InvalidRequest("Invalid value for 'model': it is empty.", param="model", code="invalid_value")

    raw_messages = body.get("messages")
    if raw_messages is None:
        raise InvalidRequest("Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter")
    if not isinstance(raw_messages, list):
        raise bad_type("messages", "an array", raw_messages)
    if not raw_messages:
        raise InvalidRequest(
            "Invalid 'messages': empty array. Expected an array with minimum length 1.", param="messages", code="empty_array"
        )
    messages = tuple(_message(m, i) for i, m in enumerate(raw_messages))

    stream = boolean(body, "stream", False)
    include_usage = False
    opts = body.get("stream_options")
    if opts is not None:
        if not isinstance(opts, dict):
            raise bad_type("stream_options", "an object", opts)
        include_usage = boolean(opts, "include_usage", False, "stream_options.include_usage")

    temperature = number(body, "temperature", 0.0, 2.0)
    top_p = number(body, "top_p", 0.0, 1.0)
    number(body, "presence_penalty", -2.0, 2.0)
    number(body, "frequency_penalty", -2.0, 2.0)
    integer(body, "seed", -(2**63))

    stop_raw = body.get("stop")
    stop: tuple[str, ...] = ()
    if isinstance(stop_raw, str):
        stop = (stop_raw,)
    elif isinstance(stop_raw, list):
        if len(stop_raw) > 4:
            raise InvalidRequest("Invalid 'stop': at most 4 sequences are allowed.", param="stop", code="invalid_value")
        for i, s in enumerate(stop_raw):
            if not isinstance(s, str):
                raise bad_type(f"stop[{i}]", "a string", s)
        stop = tuple(stop_raw)
    elif stop_raw is not None:
        raise bad_type("stop", "a string or an array of strings", stop_raw)

    legacy_max = integer(body, "max_tokens", 1)  # checked even when max_completion_tokens wins
    max_tokens = integer(body, "max_completion_tokens", 1)
    if max_tokens is None:
        max_tokens = legacy_max

    n = integer(body, "n", 1)
    if n is not None and n != 1:
        raise unsupported("n", "Poe returns one answer per request; send n=1 or leave it out.")
    if boolean(body, "logprobs", False):
        raise unsupported("logprobs", "Poe does not report token log-probabilities.")
    if body.get("top_logprobs"):
        raise unsupported("top_logprobs", "Poe does not report token log-probabilities.")
    modalities = body.get("modalities")
    if modalities is not None and (not isinstance(modalities, list) or any(m != "text" for m in modalities)):
        raise unsupported("modalities", "only text output is available.")
    if body.get("audio") is not None:
        raise unsupported("audio", "audio output is not available through Poe.")

    logit_bias_raw = body.get("logit_bias")
    logit_bias: dict[str, float] = {}
    if logit_bias_raw is not None:
        if not isinstance(logit_bias_raw, dict):
            raise bad_type("logit_bias", "an object", logit_bias_raw)
        for k, v in logit_bias_raw.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise bad_type(f"logit_bias.{k}", "a number", v)
            if not -100 <= v <= 100:
                raise InvalidRequest(
                    f"Invalid value for 'logit_bias.{k}': {v} is not between -100 and 100.",
                    param=f"logit_bias.{k}",
                    code="invalid_value",
                )
            logit_bias[str(k)] = float(v)

    json_mode = False
    fmt = body.get("response_format")
    if fmt is not None:
        if not isinstance(fmt, dict) or not isinstance(fmt.get("type"), str):
            raise bad_type("response_format", "an object with 'type'", fmt)
        if fmt["type"] not in ("text", "json_object", "json_schema"):
            raise InvalidRequest(
                f"Invalid value for 'response_format.type': {excerpt(fmt['type'])}.",
                param="response_format.type",
                code="invalid_value",
            )
        json_mode = fmt["type"] != "text"

    tools = _tools(body)
    tool_choice = _tool_choice(body, tools)
    user = string(body, "user", "user")

    return ChatRequest(
        model=model.strip(),
        messages=messages,
        stream=stream,
        include_usage=include_usage,
        temperature=temperature,
        top_p=top_p,
        stop=stop,
        max_tokens=max_tokens,
        user=user,
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=boolean(body, "parallel_tool_calls", True),
        logit_bias=logit_bias,
        json_mode=json_mode,
    )

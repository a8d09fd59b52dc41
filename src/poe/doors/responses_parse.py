"""OpenAI Responses JSON -> ChatRequest (stateless), with OpenAI-style 400s.

Items map onto canonical messages: ``instructions`` is the system message,
``function_call`` items an assistant's tool calls, ``function_call_output``
items tool messages, ``reasoning`` items sent back are dropped. Built-in tools
the upstream cannot run (``web_search``, ``file_search``, ``local_shell``...)
are left out, since real clients send them by default. Freeform ``custom``
tools (Codex's ``apply_patch``) become function tools with one string
argument, ``input``, and their calls go back out as ``custom_tool_call`` items.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..canonical import ChatRequest, FunctionTool, ImagePart, Message, Role, ToolCall
from ..errors import InvalidRequest
from .fields import bad_type, boolean, excerpt, integer, number, object_schema, objects, string, tool_name, unsupported

__all__ = ["ResponsesOptions", "parse_responses_request"]

ROLES: dict[str, Role] = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
CUSTOM_INPUT = "input"  # the one argument of a freeform tool seen as a function


@dataclass(frozen=True, slots=True)
class ResponsesOptions:
    """What the answer echoes back, and which tools are freeform."""

    instructions: str | None
    tools: tuple[dict[str, Any], ...]
    tool_choice: Any
    custom_tools: frozenset[str]
    max_output_tokens: int | None
    metadata: dict[str, Any]
    text_format: dict[str, Any]
    reasoning_effort: str | None
    temperature: float | None = None
    top_p: float | None = None
    parallel_tool_calls: bool = True


def _invalid(param: str, why: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid value for '{param}': {why}", param=param, code="invalid_value")


def _parts(raw: Any, param: str, role: Role) -> tuple[str, tuple[ImagePart, ...]]:
    if isinstance(raw, str):
        return raw, ()
    texts: list[str] = []
    images: list[ImagePart] = []
    for p, part in objects(raw, param):
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text", "summary_text"):
            texts.append(string(part, "text", f"{p}.text", required=True) or "")
        elif kind == "refusal":
            texts.append(string(part, "refusal", f"{p}.refusal") or "")
        elif kind == "input_image":
            if role != "user":
                raise _invalid(f"{p}.type", "images are only allowed in user messages.")
            url = part.get("image_url")
            if not isinstance(url, str):
                if part.get("file_id") is not None:
                    raise unsupported(f"{p}.file_id", "files uploaded to OpenAI do not exist here; send image_url.")
                raise bad_type(f"{p}.image_url", "a string", url)
            if not url.startswith(("https://", "http://", "data:")):
                raise _invalid(f"{p}.image_url", "expected an http(s) URL or a data: URI.")
            detail = part.get("detail")
            images.append(ImagePart(url=url, detail=detail if isinstance(detail, str) else None, param=f"{p}.image_url"))
        elif kind in ("input_file", "input_audio"):
            raise unsupported(f"{p}.type", f"'{kind}' parts are not supported; send text or images.")
        elif isinstance(kind, str):
            raise _invalid(f"{p}.type", f"content parts of type {excerpt(kind)} are not supported.")
        else:
            raise InvalidRequest(f"Missing required parameter: '{p}.type'.", param=f"{p}.type", code="missing_required_parameter")
    return "\n".join(texts), tuple(images)


def _output_text(raw: Any, param: str) -> str:
    """A tool output: a string, or parts of which the text is kept."""
    if raw is None or isinstance(raw, str):
        return raw or ""
    return _parts(raw, param, "user")[0]


class _Transcript:
    """Items in order; consecutive calls join one assistant message."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def add(self, msg: Message) -> None:
        self.messages.append(msg)

    def call(self, call: ToolCall) -> None:
        last = self.messages[-1] if self.messages else None
        if last is not None and last.role == "assistant":
            self.messages[-1] = Message(role="assistant", content=last.content, tool_calls=(*last.tool_calls, call))
        else:
            self.messages.append(Message(role="assistant", content="", tool_calls=(call,)))


def _input(raw: Any, transcript: _Transcript) -> None:
    if isinstance(raw, str):
        transcript.add(Message(role="user", content=raw))
        return
    if raw is None:
        raise InvalidRequest("Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
    for p, item in objects(raw, "input"):
        kind = item.get("type", "message")
        if kind == "message":
            role_raw = item.get("role")
            if not isinstance(role_raw, str) or role_raw not in ROLES:
                raise _invalid(f"{p}.role", "expected 'user', 'assistant', 'system' or 'developer'.")
            role = ROLES[role_raw]
            if item.get("content") is None:
                raise InvalidRequest(f"Missing required parameter: '{p}.content'.", param=f"{p}.content")
            text, images = _parts(item["content"], f"{p}.content", role)
            transcript.add(Message(role=role, content=text, images=images))
        elif kind in ("function_call", "custom_tool_call"):
            call_id = string(item, "call_id", f"{p}.call_id", required=True)
            name = string(item, "name", f"{p}.name", required=True)
            assert call_id is not None and name is not None
            if kind == "function_call":
                args = string(item, "arguments", f"{p}.arguments") or ""
            else:
                args = json.dumps({CUSTOM_INPUT: string(item, "input", f"{p}.input") or ""}, ensure_ascii=False)
            transcript.call(ToolCall(call_id, name, args))
        elif kind in ("function_call_output", "custom_tool_call_output"):
            call_id = string(item, "call_id", f"{p}.call_id", required=True)
            transcript.add(Message(role="tool", content=_output_text(item.get("output"), f"{p}.output"), tool_call_id=call_id))
        elif kind == "reasoning":
            continue  # the model's own thoughts: no Poe bot takes them back
        elif kind == "item_reference":
            raise unsupported(f"{p}.type", "item references need stored responses; this proxy is stateless, send the items.")
        elif isinstance(kind, str):
            raise _invalid(f"{p}.type", f"input items of type {excerpt(kind)} are not supported.")
        else:
            raise bad_type(f"{p}.type", "a string", kind)


def _tools(raw: Any) -> tuple[tuple[FunctionTool, ...], tuple[dict[str, Any], ...], frozenset[str]]:
    tools: list[FunctionTool] = []
    echoed: list[dict[str, Any]] = []
    custom: set[str] = set()
    for p, tool in objects(raw, "tools"):
        kind = tool.get("type")
        if kind not in ("function", "custom"):
            continue  # a built-in tool Poe cannot run: the answer goes on without it
        name = tool_name(tool, "name", f"{p}.name", 64)
        description = string(tool, "description", f"{p}.description") or ""
        if kind == "custom":
            fmt = tool.get("format")
            hint = ""
            if isinstance(fmt, dict) and fmt.get("type") == "grammar" and isinstance(fmt.get("definition"), str):
                hint = f"\n\nThe input must follow this {fmt.get('syntax', 'grammar')} grammar:\n{fmt['definition']}"
            params: dict[str, Any] = {
                "type": "object",
                "properties": {CUSTOM_INPUT: {"type": "string", "description": "The tool's whole input, as free text."}},
                "required": [CUSTOM_INPUT],
            }
            tools.append(FunctionTool(name=name, description=description + hint, parameters=params))
            custom.add(name)
            echoed.append({"type": "custom", "name": name, "description": description})
            continue
        params = object_schema(tool.get("parameters"), f"{p}.parameters")
        tools.append(FunctionTool(name=name, description=description, parameters=params))
        strict = tool.get("strict")
        echoed.append(
            {"type": "function", "name": name, "description": description, "parameters": params, "strict": strict is True}
        )
    return tuple(tools), tuple(echoed), frozenset(custom)


def _tool_choice(raw: Any, tools: tuple[FunctionTool, ...]) -> tuple[str, Any]:
    """(canonical choice, what the answer echoes)."""
    if raw is None:
        return "auto", "auto"
    if raw in ("auto", "none", "required"):
        if raw == "required" and not tools:
            return "auto", raw  # only built-in tools were asked for: nothing to require
        return str(raw), raw
    if isinstance(raw, dict):
        kind = raw.get("type")
        if kind in ("function", "custom"):
            name = string(raw, "name", "tool_choice.name", required=True)
            if name not in {t.name for t in tools}:
                raise _invalid("tool_choice.name", "the named tool is not among 'tools'.")
            assert name is not None
            return name, {"type": kind, "name": name}
        if kind == "allowed_tools":
            mode = raw.get("mode")
            return ("required" if mode == "required" and tools else "auto"), raw
        return "auto", "auto"  # a built-in tool type: left out like the tool itself
    raise bad_type("tool_choice", "a string or an object", raw)


def _format(body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    text = body.get("text")
    if text is None:
        return {"type": "text"}, False
    if not isinstance(text, dict):
        raise bad_type("text", "an object", text)
    fmt = text.get("format")
    if fmt is None:
        return {"type": "text"}, False
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        raise _invalid("text.format.type", "expected 'text', 'json_object' or 'json_schema'.")
    return fmt, fmt["type"] != "text"


def _effort(body: dict[str, Any]) -> str | None:
    reasoning = body.get("reasoning")
    if reasoning is None:
        return None
    if not isinstance(reasoning, dict):
        raise bad_type("reasoning", "an object", reasoning)
    effort = reasoning.get("effort")
    if effort is None:
        return None
    if effort not in EFFORTS:
        raise _invalid("reasoning.effort", f"expected one of {', '.join(EFFORTS)}.")
    return None if effort == "none" else str(effort)


def parse_responses_request(body: dict[str, Any]) -> tuple[ChatRequest, ResponsesOptions]:
    model = string(body, "model", "model", required=True)
    assert model is not None
    if not model.strip():
        raise _invalid("model", "it is empty.")
    if body.get("previous_response_id") is not None:
        raise unsupported(
            "previous_response_id",
            "this proxy stores no responses (Poe's answers are not kept); send the whole conversation in 'input'.",
        )
    if body.get("conversation") is not None:
        raise unsupported("conversation", "this proxy stores no conversations; send the whole conversation in 'input'.")
    if boolean(body, "background", False):
        raise unsupported("background", "background responses need stored state; call without it.")
    instructions = string(body, "instructions", "instructions")
    transcript = _Transcript()
    if instructions:
        transcript.add(Message(role="system", content=instructions))
    _input(body.get("input"), transcript)
    if not transcript.messages:
        raise InvalidRequest("Invalid 'input': it holds no message.", param="input", code="empty_array")
    tools, echoed, custom = _tools(body.get("tools"))
    choice, choice_echo = _tool_choice(body.get("tool_choice"), tools)
    fmt, json_mode = _format(body)
    max_output = integer(body, "max_output_tokens", 1)
    effort = _effort(body)
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise bad_type("metadata", "an object", metadata)
    user = string(body, "user", "user")
    req = ChatRequest(
        model=model.strip(),
        messages=tuple(transcript.messages),
        stream=boolean(body, "stream", False),
        include_usage=True,
        temperature=number(body, "temperature", 0.0, 2.0),
        top_p=number(body, "top_p", 0.0, 1.0),
        max_tokens=max_output,
        user=user,
        tools=tools,
        tool_choice=choice,
        parallel_tool_calls=boolean(body, "parallel_tool_calls", True),
        json_mode=json_mode,
        reasoning_effort=effort,
    )
    options = ResponsesOptions(
        instructions=instructions,
        tools=echoed,
        tool_choice=choice_echo,
        custom_tools=custom,
        max_output_tokens=max_output,
        metadata=metadata or {},
        text_format=fmt,
        reasoning_effort=effort,
        temperature=req.temperature,
        top_p=req.top_p,
        parallel_tool_calls=req.parallel_tool_calls,
    )
    return req, options

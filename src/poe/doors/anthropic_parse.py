"""Anthropic Messages JSON -> ChatRequest, with 400s that name the field.

Blocks map onto the canonical messages: ``tool_use`` blocks become an
assistant's tool calls, ``tool_result`` blocks become tool messages (placed
before the rest of their user turn, as Chat Completions wants), ``thinking``
blocks sent back are dropped (no Poe bot takes them as input), server tools the
upstream cannot run are left out. Unknown fields (``cache_control``,
``context_management``...) are ignored.
"""

from __future__ import annotations

import json
from typing import Any

from ..canonical import ChatRequest, FunctionTool, ImagePart, Message, ToolCall
from ..errors import InvalidRequest
from .fields import bad_type, boolean, excerpt, integer, number, object_schema, objects, string, tool_name

__all__ = ["parse_messages_request"]

# Blocks that carry nothing a Poe bot can take: dropped, not refused.
IGNORED_BLOCKS = frozenset(
    {"thinking", "redacted_thinking", "server_tool_use", "web_search_tool_result", "web_fetch_tool_result", "container_upload"}
)
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def _invalid(param: str, why: str) -> InvalidRequest:
    return InvalidRequest(f"{param}: {why}", param=param, code="invalid_value")


def _image(block: dict[str, Any], param: str) -> ImagePart:
    source = block.get("source")
    if not isinstance(source, dict):
        raise bad_type(f"{param}.source", "an object", source)
    kind = source.get("type")
    if kind == "base64":
        media = string(source, "media_type", f"{param}.source.media_type", required=True)
        data = string(source, "data", f"{param}.source.data", required=True)
        if media not in IMAGE_TYPES:
            raise _invalid(f"{param}.source.media_type", f"expected one of {', '.join(IMAGE_TYPES)}.")
        return ImagePart(url=f"data:{media};base64,{data}", param=f"{param}.source.data")
    if kind == "url":
        url = string(source, "url", f"{param}.source.url", required=True)
        assert url is not None
        if not url.startswith(("https://", "http://")):
            raise _invalid(f"{param}.source.url", "expected an http(s) URL.")
        return ImagePart(url=url, param=f"{param}.source.url")
    raise _invalid(f"{param}.source.type", "expected 'base64' or 'url'.")


def _text_of(raw: Any, param: str, native: bool) -> tuple[str, list[ImagePart]]:
    """A ``tool_result``'s content: a string or text/image blocks."""
    if raw is None:
        return "", []
    if isinstance(raw, str):
        return raw, []
    texts: list[str] = []
    images: list[ImagePart] = []
    for p, block in objects(raw, param):
        kind = block.get("type")
        if kind == "text":
            texts.append(string(block, "text", f"{p}.text", required=True) or "")
        elif kind == "image":
            images.append(_image(block, p))
        elif not (isinstance(kind, str) and (native or kind in IGNORED_BLOCKS or kind == "search_result")):
            raise _invalid(f"{p}.type", f"content blocks of type {excerpt(kind)} are not supported here.")
    return "\n".join(texts), images


def _messages(raw: Any, native: bool) -> list[Message]:
    if raw is None:
        raise InvalidRequest("messages: Field required", param="messages", code="missing_required_parameter")
    pairs = objects(raw, "messages")
    if not pairs:
        raise InvalidRequest("messages: at least one message is required", param="messages", code="empty_array")
    out: list[Message] = []
    for i, (_, msg) in enumerate(pairs):
        role = msg.get("role")
        if role not in ("user", "assistant", "system"):  # Claude Code sends system turns mid-conversation
            raise _invalid(f"messages.{i}.role", f"expected 'user' or 'assistant', got {excerpt(role)}.")
        content = msg.get("content")
        if content is None:
            raise InvalidRequest(f"messages.{i}.content: Field required", param=f"messages.{i}.content")
        if isinstance(content, str):
            out.append(Message(role=role, content=content))
            continue
        texts: list[str] = []
        images: list[ImagePart] = []
        calls: list[ToolCall] = []
        results: list[Message] = []
        for j, (p, block) in enumerate(objects(content, f"messages.{i}.content")):
            p = f"messages.{i}.content.{j}"
            kind = block.get("type")
            if kind == "text":
                texts.append(string(block, "text", f"{p}.text", required=True) or "")
            elif kind == "image":
                if role != "user":
                    raise _invalid(f"{p}.type", "images are only allowed in user messages.")
                images.append(_image(block, p))
            elif kind == "tool_use":
                if role != "assistant":
                    raise _invalid(f"{p}.type", "tool_use blocks belong in assistant messages.")
                call_id = string(block, "id", f"{p}.id", required=True)
                name = string(block, "name", f"{p}.name", required=True)
                args = block.get("input", {})
                if not isinstance(args, dict):
                    raise bad_type(f"{p}.input", "an object", args)
                assert call_id is not None and name is not None
                calls.append(ToolCall(call_id, name, json.dumps(args, ensure_ascii=False)))
            elif kind == "tool_result":
                if role != "user":
                    raise _invalid(f"{p}.type", "tool_result blocks belong in user messages.")
                call_id = string(block, "tool_use_id", f"{p}.tool_use_id", required=True)
                text, result_images = _text_of(block.get("content"), f"{p}.content", native)
                if boolean(block, "is_error", False, f"{p}.is_error"):
                    text = f"Error: {text}"
                results.append(Message(role="tool", content=text, tool_call_id=call_id))
                images.extend(result_images)  # Chat Completions has no images in tool messages: they follow as user content
            elif isinstance(kind, str) and (native or kind in IGNORED_BLOCKS):
                continue  # Poe's Anthropic endpoint takes every block Anthropic does (documents too)
            elif kind == "document":
                raise _invalid(f"{p}.type", "document blocks reach Claude bots only; send other models the text instead.")
            elif isinstance(kind, str):
                raise _invalid(f"{p}.type", f"content blocks of type {excerpt(kind)} are not supported.")
            else:
                raise InvalidRequest(f"{p}.type: Field required", param=f"{p}.type")
        out.extend(results)
        text = "\n".join(texts)
        if role == "assistant":
            out.append(Message(role="assistant", content=text, tool_calls=tuple(calls)))
        elif role == "system":
            out.append(Message(role="system", content=text))
        elif text or images or not results:
            out.append(Message(role="user", content=text, images=tuple(images)))
    return out


def _system(raw: Any) -> str:
    if raw is None or isinstance(raw, str):
        return raw or ""
    texts = []
    for p, block in objects(raw, "system"):
        if block.get("type") != "text":
            raise _invalid(f"{p}.type", "system blocks must be of type 'text'.")
        texts.append(string(block, "text", f"{p}.text", required=True) or "")
    return "\n\n".join(texts)


def _tools(raw: Any) -> tuple[FunctionTool, ...]:
    tools = []
    for p, tool in objects(raw, "tools"):
        kind = tool.get("type")
        if kind not in (None, "custom"):
            continue  # a server tool (web_search_..., bash_..., text_editor_...) Poe cannot run: left out
        name = tool_name(tool, "name", f"{p}.name", 128)
        if "input_schema" not in tool:
            raise InvalidRequest(f"{p}.input_schema: Field required", param=f"{p}.input_schema")
        params = object_schema(tool["input_schema"], f"{p}.input_schema")
        tools.append(
            FunctionTool(name=name, description=string(tool, "description", f"{p}.description") or "", parameters=params)
        )
    return tuple(tools)


def _tool_choice(raw: Any, tools: tuple[FunctionTool, ...], server_tools_only: bool) -> tuple[str, bool]:
    """(canonical tool_choice, parallel calls allowed)."""
    if raw is None:
        return "auto", True
    if not isinstance(raw, dict):
        raise bad_type("tool_choice", "an object", raw)
    if server_tools_only:
        return "auto", True  # every tool was a server tool, left out: nothing to choose among
    parallel = not boolean(raw, "disable_parallel_tool_use", False, "tool_choice.disable_parallel_tool_use")
    kind = raw.get("type")
    if kind == "auto":
        return "auto", parallel
    if kind == "none":
        return ("none" if tools else "auto"), parallel
    if kind == "any":
        if not tools:
            raise _invalid("tool_choice", "'any' needs at least one tool in 'tools'.")
        return "required", parallel
    if kind == "tool":
        name = string(raw, "name", "tool_choice.name", required=True)
        if name not in {t.name for t in tools}:
            raise _invalid("tool_choice.name", f"no tool named {excerpt(name)} in 'tools'.")
        assert name is not None
        return name, parallel
    raise _invalid("tool_choice.type", "expected 'auto', 'any', 'tool' or 'none'.")


def _thinking(raw: Any) -> int | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_type("thinking", "an object", raw)
    kind = raw.get("type")
    if kind == "enabled":
        return integer(raw, "budget_tokens", 1, "thinking.budget_tokens", required=True)
    if kind in ("disabled", "adaptive"):
        return None
    raise _invalid("thinking.type", "expected 'enabled' or 'disabled'.")


EFFORTS = ("low", "medium", "high", "xhigh", "max")


def _effort(raw: Any) -> str | None:
    """``output_config.effort`` (Claude Code sends it): the effort words Poe's other bots take."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_type("output_config", "an object", raw)
    effort = raw.get("effort")
    if effort is None:
        return None
    if effort not in EFFORTS:
        raise _invalid("output_config.effort", f"expected one of {', '.join(EFFORTS)}.")
    return "xhigh" if effort == "max" else str(effort)


def parse_messages_request(body: dict[str, Any], *, count_only: bool = False, native: bool = False) -> ChatRequest:
    """The request of ``/v1/messages`` (``count_only``: of ``/v1/messages/count_tokens``, no ``max_tokens``).

    ``native``: for Poe's own Anthropic endpoint, which takes every block type Anthropic's API does;
    blocks the proxy cannot translate (``document``, new types) are then let through, not refused.
    """
    model = string(body, "model", "model", required=True)
    assert model is not None
    if not model.strip():
        raise _invalid("model", "it is empty.")
    max_tokens = integer(body, "max_tokens", 1, required=not count_only)
    messages = _messages(body.get("messages"), native)
    system = _system(body.get("system"))
    if system:
        messages.insert(0, Message(role="system", content=system))
    stop_raw = body.get("stop_sequences")
    if stop_raw is not None and (not isinstance(stop_raw, list) or not all(isinstance(s, str) for s in stop_raw)):
        raise bad_type("stop_sequences", "an array of strings", stop_raw)
    raw_tools = body.get("tools")
    tools = _tools(raw_tools)
    server_tools_only = not tools and isinstance(raw_tools, list) and bool(raw_tools)
    tool_choice, parallel = _tool_choice(body.get("tool_choice"), tools, server_tools_only)
    integer(body, "top_k", 0)  # validated; Poe has no top_k
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise bad_type("metadata", "an object", metadata)
    return ChatRequest(
        model=model.strip(),
        messages=tuple(messages),
        stream=boolean(body, "stream", False),
        include_usage=True,
        temperature=number(body, "temperature", 0.0, 1.0),
        top_p=number(body, "top_p", 0.0, 1.0),
        stop=tuple(stop_raw or ()),
        max_tokens=max_tokens,
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        thinking_budget=_thinking(body.get("thinking")),
        reasoning_effort=_effort(body.get("output_config")),
    )

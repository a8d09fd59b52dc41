"""The OpenAPI 3.1 description of the proxy's own API, served at ``/openapi.json``.

Hand-written, built from small helpers so that each rule appears once: the request bodies say
what the doors' parsers accept (types, enums, ranges, required fields; unknown fields are
allowed, since every door ignores or forwards them), the responses what the doors write, and
every error status comes in the shape of the protocol called (OpenAI's error object; Anthropic's
on ``/v1/messages``). Stdlib only: it is built under Pyodide too, once per isolate.

A request the schema accepts can still be a 400 (a model id must be in the catalogue, a named
tool among ``tools``, a ``data:`` URI an image); a request it rejects is always a 4xx.

The repository ships a copy (``openapi.json``; a test keeps it equal). Regenerate it with
``.venv/bin/python -m poe.openapi > openapi.json``.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["document"]

Schema = dict[str, Any]

# ---------------------------------------------------------------- JSON Schema builders


SCHEMAS: dict[str, Schema] = {}  # components.schemas, in the order they are named


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def named(name: str, schema: Schema) -> Schema:
    """Put ``schema`` into ``components.schemas`` and refer to it."""
    SCHEMAS[name] = schema
    return ref(name)


def string(**kw: Any) -> Schema:
    return {"type": "string", **kw}


def integer(lo: int | None = None, hi: int | None = None, **kw: Any) -> Schema:
    bounds = {k: v for k, v in (("minimum", lo), ("maximum", hi)) if v is not None}
    return {"type": "integer", **bounds, **kw}


def number(lo: float, hi: float, **kw: Any) -> Schema:
    return {"type": "number", "minimum": lo, "maximum": hi, **kw}


def boolean(**kw: Any) -> Schema:
    return {"type": "boolean", **kw}


def array(items: Schema, **kw: Any) -> Schema:
    return {"type": "array", "items": items, **kw}


def enum(*values: Any, **kw: Any) -> Schema:
    return {"enum": list(values), **kw}


def const(value: Any) -> Schema:
    return {"const": value}


def one_of(*schemas: Schema, **kw: Any) -> Schema:
    return {"oneOf": list(schemas), **kw}


def any_of(*schemas: Schema, **kw: Any) -> Schema:
    return {"anyOf": list(schemas), **kw}


def nullable(schema: Schema) -> Schema:
    """``schema`` or null (the parsers read null as "not sent")."""
    if set(schema) <= {"type", "description", "minimum", "maximum", "minLength", "maxLength", "pattern", "format"} and isinstance(
        schema.get("type"), str
    ):
        return {**schema, "type": [schema["type"], "null"]}
    return any_of(schema, {"type": "null"})


def obj(required: Schema | None = None, optional: Schema | None = None, plain: Schema | None = None, **kw: Any) -> Schema:
    """An object: ``required`` properties, ``optional`` ones (null allowed), ``plain`` optional ones (no null).

    Unknown properties are allowed unless ``additionalProperties`` says otherwise.
    """
    required = required or {}
    props = {**required, **{k: nullable(v) for k, v in (optional or {}).items()}, **(plain or {})}
    out: Schema = {"type": "object"}
    if props:
        out["properties"] = props
    if required:
        out["required"] = list(required)
    return {**out, **kw}


def closed(required: Schema, optional: Schema | None = None, **kw: Any) -> Schema:
    """An object of exactly these properties (what the proxy writes itself)."""
    return obj(required, plain=optional, additionalProperties=False, **kw)


def typed(kind: str, required: Schema | None = None, optional: Schema | None = None, **kw: Any) -> Schema:
    """An object with ``"type": kind`` (a block, part, item or event)."""
    return obj({"type": const(kind), **(required or {})}, optional, **kw)


MODEL = string(
    pattern=r"\S", description="A model id of `GET /v1/models` (any case, `poe/` prefix allowed), an alias or a custom id."
)
NAME_64 = string(pattern=r"^[A-Za-z0-9_-]{1,64}$")
URL = string(pattern=r"^(https?://|data:)", description="An http(s) URL or a `data:image/...;base64,` URI.")
JSON_OBJECT = {"type": "object"}
IGNORED = {"description": "Any value: read only when it has the expected type."}
TOKENS = integer(0)
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


# ---------------------------------------------------------------- OpenAI Chat Completions: request

CHAT_TEXT_PARTS = (
    typed("text", {"text": string()}),
    typed("input_text", {"text": string()}),
    typed("refusal", {"refusal": string()}),
    string(description="A bare string part (lenient)."),
)
CHAT_IMAGE_PART = typed(
    "image_url",
    {"image_url": one_of(obj({"url": URL}, plain={"detail": IGNORED}), URL)},
    description="User messages only.",
)


def chat_content(*parts: Schema, null: bool = True) -> Schema:
    content = one_of(string(), array(one_of(*parts)))
    return nullable(content) if null else content


CHAT_TOOL_CALL = named(
    "ChatToolCall",
    obj(
        {"id": string(), "function": obj({"name": string()}, {"arguments": one_of(string(), JSON_OBJECT, array({}))})},
        plain={"type": IGNORED},
    ),
)
CHAT_MESSAGE = named(
    "ChatMessage",
    one_of(
        obj({"role": enum("system", "developer"), "content": chat_content(*CHAT_TEXT_PARTS)}, {"name": string()}),
        obj({"role": const("user"), "content": chat_content(*CHAT_TEXT_PARTS, CHAT_IMAGE_PART, null=False)}, {"name": string()}),
        obj(
            {"role": const("assistant")},
            {"name": string()},
            {"content": chat_content(*CHAT_TEXT_PARTS), "tool_calls": nullable(array(CHAT_TOOL_CALL))},
        ),
        obj({"role": const("tool"), "content": chat_content(*CHAT_TEXT_PARTS), "tool_call_id": string()}, {"name": string()}),
    ),
)
FUNCTION = named(
    "ChatFunction",
    obj(
        {"name": NAME_64},
        {
            "description": string(),
            "parameters": obj(
                plain={"type": string(), "properties": JSON_OBJECT, "required": nullable(array(string()))},
                description="A JSON Schema object (`type` a string, `properties` an object, `required` strings).",
            ),
        },
    ),
)
CHAT_TOOL_CHOICE = named(
    "ChatToolChoice",
    one_of(
        enum("none", "auto", "required", description="`required` needs `tools`."),
        obj({"function": obj({"name": string()})}, {"type": const("function")}, description="A function among `tools`."),
    ),
)

CHAT_REQUEST = obj(
    {"model": MODEL, "messages": array(CHAT_MESSAGE, minItems=1)},
    {
        "stream": boolean(),
        "stream_options": obj(optional={"include_usage": boolean()}),
        "temperature": number(0, 2),
        "top_p": number(0, 1),
        "presence_penalty": number(-2, 2),
        "frequency_penalty": number(-2, 2),
        "seed": integer(-(2**63)),
        "stop": one_of(string(), array(string(), maxItems=4)),
        "max_completion_tokens": integer(1),
        "max_tokens": integer(1),
        "n": const(1),
        "logprobs": const(False),
        "top_logprobs": any_of(enum(0, False, ""), array({}, maxItems=0), obj(maxProperties=0), description="Absent or empty."),
        "modalities": array(const("text")),
        "logit_bias": obj(additionalProperties=number(-100, 100)),
        "response_format": obj({"type": enum("text", "json_object", "json_schema")}),
        "tools": array(obj({"function": FUNCTION}, plain={"type": const("function")})),
        "functions": array(FUNCTION, deprecated=True),
        "tool_choice": CHAT_TOOL_CHOICE,
        "function_call": CHAT_TOOL_CHOICE,
        "user": string(),
        "parallel_tool_calls": boolean(),
    },
    {"audio": {"type": "null", "description": "Audio output is not available through Poe."}},
    description="OpenAI's chat completion request. Other fields (Poe bot parameters such as `thinking_budget`) "
    "are forwarded to Poe in openai mode and ignored in bot mode.",
)

# ---------------------------------------------------------------- OpenAI Chat Completions: answers

USAGE = named(
    "ChatUsage",
    obj(
        {"prompt_tokens": TOKENS, "completion_tokens": TOKENS, "total_tokens": TOKENS},
        plain={"prompt_tokens_details": JSON_OBJECT, "completion_tokens_details": JSON_OBJECT},
    ),
)
FINISH_REASON = enum("stop", "length", "tool_calls", "content_filter", "function_call", None)
CHAT_COMPLETION = obj(
    {
        "id": string(),
        "object": const("chat.completion"),
        "created": integer(0),
        "model": string(),
        "choices": array(
            obj(
                {
                    "index": integer(0),
                    "finish_reason": FINISH_REASON,
                    "message": obj(
                        {"role": const("assistant"), "content": nullable(string())},
                        {"reasoning_content": string(), "refusal": string()},
                        {
                            "tool_calls": array(
                                obj(
                                    {
                                        "id": string(),
                                        "type": const("function"),
                                        "function": obj({"name": string(), "arguments": string()}),
                                    }
                                )
                            )
                        },
                    ),
                }
            )
        ),
    },
    {"usage": USAGE},
)
CHAT_CHUNK = obj(
    {
        "id": string(),
        "object": const("chat.completion.chunk"),
        "created": integer(0),
        "model": string(),
        "choices": array(
            obj(
                {
                    "index": integer(0),
                    "delta": obj(
                        optional={
                            "role": const("assistant"),
                            "content": string(),
                            "reasoning_content": string(),
                            "tool_calls": array(
                                obj(
                                    {"index": integer(0)},
                                    {"id": string(), "type": const("function")},
                                    {"function": obj(optional={"name": string(), "arguments": string()})},
                                )
                            ),
                        }
                    ),
                },
                {"finish_reason": FINISH_REASON},
            )
        ),
    },
    {"usage": USAGE},
    description="One `data:` frame of a streamed answer (the last choices-less one carries `usage` when asked for).",
)
STREAM_ERROR = obj(
    {"error": obj({"message": string()}, {"type": string(), "param": string(), "code": string()})},
    description="An error after the stream began (bot mode: the proxy's error object; openai mode: Poe's error frame).",
)

# ---------------------------------------------------------------- images, models

IMAGES_REQUEST = obj(
    {"prompt": string(pattern=r"\S")},
    {
        "model": string(description="An image bot; `dall-e-3` when left out."),
        "n": const(1),
        "response_format": const("url"),
        **{name: string(description="Passed to the bot as a hint.") for name in ("size", "quality", "style")},
    },
)
IMAGES_RESPONSE = closed(
    {"created": integer(0), "data": array(closed({"url": string(), "revised_prompt": string()}), minItems=1)}
)
POE_SAYS = "As Poe's `GET /v1/models` says (models of the list the scheduled pass fetched; absent when Poe gives none)."
MODEL_OBJECT = closed(
    {"id": string(), "object": const("model"), "created": integer(0), "owned_by": string()},
    {
        "context_window": obj(optional={"context_length": integer(0), "max_output_tokens": integer(0)}, description=POE_SAYS),
        "context_length": integer(0, description=POE_SAYS),
        "architecture": obj(
            optional={"input_modalities": array(string()), "output_modalities": array(string()), "modality": string()},
            description=POE_SAYS,
        ),
        "supported_endpoints": array(string(), description=POE_SAYS),
        "supported_features": array(string(), description=POE_SAYS),
        "reasoning": obj(description=POE_SAYS),
        "pricing": obj(description=POE_SAYS + " Decimal strings, USD per token (or per request)."),
    },
)
MODEL_LIST = closed({"object": const("list"), "data": array(ref("Model"))})

# ---------------------------------------------------------------- Anthropic Messages

ANTHROPIC_IGNORED = (
    "thinking",
    "redacted_thinking",
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "container_upload",
)
A_TEXT = typed("text", {"text": string()})
A_IMAGE = named(
    "AnthropicImageBlock",
    typed(
        "image",
        {
            "source": one_of(
                typed("base64", {"media_type": enum(*IMAGE_TYPES), "data": string()}),
                typed("url", {"url": string(pattern="^https?://")}),
            )
        },
    ),
)
A_IGNORED = obj({"type": enum(*ANTHROPIC_IGNORED)}, description="Sent back by clients; dropped.")
A_TOOL_USE = typed("tool_use", {"id": string(), "name": string()}, plain={"input": JSON_OBJECT})
A_TOOL_RESULT = named(
    "AnthropicToolResultBlock",
    typed(
        "tool_result",
        {"tool_use_id": string()},
        {
            "content": one_of(string(), array(one_of(A_TEXT, A_IMAGE, obj({"type": enum(*ANTHROPIC_IGNORED, "search_result")})))),
            "is_error": boolean(),
        },
    ),
)


def a_message(role: Schema, *blocks: Schema, **kw: Any) -> Schema:
    return obj({"role": role, "content": one_of(string(), array(one_of(*blocks)))}, **kw)


ANTHROPIC_TOOL = named(
    "AnthropicTool",
    one_of(
        obj(
            {"name": string(pattern=r"^[A-Za-z0-9_-]{1,128}$"), "input_schema": obj(plain={"properties": JSON_OBJECT})},
            {"description": string(), "type": const("custom")},
            description="A custom tool.",
        ),
        obj(
            {"type": {"not": enum("custom", None)}},
            description="A server tool (`web_search_...`): left out, the answer goes on.",
        ),
    ),
)


A_INPUT_MESSAGE = named(
    "AnthropicInputMessage",
    one_of(
        a_message(const("user"), A_TEXT, A_IMAGE, A_TOOL_RESULT, A_IGNORED),
        a_message(const("assistant"), A_TEXT, A_TOOL_USE, A_IGNORED),
        a_message(const("system"), A_TEXT, A_IGNORED, description="Claude Code sends system turns mid-conversation."),
    ),
)
A_TOOL_CHOICE = named(
    "AnthropicToolChoice",
    one_of(
        obj({"type": enum("auto", "any", "none")}, {"disable_parallel_tool_use": boolean()}),
        obj({"type": const("tool"), "name": string()}, {"disable_parallel_tool_use": boolean()}),
    ),
)


def anthropic_request(count_only: bool) -> Schema:
    max_tokens = {"max_tokens": integer(1)}
    return obj(
        {
            "model": MODEL,
            **({} if count_only else max_tokens),
            "messages": array(A_INPUT_MESSAGE, minItems=1),
        },
        {
            **(max_tokens if count_only else {}),
            "system": one_of(string(), array(typed("text", {"text": string()}))),
            "stop_sequences": array(string()),
            "tools": array(ANTHROPIC_TOOL),
            "tool_choice": A_TOOL_CHOICE,
            "temperature": number(0, 1),
            "top_p": number(0, 1),
            "top_k": integer(0, description="Checked, not sent: Poe has none."),
            "metadata": obj(plain={"user_id": {"description": "Passed on as the user when a string."}}),
            "thinking": one_of(
                obj({"type": const("enabled"), "budget_tokens": integer(1)}),
                obj({"type": enum("disabled", "adaptive")}),
            ),
            "output_config": obj(optional={"effort": enum("low", "medium", "high", "xhigh", "max")}),
            "stream": boolean(),
        },
        description="Anthropic's Messages request. Unknown fields (`context_management`, `cache_control`) are ignored.",
    )


A_STOP_REASON = enum("end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal", None)
A_USAGE = obj({"input_tokens": TOKENS, "output_tokens": TOKENS})
A_CONTENT_BLOCK = named(
    "AnthropicContentBlock",
    one_of(
        typed("text", {"text": string()}),
        typed("thinking", {"thinking": string(), "signature": string()}),
        typed("tool_use", {"id": string(), "name": string(), "input": JSON_OBJECT}),
        obj(
            {"type": string(**{"not": enum("text", "thinking", "tool_use")})},
            description="Other blocks Poe's Anthropic endpoint sends.",
        ),
    ),
)
ANTHROPIC_MESSAGE = typed(
    "message",
    {
        "id": string(),
        "role": const("assistant"),
        "model": string(),
        "content": array(A_CONTENT_BLOCK),
        "stop_reason": A_STOP_REASON,
        "stop_sequence": nullable(string()),
        "usage": A_USAGE,
    },
)
ANTHROPIC_EVENT = one_of(
    typed("message_start", {"message": ANTHROPIC_MESSAGE}),
    typed("content_block_start", {"index": integer(0), "content_block": A_CONTENT_BLOCK}),
    typed(
        "content_block_delta",
        {
            "index": integer(0),
            "delta": one_of(
                typed("text_delta", {"text": string()}),
                typed("thinking_delta", {"thinking": string()}),
                typed("input_json_delta", {"partial_json": string()}),
                typed("signature_delta", {"signature": string()}),
                typed("citations_delta", {"citation": JSON_OBJECT}),
            ),
        },
    ),
    typed("content_block_stop", {"index": integer(0)}),
    typed("message_delta", {"delta": obj({"stop_reason": A_STOP_REASON}, {"stop_sequence": string()}), "usage": JSON_OBJECT}),
    typed("message_stop"),
    typed("ping"),
    typed("error", {"error": obj({"type": string(), "message": string()})}),
)
COUNT_TOKENS = closed({"input_tokens": TOKENS})

# ---------------------------------------------------------------- OpenAI Responses

R_TEXT = tuple(typed(kind, {"text": string()}) for kind in ("input_text", "output_text", "text", "summary_text"))
R_PARTS = (
    *R_TEXT,
    typed("refusal", optional={"refusal": string()}),
)
R_IMAGE = typed("input_image", {"image_url": URL}, plain={"detail": IGNORED}, description="User messages only.")


def r_message(roles: Schema, *parts: Schema) -> Schema:
    return obj({"role": roles, "content": one_of(string(), array(one_of(*parts)))}, plain={"type": const("message")})


R_CALL = {"call_id": string(), "name": string()}
R_OUTPUT = one_of(string(), array(one_of(*R_PARTS)))
R_INPUT_ITEM = named(
    "ResponseInputItem",
    one_of(
        r_message(const("user"), *R_PARTS, R_IMAGE),
        r_message(enum("assistant", "system", "developer"), *R_PARTS),
        typed("function_call", R_CALL, {"arguments": string()}),
        typed("custom_tool_call", R_CALL, {"input": string()}),
        typed("function_call_output", {"call_id": string()}, {"output": R_OUTPUT}),
        typed("custom_tool_call_output", {"call_id": string()}, {"output": R_OUTPUT}),
        typed("reasoning", description="Sent back by clients; dropped."),
    ),
)
R_TOOL = named(
    "ResponseTool",
    one_of(
        typed(
            "function",
            {"name": NAME_64},
            {"description": string(), "parameters": obj(plain={"properties": JSON_OBJECT})},
            plain={"strict": IGNORED},
        ),
        typed("custom", {"name": NAME_64}, {"description": string()}, plain={"format": IGNORED}),
        obj(
            plain={"type": {"not": enum("function", "custom")}},
            description="A built-in tool (`web_search`, `file_search`, ...): left out, the answer goes on.",
        ),
    ),
)
R_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
RESPONSES_REQUEST = obj(
    {"model": MODEL, "input": one_of(string(), array(R_INPUT_ITEM))},
    {
        "instructions": string(),
        "tools": array(R_TOOL),
        "tool_choice": one_of(
            enum("auto", "none", "required"),
            obj({"type": enum("function", "custom"), "name": string()}, description="A tool among `tools`."),
            obj(plain={"type": {"not": enum("function", "custom")}}, description="A built-in tool's type, or none: `auto`."),
        ),
        "parallel_tool_calls": boolean(),
        "max_output_tokens": integer(1),
        "temperature": number(0, 2),
        "top_p": number(0, 1),
        "text": obj(optional={"format": obj({"type": enum("text", "json_object", "json_schema")})}),
        "reasoning": obj(optional={"effort": enum(*R_EFFORTS)}),
        "metadata": JSON_OBJECT,
        "user": string(),
        "stream": boolean(),
        "background": const(False),
    },
    {
        "previous_response_id": {"type": "null", "description": "Stateless: send the whole conversation in `input`."},
        "conversation": {"type": "null", "description": "Stateless: send the whole conversation in `input`."},
    },
    description="OpenAI's Responses request, stateless. `store`, `include`, `prompt_cache_key` and other fields are accepted "
    "and ignored; `input` (with `instructions`) must hold at least one message.",
)

R_OUTPUT_TEXT = named(
    "ResponseOutputText", typed("output_text", {"text": string(), "annotations": array({}), "logprobs": array({})})
)
R_OUTPUT_ITEM = named(
    "ResponseOutputItem",
    one_of(
        typed("reasoning", {"id": string(), "summary": array(typed("summary_text", {"text": string()}))}),
        typed(
            "message",
            {
                "id": string(),
                "status": enum("in_progress", "completed"),
                "role": const("assistant"),
                "content": array(R_OUTPUT_TEXT),
            },
        ),
        typed(
            "function_call",
            {
                "id": string(),
                "call_id": string(),
                "name": string(),
                "arguments": string(),
                "status": enum("in_progress", "completed"),
            },
        ),
        typed("custom_tool_call", {"id": string(), "call_id": string(), "name": string(), "input": string()}),
    ),
)
RESPONSE_OBJECT = closed(
    {
        "id": string(pattern="^resp_"),
        "object": const("response"),
        "created_at": integer(0),
        "status": enum("in_progress", "completed", "incomplete", "failed"),
        "error": nullable(closed({"code": string(), "message": string()})),
        "incomplete_details": nullable(closed({"reason": enum("max_output_tokens", "content_filter")})),
        "instructions": nullable(string()),
        "max_output_tokens": nullable(integer(1)),
        "model": string(),
        "output": array(R_OUTPUT_ITEM),
        "parallel_tool_calls": boolean(),
        "previous_response_id": {"type": "null"},
        "reasoning": obj({"effort": nullable(string()), "summary": {"type": "null"}}),
        "store": const(False),
        "temperature": nullable({"type": "number"}),
        "text": obj({"format": obj({"type": enum("text", "json_object", "json_schema")})}),
        "tool_choice": {},
        "tools": array(obj({"type": enum("function", "custom"), "name": string()})),
        "top_p": nullable({"type": "number"}),
        "truncation": const("disabled"),
        "usage": nullable(
            obj(
                {
                    "input_tokens": TOKENS,
                    "input_tokens_details": JSON_OBJECT,
                    "output_tokens": TOKENS,
                    "output_tokens_details": JSON_OBJECT,
                    "total_tokens": TOKENS,
                }
            )
        ),
        "metadata": JSON_OBJECT,
    }
)


def r_event(kind: str, **props: Schema) -> Schema:
    return closed({"type": const(kind), "sequence_number": integer(0), **props})


WHERE = {"item_id": string(), "output_index": integer(0)}
PART = {**WHERE, "content_index": integer(0)}
SUMMARY = {**WHERE, "summary_index": integer(0)}
RESPONSE_EVENT = one_of(
    *(
        r_event(f"response.{status}", response=ref("Response"))
        for status in ("created", "in_progress", "completed", "incomplete", "failed")
    ),
    *(r_event(f"response.output_item.{step}", output_index=integer(0), item=R_OUTPUT_ITEM) for step in ("added", "done")),
    *(r_event(f"response.content_part.{step}", **PART, part=R_OUTPUT_TEXT) for step in ("added", "done")),
    r_event("response.output_text.delta", **PART, delta=string(), logprobs=array({})),
    r_event("response.output_text.done", **PART, text=string(), logprobs=array({})),
    *(
        r_event(f"response.reasoning_summary_part.{step}", **SUMMARY, part=typed("summary_text", {"text": string()}))
        for step in ("added", "done")
    ),
    r_event("response.reasoning_summary_text.delta", **SUMMARY, delta=string()),
    r_event("response.reasoning_summary_text.done", **SUMMARY, text=string()),
    r_event("response.function_call_arguments.delta", **WHERE, delta=string()),
    r_event("response.function_call_arguments.done", **WHERE, name=string(), arguments=string()),
    r_event("response.custom_tool_call_input.delta", **WHERE, delta=string()),
    r_event("response.custom_tool_call_input.done", **WHERE, input=string()),
)

# ---------------------------------------------------------------- the proxy's own

INDEX = closed({"name": string(), "version": string(), "endpoints": array(string())})
HEALTH = closed(
    {"status": enum("ok", "misconfigured"), "version": string(), "configured": boolean()},
    description="Public: whether the proxy is up and configured; nothing about keys, tokens or errors.",
)
USAGE_DAYS = obj(
    {},
    description=(
        "Per UTC day (`2026-11-30`, newest first): counters (a token's: `requests`, `client_errors`, `errors`, "
        "`input_tokens`, `output_tokens`, `metered`; a key's: `answered` and failures by class, with the tokens "
        "of its answers), `by_model` (the same per model), `by_hour` (24 counts, UTC) and `by_status` (failed answers)."
    ),
)
TOKEN_ENTRY = closed(
    {
        "name": string(),
        "models": array(string()),
        "limits": nullable(
            closed({"rpm": nullable(integer(1)), "rpd": nullable(integer(1)), "concurrency": nullable(integer(1))})
        ),
        "now": closed({"requests_this_minute": integer(0), "requests_today": integer(0), "open": integer(0)}),
        "usage": USAGE_DAYS,
    },
    description="An access token by name (never the token): its model scope, limits, counts now and usage.",
)
ADMIN_STATUS = obj(
    {
        "status": enum("ok", "misconfigured"),
        "version": string(),
        "keys": closed(
            {
                "configured": integer(0),
                "healthy": integer(0),
                "cooling": array(closed({"key": string(pattern="^#[0-9]+$"), "reason": string(), "seconds_left": integer()})),
                "today": array(
                    obj({"key": string(pattern="^#[0-9]+$")}),
                    description="Per key, the attempts today: `answered`, and failures by class.",
                ),
                "usage": array(closed({"key": string(pattern="^#[0-9]+$"), "days": USAGE_DAYS})),
            },
            description="The key pool by position (`#2`), never the keys.",
        ),
        "tokens": array(TOKEN_ENTRY),
        "catalogue": JSON_OBJECT,
        "config_error": nullable(string()),
        "counted_in": string(),
    },
)

# ---------------------------------------------------------------- errors

OPENAI_ERROR_TYPES = {
    400: ("invalid_request_error",),
    401: ("invalid_request_error",),
    403: ("permission_error",),
    404: ("invalid_request_error",),
    405: ("invalid_request_error",),
    413: ("invalid_request_error",),
    429: ("rate_limit_error", "insufficient_quota"),
    500: ("server_error",),
    502: ("upstream_error",),
    504: ("upstream_error",),
}
ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
WHEN = {
    400: "A malformed or invalid request (the message names the field; OpenAI's `param` too), or Poe refusing it.",
    401: "No access token, or not one of `API_ACCESS_TOKENS` (`/admin/status`: not one of `ADMIN_TOKENS`).",
    403: "The token's `TOKEN_POLICIES` scope does not include this model (`model_not_allowed`).",
    404: "An unknown model id (in the catalogue, or at Poe).",
    405: "Another method on this path; `Allow` lists the ones it takes.",
    413: "The body is larger than `MAX_BODY_BYTES`.",
    429: "The token's rate limit (`TOKEN_POLICIES`: rpm, rpd, open streams), or every Poe key cooling down; "
    "`Retry-After` says when to try again.",
    500: "The proxy is misconfigured (no access tokens or keys, a bad variable), or an internal error (never a traceback).",
    502: "Every key failed, Poe is unreachable, a bot error, an unexpected answer from Poe, or every key is invalid.",
    504: "No answer within `TIMEOUT`.",
    529: "Reserved (Anthropic's `overloaded_error`); every key cooling down is a 429.",
}


def openai_error(types: tuple[str, ...]) -> Schema:
    inner = closed(
        {"message": string(minLength=1), "type": enum(*types), "param": nullable(string()), "code": nullable(string())}
    )
    return closed({"error": inner})


def anthropic_error(kind: str) -> Schema:
    return closed(
        {"type": const("error"), "error": closed({"type": const(kind), "message": string(minLength=1)})},
        {"request_id": string()},
    )


def header(description: str, schema: Schema | None = None, required: bool = False) -> Schema:
    return {"description": description, "required": required, "schema": schema or string()}


HEADERS = {
    "RequestId": header("A random id per request; the proxy's log line for a failed request names it.", required=True),
    "AnthropicRequestId": header("The same id, under the name Anthropic's SDKs read.", required=True),
    "RetryAfter": header("Seconds until a key is healthy again.", integer(1), required=True),
    "Allow": header("The methods this path takes.", required=True),
}


HEADER_NAMES = {"RetryAfter": "retry-after", "Allow": "allow"}


def _header_map(door: str, *extra: str) -> Schema:
    out: Schema = {"x-request-id": {"$ref": "#/components/headers/RequestId"}}
    if door == "Anthropic":
        out["request-id"] = {"$ref": "#/components/headers/AnthropicRequestId"}
    for name in extra:
        out[HEADER_NAMES[name]] = {"$ref": f"#/components/headers/{name}"}
    return out


def error_responses() -> Schema:
    out: Schema = {}
    for status, types in OPENAI_ERROR_TYPES.items():
        out[f"OpenAI{status}"] = _error_response("OpenAI", status, openai_error(types))
    for status, kind in ANTHROPIC_ERROR_TYPES.items():
        out[f"Anthropic{status}"] = _error_response("Anthropic", status, anthropic_error(kind))
    return out


def _error_response(door: str, status: int, schema: Schema) -> Schema:
    extra = ("RetryAfter",) if status == 429 else ("Allow",) if status == 405 else ()
    return {
        "description": WHEN[status],
        "headers": _header_map(door, *extra),
        "content": {"application/json": {"schema": schema}},
    }


# ---------------------------------------------------------------- operations


def sse(data: Schema, *events: str, done: bool = False) -> Schema:
    """A ``text/event-stream`` answer: the schema is one event, ``data`` a JSON document (or ``[DONE]``)."""
    json_data = string(contentMediaType="application/json", contentSchema=data)
    event: Schema = obj(
        {"data": any_of(const("[DONE]"), json_data) if done else json_data},
        plain={"event": enum(*events)} if events else {},
        description="One server-sent event (`: ping` comments keep idle connections open).",
    )
    return {"schema": event}


def ok(description: str, schema: Schema, stream: Schema | None = None, door: str = "OpenAI") -> Schema:
    content: Schema = {"application/json": {"schema": schema}}
    if stream is not None:
        content["text/event-stream"] = stream
    return {"description": description, "headers": _header_map(door), "content": content}


def operation(
    op_id: str,
    summary: str,
    tag: str,
    answer: Schema,
    errors: tuple[int, ...],
    *,
    body: Schema | None = None,
    door: str = "OpenAI",
    params: list[Schema] | None = None,
    security: list[Schema] | None = None,
    description: str | None = None,
) -> Schema:
    op: Schema = {"operationId": op_id, "summary": summary, "tags": [tag]}
    if description:
        op["description"] = description
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    op["responses"] = {"200": answer, **{str(s): {"$ref": f"#/components/responses/{door}{s}"} for s in errors}}
    if security is not None:
        op["security"] = security
    return op


PUBLIC: list[Schema] = []  # no access token
BEARER: list[Schema] = [{"bearer": []}]
ANTHROPIC_AUTH: list[Schema] = [{"apiKey": []}, {"bearer": []}]
API_ERRORS = (400, 401, 403, 404, 405, 413, 500)  # every authenticated door
UPSTREAM_ERRORS = (429, 502, 504)  # doors that call Poe

CHAT_DOC = (
    "Streamed (`stream: true`, Server-Sent Events ending in `data: [DONE]`) or not. openai mode passes Poe's answer "
    "through; bot mode translates the bot protocol. A stream that breaks after it began ends with an error frame "
    "(bot mode) or as Poe ends it (openai mode)."
)


def paths() -> Schema:
    chat = operation(
        "createChatCompletion",
        "OpenAI Chat Completions",
        "OpenAI",
        ok(
            "The completion, or (with `stream: true`) its chunks.",
            ref("ChatCompletion"),
            sse(any_of(ref("ChatCompletionChunk"), ref("StreamError")), done=True),
        ),
        API_ERRORS + UPSTREAM_ERRORS,
        body=ref("ChatCompletionRequest"),
        description=CHAT_DOC,
    )
    messages_stream = sse(ref("AnthropicStreamEvent"), *sorted(_event_types(ANTHROPIC_EVENT)))
    responses_stream = sse(ref("ResponseStreamEvent"), *sorted(_event_types(RESPONSE_EVENT)))
    model_param = {
        "name": "model",
        "in": "path",
        "required": True,
        "description": "A model id, alias or custom id (URL-encoded; `poe/` prefixes may also be written unencoded).",
        "schema": string(),
    }
    table: dict[str, tuple[str, Schema]] = {
        "/": (
            "get",
            operation(
                "getIndex",
                "What this server is",
                "Proxy",
                ok("Name, version, endpoints.", ref("Index")),
                (405, 500),
                security=PUBLIC,
            ),
        ),
        "/health": (
            "get",
            operation(
                "getHealth",
                "Whether the proxy is up and configured",
                "Proxy",
                ok("Health.", ref("Health")),
                (405, 500),
                security=PUBLIC,
            ),
        ),
        "/admin": (
            "get",
            operation(
                "getAdminConsole",
                "The admin console: a page that holds no data (its calls to /admin/status need an admin token)",
                "Proxy",
                {"description": "The page.", "headers": _header_map("OpenAI"), "content": {"text/html": {"schema": string()}}},
                (405, 500),
                security=PUBLIC,
            ),
        ),
        "/admin/status": (
            "get",
            operation(
                "getAdminStatus",
                "The key pool, the tokens' limits and usage, the configuration's errors",
                "Proxy",
                ok("The status (`cache-control: no-store`).", ref("AdminStatus")),
                (401, 405, 500),
                description="Needs an admin token (`ADMIN_TOKENS`) as `Authorization: Bearer`; off (401) without any.",
            ),
        ),
        "/v1/key": (
            "get",
            operation(
                "getKey",
                "The calling token: its model scope, limits, counts now and usage",
                "Proxy",
                ok("The token by name (`cache-control: no-store`).", ref("TokenEntry")),
                (401, 405, 413, 500),
                description="Any access token reads its own entry, as `/admin/status` lists it (like OpenRouter's `GET /api/v1/key`).",
            ),
        ),
        "/openapi.json": (
            "get",
            operation(
                "getOpenAPI",
                "This description",
                "Proxy",
                ok("The OpenAPI 3.1 document.", {"type": "object", "required": ["openapi", "info", "paths"]}),
                (405, 500),
                security=PUBLIC,
            ),
        ),
        "/v1/models": (
            "get",
            operation("listModels", "The catalogue", "OpenAI", ok("Every model id.", ref("ModelList")), (401, 405, 413, 500)),
        ),
        "/v1/models/{model}": (
            "get",
            operation(
                "retrieveModel",
                "One model (the id as asked for, an alias too)",
                "OpenAI",
                ok("The model.", ref("Model")),
                (401, 403, 404, 405, 413, 500),
                params=[model_param],
            ),
        ),
        "/v1/chat/completions": ("post", chat),
        "/v1/images/generations": (
            "post",
            operation(
                "createImage",
                "Images from an image bot",
                "OpenAI",
                ok("The image's URL.", ref("ImagesResponse")),
                API_ERRORS + UPSTREAM_ERRORS,
                body=ref("ImageGenerationRequest"),
            ),
        ),
        "/v1/messages": (
            "post",
            operation(
                "createMessage",
                "Anthropic Messages (every model)",
                "Anthropic",
                ok(
                    "The message, or (with `stream: true`) its events.",
                    ref("AnthropicMessage"),
                    messages_stream,
                    door="Anthropic",
                ),
                (*API_ERRORS, *UPSTREAM_ERRORS, 529),
                body=ref("AnthropicMessagesRequest"),
                door="Anthropic",
                security=ANTHROPIC_AUTH,
            ),
        ),
        "/v1/messages/count_tokens": (
            "post",
            operation(
                "countMessageTokens",
                "The proxy's token estimate for a Messages request",
                "Anthropic",
                ok(
                    "The estimate (the one usage numbers use in bot mode), not the model's tokenizer.",
                    ref("CountTokensResponse"),
                    door="Anthropic",
                ),
                API_ERRORS,
                body=ref("AnthropicCountTokensRequest"),
                door="Anthropic",
                security=ANTHROPIC_AUTH,
            ),
        ),
        "/v1/responses": (
            "post",
            operation(
                "createResponse",
                "OpenAI Responses (stateless)",
                "OpenAI",
                ok("The response, or (with `stream: true`) its numbered events.", ref("Response"), responses_stream),
                API_ERRORS + UPSTREAM_ERRORS,
                body=ref("ResponsesRequest"),
            ),
        ),
    }
    out: Schema = {path: {method: op} for path, (method, op) in table.items()}
    for alias, path in ALIASES.items():
        method, op = table[path]
        out[alias] = {
            method: {**op, "operationId": op["operationId"] + "Alias", "tags": ["Aliases"], "summary": f"The same as {path}"}
        }
    return out


ALIASES = {
    "/chat/completions": "/v1/chat/completions",
    "/models": "/v1/models",
    "/models/{model}": "/v1/models/{model}",
    "/images/generations": "/v1/images/generations",
    "/messages": "/v1/messages",
    "/messages/count_tokens": "/v1/messages/count_tokens",
    "/responses": "/v1/responses",
    "/key": "/v1/key",
    "/v1/health": "/health",
}


def _event_types(schema: Schema) -> list[str]:
    return [branch["properties"]["type"]["const"] for branch in schema["oneOf"]]


# ---------------------------------------------------------------- the document

DESCRIPTION = """\
An OpenAI- and Anthropic-compatible API in front of Poe, with a pool of Poe keys.

- Access: an access token (one of `API_ACCESS_TOKENS`) as `Authorization: Bearer <token>`, or as `x-api-key`.
- Errors: OpenAI's `{"error": {"message", "type", "param", "code"}}` everywhere except `/v1/messages` and
  `/v1/messages/count_tokens`, which answer Anthropic's `{"type": "error", "error": {"type", "message"}}`.
  Every answer carries `x-request-id`. An unknown path is a 404 (`unknown_url`).
- Every path is also served without its `/v1` prefix (tag Aliases); GET paths answer HEAD too, and every
  path answers CORS preflights (OPTIONS, 204).
- A request this document accepts can still be a 400 or 404 (the model must exist, a named tool must be
  among `tools`, a `data:` URI must be an image no larger than `MAX_IMAGE_BYTES`); one it rejects is a 4xx.
"""


def document(version: str) -> dict[str, Any]:
    """The whole description (built once per isolate by the app)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Poe Proxy",
            "version": version,
            "description": DESCRIPTION,
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": [
            {"name": "OpenAI", "description": "OpenAI's API: errors in OpenAI's shape."},
            {"name": "Anthropic", "description": "Anthropic's Messages API: errors in Anthropic's shape."},
            {"name": "Proxy", "description": "The proxy's own endpoints (no access token; `/admin/status`: an admin token)."},
            {"name": "Aliases", "description": "The same endpoints without the `/v1` prefix."},
        ],
        "security": BEARER,
        "paths": paths(),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An access token (`API_ACCESS_TOKENS`)."},
                "apiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-api-key",
                    "description": "The same token, Anthropic-style.",
                },
            },
            "headers": HEADERS,
            "responses": error_responses(),
            "schemas": {
                "ChatCompletionRequest": CHAT_REQUEST,
                "ChatCompletion": CHAT_COMPLETION,
                "ChatCompletionChunk": CHAT_CHUNK,
                "StreamError": STREAM_ERROR,
                "ImageGenerationRequest": IMAGES_REQUEST,
                "ImagesResponse": IMAGES_RESPONSE,
                "Model": MODEL_OBJECT,
                "ModelList": MODEL_LIST,
                "AnthropicMessagesRequest": anthropic_request(count_only=False),
                "AnthropicCountTokensRequest": anthropic_request(count_only=True),
                "AnthropicMessage": ANTHROPIC_MESSAGE,
                "AnthropicStreamEvent": ANTHROPIC_EVENT,
                "CountTokensResponse": COUNT_TOKENS,
                "ResponsesRequest": RESPONSES_REQUEST,
                "Response": RESPONSE_OBJECT,
                "ResponseStreamEvent": RESPONSE_EVENT,
                "Index": INDEX,
                "Health": HEALTH,
                "AdminStatus": ADMIN_STATUS,
                "TokenEntry": TOKEN_ENTRY,
                **SCHEMAS,
            },
        },
    }


if __name__ == "__main__":  # .venv/bin/python -m poe.openapi > openapi.json
    from . import __version__

    print(json.dumps(document(__version__), indent=2, ensure_ascii=False))

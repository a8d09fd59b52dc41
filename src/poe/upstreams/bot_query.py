"""ChatRequest -> Poe ``QueryRequest`` body (protocol 1.2).

Roles: system/developer -> system, user -> user, assistant -> bot. The last
tool round (an assistant message with ``tool_calls`` followed by its ``tool``
results) goes to Poe's native ``tool_calls``/``tool_results`` fields; earlier
rounds are written into the transcript as text, since Poe carries only one
round natively.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..canonical import ChatRequest, Message

__all__ = ["Attachment", "to_query"]

JSON_MODE_HINT = "Respond with a single valid JSON object and nothing else: no prose, no code fences."

Attachment = Mapping[str, str]  # {"url", "content_type", "name"}


def _tool_call_text(msg: Message) -> str:
    lines = [msg.content] if msg.content else []
    for call in msg.tool_calls:
        lines.append(f"[called tool {call.name} (id {call.id}) with arguments {call.arguments}]")
    return "\n".join(lines)


def _split_last_tool_round(messages: tuple[Message, ...]) -> tuple[tuple[Message, ...], Message | None, tuple[Message, ...]]:
    """(history, assistant-with-tool-calls, its tool results) when the chat ends in a tool round."""
    i = len(messages)
    while i > 0 and messages[i - 1].role == "tool":
        i -= 1
    if i == len(messages) or i == 0:
        return messages, None, ()
    caller = messages[i - 1]
    if caller.role != "assistant" or not caller.tool_calls:
        return messages, None, ()
    if not any(m.role == "user" for m in messages[: i - 1]):
        return messages, None, ()  # a chat that is only a tool round: Poe needs a query, so it goes in as text
    return messages[: i - 1], caller, messages[i:]


def to_query(
    req: ChatRequest,
    *,
    attachments: Mapping[int, Sequence[Attachment]] | None = None,
    conversation_id: str = "",
    message_id: str = "",
) -> dict[str, Any]:
    """Build the body for ``POST /bot/<name>``. ``attachments`` maps message index -> files."""
    attachments = attachments or {}
    history, caller, results = _split_last_tool_round(req.messages)
    names = {c.id: c.name for m in req.messages for c in m.tool_calls}

    query: list[dict[str, Any]] = []
    for i, msg in enumerate(history):
        if msg.role == "tool":
            name = names.get(msg.tool_call_id or "", "tool")
            role, content = "user", f"[result of tool {name} (id {msg.tool_call_id})]\n{msg.content}"
        elif msg.role == "assistant":
            role, content = "bot", _tool_call_text(msg) if msg.tool_calls else msg.content
        else:
            role, content = msg.role, msg.content
        item: dict[str, Any] = {"role": role, "content": content, "content_type": "text/markdown"}
        if attachments.get(i):
            item["attachments"] = list(attachments[i])
        query.append(item)

    if req.json_mode:
        query.insert(0, {"role": "system", "content": JSON_MODE_HINT, "content_type": "text/markdown"})

    body: dict[str, Any] = {
        "version": "1.2",
        "type": "query",
        "query": query,
        "user_id": "",
        "conversation_id": conversation_id,
        "message_id": message_id,
        "temperature": req.temperature,
        "skip_system_prompt": False,
        "logit_bias": dict(req.logit_bias),
        "stop_sequences": list(req.stop),
        "language_code": "en",
    }
    if req.tools and req.tool_choice != "none":
        body["tools"] = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": dict(t.parameters)},
            }
            for t in req.tools
        ]
    if caller is not None:
        body["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in caller.tool_calls
        ]
        body["tool_results"] = [
            {
                "role": "tool",
                "name": names.get(r.tool_call_id or "", "tool"),
                "tool_call_id": r.tool_call_id or "",
                "content": r.content,
            }
            for r in results
        ]
    return body


def query_bytes(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

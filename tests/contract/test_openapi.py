"""Real answers against the OpenAPI description (GET /openapi.json), on both runtimes and in both modes.

Valid and invalid requests for every endpoint, streamed and not, sent to the proxy in front of the demo
upstream; each answer must have a status the description documents for that operation, a documented
content type and headers, and a body (every SSE event too) that validates against the documented
schema for that status and content type (schemathesis's checks: tests/fuzz.py ``CONFORMANCE``), plus
the checks every answer passes (no 5xx unless expected, no traceback, errors in the door's shape,
``x-request-id``).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from schemathesis.core.failures import FailureGroup

from poe import __version__
from poe.openapi import document
from tests.conftest import Proxy
from tests.fuzz import CONFORMANCE, OPERATIONS, check_answer, plain_headers
from tests.support import ACCESS_TOKEN

BEARER = {"authorization": f"Bearer {ACCESS_TOKEN}"}
API_KEY = {"x-api-key": ACCESS_TOKEN, "anthropic-version": "2023-06-01"}
NONE: dict[str, str] = {}
WRONG = {"authorization": "Bearer sk-wrong"}
USER = [{"role": "user", "content": "hello"}]
CHAT_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}
A_TOOL = {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}
R_TOOL = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
PATCH_TOOL = {"type": "custom", "name": "apply_patch", "description": "Apply a patch"}
BIG = "x" * (21 * 1024 * 1024)  # over the default MAX_BODY_BYTES

# (id, method, path, body, headers, expected status, streamed)
EXCHANGES: list[tuple[str, str, str, Any, dict[str, str], int, bool]] = [
    # the proxy's own
    ("index", "GET", "/", None, NONE, 200, False),
    ("health", "GET", "/health", None, NONE, 200, False),
    ("health-alias", "GET", "/v1/health", None, NONE, 200, False),
    ("openapi", "GET", "/openapi.json", None, NONE, 200, False),
    ("health-post", "POST", "/health", {}, BEARER, 405, False),
    ("admin-status-no-admin-token", "GET", "/admin/status", None, BEARER, 401, False),
    # models
    ("models", "GET", "/v1/models", None, BEARER, 200, False),
    ("models-alias", "GET", "/models", None, BEARER, 200, False),
    ("model", "GET", "/v1/models/{model}", {"model": "echo"}, BEARER, 200, False),
    ("model-alias-id", "GET", "/v1/models/{model}", {"model": "claude-3-5-sonnet-latest"}, BEARER, 200, False),
    ("model-unknown", "GET", "/v1/models/{model}", {"model": "no-such-model"}, BEARER, 404, False),
    ("models-no-token", "GET", "/v1/models", None, NONE, 401, False),
    ("models-post", "POST", "/v1/models", {}, BEARER, 405, False),
    # chat completions
    ("chat", "POST", "/v1/chat/completions", {"model": "echo", "messages": USER}, BEARER, 200, False),
    ("chat-stream", "POST", "/v1/chat/completions", {"model": "echo", "messages": USER, "stream": True}, BEARER, 200, True),
    (
        "chat-stream-usage",
        "POST",
        "/v1/chat/completions",
        {"model": "thinker", "messages": USER, "stream": True, "stream_options": {"include_usage": True}},
        BEARER,
        200,
        True,
    ),
    ("chat-reasoning", "POST", "/v1/chat/completions", {"model": "thinker", "messages": USER}, BEARER, 200, False),
    (
        "chat-tools",
        "POST",
        "/v1/chat/completions",
        {"model": "toolbot", "messages": USER, "tools": [CHAT_TOOL]},
        BEARER,
        200,
        False,
    ),
    (
        "chat-tools-stream",
        "POST",
        "/v1/chat/completions",
        {"model": "toolbot", "messages": USER, "tools": [CHAT_TOOL], "stream": True},
        BEARER,
        200,
        True,
    ),
    ("chat-image-bot", "POST", "/v1/chat/completions", {"model": "artist", "messages": USER}, BEARER, 200, False),
    ("chat-alias", "POST", "/chat/completions", {"model": "echo", "messages": USER}, BEARER, 200, False),
    (
        "chat-broken-stream",
        "POST",
        "/v1/chat/completions",
        {"model": "failing", "messages": USER, "stream": True},
        BEARER,
        200,
        True,
    ),
    ("chat-no-messages", "POST", "/v1/chat/completions", {"model": "echo"}, BEARER, 400, False),
    (
        "chat-bad-temperature",
        "POST",
        "/v1/chat/completions",
        {"model": "echo", "messages": USER, "temperature": 3},
        BEARER,
        400,
        False,
    ),
    ("chat-n", "POST", "/v1/chat/completions", {"model": "echo", "messages": USER, "n": 2}, BEARER, 400, False),
    ("chat-not-json", "POST", "/v1/chat/completions", b"{not json", BEARER, 400, False),
    ("chat-refused", "POST", "/v1/chat/completions", {"model": "refuser", "messages": USER}, BEARER, 400, False),
    ("chat-unknown-model", "POST", "/v1/chat/completions", {"model": "no-such-model", "messages": USER}, BEARER, 404, False),
    ("chat-no-token", "POST", "/v1/chat/completions", {"model": "echo", "messages": USER}, NONE, 401, False),
    ("chat-wrong-token", "POST", "/v1/chat/completions", {"model": "echo", "messages": USER}, WRONG, 401, False),
    ("chat-get", "GET", "/v1/chat/completions", None, BEARER, 405, False),
    (
        "chat-too-large",
        "POST",
        "/v1/chat/completions",
        {"model": "echo", "messages": [{"role": "user", "content": BIG}]},
        BEARER,
        413,
        False,
    ),
    # images
    ("images", "POST", "/v1/images/generations", {"model": "artist", "prompt": "a lighthouse"}, BEARER, 200, False),
    ("images-alias", "POST", "/images/generations", {"model": "artist", "prompt": "a lighthouse"}, BEARER, 200, False),
    ("images-n", "POST", "/v1/images/generations", {"model": "artist", "prompt": "a lighthouse", "n": 2}, BEARER, 400, False),
    ("images-no-prompt", "POST", "/v1/images/generations", {"model": "artist"}, BEARER, 400, False),
    ("images-unknown-model", "POST", "/v1/images/generations", {"model": "no-such-model", "prompt": "x"}, BEARER, 404, False),
    # Anthropic Messages
    ("messages", "POST", "/v1/messages", {"model": "echo", "max_tokens": 50, "messages": USER}, API_KEY, 200, False),
    ("messages-bearer", "POST", "/v1/messages", {"model": "echo", "max_tokens": 50, "messages": USER}, BEARER, 200, False),
    (
        "messages-stream",
        "POST",
        "/v1/messages",
        {"model": "thinker", "max_tokens": 50, "messages": USER, "stream": True},
        API_KEY,
        200,
        True,
    ),
    (
        "messages-tools-stream",
        "POST",
        "/v1/messages",
        {"model": "toolbot", "max_tokens": 50, "messages": USER, "tools": [A_TOOL], "stream": True},
        API_KEY,
        200,
        True,
    ),
    (
        "messages-tools",
        "POST",
        "/v1/messages",
        {"model": "toolbot", "max_tokens": 50, "messages": USER, "tools": [A_TOOL]},
        API_KEY,
        200,
        False,
    ),
    (
        "messages-claude",
        "POST",
        "/v1/messages",
        {"model": "claude-3.5-sonnet", "max_tokens": 50, "messages": USER},
        API_KEY,
        200,
        False,
    ),
    (
        "messages-claude-stream",
        "POST",
        "/v1/messages",
        {"model": "claude-3.5-sonnet", "max_tokens": 50, "messages": USER, "stream": True},
        API_KEY,
        200,
        True,
    ),
    (
        "messages-broken-stream",
        "POST",
        "/v1/messages",
        {"model": "failing", "max_tokens": 50, "messages": USER, "stream": True},
        API_KEY,
        200,
        True,
    ),
    ("messages-alias", "POST", "/messages", {"model": "echo", "max_tokens": 50, "messages": USER}, API_KEY, 200, False),
    ("messages-no-max-tokens", "POST", "/v1/messages", {"model": "echo", "messages": USER}, API_KEY, 400, False),
    (
        "messages-bad-role",
        "POST",
        "/v1/messages",
        {"model": "echo", "max_tokens": 5, "messages": [{"role": "bot", "content": "x"}]},
        API_KEY,
        400,
        False,
    ),
    (
        "messages-unknown-model",
        "POST",
        "/v1/messages",
        {"model": "no-such-model", "max_tokens": 5, "messages": USER},
        API_KEY,
        404,
        False,
    ),
    ("messages-no-token", "POST", "/v1/messages", {"model": "echo", "max_tokens": 5, "messages": USER}, NONE, 401, False),
    ("messages-get", "GET", "/v1/messages", None, API_KEY, 405, False),
    (
        "messages-too-large",
        "POST",
        "/v1/messages",
        {"model": "echo", "max_tokens": 5, "messages": [{"role": "user", "content": BIG}]},
        API_KEY,
        413,
        False,
    ),
    (
        "count-tokens",
        "POST",
        "/v1/messages/count_tokens",
        {"model": "echo", "messages": USER, "tools": [A_TOOL]},
        API_KEY,
        200,
        False,
    ),
    ("count-tokens-alias", "POST", "/messages/count_tokens", {"model": "echo", "messages": USER}, API_KEY, 200, False),
    ("count-tokens-no-messages", "POST", "/v1/messages/count_tokens", {"model": "echo"}, API_KEY, 400, False),
    ("count-tokens-unknown-model", "POST", "/v1/messages/count_tokens", {"model": "nope", "messages": USER}, API_KEY, 404, False),
    ("count-tokens-wrong-token", "POST", "/v1/messages/count_tokens", {"model": "echo", "messages": USER}, WRONG, 401, False),
    # OpenAI Responses
    ("responses", "POST", "/v1/responses", {"model": "echo", "input": "hello", "instructions": "Be brief."}, BEARER, 200, False),
    ("responses-stream", "POST", "/v1/responses", {"model": "thinker", "input": "hello", "stream": True}, BEARER, 200, True),
    ("responses-tools", "POST", "/v1/responses", {"model": "toolbot", "input": "hello", "tools": [R_TOOL]}, BEARER, 200, False),
    (
        "responses-custom-tool-stream",
        "POST",
        "/v1/responses",
        {"model": "toolbot", "input": "hello", "tools": [PATCH_TOOL], "stream": True},
        BEARER,
        200,
        True,
    ),
    (
        "responses-incomplete",
        "POST",
        "/v1/responses",
        {"model": "echo", "input": "hello " * 50, "max_output_tokens": 1},
        BEARER,
        200,
        False,
    ),
    (
        "responses-broken-stream",
        "POST",
        "/v1/responses",
        {"model": "failing", "input": "hello", "stream": True},
        BEARER,
        200,
        True,
    ),
    ("responses-alias", "POST", "/responses", {"model": "echo", "input": "hello"}, BEARER, 200, False),
    (
        "responses-stateful",
        "POST",
        "/v1/responses",
        {"model": "echo", "input": "hi", "previous_response_id": "resp_1"},
        BEARER,
        400,
        False,
    ),
    ("responses-no-input", "POST", "/v1/responses", {"model": "echo"}, BEARER, 400, False),
    ("responses-unknown-model", "POST", "/v1/responses", {"model": "no-such-model", "input": "hi"}, BEARER, 404, False),
    ("responses-no-token", "POST", "/v1/responses", {"model": "echo", "input": "hi"}, NONE, 401, False),
    ("responses-delete", "DELETE", "/v1/responses", None, BEARER, 405, False),
]


def operation_of(method: str, path: str) -> Any:
    """The documented operation (another method on a documented path: that path's operation, for its 405)."""
    if (method, path) in OPERATIONS:
        return OPERATIONS[(method, path)]
    return next(op for (m, p), op in OPERATIONS.items() if p == path)


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "streamed"), [pytest.param(*e[1:], id=e[0]) for e in EXCHANGES]
)
def test_answers_match_the_description(
    proxy: Proxy, method: str, path: str, body: Any, headers: dict[str, str], status: int, streamed: bool
) -> None:
    op = operation_of(method, path)
    params = body if "{model}" in path else {}
    if "{model}" in path:
        body = None
    if isinstance(body, bytes):
        case = op.Case(media_type="application/json")
        sent = httpx.request(method, proxy.url + path, content=body, headers={**headers, "content-type": "application/json"})
        response: Any = sent
        answer = (sent.status_code, plain_headers(dict(sent.headers)), sent.content)
    else:
        case = op.Case(
            method=method, path_parameters=params, **({} if body is None else {"body": body, "media_type": "application/json"})
        )
        response = case.call(base_url=proxy.url, headers=headers, timeout=30)
        answer = (response.status_code, plain_headers(response.headers), response.content)
    got, answer_headers, content = answer
    assert got == status, content[:500]
    problems = [p for p in check_answer(method, case.formatted_path, *answer) if p[0] != "no_server_error"]
    assert not problems, problems
    assert answer_headers["content-type"].startswith("text/event-stream" if streamed else "application/json")
    case.validate_response(response, checks=CONFORMANCE)


def test_served_description_is_the_document(proxy: Proxy) -> None:
    r = httpx.get(f"{proxy.url}/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json() == document(__version__)
    assert "x-request-id" in r.headers


def failures(case: Any, response: Any) -> str:
    """The titles of the conformance checks the answer fails."""
    try:
        case.validate_response(response, checks=CONFORMANCE)
    except FailureGroup as group:
        return " | ".join(f.title for f in group.exceptions)
    return ""


def test_the_checks_catch_an_answer_that_breaks_the_description(proxy: Proxy) -> None:
    """The validation is not vacuous: a real answer, altered, fails it (JSON body, SSE event, status, header)."""
    op = OPERATIONS[("POST", "/v1/chat/completions")]
    for stream, before, after in (
        (False, b'"object": "chat.completion"', b'"object": "chat.completions"'),
        (True, b'"object":"chat.completion.chunk"', b'"object":"chunk"'),
    ):
        case = op.Case(body={"model": "echo", "messages": USER, "stream": stream}, media_type="application/json")
        case.validate_response(case.call(base_url=proxy.url, headers=BEARER, timeout=30), checks=CONFORMANCE)
        response = case.call(base_url=proxy.url, headers=BEARER, timeout=30)  # validation caches the parsed body
        assert before in response.content
        response.content = response.content.replace(before, after)
        assert "violates schema" in failures(case, response)
    case = op.Case(body={"model": "echo", "messages": USER}, media_type="application/json")
    response = case.call(base_url=proxy.url, headers=BEARER, timeout=30)
    response.status_code = 418
    assert "Undocumented status code" in failures(case, response)
    response = case.call(base_url=proxy.url, headers=BEARER, timeout=30)
    del response.headers["x-request-id"]
    assert "Missing required response headers" in failures(case, response)

"""The OpenAPI description (poe.openapi): valid OpenAPI 3.1, shipped as openapi.json, in step with the app.

The shipped copy is the document itself (regenerate: ``.venv/bin/python -m poe.openapi > openapi.json``);
every route the app serves is described; every error the proxy raises answers with a status the
description documents for that door, in the documented shape; the request schemas and the doors'
parsers agree on what is valid (schemathesis's schema-valid bodies parse or get a 400, its schema-invalid
bodies get a 400, the fuzzer's valid bodies parse).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from poe import __version__, app, errors
from poe.app import App
from poe.doors.anthropic_messages import anthropic_error_response
from poe.doors.anthropic_parse import parse_messages_request
from poe.doors.images import parse_generation
from poe.doors.openai_parse import parse_chat_request
from poe.doors.responses_parse import parse_responses_request
from poe.http import Request, Runtime
from poe.openapi import document
from poe.policies import Forbidden

ROOT = Path(__file__).resolve().parents[2]
DOC = document(__version__)
METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")


def component(kind: str, name: str) -> Draft202012Validator:
    """A validator for ``#/components/{kind}/{name}`` of the document."""
    return Draft202012Validator({"$ref": f"urn:poe-openapi#/components/{kind}/{name}"}, registry=_registry())


def body_schema(path: str, status: int) -> Draft202012Validator:
    """The JSON body schema of a response of the operation at ``path`` (a $ref to a component response or inline)."""
    item = DOC["paths"][path]
    (op,) = (item[m] for m in METHODS if m in item)
    response = op["responses"][str(status)]
    pointer = response["$ref"].removeprefix("#/") + "/content/application~1json/schema" if "$ref" in response else None
    if pointer is None:
        return Draft202012Validator(response["content"]["application/json"]["schema"], registry=_registry())
    return Draft202012Validator({"$ref": f"urn:poe-openapi#/{pointer}"}, registry=_registry())


def _registry() -> Registry:
    return Registry().with_resource("urn:poe-openapi", Resource.from_contents(DOC, default_specification=DRAFT202012))


# ---------------------------------------------------------------- the document


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(DOC)
    assert DOC["openapi"] == "3.1.0"
    assert DOC["info"]["version"] == __version__


def test_the_shipped_copy_is_the_document() -> None:
    """openapi.json at the repository root: regenerate with `.venv/bin/python -m poe.openapi > openapi.json`."""
    shipped = json.loads((ROOT / "openapi.json").read_text())
    assert shipped == DOC, "openapi.json is stale: run `.venv/bin/python -m poe.openapi > openapi.json`"


def test_the_command_prints_the_document() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-m", "poe.openapi"], capture_output=True, check=True, cwd=ROOT, text=True, env=env)
    assert json.loads(out.stdout) == DOC
    assert out.stdout == (ROOT / "openapi.json").read_text()


def test_the_document_is_plain_json_and_stdlib_only() -> None:
    """It is built under Pyodide too: nothing but the standard library (and typing) is imported."""
    source = (ROOT / "src" / "poe" / "openapi.py").read_text()
    imports = {line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "json", "typing", "."}, imports
    assert json.loads(json.dumps(DOC)) == DOC


def test_operation_ids_are_unique_and_every_operation_documents_its_errors() -> None:
    ids = [op["operationId"] for item in DOC["paths"].values() for m, op in item.items() if m in METHODS]
    assert len(ids) == len(set(ids))
    for path, item in DOC["paths"].items():
        for op in (item[m] for m in METHODS if m in item):
            statuses = set(op["responses"])
            assert "200" in statuses and "405" in statuses and "500" in statuses, path
            if op.get("security") != []:
                assert "401" in statuses, path
            if "requestBody" in op or path.endswith("{model}"):
                assert {"403", "413"} <= statuses, path
            if "requestBody" in op:
                assert {"400", "404"} <= statuses, path
            anthropic = path.rstrip("/").endswith(("messages", "count_tokens"))
            for status, response in op["responses"].items():
                if status != "200":
                    assert response["$ref"].split("/")[-1] == ("Anthropic" if anthropic else "OpenAI") + status, (path, status)


# ---------------------------------------------------------------- in step with the app


def test_every_route_of_the_app_is_described() -> None:
    described = {path.replace("{model}", "echo") for path in DOC["paths"]}
    routed = {
        "/",
        "/health",
        "/v1/health",
        "/openapi.json",
        "/admin",
        *app.CHAT_PATHS,
        *app.MODELS_PATHS,
        *(p + "/echo" for p in app.MODELS_PATHS),
        *app.IMAGES_PATHS,
        *app.MESSAGES_PATHS,
        *app.COUNT_TOKENS_PATHS,
        *app.RESPONSES_PATHS,
        *app.KEY_PATHS,
        *app.ENDPOINTS,
    }
    assert routed == described


class _NoHTTP:
    async def send(self, request: Any) -> Any:
        raise AssertionError("no upstream call expected")


class _KV:
    async def get(self, key: str) -> str | None:
        return None

    async def put(self, key: str, value: str, ttl: int | None = None) -> None:
        return None


@pytest.mark.parametrize("path", [p.replace("{model}", "echo") for p in DOC["paths"]])
def test_every_described_path_is_routed_with_the_documented_method(path: str) -> None:
    """The app answers the documented method (not 404/405), and every other method with a documented 405."""
    env = {"POE_APIKEYS": "k", "API_ACCESS_TOKENS": "sk-t", "CUSTOM_MODELS": "echo=Echo"}
    rt = Runtime(_NoHTTP(), _KV(), lambda: 1_000.0, lambda work: work.close(), lambda line: None)  # type: ignore[arg-type]
    the_app = App(env)
    item = DOC["paths"][path.replace("/echo", "/{model}") if path.endswith("/models/echo") else path]
    (method,) = (m for m in METHODS if m in item)
    headers = {"authorization": "Bearer sk-t"}
    answer = asyncio.run(the_app.handle(Request(method=method.upper(), path=path, headers=headers, body=b"{}"), rt))
    assert answer.status not in (404, 405) or (path.endswith("/echo") and answer.status == 200), (path, answer.status)
    if method == "post":
        assert answer.status == 400  # `{}` reached the parser
    other = "POST" if method == "get" else "GET"
    answer = asyncio.run(the_app.handle(Request(method=other, path=path, headers=headers, body=b""), rt))
    assert answer.status == 405 and "405" in item[method]["responses"]
    assert isinstance(answer.body, bytes)
    body_schema(path if path in DOC["paths"] else path.replace("/echo", "/{model}"), 405).validate(json.loads(answer.body))


ERRORS = [
    errors.InvalidRequest("Bad.", param="messages[0].role", code="invalid_value"),
    errors.Unauthorized("No token."),
    errors.NotFound("No such model.", param="model", code="model_not_found"),
    errors.MethodNotAllowed("Use POST.", headers=(("allow", "POST, OPTIONS"),)),
    errors.PayloadTooLarge("Too big."),
    errors.RateLimited("Every key is cooling.", headers=(("retry-after", "30"),)),
    errors.InsufficientQuota("Out of points.", headers=(("retry-after", "30"),)),
    errors.ConfigError("No tokens."),
    errors.ProxyError("Internal error."),
    errors.UpstreamError("Poe is down."),
    errors.UpstreamError("Every key is invalid.", code="invalid_poe_keys"),
    errors.UpstreamTimeout("Too slow."),
    Forbidden("Not for this token.", param="model"),
]


@pytest.mark.parametrize("err", ERRORS, ids=lambda e: f"{type(e).__name__}-{e.code}")
@pytest.mark.parametrize("door", ["OpenAI", "Anthropic"])
def test_every_error_answers_a_documented_status_in_the_documented_shape(err: errors.ProxyError, door: str) -> None:
    answer = anthropic_error_response(err) if door == "Anthropic" else app.error_response(err)
    name = f"{door}{answer.status}"
    assert name in DOC["components"]["responses"], f"{name} is not documented"
    assert isinstance(answer.body, bytes)
    body = json.loads(answer.body)
    component("responses", name + "/content/application~1json/schema").validate(body)
    documented = DOC["components"]["responses"][name]["headers"]
    for header in documented:
        if header in ("retry-after", "allow"):
            assert header in dict(answer.headers), (name, header)


def test_the_error_schemas_reject_what_is_not_the_shape() -> None:
    component("responses", "OpenAI400/content/application~1json/schema").validate(
        {"error": {"message": "m", "type": "invalid_request_error", "param": None, "code": None}}
    )
    for bad in (
        {"error": {"message": "m", "type": "invalid_request_error"}},
        {"error": {"message": "", "type": "invalid_request_error", "param": None, "code": None}},
        {"type": "error", "error": {"type": "invalid_request_error", "message": "m"}},
        {"error": {"message": "m", "type": "server_error", "param": None, "code": None}},
    ):
        assert not component("responses", "OpenAI400/content/application~1json/schema").is_valid(bad), bad
    assert not component("responses", "Anthropic400/content/application~1json/schema").is_valid(
        {"error": {"message": "m", "type": "invalid_request_error", "param": None, "code": None}}
    )


# ---------------------------------------------------------------- the request schemas and the parsers

REQUESTS = {
    "ChatCompletionRequest": parse_chat_request,
    "AnthropicMessagesRequest": parse_messages_request,
    "AnthropicCountTokensRequest": lambda body: parse_messages_request(body, count_only=True),
    "ResponsesRequest": parse_responses_request,
    "ImageGenerationRequest": parse_generation,
}
PATHS = {
    "ChatCompletionRequest": "/v1/chat/completions",
    "AnthropicMessagesRequest": "/v1/messages",
    "AnthropicCountTokensRequest": "/v1/messages/count_tokens",
    "ResponsesRequest": "/v1/responses",
    "ImageGenerationRequest": "/v1/images/generations",
}


def test_the_fuzzers_valid_bodies_are_schema_valid_and_parse() -> None:
    from tests.fuzz import VALID

    names = {path: name for name, path in PATHS.items()}
    for path, body in VALID.items():
        component("schemas", names[path]).validate(body)
        REQUESTS[names[path]](body)


@pytest.mark.parametrize("name", list(REQUESTS))
@settings(max_examples=25)
@given(data=st.data())
def test_schema_valid_bodies_parse_or_get_a_400(name: str, data: st.DataObject) -> None:
    """Bodies drawn from the request schema: the parser accepts them or answers a 400, never anything else."""
    from tests.fuzz import OPERATIONS

    path = PATHS[name]
    case = data.draw(OPERATIONS[("POST", path)].as_strategy())
    with contextlib.suppress(errors.InvalidRequest):
        REQUESTS[name](case.body)


@pytest.mark.parametrize("name", list(REQUESTS))
@settings(max_examples=25)
@given(data=st.data())
def test_schema_invalid_bodies_get_a_400(name: str, data: st.DataObject) -> None:
    """Bodies the request schema rejects (schemathesis's negative cases): the parser rejects them too."""
    from schemathesis import GenerationMode

    from tests.fuzz import OPERATIONS, lenient

    path = PATHS[name]
    case = data.draw(OPERATIONS[("POST", path)].as_strategy(generation_mode=GenerationMode.NEGATIVE))
    if not isinstance(case.body, dict) or lenient(path, case.body):
        return  # not an object: load_json's 400, before any parser
    with pytest.raises(errors.InvalidRequest):
        REQUESTS[name](case.body)

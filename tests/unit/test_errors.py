"""errors: every error knows its status and has OpenAI's error shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from poe import errors
from poe.errors import (
    ConfigError,
    InsufficientQuota,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ProxyError,
    RateLimited,
    Unauthorized,
    UpstreamError,
    UpstreamTimeout,
    error_body,
)

SCHEMAS = Path(__file__).resolve().parents[1] / "conformance" / "schemas" / "openai-subset.json"  # vendored

TABLE = [
    (InvalidRequest, 400, "invalid_request_error", None),
    (Unauthorized, 401, "invalid_request_error", "invalid_api_key"),
    (NotFound, 404, "invalid_request_error", "not_found"),
    (MethodNotAllowed, 405, "invalid_request_error", "method_not_allowed"),
    (PayloadTooLarge, 413, "invalid_request_error", "request_too_large"),
    (RateLimited, 429, "rate_limit_error", "rate_limit_exceeded"),
    (InsufficientQuota, 429, "insufficient_quota", "insufficient_quota"),
    (UpstreamError, 502, "upstream_error", "upstream_error"),
    (UpstreamTimeout, 504, "upstream_error", "upstream_timeout"),
    (ConfigError, 500, "server_error", "proxy_misconfigured"),
]


@pytest.fixture(scope="module")
def error_schema():
    defs = json.loads(SCHEMAS.read_text())["$defs"]
    return Draft202012Validator({"$ref": "#/$defs/ErrorResponse", "$defs": defs})


@pytest.mark.parametrize(("cls", "status", "type_", "code"), TABLE)
def test_status_type_and_code(cls, status, type_, code, error_schema):
    err = cls("Something is wrong.")
    assert isinstance(err, ProxyError) and isinstance(err, Exception)
    assert err.status == status
    body = error_body(err)
    assert body == {"error": {"message": "Something is wrong.", "type": type_, "param": None, "code": code}}
    error_schema.validate(body)
    json.dumps(body)


def test_every_exported_error_is_in_the_table():
    exported = {getattr(errors, n) for n in errors.__all__ if isinstance(getattr(errors, n), type)}
    assert exported - {ProxyError} == {row[0] for row in TABLE}


def test_param_code_and_headers(error_schema):
    err = InvalidRequest("Bad 'messages[0].role'.", param="messages[0].role", code="invalid_value")
    assert error_body(err)["error"] == {
        "message": "Bad 'messages[0].role'.",
        "type": "invalid_request_error",
        "param": "messages[0].role",
        "code": "invalid_value",
    }
    error_schema.validate(error_body(err))
    limited = RateLimited("slow down", headers=(("retry-after", "7"),))
    assert limited.headers == (("retry-after", "7"),)
    assert str(limited) == "slow down"


def test_a_code_override_does_not_leak_into_the_class():
    NotFound("x", code="model_not_found")
    assert NotFound("y").code == "not_found"
    assert error_body(NotFound("y"))["error"]["code"] == "not_found"

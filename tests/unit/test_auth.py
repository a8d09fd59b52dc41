"""check_access: clients' access tokens."""

from __future__ import annotations

import pytest

from poe.auth import bearer_token, check_access
from poe.errors import ConfigError, Unauthorized

TOKENS = ("sk-first-token", "sk-second-token", "clé-ünïcode")


def denied(headers: dict[str, str], tokens: tuple[str, ...] = TOKENS) -> Unauthorized:
    with pytest.raises(Unauthorized) as info:
        check_access(headers, tokens)
    err = info.value
    assert err.status == 401 and err.code == "invalid_api_key"
    given = bearer_token(headers)
    for secret in (*tokens, *([given] if given else [])):
        assert secret not in err.message  # never echo a token, right or wrong
    return err


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": "Bearer sk-first-token"},
        {"authorization": "bearer sk-second-token"},
        {"authorization": "BEARER   sk-first-token  "},
        {"authorization": "Bearer clé-ünïcode"},
        {"x-api-key": "sk-second-token"},
        {"authorization": "Basic abc", "x-api-key": "sk-first-token"},
    ],
)
def test_accepted(headers):
    assert check_access(headers, TOKENS) is None


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": "Bearer sk-first"},  # a prefix
        {"authorization": "Bearer sk-first-token-and-more"},
        {"authorization": "Bearer SK-FIRST-TOKEN"},  # tokens are case-sensitive
        {"authorization": "Token sk-first-token"},
        {"authorization": "Basic c2stZmlyc3QtdG9rZW4="},
        {"authorization": "sk-first-token"},
        {"x-api-key": "wrong"},
    ],
)
def test_wrong_token_is_rejected(headers):
    denied(headers)


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": ""}, {"authorization": "Bearer "}, {"authorization": "Bearer    "}, {"x-api-key": "  "}]
)
def test_missing_token_is_rejected(headers):
    err = denied(headers)
    assert "didn't provide" in err.message


def test_no_tokens_configured_refuses_everyone():
    with pytest.raises(ConfigError) as info:
        check_access({"authorization": "Bearer anything"}, ())
    assert info.value.status == 500
    assert "API_ACCESS_TOKENS" in info.value.message


def test_bearer_token():
    assert bearer_token({"authorization": "Bearer a b"}) == "a b"
    assert bearer_token({"authorization": "Bearer x", "x-api-key": "y"}) == "x"
    assert bearer_token({"x-api-key": " y "}) == "y"
    assert bearer_token({}) is None

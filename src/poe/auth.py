"""Access-token check for clients (constant time)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from .errors import ConfigError, Unauthorized

__all__ = ["bearer_token", "check_access"]


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token from ``Authorization: Bearer``, or ``x-api-key`` (Anthropic-style clients)."""
    value = headers.get("authorization", "").strip()
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    api_key = headers.get("x-api-key", "").strip()
    return api_key or None


def check_access(headers: Mapping[str, str], tokens: tuple[str, ...]) -> None:
    if not tokens:
        # never an open proxy: no tokens configured means no access at all
        raise ConfigError(
            "This proxy has no access tokens configured (API_ACCESS_TOKENS is empty), so it refuses to serve requests."
        )
    given = bearer_token(headers)
    if given is None:
        raise Unauthorized(
            "You didn't provide an API key. Send it as 'Authorization: Bearer <token>' (one of API_ACCESS_TOKENS)."
        )
    given_b = given.encode()
    ok = False
    for token in tokens:  # compare against every token: timing reveals neither which nor how much matched
        ok |= hmac.compare_digest(given_b, token.encode())
    if not ok:
        raise Unauthorized("Incorrect API key provided. Use one of the tokens in API_ACCESS_TOKENS.")

"""Who is calling: access tokens (with their names and policies) and admin tokens, in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from .errors import ConfigError, Unauthorized
from .policies import Caller, TokenPolicy

__all__ = ["Tokens", "bearer_token", "check_access"]


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token from ``Authorization: Bearer``, or ``x-api-key`` (Anthropic-style clients)."""
    value = headers.get("authorization", "").strip()
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    api_key = headers.get("x-api-key", "").strip()
    return api_key or None


def _match(given: str, tokens: tuple[bytes, ...]) -> int:
    """The index of the token ``given`` is, or -1: every token compared, so timing reveals neither which nor how much."""
    given_b = given.encode()
    found = -1
    for i, token in enumerate(tokens):
        if hmac.compare_digest(given_b, token) and found < 0:
            found = i
    return found


class Tokens:
    """The access tokens (plain ones named by position, policies' by their names) and the admin tokens."""

    def __init__(self, access: tuple[str, ...], policies: tuple[TokenPolicy, ...], admin: tuple[str, ...]) -> None:
        callers: list[Caller] = [Caller(p.name, p) for p in policies]
        tokens: list[str] = [p.token for p in policies]
        for i, token in enumerate(access, 1):
            if token not in tokens:  # a token with a policy keeps it
                callers.append(Caller(f"token-{i}"))
                tokens.append(token)
        self._callers = tuple(callers)
        self._tokens = tuple(t.encode() for t in tokens)
        self._admin = tuple(t.encode() for t in admin)
        self.configured = bool(tokens)

    @property
    def callers(self) -> tuple[Caller, ...]:
        return self._callers

    def caller(self, headers: Mapping[str, str]) -> Caller:
        if not self._tokens:
            # never an open proxy: no tokens configured means no access at all
            raise ConfigError(
                "This proxy has no access tokens configured (API_ACCESS_TOKENS is empty), so it refuses to serve requests."
            )
        given = bearer_token(headers)
        if given is None:
            raise Unauthorized(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <token>' (one of API_ACCESS_TOKENS)."
            )
        index = _match(given, self._tokens)
        if index < 0:
            raise Unauthorized("Incorrect API key provided. Use one of the tokens in API_ACCESS_TOKENS.")
        return self._callers[index]

    def admin(self, headers: Mapping[str, str]) -> None:
        """Raises Unauthorized unless the caller holds an admin token (an access token never is one)."""
        if not self._admin:
            raise Unauthorized("The admin API is off: set ADMIN_TOKENS to use it.", code="admin_disabled")
        given = bearer_token(headers)
        if given is None or _match(given, self._admin) < 0:
            raise Unauthorized("This needs an admin token (one of ADMIN_TOKENS).", code="invalid_admin_token")


def check_access(headers: Mapping[str, str], tokens: tuple[str, ...]) -> None:
    """Plain access check (no policies): kept for callers that need only yes or no."""
    Tokens(tokens, (), ()).caller(headers)

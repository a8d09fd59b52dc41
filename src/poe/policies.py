"""Access-token policies: names, model scopes and request limits (sans-IO).

``TOKEN_POLICIES`` (a secret: it holds tokens) is JSON, one entry per named token:

    {"alice": {"token": "sk-alice-...", "models": ["gpt-*", "claude-sonnet-4.5"],
               "rpm": 20, "rpd": 1000, "concurrency": 2}}

Every field but ``token`` is optional; a policy's token is an access token like those of
``API_ACCESS_TOKENS``, whose tokens have no policy (today's behaviour) and are named
``token-1``, ``token-2``... by position. Names, never tokens, appear in usage and logs.

The limits are counted by the ledger (``ledger.py``), one for the whole deployment.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from typing import Any

from .catalogue import Catalogue, Model
from .errors import ConfigError, ProxyError

__all__ = ["Caller", "Forbidden", "ScopedCatalogue", "TokenPolicy", "parse_policies"]


class Forbidden(ProxyError):
    status = 403
    type = "permission_error"
    code = "model_not_allowed"


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    name: str
    token: str
    models: tuple[str, ...] = ()  # globs over model ids and bot names; empty: every model
    rpm: int | None = None
    rpd: int | None = None
    concurrency: int | None = None

    def allows(self, *names: str) -> bool:
        if not self.models:
            return True
        low = [n.lower() for n in names]
        return any(fnmatch.fnmatchcase(n, pattern.lower()) for pattern in self.models for n in low)

    @property
    def limited(self) -> bool:
        return self.rpm is not None or self.rpd is not None or self.concurrency is not None


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the token's name and its policy (None: unlimited, every model)."""

    name: str
    policy: TokenPolicy | None = None


def _limit(name: str, entry: dict[str, Any], key: str) -> int | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"TOKEN_POLICIES: '{key}' of '{name}' must be a positive integer.")
    return value


def parse_policies(_setting: str, raw: str) -> tuple[TokenPolicy, ...]:
    try:
        obj = json.loads(raw)
    except ValueError:
        raise ConfigError('TOKEN_POLICIES must be a JSON object: {"name": {"token": "...", ...}}.') from None
    if not isinstance(obj, dict):
        raise ConfigError('TOKEN_POLICIES must be a JSON object: {"name": {"token": "...", ...}}.')
    out: list[TokenPolicy] = []
    seen: set[str] = set()
    for name, entry in obj.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"TOKEN_POLICIES: the entry '{name[:40]}' must be an object.")
        token = entry.get("token")
        if not isinstance(token, str) or len(token.strip()) < 8:
            raise ConfigError(f"TOKEN_POLICIES: '{name[:40]}' needs a 'token' of at least 8 characters.")
        if token in seen:
            raise ConfigError(f"TOKEN_POLICIES: '{name[:40]}' repeats another entry's token.")
        seen.add(token)
        models = entry.get("models", [])
        if isinstance(models, str):
            models = [models]
        if not isinstance(models, list) or not all(isinstance(m, str) and m for m in models):
            raise ConfigError(f"TOKEN_POLICIES: 'models' of '{name[:40]}' must be a list of model ids or globs.")
        unknown = set(entry) - {"token", "models", "rpm", "rpd", "concurrency"}
        if unknown:
            raise ConfigError(f"TOKEN_POLICIES: '{name[:40]}' has unknown fields: {', '.join(sorted(unknown))[:100]}.")
        out.append(
            TokenPolicy(
                name=str(name)[:64],
                token=token.strip(),
                models=tuple(models),
                rpm=_limit(name, entry, "rpm"),
                rpd=_limit(name, entry, "rpd"),
                concurrency=_limit(name, entry, "concurrency"),
            )
        )
    return tuple(out)


class ScopedCatalogue(Catalogue):
    """The catalogue as one request sees it: only the models its token may use, and the model
    the request resolved (for usage). Cheap: it refers to the isolate's catalogue, copies nothing."""

    def __init__(self, inner: Catalogue, policy: TokenPolicy | None) -> None:  # no super().__init__: a view
        self._inner = inner
        self._policy = policy
        self.resolved: str | None = None

    def resolve(self, model_id: str) -> Model:
        model = self._inner.resolve(model_id)
        if self._policy is not None and not self._policy.allows(model_id.strip(), model.id, model.bot):
            raise Forbidden(
                f"This access token may not use the model '{model_id.strip()[:100]}'; ask the operator to add it to the token's models.",
                param="model",
            )
        self.resolved = model.id
        return model

    def listed(self) -> tuple[Model, ...]:
        models = self._inner.listed()
        if self._policy is None or not self._policy.models:
            return models
        policy = self._policy
        return tuple(m for m in models if policy.allows(m.id, m.bot))

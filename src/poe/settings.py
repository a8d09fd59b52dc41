"""Settings: one table (name, kind, default, meaning) drives parsing, defaults and the README.

Every setting is a Worker var or secret (or an environment variable / ``config.toml`` key in
self-hosted mode). ``SETTINGS`` is the only place a setting is declared: ``load_config``
parses it, ``Config`` holds it, ``settings_markdown`` writes the README table (a test keeps
README and table in step) and ``wrangler.toml``'s ``[vars]`` must hold its defaults.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .catalogue import PROTOCOLS, Model, Protocol, parse_custom_models
from .errors import ConfigError
from .policies import TokenPolicy, parse_policies

__all__ = ["ENV_NAMES", "SETTINGS", "Config", "Setting", "load_config", "settings_markdown", "split_list"]


def split_list(raw: str | None) -> tuple[str, ...]:
    """Comma- (or newline-) separated; trimmed; empties and duplicates dropped, order kept."""
    if not raw:
        return ()
    seen: dict[str, None] = {}
    for item in raw.replace("\n", ",").split(","):
        item = item.strip()
        if item:
            seen.setdefault(item, None)
    return tuple(seen)


def _number(lo: float, integer: bool = False) -> Callable[[str, str], Any]:
    def parse(name: str, raw: str) -> float | int:
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number (got {raw[:20]!r}).") from None
        if not math.isfinite(value):  # "nan", "inf": float() accepts them
            raise ConfigError(f"{name} must be a finite number (got {raw[:20]!r}).")
        if value < lo:
            raise ConfigError(f"{name} must be at least {lo:g}.")
        return int(value) if integer else value

    return parse


def _bool(name: str, raw: str) -> bool:
    low = raw.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false.")


def _url(name: str, raw: str) -> str:
    if not raw.startswith(("https://", "http://")):
        raise ConfigError(f"{name} must start with https:// or http://.")
    return raw.rstrip("/")


def _protocol(name: str, raw: str) -> Protocol:
    low = raw.lower()
    for p in PROTOCOLS:
        if low == p:
            return p
    raise ConfigError(f"{name} must be 'openai' or 'bot' (got {raw[:20]!r}).")


def _list(_name: str, raw: str) -> tuple[str, ...]:
    return split_list(raw)


def _models(_name: str, raw: str) -> tuple[Model, ...]:
    return parse_custom_models(raw)


def _policies(name: str, raw: str) -> tuple[TokenPolicy, ...]:
    return parse_policies(name, raw)


@dataclass(frozen=True, slots=True)
class Setting:
    name: str  # the var / secret name (interface)
    field: str  # the Config attribute
    kind: Literal["secret", "var"]
    default: Any  # the parsed default
    shown: str  # the default as the README shows it
    meaning: str
    parse: Callable[[str, str], Any]


MB = 1024 * 1024

SETTINGS: tuple[Setting, ...] = (
    Setting("POE_APIKEYS", "api_keys", "secret", (), "—", "Poe API keys, comma-separated: the pool", _list),
    Setting(
        "API_ACCESS_TOKENS",
        "access_tokens",
        "secret",
        (),
        "—",
        "tokens your clients send (`Authorization: Bearer`), comma-separated",
        _list,
    ),
    Setting(
        "TOKEN_POLICIES",
        "token_policies",
        "secret",
        (),
        "—",
        'named access tokens with limits, JSON: `{"alice": {"token": "sk-...", "models": ["gpt-*"], "rpm": 20, "rpd": 1000, "concurrency": 2}}` (see Access tokens and limits)',
        _policies,
    ),
    Setting(
        "ADMIN_TOKENS",
        "admin_tokens",
        "secret",
        (),
        "—",
        "tokens for `/admin/status` (`Authorization: Bearer`), comma-separated; access tokens never open it",
        _list,
    ),
    Setting(
        "POE_PROTOCOL",
        "protocol",
        "var",
        "openai",
        "`openai`",
        "how models reach Poe: `openai` (Poe's OpenAI-compatible API, passed through) or `bot` (the bot protocol, translated); per model in `CUSTOM_MODELS`",
        _protocol,
    ),
    Setting("POE_BASE_URL", "base_url", "var", "https://api.poe.com", "`https://api.poe.com`", "Poe's API base URL", _url),
    Setting(
        "POE_UPLOAD_URL",
        "upload_url",
        "var",
        "https://www.quora.com/poe_api/file_upload_3RD_PARTY_POST",
        "Poe's upload URL",
        "where images are uploaded for the bot protocol",
        _url,
    ),
    Setting(
        "TIMEOUT",
        "timeout",
        "var",
        120.0,
        "`120`",
        "seconds for an answer to start, and the longest silence inside one",
        _number(1),
    ),
    Setting(
        "CONNECT_TIMEOUT",
        "connect_timeout",
        "var",
        20.0,
        "`20`",
        "bot protocol: seconds for Poe's response headers before trying the next key",
        _number(1),
    ),
    Setting(
        "MAX_ATTEMPTS",
        "max_attempts",
        "var",
        0,
        "`0`",
        "keys tried per request (`0`: every healthy key once)",
        _number(0, integer=True),
    ),
    Setting("INVALID_KEY_COOLDOWN", "invalid_key_cooldown", "var", 3600.0, "`3600`", "seconds a rejected key rests", _number(0)),
    Setting("QUOTA_COOLDOWN", "quota_cooldown", "var", 3600.0, "`3600`", "seconds a key out of points rests", _number(0)),
    Setting(
        "RATE_LIMIT_COOLDOWN",
        "rate_limit_cooldown",
        "var",
        60.0,
        "`60`",
        "seconds a rate-limited key rests when Poe sends no `Retry-After`",
        _number(0),
    ),
    Setting(
        "ERROR_COOLDOWN", "error_cooldown", "var", 10.0, "`10`", "seconds a key rests after a server error or timeout", _number(0)
    ),
    Setting(
        "KV_PERSIST_SECONDS",
        "kv_persist_seconds",
        "var",
        300.0,
        "`300`",
        "at most one rotation-counter write to KV per this many seconds",
        _number(0),
    ),
    Setting(
        "KV_REFRESH_SECONDS",
        "kv_refresh_seconds",
        "var",
        60.0,
        "`60`",
        "how often an isolate re-reads cool-downs from KV",
        _number(0),
    ),
    Setting(
        "USAGE_FLUSH_SECONDS",
        "usage_flush_seconds",
        "var",
        5.0,
        "`5`",
        "at most this long before an isolate's usage counts reach the ledger (they ride along sooner with a limited token's request)",
        _number(0),
    ),
    Setting(
        "CATALOGUE_REFRESH_HOURS",
        "catalogue_refresh_hours",
        "var",
        24.0,
        "`24`",
        "hours between fetches of Poe's model list by the scheduled pass (`0`: never; the bundled copy is served)",
        _number(0),
    ),
    Setting(
        "SCHEDULE_SECONDS",
        "schedule_seconds",
        "var",
        3600.0,
        "`3600`",
        "self-hosted: seconds between scheduled passes (key balances; the model list when due), `0`: none; on Workers the Cron Trigger in `wrangler.toml` runs them, hourly",
        _number(0),
    ),
    Setting(
        "CUSTOM_MODELS",
        "custom_models",
        "var",
        (),
        "empty",
        "extra model ids: `id=BotName`, `id=bot:BotName` or `id=openai:BotName` (protocol for that model), comma-separated, or JSON",
        _models,
    ),
    Setting("CORS_ORIGINS", "cors_origins", "var", ("*",), "`*`", "origins browsers may call from, comma-separated", _list),
    Setting(
        "REASONING_SPLIT",
        "reasoning_split",
        "var",
        True,
        "`true`",
        "bot protocol: send a bot's thinking as `reasoning_content`, apart from the answer",
        _bool,
    ),
    Setting(
        "CLAUDE_NATIVE",
        "claude_native",
        "var",
        True,
        "`true`",
        "`openai` mode: `/v1/messages` for Claude bots goes to Poe's own Anthropic-compatible endpoint, passed through (prompt caching, thinking signatures); `false` translates it like every other model",
        _bool,
    ),
    Setting(
        "MAX_BODY_BYTES",
        "max_body_bytes",
        "var",
        10 * MB,
        "`10485760`",
        "largest request body accepted (with the JSON caps, keeps one request's memory near 30 MB of the isolate's 128 MB)",
        _number(1024, integer=True),
    ),
    Setting(
        "MAX_IMAGE_BYTES",
        "max_image_bytes",
        "var",
        5 * MB,
        "`5242880`",
        "largest image in a request",
        _number(1024, integer=True),
    ),
)

ENV_NAMES: tuple[str, ...] = tuple(s.name for s in SETTINGS)


@dataclass(frozen=True, slots=True)
class Config:
    """Parsed settings; see ``SETTINGS`` for their meaning and defaults."""

    api_keys: tuple[str, ...]
    access_tokens: tuple[str, ...]
    token_policies: tuple[TokenPolicy, ...]
    admin_tokens: tuple[str, ...]
    protocol: Protocol
    base_url: str
    upload_url: str
    timeout: float
    connect_timeout: float
    max_attempts: int
    invalid_key_cooldown: float
    quota_cooldown: float
    rate_limit_cooldown: float
    error_cooldown: float
    kv_persist_seconds: float
    kv_refresh_seconds: float
    usage_flush_seconds: float
    catalogue_refresh_hours: float
    schedule_seconds: float
    custom_models: tuple[Model, ...]
    cors_origins: tuple[str, ...]
    reasoning_split: bool
    claude_native: bool
    max_body_bytes: int
    max_image_bytes: int

    @classmethod
    def defaults(cls, **overrides: Any) -> Config:
        values = {s.field: s.default for s in SETTINGS}
        values.update(overrides)
        return cls(**values)


def load_config(env: Mapping[str, str]) -> Config:
    """Parse every setting; an empty value means the default. Raises ConfigError."""
    values: dict[str, Any] = {}
    for s in SETTINGS:
        raw = (env.get(s.name) or "").strip()
        values[s.field] = s.parse(s.name, raw) if raw else s.default
    if not values["cors_origins"]:
        values["cors_origins"] = ("*",)
    return Config(**values)


def settings_markdown() -> str:
    """The README's configuration table."""
    rows = ["| name | kind | default | meaning |", "|---|---|---|---|"]
    rows += [f"| `{s.name}` | {s.kind} | {s.shown} | {s.meaning} |" for s in SETTINGS]
    return "\n".join(rows)

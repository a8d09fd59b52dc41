"""Configuration from the Worker's vars and secrets (names are interface)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ConfigError
from .models import Model, parse_custom_models

__all__ = ["ENV_NAMES", "Config", "load_config", "split_list"]

DEFAULT_BASE_URL = "https://api.poe.com"
DEFAULT_UPLOAD_URL = "https://www.quora.com/poe_api/file_upload_3RD_PARTY_POST"

ENV_NAMES = (
    "POE_APIKEYS",
    "API_ACCESS_TOKENS",
    "POE_BASE_URL",
    "POE_UPLOAD_URL",
    "TIMEOUT",
    "CONNECT_TIMEOUT",
    "MAX_ATTEMPTS",
    "INVALID_KEY_COOLDOWN",
    "QUOTA_COOLDOWN",
    "RATE_LIMIT_COOLDOWN",
    "ERROR_COOLDOWN",
    "KV_PERSIST_SECONDS",
    "KV_REFRESH_SECONDS",
    "CUSTOM_MODELS",
    "CORS_ORIGINS",
    "REASONING_SPLIT",
    "MAX_BODY_BYTES",
    "MAX_IMAGE_BYTES",
)


@dataclass(frozen=True, slots=True)
class Config:
    api_keys: tuple[str, ...]
    access_tokens: tuple[str, ...]
    base_url: str = DEFAULT_BASE_URL
    upload_url: str = DEFAULT_UPLOAD_URL
    timeout: float = 120.0
    connect_timeout: float = 20.0
    max_attempts: int = 0  # 0: every key once
    invalid_key_cooldown: float = 3600.0
    quota_cooldown: float = 3600.0
    rate_limit_cooldown: float = 60.0
    error_cooldown: float = 10.0
    kv_persist_seconds: float = 300.0
    kv_refresh_seconds: float = 60.0
    custom_models: tuple[Model, ...] = ()
    cors_origins: tuple[str, ...] = ("*",)
    reasoning_split: bool = True
    max_body_bytes: int = 20 * 1024 * 1024
    max_image_bytes: int = 10 * 1024 * 1024


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


def _num(env: Mapping[str, str], name: str, default: float, lo: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds (got {raw[:20]!r}).") from None
    if not math.isfinite(value):  # "nan", "inf": float() accepts them
        raise ConfigError(f"{name} must be a finite number (got {raw[:20]!r}).")
    if value < lo:
        raise ConfigError(f"{name} must be at least {lo:g}.")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false.")


def load_config(env: Mapping[str, str]) -> Config:
    base = (env.get("POE_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise ConfigError("POE_BASE_URL must start with https:// or http://.")
    upload = (env.get("POE_UPLOAD_URL") or DEFAULT_UPLOAD_URL).strip()
    return Config(
        api_keys=split_list(env.get("POE_APIKEYS")),
        access_tokens=split_list(env.get("API_ACCESS_TOKENS")),
        base_url=base,
        upload_url=upload,
        timeout=_num(env, "TIMEOUT", 120.0, 1),
        connect_timeout=_num(env, "CONNECT_TIMEOUT", 20.0, 1),
        max_attempts=int(_num(env, "MAX_ATTEMPTS", 0, 0)),
        invalid_key_cooldown=_num(env, "INVALID_KEY_COOLDOWN", 3600.0, 0),
        quota_cooldown=_num(env, "QUOTA_COOLDOWN", 3600.0, 0),
        rate_limit_cooldown=_num(env, "RATE_LIMIT_COOLDOWN", 60.0, 0),
        error_cooldown=_num(env, "ERROR_COOLDOWN", 10.0, 0),
        kv_persist_seconds=_num(env, "KV_PERSIST_SECONDS", 300.0, 0),
        kv_refresh_seconds=_num(env, "KV_REFRESH_SECONDS", 60.0, 0),
        custom_models=parse_custom_models(env.get("CUSTOM_MODELS", "")),
        cors_origins=split_list(env.get("CORS_ORIGINS")) or ("*",),
        reasoning_split=_bool(env, "REASONING_SPLIT", True),
        max_body_bytes=int(_num(env, "MAX_BODY_BYTES", 20 * 1024 * 1024, 1024)),
        max_image_bytes=int(_num(env, "MAX_IMAGE_BYTES", 10 * 1024 * 1024, 1024)),
    )

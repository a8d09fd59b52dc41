"""Configuration from the Worker's vars and secrets."""

from __future__ import annotations

import pytest

from poe.catalogue import Model
from poe.errors import ConfigError
from poe.settings import ENV_NAMES, Config, load_config, split_list


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ()),
        ("", ()),
        (" , ,\n", ()),
        ("a", ("a",)),
        (" a , b,a,\nc\n, b ", ("a", "b", "c")),
        ("k1\nk2\r\nk3", ("k1", "k2", "k3")),
        ("x,X", ("x", "X")),
    ],
)
def test_split_list_trims_and_dedups_keeping_order(raw, expected):
    assert split_list(raw) == expected


def test_defaults():
    cfg = load_config({})
    assert cfg == Config.defaults()
    assert cfg.base_url == "https://api.poe.com"
    assert cfg.timeout == 120.0
    assert cfg.cors_origins == ("*",)
    assert cfg.reasoning_split is True
    assert cfg.max_attempts == 0


def test_values():
    cfg = load_config(
        {
            "POE_APIKEYS": " k1, k2 ,k1 ",
            "API_ACCESS_TOKENS": "t1\nt2",
            "POE_BASE_URL": " http://127.0.0.1:8080/ ",
            "TIMEOUT": " 30 ",
            "CONNECT_TIMEOUT": "5.5",
            "MAX_ATTEMPTS": "2",
            "INVALID_KEY_COOLDOWN": "0",
            "QUOTA_COOLDOWN": "7200",
            "RATE_LIMIT_COOLDOWN": "1e2",
            "ERROR_COOLDOWN": "",
            "CUSTOM_MODELS": "MyBot",
            "CORS_ORIGINS": "https://a.example, https://b.example",
            "REASONING_SPLIT": "off",
            "MAX_BODY_BYTES": "2048",
        }
    )
    assert cfg.api_keys == ("k1", "k2")
    assert cfg.access_tokens == ("t1", "t2")
    assert cfg.base_url == "http://127.0.0.1:8080"
    assert (cfg.timeout, cfg.connect_timeout, cfg.max_attempts) == (30.0, 5.5, 2)
    assert (cfg.invalid_key_cooldown, cfg.quota_cooldown, cfg.rate_limit_cooldown, cfg.error_cooldown) == (
        0.0,
        7200.0,
        100.0,
        10.0,
    )
    assert cfg.custom_models == (Model("mybot", "MyBot", "custom"),)
    assert cfg.cors_origins == ("https://a.example", "https://b.example")
    assert cfg.reasoning_split is False
    assert cfg.max_body_bytes == 2048 and isinstance(cfg.max_body_bytes, int)


@pytest.mark.parametrize(
    ("raw", "value"), [("1", True), ("TRUE", True), ("yes", True), ("On", True), ("0", False), ("false", False), ("No", False)]
)
def test_booleans(raw, value):
    assert load_config({"REASONING_SPLIT": raw}).reasoning_split is value


@pytest.mark.parametrize(
    "env",
    [
        {"TIMEOUT": "abc"},
        {"TIMEOUT": "120s"},
        {"TIMEOUT": "0"},
        {"TIMEOUT": "0.5"},
        {"TIMEOUT": "nan"},
        {"TIMEOUT": "inf"},
        {"CONNECT_TIMEOUT": "-1"},
        {"MAX_ATTEMPTS": "-1"},
        {"MAX_ATTEMPTS": "nan"},
        {"MAX_ATTEMPTS": "inf"},
        {"MAX_ATTEMPTS": "two"},
        {"QUOTA_COOLDOWN": "-5"},
        {"RATE_LIMIT_COOLDOWN": "Infinity"},
        {"KV_PERSIST_SECONDS": "NaN"},
        {"MAX_BODY_BYTES": "100"},
        {"MAX_BODY_BYTES": "inf"},
        {"MAX_IMAGE_BYTES": "1e400"},
        {"REASONING_SPLIT": "maybe"},
        {"POE_BASE_URL": "api.poe.com"},
        {"POE_BASE_URL": "ftp://api.poe.com"},
        {"CUSTOM_MODELS": "a="},
    ],
)
def test_bad_values_are_config_errors(env):
    with pytest.raises(ConfigError) as info:
        load_config(env)
    err = info.value
    assert err.status == 500 and err.code == "proxy_misconfigured"
    assert next(iter(env)) in err.message


def test_bad_number_does_not_echo_a_long_value():
    with pytest.raises(ConfigError) as info:
        load_config({"TIMEOUT": "x" * 500})
    assert "x" * 21 not in info.value.message


def test_env_names_cover_the_documented_interface():
    for name in ("POE_APIKEYS", "API_ACCESS_TOKENS", "POE_BASE_URL", "TIMEOUT", "CUSTOM_MODELS"):
        assert name in ENV_NAMES
    assert len(set(ENV_NAMES)) == len(ENV_NAMES)

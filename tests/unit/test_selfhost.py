"""The self-hosted server's configuration (config.toml + environment) and its SQLite state store."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from poe.edges.asgi import ConfigFileError, config_example, server_config
from poe.edges.sqlite_kv import SqliteKV
from poe.settings import ENV_NAMES, SETTINGS, load_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


# ---------------------------------------------------------------- config.toml


def test_the_original_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path, 'port = 9000\napikey = ["k1", "k2"]\naccessTokens = ["t1"]\ntimeout = 30\nbaseUrl = "http://127.0.0.1:1"\n'
    )
    cfg = server_config(path, {})
    assert cfg.port == 9000 and cfg.host == "127.0.0.1" and cfg.config_file == path
    assert cfg.env == {"POE_APIKEYS": "k1,k2", "API_ACCESS_TOKENS": "t1", "TIMEOUT": "30", "POE_BASE_URL": "http://127.0.0.1:1"}
    assert load_config(cfg.env).api_keys == ("k1", "k2")


def test_defaults_without_a_file(tmp_path: Path) -> None:
    cfg = server_config(tmp_path / "config.toml", {})
    assert (cfg.port, cfg.host, cfg.state_file, cfg.config_file, cfg.env) == (8080, "127.0.0.1", "state.db", None, {})


def test_every_setting_by_its_worker_name(tmp_path: Path) -> None:
    text = """
POE_PROTOCOL = "bot"
MAX_ATTEMPTS = 2
QUOTA_COOLDOWN = 1800.5
REASONING_SPLIT = false
CORS_ORIGINS = ["https://a.example", "https://b.example"]
CUSTOM_MODELS = "my-bot=bot:MyBot"
"""
    cfg = server_config(write(tmp_path, text), {})
    parsed = load_config(cfg.env)
    assert parsed.protocol == "bot" and parsed.max_attempts == 2 and parsed.quota_cooldown == 1800.5
    assert parsed.reasoning_split is False and parsed.cors_origins == ("https://a.example", "https://b.example")
    assert [m.id for m in parsed.custom_models] == ["my-bot"]


def test_a_table_becomes_json(tmp_path: Path) -> None:
    cfg = server_config(write(tmp_path, '[CUSTOM_MODELS]\nmine = "bot:MyBot"\n'), {})
    assert json.loads(cfg.env["CUSTOM_MODELS"]) == {"mine": "bot:MyBot"}


def test_environment_wins_and_empty_means_unset(tmp_path: Path) -> None:
    path = write(tmp_path, 'port = 9000\napikey = ["from-file"]\nstateFile = "/var/lib/poe/state.db"\nTIMEOUT = 30\n')
    environ = {"PORT": "9100", "POE_APIKEYS": "from-env", "TIMEOUT": "", "HOST": "0.0.0.0", "STATE_FILE": "", "UNRELATED": "x"}
    cfg = server_config(path, environ)
    assert cfg.port == 9100 and cfg.host == "0.0.0.0"
    assert cfg.env == {"POE_APIKEYS": "from-env", "TIMEOUT": "30"}
    assert cfg.state_file == "/var/lib/poe/state.db"


@pytest.mark.parametrize(("text", "environ"), [('stateFile = ""\n', {}), ("", {"STATE_FILE": ":memory:"})])
def test_state_in_memory(tmp_path: Path, text: str, environ: dict[str, str]) -> None:
    assert server_config(write(tmp_path, text), environ).state_file is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prot = 8080\n", "unknown key 'prot'"),
        ('apikey = ["a"]\nPOE_APIKEYS = "b"\n', "set the same thing"),
        ("port = 'x'\n", "TCP port"),
        ("port = 70000\n", "TCP port"),
        ("port = \n", "not valid TOML"),
        ("timeout = 2026-01-01\n", "string, number"),
    ],
)
def test_bad_files_are_refused_with_a_reason(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigFileError, match=message):
        server_config(write(tmp_path, text), {})


def test_a_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="no such file"):
        server_config(tmp_path / "missing.toml", {}, required=True)


# ---------------------------------------------------------------- config.example.toml


def test_config_example_is_current() -> None:
    assert EXAMPLE.read_text() == config_example(), (
        "config.example.toml differs from the settings: .venv/bin/poe-proxy --example-config > config.example.toml"
    )


def test_config_example_names_every_setting_and_every_line_parses(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    keys = set(re.findall(r"^#? ?([A-Za-z_]+) = ", text, flags=re.M))
    assert {s.name for s in SETTINGS} - {"POE_APIKEYS", "API_ACCESS_TOKENS", "TIMEOUT", "POE_BASE_URL"} <= keys
    assert {"port", "apikey", "accessTokens", "timeout", "baseUrl", "host", "stateFile"} <= keys
    # as shipped, and with every commented key switched on: the server takes it and the defaults parse
    for variant in (text, re.sub(r"^# ([A-Za-z_]+ = )", r"\1", text, flags=re.M)):
        cfg = server_config(write(tmp_path, variant), {})
        assert set(cfg.env) <= set(ENV_NAMES)
        load_config(cfg.env)
    cfg = server_config(write(tmp_path, text), {})
    assert cfg.port == 8080 and cfg.env["TIMEOUT"] == "120"


# ---------------------------------------------------------------- SqliteKV


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_sqlite_kv_keeps_values_across_connections_and_honours_ttls(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "sub" / "state.db"

    async def scenario() -> None:
        kv = SqliteKV(path, clock=clock)
        assert await kv.get("nothing") is None
        await kv.put("counter", "7")
        await kv.put("cool", "x", ttl=60)
        await kv.put("cool", "y", ttl=120)  # replaced, with its new TTL
        kv.close()

        kv = SqliteKV(path, clock=clock)  # a restart
        assert await kv.get("counter") == "7"
        assert await kv.get("cool") == "y"
        clock.now += 119
        assert await kv.get("cool") == "y"
        clock.now += 1
        assert await kv.get("cool") is None
        assert await kv.get("counter") == "7"  # no TTL: kept
        await kv.put("cool", "again", ttl=0)  # 0 = no expiry, as MemoryKV and Workers KV's "no TTL"
        clock.now += 10**6
        assert await kv.get("cool") == "again"
        kv.close()

    asyncio.run(scenario())


def test_sqlite_kv_purges_expired_rows(tmp_path: Path) -> None:
    import sqlite3

    clock = Clock()
    path = tmp_path / "state.db"

    async def scenario() -> None:
        kv = SqliteKV(path, clock=clock)
        for i in range(50):
            await kv.put(f"old{i}", "v", ttl=60)
        clock.now += 61
        for i in range(50):
            await kv.put(f"new{i}", "v")
        kv.close()

    asyncio.run(scenario())
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM kv WHERE key LIKE 'old%'").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM kv").fetchone() == (50,)


def test_sqlite_kv_shared_by_two_processes_worth_of_connections(tmp_path: Path) -> None:
    async def scenario() -> None:
        a, b = SqliteKV(tmp_path / "state.db"), SqliteKV(tmp_path / "state.db")
        await a.put("k", "from-a", ttl=600)
        assert await b.get("k") == "from-a"
        a.close()
        b.close()

    asyncio.run(scenario())

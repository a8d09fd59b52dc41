"""The settings table drives the README and wrangler.toml: these tests keep them in step."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from poe.settings import ENV_NAMES, SETTINGS, load_config, settings_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_readme_shows_the_settings_table() -> None:
    readme = (ROOT / "README.md").read_text()
    assert settings_markdown() in readme, "README.md's configuration table differs: paste settings_markdown()"


def test_chinese_readme_lists_every_setting_with_its_default() -> None:
    rows = {}
    for line in (ROOT / "README.zh-CN.md").read_text().splitlines():
        m = re.match(r"\| `([A-Z_]+)` \| (\w+) \| (.+?) \|", line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3))
    for s in SETTINGS:
        assert s.name in rows, f"README.zh-CN.md lacks {s.name}"
        assert rows[s.name][0] == s.kind
        if s.shown.startswith("`"):
            assert rows[s.name][1] == s.shown, s.name


def test_wrangler_vars_are_settings_that_parse() -> None:
    config = tomllib.loads((ROOT / "wrangler.toml").read_text())
    for table in (config["vars"], config["env"]["production"]["vars"]):
        assert set(table) <= set(ENV_NAMES), "wrangler.toml sets a var that is not a setting"
        load_config({k: str(v) for k, v in table.items()})  # raises ConfigError on a bad value


def test_no_secret_in_wrangler_toml() -> None:
    config = tomllib.loads((ROOT / "wrangler.toml").read_text())
    secrets = {s.name for s in SETTINGS if s.kind == "secret"}
    assert not secrets & set(config["vars"]) and not secrets & set(config["env"]["production"]["vars"])

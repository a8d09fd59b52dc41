"""Catalogue: model ids -> Poe bot names, case-insensitive, with aliases and CUSTOM_MODELS."""

from __future__ import annotations

import pytest

from poe.catalogue import ALIASES, BOTS, Catalogue, Model, parse_custom_models
from poe.errors import ConfigError, NotFound


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return Catalogue()


@pytest.mark.parametrize(
    ("model_id", "bot"),
    [
        ("gpt-4o", "GPT-4o"),
        ("GPT-4O", "GPT-4o"),
        ("  Gpt-4o\n", "GPT-4o"),
        ("chatgpt-4o-latest", "ChatGPT-4o-Latest"),
        ("claude-3.5-sonnet", "Claude-Sonnet-3.5"),  # Poe's older name, now an alias
        ("CLAUDE-3-5-SONNET", "Claude-Sonnet-3.5"),
        ("claude-sonnet-3.5", "Claude-Sonnet-3.5"),
        ("deepseek-reasoner", "DeepSeek-R1"),
        ("deepseek-chat", "DeepSeek-V3"),
        ("o3-mini", "o3-mini"),
        ("poe/gpt-4o", "GPT-4o"),
        ("POE/Claude-Sonnet-4", "Claude-Sonnet-4"),
        ("sdxl", "StableDiffusionXL"),
    ],
)
def test_resolve(cat, model_id, bot):
    assert cat.resolve(model_id).bot == bot


@pytest.mark.parametrize("model_id", ["gpt-99", "", "   ", "poe/", "gpt-4o-mini-ultra", "x" * 5000, "claude 3.5 sonnet"])
def test_unknown_model_is_model_not_found(cat, model_id):
    with pytest.raises(NotFound) as info:
        cat.resolve(model_id)
    err = info.value
    assert (err.status, err.code, err.param, err.type) == (404, "model_not_found", "model", "invalid_request_error")
    assert model_id[:100] in err.message
    assert len(err.message) < 400  # a huge id is not echoed in full


def test_every_catalogue_entry_and_alias_resolves_to_its_bot(cat):
    for bot, owner in BOTS:
        assert cat.resolve(bot) == Model(id=bot.lower(), bot=bot, owned_by=owner)
        assert cat.resolve(bot.upper()).bot == bot
    for alias, bot in ALIASES.items():
        assert cat.resolve(alias).bot == bot, alias


def test_listing_has_each_bot_once_with_lowercase_ids(cat):
    listed = cat.listed()
    ids = [m.id for m in listed]
    assert len(ids) == len(set(ids)) == len(BOTS)
    assert all(m.id == m.id.lower() == m.bot.lower() for m in listed)
    assert all(m.owned_by for m in listed)


def test_aliases_point_at_listed_bots_and_shadow_none():
    ids = {bot.lower(): bot for bot, _ in BOTS}
    for alias, bot in ALIASES.items():
        assert bot.lower() in ids, f"alias {alias!r} points at {bot}, which is not in BOTS"
        assert alias.lower() not in ids, f"alias {alias!r} is already the id of {ids[alias.lower()]}"


# ---------------------------------------------------------------- CUSTOM_MODELS


def test_custom_models_comma_form():
    assert parse_custom_models(" MyBot , my-alias = Some-Private-Bot ,, x=Y=Z ,") == (
        Model("mybot", "MyBot", "custom"),
        Model("my-alias", "Some-Private-Bot", "custom"),
        Model("x", "Y=Z", "custom"),
    )


def test_custom_models_json_form():
    assert parse_custom_models('{"My-Model": "PrivateBot", " spaced ": " Bot-X "}') == (
        Model("my-model", "PrivateBot", "custom"),
        Model("spaced", "Bot-X", "custom"),
    )


@pytest.mark.parametrize("raw", ["", "   ", ",", " , ,"])
def test_custom_models_empty(raw):
    assert parse_custom_models(raw) == ()


@pytest.mark.parametrize(
    "raw", ["a=", "=Bot", " = ", "{bad json", '{"a": 1}', '{"a": ["B"]}', "{}x", '{"": "Bot"}', '{"a": "  "}']
)
def test_custom_models_errors(raw):
    with pytest.raises(ConfigError) as info:
        parse_custom_models(raw)
    assert info.value.status == 500
    assert "CUSTOM_MODELS" in info.value.message


def test_custom_models_resolve_and_win_over_the_catalogue():
    cat = Catalogue(parse_custom_models("MyBot,gpt-4o=My-GPT-Proxy,deepseek-chat=Other-Bot"))
    assert cat.resolve("mybot").bot == "MyBot"
    assert cat.resolve("MYBOT").bot == "MyBot"
    assert cat.resolve("poe/mybot").bot == "MyBot"
    assert cat.resolve("gpt-4o") == Model("gpt-4o", "My-GPT-Proxy", "custom")
    assert cat.resolve("deepseek-chat").bot == "Other-Bot"  # was an alias of DeepSeek-V3
    assert cat.resolve("deepseek-v3").bot == "DeepSeek-V3"
    listed = {m.id: m for m in cat.listed()}
    assert listed["gpt-4o"].bot == "My-GPT-Proxy"
    assert listed["mybot"].owned_by == "custom"
    assert len(listed) == len(cat.listed())

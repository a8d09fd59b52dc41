"""The model catalogue: Poe's bots as data, and the lookup of a client's model id.

``BOTS`` is a bundled copy of Poe's public model list (``GET https://api.poe.com/v1/models``),
regenerated with ``scripts/refresh_catalogue.py``; a model's OpenAI-style id is
its bot name in lower case. The scheduled pass (``refresh``) fetches the list itself
and stores it in KV: ``poe_models`` reads Poe's answer, and a ``Catalogue`` built
with ``fresh`` models lists those (with what Poe says about each: context window,
modalities, endpoints, pricing), the bundled copy being the fallback while there is
none. ``ALIASES`` is kept by hand: other ids clients send (older Poe names, vendor
ids) and the bot they mean. Ids match case-insensitively. Operators add private or
newer bots with CUSTOM_MODELS, no code change needed, and may pin a model to one
upstream protocol there (``id=bot:BotName``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ConfigError, NotFound

__all__ = [
    "ALIASES",
    "BOTS",
    "CREATED",
    "POE_FIELDS",
    "Catalogue",
    "Model",
    "Protocol",
    "from_stored",
    "parse_custom_models",
    "poe_models",
    "stored_models",
]

# How a model reaches Poe: its OpenAI-compatible API, or the bot protocol.
Protocol = Literal["openai", "bot"]
PROTOCOLS: tuple[Protocol, ...] = ("openai", "bot")

# A fixed "created" for catalogue entries: OpenAI's Model schema needs one and
# Poe does not publish dates; a constant keeps /v1/models stable across isolates.
CREATED = 1_700_000_000


@dataclass(frozen=True, slots=True)
class Model:
    id: str  # lower-case, what clients send
    bot: str  # Poe bot name, case-sensitive
    owned_by: str
    protocol: Protocol | None = None  # None: POE_PROTOCOL decides
    created: int = CREATED  # Unix seconds: Poe's own date for a model of its fetched list
    # what Poe's list says about the model (POE_FIELDS), served as extra fields of /v1/models
    extra: tuple[tuple[str, Any], ...] = field(default=(), compare=False)


def _target(raw: str) -> tuple[str, Protocol | None]:
    """``BotName``, ``bot:BotName`` or ``openai:BotName``."""
    prefix, sep, rest = raw.partition(":")
    for p in PROTOCOLS:
        if sep and prefix.strip().lower() == p:
            return rest.strip(), p
    return raw.strip(), None


def parse_custom_models(raw: str) -> tuple[Model, ...]:
    """CUSTOM_MODELS: ``id=BotName,id2=bot:PrivateBot,OtherBot`` or a JSON object ``{"id": "BotName"}``.

    A bare name maps its lower-case form to itself.
    """
    raw = raw.strip()
    if not raw:
        return ()
    pairs: list[tuple[str, str]] = []
    if raw.startswith("{"):
        try:
            obj = json.loads(raw)
        except ValueError:
            raise ConfigError("CUSTOM_MODELS is not valid JSON.") from None
        if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
            raise ConfigError('CUSTOM_MODELS must map model ids to bot names: {"id": "BotName"}.')
        pairs = [(str(k).strip(), v.strip()) for k, v in obj.items()]
    else:
        for item in raw.split(","):
            item = item.strip()
            if not item:
                continue
            model_id, sep, bot = item.partition("=")
            pairs.append((model_id.strip(), bot.strip()) if sep else (item, item))
    out = []
    for model_id, target in pairs:
        bot, protocol = _target(target)
        if model_id == target:  # a bare "bot:Name" entry: the id is the name
            model_id = bot
        if not model_id or not bot:
            raise ConfigError("CUSTOM_MODELS has an entry with an empty id or bot name.")
        out.append(Model(id=model_id.lower(), bot=bot, owned_by="custom", protocol=protocol))
    return tuple(out)


# Anthropic's model ids (claude-sonnet-4-5-20250929, claude-opus-4-6) name Poe's Claude bots
# (Claude-Sonnet-4.5, Claude-Opus-4.6): clients such as Claude Code send them as they are.
_ANTHROPIC_ID = re.compile(r"^claude-(opus|sonnet|haiku)-(\d+)(?:[.-](\d))?(?:-\d{8}|-latest)?$")
_ANTHROPIC_OLD_ID = re.compile(r"^claude-(\d+)(?:-(\d))?-(opus|sonnet|haiku)(?:-\d{8}|-latest)?$")  # claude-3-5-haiku-20241022


def _anthropic_id(key: str) -> Model | None:
    m = _ANTHROPIC_ID.match(key)
    if m is not None:
        family, major, minor = m.groups()
    elif (old := _ANTHROPIC_OLD_ID.match(key)) is not None:
        major, minor, family = old.groups()
    else:
        return None
    bot = f"Claude-{family.capitalize()}-{major}" + (f".{minor}" if minor else "")
    return Model(id=key, bot=bot, owned_by="anthropic")


# ---------------------------------------------------------------- Poe's list, fetched

# What the catalogue keeps of an entry of Poe's list, beyond id, owner and date: the
# fields OpenRouter-style clients read (context, modalities, endpoints, prices), small
# and as Poe spells them. Descriptions, parameters and images stay out (most of the
# list's ~1 MB): every isolate reads the stored copy.
POE_FIELDS: dict[str, type] = {
    "context_window": dict,
    "context_length": int,
    "architecture": dict,
    "supported_endpoints": list,
    "supported_features": list,
    "reasoning": dict,
    "pricing": dict,
}
MAX_FIELD_CHARS = 1000  # a field larger than this (as JSON) is left out
MAX_MODELS = 5000
_POE_ID = re.compile(r"^[^\s/\x00-\x1f]{1,128}$")  # no "/": ids are path segments of /v1/models/{id}
_BUNDLED_OWNERS: dict[str, str] = {}  # filled below, once BOTS exists


def _fits(value: Any, kind: type) -> bool:
    """A value of the documented type that says something (no null, no empty list, no negative length)."""
    if isinstance(value, bool) or not isinstance(value, kind):
        return False
    if isinstance(value, int):
        return value >= 0
    if isinstance(value, list):  # Poe leaves supported_endpoints empty for most bots: that says nothing
        return bool(value) and all(isinstance(v, str) for v in value)
    return bool(value)


def _extra(entry: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The POE_FIELDS of ``entry`` worth keeping."""
    return tuple(
        (name, value)
        for name, kind in POE_FIELDS.items()
        if name in entry and _fits(value := entry[name], kind) and len(json.dumps(value)) <= MAX_FIELD_CHARS
    )


def _model(entry: Any, bot: Any, created: Any) -> Model | None:
    """One entry, or None when it is not usable (no valid id)."""
    if not isinstance(entry, dict):
        return None
    raw_id = entry.get("id")
    if not isinstance(raw_id, str) or not _POE_ID.match(raw_id.strip()):
        return None
    model_id = raw_id.strip().lower()
    name = bot.strip() if isinstance(bot, str) and bot.strip().lower() == model_id else model_id
    owner = entry.get("owned_by")
    owner = owner.strip().lower() if isinstance(owner, str) and 0 < len(owner.strip()) <= 64 else "poe"
    if owner == "poe":  # Poe once said "poe" for every bot: the bundled copy's owner is more telling
        owner = _BUNDLED_OWNERS.get(model_id, owner)
    when = int(created) if isinstance(created, int | float) and not isinstance(created, bool) else -1
    if not 0 <= when < 10**11:
        when = CREATED
    return Model(id=model_id, bot=name, owned_by=owner, created=when, extra=_extra(entry))


def _unique(models: Iterable[Model | None]) -> tuple[Model, ...]:
    seen: dict[str, Model] = {}
    for m in models:
        if m is not None and m.id not in seen and len(seen) < MAX_MODELS:
            seen[m.id] = m
    return tuple(seen.values())


def poe_models(answer: Any) -> tuple[Model, ...]:
    """The models of Poe's ``GET /v1/models`` answer (``{"object": "list", "data": [...]}``).

    Ids are Poe's lower-case ids; the bot name is ``metadata.display_name`` (Poe's spelling) when it
    is the id in another case, else the id; ``created`` comes in milliseconds and goes out in seconds.
    Entries without a usable id are skipped; an answer without a list gives ().
    """
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list):
        return ()

    def one(entry: Any) -> Model | None:
        if not isinstance(entry, dict):
            return None
        meta = entry.get("metadata")
        created = entry.get("created")
        if isinstance(created, int | float) and not isinstance(created, bool) and created >= 10**11:
            created = created / 1000  # milliseconds, as Poe documents
        return _model(entry, meta.get("display_name") if isinstance(meta, dict) else None, created)

    return _unique(one(e) for e in data)


def stored_models(models: Iterable[Model]) -> list[dict[str, Any]]:
    """Models as the JSON that KV keeps (read back with ``from_stored``)."""
    return [{"id": m.id, "bot": m.bot, "owned_by": m.owned_by, "created": m.created, **dict(m.extra)} for m in models]


def from_stored(entries: Any) -> tuple[Model, ...]:
    """Models from the JSON ``stored_models`` wrote. The first request of every isolate pays for this,
    and the entries were checked on their way in: only their types are checked again."""
    if not isinstance(entries, list):
        return ()
    out: dict[str, Model] = {}
    for e in entries:
        if not isinstance(e, dict):
            continue
        model_id, bot, owner, created = e.get("id"), e.get("bot"), e.get("owned_by"), e.get("created")
        if (
            isinstance(model_id, str)
            and isinstance(bot, str)
            and isinstance(owner, str)
            and type(created) is int
            and model_id
            and bot
            and "/" not in model_id
            and model_id not in out
            and len(out) < MAX_MODELS
        ):
            extra = tuple((k, e[k]) for k, kind in POE_FIELDS.items() if k in e and isinstance(e[k], kind))
            out[model_id] = Model(id=model_id, bot=bot, owned_by=owner, created=created, extra=extra)
    return tuple(out.values())


class Catalogue:
    """Model ids -> Poe bots: Poe's list (the fetched one, else the bundled copy), the aliases, then
    CUSTOM_MODELS on top.

    With ``fresh`` models (Poe's list as the scheduled pass fetched it) those are listed; ids of the
    bundled copy that Poe no longer lists still resolve (Poe answers for them, with a 404 if the bot
    is gone). ``source`` and ``fetched_at`` say which list is served.
    """

    def __init__(self, custom: tuple[Model, ...] = (), fresh: tuple[Model, ...] = (), fetched_at: float | None = None) -> None:
        self.custom = custom
        self.source: Literal["poe", "bundled"] = "poe" if fresh else "bundled"
        self.fetched_at = fetched_at if fresh else None
        listed: dict[str, Model] = {}
        index: dict[str, Model] = {}
        for bot, owner in BOTS:
            model = Model(id=bot.lower(), bot=bot, owned_by=owner)
            index[model.id] = model
            if not fresh:
                listed[model.id] = model
        for model in fresh:
            listed[model.id] = index[model.id] = model
        for alias, bot in ALIASES.items():
            target = index.get(bot.lower()) or Model(id=bot.lower(), bot=bot, owned_by="poe")
            index.setdefault(alias.lower(), target)
        for model in custom:  # custom entries win over the catalogue
            listed[model.id] = model
            index[model.id] = model
        self._listed = tuple(listed.values())
        self._index = index

    def resolve(self, model_id: str) -> Model:
        key = model_id.strip().lower()
        model = self._index.get(key)
        if model is None and key.startswith("poe/"):  # "poe/gpt-4o" style prefixes
            model = self._index.get(key[4:])
        if model is None:
            model = _anthropic_id(key)
        if model is None:
            raise NotFound(
                f"The model '{model_id[:100]}' does not exist or is not available through this proxy. "
                "GET /v1/models lists the ids; operators can add bots with CUSTOM_MODELS.",
                param="model",
                code="model_not_found",
            )
        return model

    def listed(self) -> tuple[Model, ...]:
        return self._listed


# fmt: off

# BEGIN generated by scripts/refresh_catalogue.py
# from GET https://api.poe.com/v1/models, a copy taken 2025-09-20 (297 bots)
BOTS: tuple[tuple[str, str], ...] = (
    ("Aya-Expanse-32B", "poe"),
    ("Aya-Vision", "poe"),
    ("Bagoodex-Web-Search", "poe"),
    ("Bria-Eraser", "poe"),
    ("Cartesia-Ink-Whisper", "poe"),
    ("Cartesia-Sonic", "poe"),
    ("ChatGPT-4o-Latest", "openai"),
    ("Clarity-Upscaler", "poe"),
    ("Claude-Haiku-3", "anthropic"),
    ("Claude-Haiku-3.5", "anthropic"),
    ("Claude-Haiku-3.5-Search", "anthropic"),
    ("Claude-Opus-3", "anthropic"),
    ("Claude-Opus-4", "anthropic"),
    ("Claude-Opus-4-Reasoning", "anthropic"),
    ("Claude-Opus-4-Search", "anthropic"),
    ("Claude-Opus-4.1", "anthropic"),
    ("Claude-Sonnet-3.5", "anthropic"),
    ("Claude-Sonnet-3.5-June", "anthropic"),
    ("Claude-Sonnet-3.5-Search", "anthropic"),
    ("Claude-Sonnet-3.7", "anthropic"),
    ("Claude-Sonnet-3.7-Reasoning", "anthropic"),
    ("Claude-Sonnet-3.7-Search", "anthropic"),
    ("Claude-Sonnet-4", "anthropic"),
    ("Claude-Sonnet-4-Reasoning", "anthropic"),
    ("Claude-Sonnet-4-Search", "anthropic"),
    ("Command-R", "poe"),
    ("Command-R-Plus", "poe"),
    ("DALL-E-3", "openai"),
    ("DeepClaude", "anthropic"),
    ("Deepgram-Nova-3", "poe"),
    ("DeepSeek-Prover-V2", "deepseek"),
    ("DeepSeek-R1", "deepseek"),
    ("DeepSeek-R1-DI", "deepseek"),
    ("DeepSeek-R1-Distill", "deepseek"),
    ("DeepSeek-R1-FW", "deepseek"),
    ("DeepSeek-R1-N", "deepseek"),
    ("DeepSeek-R1-Turbo-DI", "deepseek"),
    ("DeepSeek-V3", "deepseek"),
    ("DeepSeek-V3-DI", "deepseek"),
    ("Deepseek-V3-FW", "deepseek"),
    ("DeepSeek-V3-Turbo-DI", "deepseek"),
    ("DeepSeek-V3.1", "deepseek"),
    ("DeepSeek-V3.1-N", "deepseek"),
    ("DeepSeek-V3.1-Omni", "deepseek"),
    ("Dream-Machine", "poe"),
    ("Dreamina-3.1", "poe"),
    ("ElevenLabs-Music", "poe"),
    ("ElevenLabs-v2.5-Turbo", "poe"),
    ("ElevenLabs-v3", "poe"),
    ("Flux-1-Dev-FW", "bfl"),
    ("Flux-1-Schnell-FW", "bfl"),
    ("FLUX-dev", "bfl"),
    ("FLUX-dev-DI", "bfl"),
    ("FLUX-dev-finetuner", "bfl"),
    ("FLUX-Fill", "bfl"),
    ("FLUX-Inpaint", "bfl"),
    ("Flux-Kontext-Max", "bfl"),
    ("Flux-Kontext-Pro", "bfl"),
    ("FLUX-Krea", "bfl"),
    ("FLUX-pro", "bfl"),
    ("FLUX-pro-1-T", "bfl"),
    ("FLUX-pro-1.1", "bfl"),
    ("FLUX-pro-1.1-T", "bfl"),
    ("FLUX-pro-1.1-ultra", "bfl"),
    ("FLUX-schnell", "bfl"),
    ("FLUX-schnell-DI", "bfl"),
    ("Flux-Schnell-T", "bfl"),
    ("Gemini-1.5-Flash", "google"),
    ("Gemini-1.5-Flash-Search", "google"),
    ("Gemini-1.5-Pro", "google"),
    ("Gemini-1.5-Pro-Search", "google"),
    ("Gemini-2.0-Flash", "google"),
    ("Gemini-2.0-Flash-Lite", "google"),
    ("Gemini-2.0-Flash-Preview", "google"),
    ("Gemini-2.5-Flash", "google"),
    ("Gemini-2.5-Flash-Image", "google"),
    ("Gemini-2.5-Flash-Lite", "google"),
    ("Gemini-2.5-Pro", "google"),
    ("Gemini-2.5-Pro-Chat", "google"),
    ("Gemma-3-27B", "google"),
    ("GLM-4.5", "zhipuai"),
    ("GLM-4.5-Air", "zhipuai"),
    ("GLM-4.5-Air-T", "zhipuai"),
    ("GLM-4.5-FW", "zhipuai"),
    ("GLM-4.5-Omni", "zhipuai"),
    ("GPT-3.5-Turbo", "openai"),
    ("GPT-3.5-Turbo-Instruct", "openai"),
    ("GPT-3.5-Turbo-Raw", "openai"),
    ("GPT-4-Classic", "openai"),
    ("GPT-4-Classic-0314", "openai"),
    ("GPT-4-Turbo", "openai"),
    ("GPT-4.1", "openai"),
    ("GPT-4.1-mini", "openai"),
    ("GPT-4.1-nano", "openai"),
    ("GPT-4o", "openai"),
    ("GPT-4o-Aug", "openai"),
    ("GPT-4o-mini", "openai"),
    ("GPT-4o-mini-Search", "openai"),
    ("GPT-4o-Search", "openai"),
    ("GPT-5", "openai"),
    ("GPT-5-Chat", "openai"),
    ("GPT-5-mini", "openai"),
    ("GPT-5-nano", "openai"),
    ("GPT-Image-1", "openai"),
    ("GPT-OSS-120B", "openai"),
    ("GPT-OSS-120B-CS", "openai"),
    ("GPT-OSS-120B-Omni", "openai"),
    ("GPT-OSS-120B-T", "openai"),
    ("GPT-OSS-20B", "openai"),
    ("GPT-OSS-20B-T", "openai"),
    ("GPT-Researcher", "openai"),
    ("Grok-2", "xai"),
    ("Grok-3", "xai"),
    ("Grok-3-Mini", "xai"),
    ("Grok-4", "xai"),
    ("Grok-4-Fast-Non-Reasoning", "xai"),
    ("Grok-4-Fast-Reasoning", "xai"),
    ("Grok-Code-Fast-1", "xai"),
    ("Hailuo-02", "poe"),
    ("Hailuo-02-Pro", "poe"),
    ("Hailuo-02-Standard", "poe"),
    ("Hailuo-AI", "poe"),
    ("Hailuo-Director-01", "poe"),
    ("Hailuo-Live", "poe"),
    ("Hailuo-Speech-02", "poe"),
    ("Hermes-3-70B", "poe"),
    ("Hidream-I1-full", "poe"),
    ("Ideogram", "poe"),
    ("Ideogram-v2", "poe"),
    ("Ideogram-v2a", "poe"),
    ("Ideogram-v2a-Turbo", "poe"),
    ("Ideogram-v3", "poe"),
    ("Imagen-3", "google"),
    ("Imagen-3-Fast", "google"),
    ("Imagen-4", "google"),
    ("Imagen-4-Fast", "google"),
    ("Imagen-4-Ultra", "google"),
    ("Inception-Mercury", "poe"),
    ("Inception-Mercury-Coder", "poe"),
    ("Kimi-K2", "moonshotai"),
    ("Kimi-K2-0905-Chat", "moonshotai"),
    ("Kimi-K2-0905-T", "moonshotai"),
    ("Kimi-K2-Instruct", "moonshotai"),
    ("Kimi-K2-T", "moonshotai"),
    ("Kling-1.5-Pro", "poe"),
    ("Kling-1.6-Pro", "poe"),
    ("Kling-2.0-Master", "poe"),
    ("Kling-2.1-Master", "poe"),
    ("Kling-2.1-Pro", "poe"),
    ("Kling-2.1-Std", "poe"),
    ("Kling-Pro-Effects", "poe"),
    ("Linkup-Deep-Search", "poe"),
    ("Linkup-Standard", "poe"),
    ("LivePortrait", "poe"),
    ("Llama-3-70B-FP16", "meta"),
    ("Llama-3-70B-T", "meta"),
    ("Llama-3.1-405B", "meta"),
    ("Llama-3.1-405B-FP16", "meta"),
    ("Llama-3.1-405B-FW", "meta"),
    ("Llama-3.1-405B-T", "meta"),
    ("Llama-3.1-70B", "meta"),
    ("Llama-3.1-70B-FP16", "meta"),
    ("Llama-3.1-70B-FW", "meta"),
    ("Llama-3.1-70B-T", "meta"),
    ("Llama-3.1-8B", "meta"),
    ("Llama-3.1-8B-CS", "meta"),
    ("Llama-3.1-8B-DI", "meta"),
    ("Llama-3.1-8B-FP16", "meta"),
    ("Llama-3.1-8B-FW", "meta"),
    ("Llama-3.1-8B-T-128k", "meta"),
    ("Llama-3.3-70B", "meta"),
    ("Llama-3.3-70B-Chat", "meta"),
    ("Llama-3.3-70B-CS", "meta"),
    ("Llama-3.3-70B-DI", "meta"),
    ("Llama-3.3-70B-FW", "meta"),
    ("Llama-3.3-70B-N", "meta"),
    ("Llama-3.3-70B-Omni", "meta"),
    ("Llama-4-Maverick", "meta"),
    ("Llama-4-Maverick-B10", "meta"),
    ("Llama-4-Maverick-T", "meta"),
    ("Llama-4-Scout", "meta"),
    ("Llama-4-Scout-B10", "meta"),
    ("Llama-4-Scout-Chat", "meta"),
    ("Llama-4-Scout-CS", "meta"),
    ("Llama-4-Scout-T", "meta"),
    ("Luma-Photon", "poe"),
    ("Luma-Photon-Flash", "poe"),
    ("Lyria", "google"),
    ("Magistral-Medium-2506-Thinking", "mistralai"),
    ("MarkItDown", "poe"),
    ("MiniMax-M1", "poe"),
    ("Mistral-7B-v0.3-DI", "mistralai"),
    ("Mistral-7B-v0.3-T", "mistralai"),
    ("Mistral-Large-2", "mistralai"),
    ("Mistral-Medium", "mistralai"),
    ("Mistral-Medium-3", "mistralai"),
    ("Mistral-NeMo-Chat", "mistralai"),
    ("Mistral-NeMo-Omni", "mistralai"),
    ("Mistral-Small-3", "mistralai"),
    ("Mistral-Small-3.1", "mistralai"),
    ("Mixtral8x22b-Inst-FW", "mistralai"),
    ("Mochi-preview", "poe"),
    ("o1", "openai"),
    ("o1-mini", "openai"),
    ("o1-pro", "openai"),
    ("o3", "openai"),
    ("o3-deep-research", "openai"),
    ("o3-mini", "openai"),
    ("o3-mini-high", "openai"),
    ("o3-pro", "openai"),
    ("o4-mini", "openai"),
    ("o4-mini-deep-research", "openai"),
    ("OmniHuman", "poe"),
    ("OpenAI-GPT-OSS-120B", "openai"),
    ("OpenAI-GPT-OSS-20B", "openai"),
    ("Orpheus-TTS", "poe"),
    ("Perplexity-Deep-Research", "perplexity"),
    ("Perplexity-Sonar", "perplexity"),
    ("Perplexity-Sonar-Pro", "perplexity"),
    ("Perplexity-Sonar-Rsn", "perplexity"),
    ("Perplexity-Sonar-Rsn-Pro", "perplexity"),
    ("Phi-4-DI", "poe"),
    ("Phoenix-1.0", "poe"),
    ("Pika", "poe"),
    ("Pixverse-v4.5", "poe"),
    ("PlayAI-Dialog", "poe"),
    ("PlayAI-TTS", "poe"),
    ("Poe-System-Bot", "poe"),
    ("Python", "poe"),
    ("Qwen-2.5-72B-T", "alibaba"),
    ("Qwen-2.5-7B-T", "alibaba"),
    ("Qwen-2.5-Coder-32B-T", "alibaba"),
    ("Qwen-2.5-VL-32b", "alibaba"),
    ("Qwen-3-235B-2507-T", "alibaba"),
    ("Qwen-3-Next-80B-Think", "alibaba"),
    ("Qwen-Edit", "alibaba"),
    ("Qwen-Image", "alibaba"),
    ("Qwen-Image-20B", "alibaba"),
    ("Qwen2.5-Coder-32B", "alibaba"),
    ("Qwen2.5-VL-72B-T", "alibaba"),
    ("Qwen3-235B-2507-CS", "alibaba"),
    ("Qwen3-235B-2507-FW", "alibaba"),
    ("Qwen3-235B-A22B", "alibaba"),
    ("Qwen3-235B-A22B-DI", "alibaba"),
    ("Qwen3-235B-A22B-N", "alibaba"),
    ("Qwen3-235B-Think-CS", "alibaba"),
    ("Qwen3-30B-A3B-Instruct", "alibaba"),
    ("Qwen3-32B-CS", "alibaba"),
    ("Qwen3-480B-Coder-CS", "alibaba"),
    ("Qwen3-Coder", "alibaba"),
    ("Qwen3-Coder-30B-A3B", "alibaba"),
    ("Qwen3-Coder-480B-N", "alibaba"),
    ("Qwen3-Coder-480B-T", "alibaba"),
    ("Qwen3-Next-80B", "alibaba"),
    ("QwQ-32B-B10", "alibaba"),
    ("QwQ-32B-Preview-T", "alibaba"),
    ("QwQ-32B-T", "alibaba"),
    ("Ray2", "poe"),
    ("Recraft-V3", "poe"),
    ("Reka-Core", "poe"),
    ("Reka-Flash", "poe"),
    ("Reka-Research", "poe"),
    ("remove-background", "poe"),
    ("Restyler", "poe"),
    ("Retro-Diffusion-Core", "poe"),
    ("Runway", "poe"),
    ("Runway-Gen-4-Turbo", "poe"),
    ("Sana-T2I", "poe"),
    ("Seedance-1.0-Lite", "poe"),
    ("Seedance-1.0-Pro", "poe"),
    ("SeedEdit-3.0", "poe"),
    ("Seedream-3.0", "poe"),
    ("Seedream-4.0", "poe"),
    ("Sketch-to-Image", "poe"),
    ("Solar-Pro-2", "poe"),
    ("Sora", "openai"),
    ("Stable-Audio-2.0", "stabilityai"),
    ("Stable-Audio-2.5", "stabilityai"),
    ("StableDiffusion3-2B", "stabilityai"),
    ("StableDiffusion3.5-L", "stabilityai"),
    ("StableDiffusion3.5-T", "stabilityai"),
    ("StableDiffusionXL", "stabilityai"),
    ("Tako", "poe"),
    ("TopazLabs", "poe"),
    ("Trellis-3D", "poe"),
    ("TwelveLabs", "poe"),
    ("Unreal-Speech-TTS", "poe"),
    ("Veo-2", "google"),
    ("Veo-2-Video", "google"),
    ("Veo-3", "google"),
    ("Veo-3-Fast", "google"),
    ("Vidu", "poe"),
    ("Vidu-Q1", "poe"),
    ("Wan-2.1", "poe"),
    ("Wan-2.2", "poe"),
    ("Web-Search", "poe"),
    ("Whisper-V3-Large-T", "poe"),
)
# END generated

_BUNDLED_OWNERS.update((bot.lower(), owner) for bot, owner in BOTS)

ALIASES: dict[str, str] = {
    'claude-3.5-sonnet': 'Claude-Sonnet-3.5',
    'claude-3-5-sonnet': 'Claude-Sonnet-3.5',
    'claude-3-5-sonnet-latest': 'Claude-Sonnet-3.5',
    'claude-3.5-haiku': 'Claude-Haiku-3.5',
    'claude-3-5-haiku': 'Claude-Haiku-3.5',
    'claude-3-5-haiku-latest': 'Claude-Haiku-3.5',
    'claude-3-haiku': 'Claude-Haiku-3',
    'claude-3-opus': 'Claude-Opus-3',
    'claude-3-opus-latest': 'Claude-Opus-3',
    'claude-3.7-sonnet': 'Claude-Sonnet-3.7',
    'claude-3-7-sonnet': 'Claude-Sonnet-3.7',
    'claude-3-7-sonnet-latest': 'Claude-Sonnet-3.7',
    'claude-3.7-sonnet-reasoning': 'Claude-Sonnet-3.7-Reasoning',
    'claude-4-sonnet': 'Claude-Sonnet-4',
    'claude-sonnet-4-0': 'Claude-Sonnet-4',
    'claude-sonnet-4-20250514': 'Claude-Sonnet-4',
    'claude-4-opus': 'Claude-Opus-4',
    'claude-opus-4-0': 'Claude-Opus-4',
    'claude-opus-4-1': 'Claude-Opus-4.1',
    'gpt-4o-latest': 'ChatGPT-4o-Latest',
    'gpt-4-turbo-preview': 'GPT-4-Turbo',
    'gpt-4': 'GPT-4-Classic',
    'dalle-3': 'DALL-E-3',
    'dalle3': 'DALL-E-3',
    'deepseek-reasoner': 'DeepSeek-R1',
    'deepseek-chat': 'DeepSeek-V3',
    'mistral-large': 'Mistral-Large-2',
    'mistral-large-latest': 'Mistral-Large-2',
    'qwen-2.5-72b': 'Qwen-2.5-72B-T',
    'qwen2.5-72b-instruct': 'Qwen-2.5-72B-T',
    'qwen-2.5-coder-32b': 'Qwen-2.5-Coder-32B-T',
    'qwq-32b': 'QwQ-32B-T',
    'qwen3-235b': 'Qwen3-235B-A22B',
    'llama-3.1-405b-instruct': 'Llama-3.1-405B',
    'llama-3.1-70b-instruct': 'Llama-3.1-70B',
    'llama-3.1-8b-instruct': 'Llama-3.1-8B',
    'llama-3.3-70b-instruct': 'Llama-3.3-70B',
    'sdxl': 'StableDiffusionXL',
    'stable-diffusion-xl': 'StableDiffusionXL',
    'sd3.5-large': 'StableDiffusion3.5-L',
}
# fmt: on

"""Model ids -> Poe bot names: the built-in catalogue plus CUSTOM_MODELS."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .catalogue import ALIASES, BOTS
from .errors import ConfigError, NotFound

__all__ = ["Catalogue", "Model", "parse_custom_models"]

# A fixed "created" for catalogue entries: OpenAI's Model schema needs one and
# Poe does not publish dates; a constant keeps /v1/models stable across isolates.
CREATED = 1_700_000_000


@dataclass(frozen=True, slots=True)
class Model:
    id: str  # lower-case, what clients send
    bot: str  # Poe bot name, case-sensitive
    owned_by: str


def parse_custom_models(raw: str) -> tuple[Model, ...]:
    """CUSTOM_MODELS: ``id=BotName,OtherBot`` or a JSON object ``{"id": "BotName"}``.

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
    for model_id, bot in pairs:
        if not model_id or not bot:
            raise ConfigError("CUSTOM_MODELS has an entry with an empty id or bot name.")
        out.append(Model(id=model_id.lower(), bot=bot, owned_by="custom"))
    return tuple(out)


class Catalogue:
    def __init__(self, custom: tuple[Model, ...] = ()) -> None:
        listed: dict[str, Model] = {}
        index: dict[str, Model] = {}
        for bot, owner in BOTS:
            model = Model(id=bot.lower(), bot=bot, owned_by=owner)
            listed[model.id] = index[model.id] = model
        for alias, bot in ALIASES.items():
            target = index.get(bot.lower()) or Model(id=bot.lower(), bot=bot, owned_by="poe")
            index.setdefault(alias.lower(), target)
        for model in custom:  # custom entries win over the catalogue
            listed[model.id] = model
            index[model.id] = model
        self._listed = listed
        self._index = index

    def resolve(self, model_id: str) -> Model:
        key = model_id.strip().lower()
        model = self._index.get(key)
        if model is None and key.startswith("poe/"):  # "poe/gpt-4o" style prefixes
            model = self._index.get(key[4:])
        if model is None:
            raise NotFound(
                f"The model '{model_id[:100]}' does not exist or is not available through this proxy. "
                "GET /v1/models lists the ids; operators can add bots with CUSTOM_MODELS.",
                param="model",
                code="model_not_found",
            )
        return model

    def get(self, model_id: str) -> Model | None:
        try:
            return self.resolve(model_id)
        except NotFound:
            return None

    def listed(self) -> tuple[Model, ...]:
        return tuple(self._listed.values())

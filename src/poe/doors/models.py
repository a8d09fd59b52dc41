"""``GET /v1/models`` and ``GET /v1/models/{id}``."""

from __future__ import annotations

from urllib.parse import unquote

from ..catalogue import Catalogue
from ..http import Response
from .common import json_response
from .openai_wire import model_list, model_object

__all__ = ["handle_model", "handle_models"]


def handle_models(catalogue: Catalogue) -> Response:
    return json_response(200, model_list(catalogue.listed()))


def handle_model(catalogue: Catalogue, raw_id: str) -> Response:
    """The model under the id the client asked for (an alias too), as OpenAI's API echoes it."""
    asked = unquote(raw_id).strip()
    return json_response(200, {**model_object(catalogue.resolve(asked)), "id": asked})

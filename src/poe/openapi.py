"""The OpenAPI 3.1 description of the proxy's own API, served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

__all__ = ["document"]


def document(version: str) -> dict[str, Any]:
    """The whole description (built once per isolate by the app)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Poe Proxy", "version": version},
        "paths": {},
    }

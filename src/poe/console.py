"""The operator's console: one self-contained page served at ``GET /admin`` (to be filled in)."""

from __future__ import annotations

__all__ = ["HEADERS", "PAGE"]

PAGE = b"<!doctype html><title>Poe Proxy</title><p>The console is not built yet.</p>"
# a strict page: its own script and style only, nothing from any other origin, no framing, no referrer
HEADERS = (
    ("content-type", "text/html; charset=utf-8"),
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cache-control", "no-store"),
)

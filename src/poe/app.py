"""Routing, CORS and error handling: ``handle(request, env, runtime) -> Response``."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

from . import __version__, openapi, refresh
from .auth import check_access
from .catalogue import Catalogue
from .doors.anthropic_messages import anthropic_error_response, handle_count_tokens, handle_messages
from .doors.common import json_response
from .doors.images import handle_generation
from .doors.models import handle_model, handle_models
from .doors.openai_chat import handle_chat
from .doors.openai_responses import handle_responses
from .errors import ConfigError, MethodNotAllowed, NotFound, PayloadTooLarge, ProxyError, error_body
from .http import Request, Response, Runtime
from .pool import KeyPool
from .settings import Config, load_config

__all__ = ["App", "error_response"]

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
MODELS_PATHS = ("/v1/models", "/models")
IMAGES_PATHS = ("/v1/images/generations", "/images/generations")
MESSAGES_PATHS = ("/v1/messages", "/messages")
COUNT_TOKENS_PATHS = ("/v1/messages/count_tokens", "/messages/count_tokens")
RESPONSES_PATHS = ("/v1/responses", "/responses")
ENDPOINTS = (
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/messages",
    "/v1/messages/count_tokens",
    "/v1/models",
    "/v1/images/generations",
    "/health",
    "/openapi.json",
)
ALLOWED_HEADERS = "authorization, content-type, x-api-key, anthropic-version, anthropic-beta, openai-organization, openai-project, x-stainless-arch, x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-retry-count, x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout"


def declared_length(headers: Mapping[str, str]) -> int:
    declared = headers.get("content-length", "")
    return int(declared) if declared.isdigit() else 0


def _anthropic(req: Request) -> bool:
    """A request to the Anthropic door: answered in Anthropic's shapes and headers."""
    return req.path.rstrip("/") in (*MESSAGES_PATHS, *COUNT_TOKENS_PATHS)


def error_response(err: ProxyError) -> Response:
    return json_response(err.status, error_body(err), err.headers)


class App:
    """Per-isolate state: parsed config, the catalogue and the key pool."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.config_error: ConfigError | None = None
        try:
            self.cfg = load_config(env)
        except ConfigError as err:
            self.config_error = err
            self.cfg = Config.defaults()
        self.catalogue = Catalogue(self.cfg.custom_models)
        self.pool = KeyPool(self.cfg.api_keys, self.cfg)
        self._secrets = tuple(sorted({*self.cfg.api_keys, *self.cfg.access_tokens}, key=len, reverse=True))
        self._models: Response | None = None  # the list is the same for the isolate's life: build it once
        self._openapi: Response | None = None

    def redact(self, text: str) -> str:
        for s in self._secrets:
            if s and s in text:
                text = text.replace(s, "[redacted]")
        return text

    # ------------------------------------------------------------ entry

    async def handle(self, req: Request, rt: Runtime) -> Response:
        started = time.monotonic()
        request_id = "req_" + secrets.token_hex(12)  # random: ties a client's report to the log line
        log = rt.log
        rt = Runtime(rt.http, rt.kv, rt.clock, rt.defer, lambda line: log(self.redact(line)), self.redact)
        try:
            if req.method == "OPTIONS":
                resp = Response(204, self._preflight_headers(req))
            else:
                resp = await self._route(req, rt)
        except ProxyError as err:
            err.message = self.redact(err.message)  # e.g. an upstream body echoed in a 400
            resp = self._error(req, err)
        except Exception as exc:  # never a traceback to the client
            rt.log(f"internal error in {request_id}: {type(exc).__name__}: {exc}")
            resp = self._error(
                req, ProxyError(f"The proxy hit an internal error; the Worker logs have its details under {request_id}.")
            )
        if resp.status >= 400:  # the platform logs every request; a log line costs CPU, so only failures get one
            elapsed = (time.monotonic() - started) * 1000
            rt.log(f"{req.method} {req.path[:200]} -> {resp.status} ({elapsed:.0f} ms) {request_id}")
        ids = (("x-request-id", request_id), ("request-id", request_id)) if _anthropic(req) else (("x-request-id", request_id),)
        return Response(resp.status, (*resp.headers, *ids, *self._cors_headers(req)), resp.body)

    @staticmethod
    def _error(req: Request, err: ProxyError) -> Response:
        """The error in the shape of the protocol the client called."""
        if _anthropic(req):
            return anthropic_error_response(err)
        return error_response(err)

    async def _route(self, req: Request, rt: Runtime) -> Response:
        path = req.path.rstrip("/") or "/"
        if path == "/openapi.json":
            self._method(req, "GET", "HEAD")
            if self._openapi is None:
                self._openapi = json_response(200, openapi.document(__version__))
            return self._openapi
        if path in ("/", "/health", "/v1/health"):
            self._method(req, "GET", "HEAD")
            return json_response(200, await self._health(rt) if path != "/" else self._index())
        if path in CHAT_PATHS:
            self._method(req, "POST")
            self._guard(req)
            return await handle_chat(rt, self.cfg, self.catalogue, self.pool, req.body)
        if path in RESPONSES_PATHS:
            self._method(req, "POST")
            self._guard(req)
            return await handle_responses(rt, self.cfg, self.catalogue, self.pool, req.body)
        if path in MESSAGES_PATHS:
            self._method(req, "POST")
            self._guard(req)
            return await handle_messages(rt, self.cfg, self.catalogue, self.pool, req.body, req.headers)
        if path in COUNT_TOKENS_PATHS:
            self._method(req, "POST")
            self._guard(req)
            return handle_count_tokens(self.catalogue, req.body)
        if path in MODELS_PATHS:
            self._method(req, "GET", "HEAD")
            self._guard(req)
            if self._models is None:
                self._models = handle_models(self.catalogue)
            return self._models
        for prefix in MODELS_PATHS:
            if path.startswith(prefix + "/"):
                self._method(req, "GET", "HEAD")
                self._guard(req)
                return handle_model(self.catalogue, path[len(prefix) + 1 :])
        if path in IMAGES_PATHS:
            self._method(req, "POST")
            self._guard(req)
            return await handle_generation(rt, self.cfg, self.catalogue, self.pool, req.body)
        raise NotFound(f"Unknown path {req.method} {path[:200]}. This proxy serves {', '.join(ENDPOINTS)}.", code="unknown_url")

    async def scheduled(self, rt: Runtime) -> None:
        """The Cron Trigger's (or the self-hosted timer's) pass: see ``refresh.run``."""
        await refresh.run(rt, self)

    async def refuse_unread(self, req: Request, rt: Runtime) -> Response | None:
        """For the edges, before reading a body: the answer to a request without a valid access token.

        Only a caller the proxy serves may make it read (and hold) a body; everyone else gets their
        401 (or the 404/405 of a wrong path or method) from the headers alone.
        """
        if req.method == "OPTIONS" or self.config_error is not None:
            return None
        try:
            check_access(req.headers, self.cfg.access_tokens)
        except ProxyError:
            return await self.handle(req, rt)  # the body is empty: routing and the guard answer
        return None

    def declared_too_large(self, headers: Mapping[str, str]) -> bool:
        """For the edges: the body need not be read, the 413 follows from Content-Length alone."""
        return declared_length(headers) > self.cfg.max_body_bytes

    def _guard(self, req: Request) -> None:
        if self.config_error is not None:
            raise self.config_error
        check_access(req.headers, self.cfg.access_tokens)
        size = max(len(req.body), declared_length(req.headers))
        if size > self.cfg.max_body_bytes:
            raise PayloadTooLarge(
                f"The request body is {size} bytes; the limit is {self.cfg.max_body_bytes} bytes (MAX_BODY_BYTES)."
            )

    @staticmethod
    def _method(req: Request, *allowed: str) -> None:
        if req.method not in allowed:
            raise MethodNotAllowed(
                f"Method {req.method} is not allowed on {req.path}; use {' or '.join(allowed)}.",
                headers=(("allow", ", ".join((*allowed, "OPTIONS"))),),
            )

    # ------------------------------------------------------------ bodies

    def _index(self) -> dict[str, Any]:
        return {
            "name": "poe-proxy",
            "version": __version__,
            "endpoints": list(ENDPOINTS),
        }

    async def _health(self, rt: Runtime) -> dict[str, Any]:
        await self.pool.sync(rt, rt.clock())  # a new isolate shows the cool-downs stored in KV
        return {
            "status": "ok" if self.config_error is None and len(self.pool) and self.cfg.access_tokens else "misconfigured",
            "version": __version__,
            "keys": self.pool.health(rt.clock()),
            "access_tokens_configured": bool(self.cfg.access_tokens),
            "config_error": self.config_error.message if self.config_error else None,
        }

    # ------------------------------------------------------------ CORS

    def _allow_origin(self, req: Request) -> str | None:
        origin = req.headers.get("origin")
        allowed = self.cfg.cors_origins
        if "*" in allowed:
            return "*"
        if origin and origin in allowed:
            return origin
        return None

    def _cors_headers(self, req: Request) -> tuple[tuple[str, str], ...]:
        origin = self._allow_origin(req)
        if origin is None:
            return (("vary", "Origin"),)
        headers = [
            ("access-control-allow-origin", origin),
            ("access-control-expose-headers", "retry-after, content-type, x-request-id"),
        ]
        if origin != "*":
            headers.append(("vary", "Origin"))
        return tuple(headers)

    def _preflight_headers(self, req: Request) -> tuple[tuple[str, str], ...]:
        if self._allow_origin(req) is None:
            return ()
        requested = req.headers.get("access-control-request-headers")
        return (
            ("access-control-allow-methods", "GET, POST, OPTIONS"),
            ("access-control-allow-headers", requested or ALLOWED_HEADERS),
            ("access-control-max-age", "86400"),
        )

"""Routing, CORS and error handling: ``handle(request, env, runtime) -> Response``."""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from . import __version__, console, openapi, refresh
from .auth import Tokens
from .catalogue import Catalogue
from .doors.anthropic_messages import anthropic_error_response, handle_count_tokens, handle_messages
from .doors.common import json_response
from .doors.images import handle_generation
from .doors.models import handle_model, handle_models
from .doors.openai_chat import handle_chat
from .doors.openai_responses import handle_responses
from .errors import ConfigError, MethodNotAllowed, NotFound, PayloadTooLarge, ProxyError, error_body
from .http import Passthrough, Relay, Request, Response, Runtime
from .ledger import Admission, IsolateBooks, LocalLedger
from .meter import Meter, Sink
from .policies import Caller, ScopedCatalogue
from .pool import KeyPool
from .settings import Config, load_config
from .usage import TOKEN_FIELDS, UsageBook, date_of

__all__ = ["App", "error_response"]

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
MODELS_PATHS = ("/v1/models", "/models")
IMAGES_PATHS = ("/v1/images/generations", "/images/generations")
MESSAGES_PATHS = ("/v1/messages", "/messages")
COUNT_TOKENS_PATHS = ("/v1/messages/count_tokens", "/messages/count_tokens")
RESPONSES_PATHS = ("/v1/responses", "/responses")
KEY_PATHS = ("/v1/key", "/key")
ENDPOINTS = (
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/messages",
    "/v1/messages/count_tokens",
    "/v1/models",
    "/v1/images/generations",
    "/v1/key",
    "/health",
    "/openapi.json",
    "/admin/status",
)
ALLOWED_HEADERS = "authorization, content-type, x-api-key, anthropic-version, anthropic-beta, openai-organization, openai-project, x-stainless-arch, x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-retry-count, x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout"


NO_STORE = (("cache-control", "no-store"),)


class _Released:
    """A stream that releases its token's lease when it ends, however it ends: read to its end, or
    closed (also before its first chunk, where an async generator's ``finally`` would never run)."""

    def __init__(self, body: AsyncIterator[bytes], release: Callable[[], Awaitable[None]]) -> None:
        self._body = body
        self._release: Callable[[], Awaitable[None]] | None = release

    def __aiter__(self) -> _Released:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._body.__anext__()
        except StopAsyncIteration:
            await self._done()
            raise

    async def aclose(self) -> None:
        try:
            aclose = getattr(self._body, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            await self._done()

    async def _done(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            await release()  # before the stream's end reaches the client: its next request finds the slot free


def _token_entry(caller: Caller, book: UsageBook, limits: Mapping[str, Any]) -> dict[str, Any]:
    """A token as the admin API and ``GET /v1/key`` show it: by name, never the token."""
    p = caller.policy
    counts = limits.get(caller.name)
    return {
        "name": caller.name,
        "models": list(p.models) if p and p.models else ["*"],
        "limits": {"rpm": p.rpm, "rpd": p.rpd, "concurrency": p.concurrency} if p else None,
        "now": counts if isinstance(counts, dict) else {"requests_this_minute": 0, "requests_today": 0, "open": 0},
        "usage": book.summary("token", caller.name),
    }


def declared_length(headers: Mapping[str, str]) -> int:
    declared = headers.get("content-length", "")
    return int(declared) if declared.isdigit() else 0


def _admin_path(req: Request) -> bool:
    return req.path == "/admin" or req.path.startswith("/admin/")


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
        cfg = self.cfg
        self.tokens = Tokens(cfg.access_tokens, cfg.token_policies, cfg.admin_tokens)
        if self.config_error is None and set(cfg.admin_tokens) & {*cfg.access_tokens, *(p.token for p in cfg.token_policies)}:
            self.config_error = ConfigError("ADMIN_TOKENS must differ from every access token: the admin API is not for clients.")
        self._books: IsolateBooks | None = None  # this isolate's side of the ledger, made on first use
        every = {*cfg.api_keys, *cfg.access_tokens, *cfg.admin_tokens, *(p.token for p in cfg.token_policies)}
        self._secrets = tuple(sorted(every, key=len, reverse=True))
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
        rt = dataclasses.replace(rt, log=lambda line: log(self.redact(line)), redact=self.redact)
        try:
            if req.method == "OPTIONS":
                resp = Response(204, () if _admin_path(req) else self._preflight_headers(req))
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
        cors = () if _admin_path(req) else self._cors_headers(req)  # no other origin may read the admin API
        return Response(resp.status, (*resp.headers, *ids, *cors), resp.body)

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
            return json_response(200, self._health() if path != "/" else self._index())
        if path == "/admin":
            self._method(req, "GET", "HEAD")
            return Response(200, console.HEADERS, console.PAGE)  # public: the page holds no data, the API wants a token
        await refresh.sync_catalogue(rt, self)  # the stored model list, read at most every KV_REFRESH_SECONDS
        if path == "/admin/status":
            self._method(req, "GET", "HEAD")
            self._admin(req)
            return json_response(200, await self._status(rt), NO_STORE)
        if path in CHAT_PATHS:
            self._method(req, "POST")
            return await self._door(req, rt, lambda rt, view: handle_chat(rt, self.cfg, view, self.pool, req.body))
        if path in RESPONSES_PATHS:
            self._method(req, "POST")
            return await self._door(req, rt, lambda rt, view: handle_responses(rt, self.cfg, view, self.pool, req.body))
        if path in MESSAGES_PATHS:
            self._method(req, "POST")
            return await self._door(
                req, rt, lambda rt, view: handle_messages(rt, self.cfg, view, self.pool, req.body, req.headers)
            )
        if path in COUNT_TOKENS_PATHS:
            self._method(req, "POST")
            caller = self._guard(req)
            return handle_count_tokens(ScopedCatalogue(self.catalogue, caller.policy), req.body)
        if path in MODELS_PATHS:
            self._method(req, "GET", "HEAD")
            caller = self._guard(req)
            if caller.policy is not None and caller.policy.models:  # the list this token may use
                return handle_models(ScopedCatalogue(self.catalogue, caller.policy))
            if self._models is None:
                self._models = handle_models(self.catalogue)
            return self._models
        for prefix in MODELS_PATHS:
            if path.startswith(prefix + "/"):
                self._method(req, "GET", "HEAD")
                caller = self._guard(req)
                return handle_model(ScopedCatalogue(self.catalogue, caller.policy), path[len(prefix) + 1 :])
        if path in KEY_PATHS:  # the caller's own token: its limits, counts and usage (OpenRouter's GET /api/v1/key)
            self._method(req, "GET", "HEAD")
            caller = self._guard(req)
            book, limits = await self._read(rt, (caller,))
            return json_response(200, _token_entry(caller, book, limits), NO_STORE)
        if path in IMAGES_PATHS:
            self._method(req, "POST")
            return await self._door(req, rt, lambda rt, view: handle_generation(rt, self.cfg, view, self.pool, req.body))
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
            self.tokens.caller(req.headers)
        except ProxyError:
            return await self.handle(req, rt)  # the body is empty: routing and the guard answer
        return None

    def declared_too_large(self, headers: Mapping[str, str]) -> bool:
        """For the edges: the body need not be read, the 413 follows from Content-Length alone."""
        return declared_length(headers) > self.cfg.max_body_bytes

    def _guard(self, req: Request) -> Caller:
        if self.config_error is not None:
            raise self.config_error
        caller = self.tokens.caller(req.headers)
        size = max(len(req.body), declared_length(req.headers))
        if size > self.cfg.max_body_bytes:
            raise PayloadTooLarge(
                f"The request body is {size} bytes; the limit is {self.cfg.max_body_bytes} bytes (MAX_BODY_BYTES)."
            )
        return caller

    def _admin(self, req: Request) -> None:
        self.tokens.admin(req.headers)

    def books(self, rt: Runtime) -> IsolateBooks:
        """The ledger as this isolate reaches it: the edge's (a Durable Object, the server's), else its own."""
        if self._books is None:
            store = rt.ledger if rt.ledger is not None else LocalLedger(rt.clock, scope="this isolate", log=rt.log)
            self._books = IsolateBooks(store, self.cfg.usage_flush_seconds)
        return self._books

    def _sink(self, rt: Runtime, books: IsolateBooks, name: str) -> Sink:
        fingerprints = self.pool.fingerprints

        def sink(index: int | None, model: str | None, counts: dict[str, int]) -> None:
            now = rt.clock()
            if index is None:
                books.pending.count("token", name, model, now, counts)
            else:
                books.pending.count("key", fingerprints[index], model, now, counts)
            books.flush_soon(rt.defer, rt.log, now)

        return sink

    async def _admit(self, rt: Runtime, books: IsolateBooks, caller: Caller) -> Admission:
        assert caller.policy is not None
        try:
            return await books.admit(caller.policy)
        except ProxyError:
            raise
        except Exception as exc:  # the ledger unreachable or slow: serve the request rather than refuse every limited token
            rt.log(f"ledger call failed ({type(exc).__name__}); limits not checked for this request")
            return Admission(())  # no lease: nothing to release

    async def _door(
        self, req: Request, rt: Runtime, handler: Callable[[Runtime, ScopedCatalogue], Awaitable[Response]]
    ) -> Response:
        """A client request: its token's limits and model scope around the door that answers it, and its usage."""
        caller = self._guard(req)
        policy = caller.policy
        view = ScopedCatalogue(self.catalogue, policy)
        books = self.books(rt)
        rt = dataclasses.replace(rt, meter=Meter(lambda: view.resolved, self._sink(rt, books, caller.name)))
        admission = Admission(())
        try:
            if policy is not None and policy.limited:
                admission = await self._admit(rt, books, caller)  # or RateLimited
            resp = await handler(rt, view)
        except BaseException as exc:
            if admission.lease:  # an answer of a token with a concurrency limit: counted until it ends
                release = books.release(caller.name, admission.lease, rt.log)
                if isinstance(exc, Exception):
                    await release
                else:  # cancelled: no more awaiting here
                    rt.defer(release)
            if isinstance(exc, ProxyError):
                self._record(rt, books, caller.name, view.resolved, exc.status)
                exc.headers = (*exc.headers, *admission.headers)  # a limited token's errors carry its limits too
            elif isinstance(exc, Exception):  # a bug: handle() answers it with a 500, counted as one
                self._record(rt, books, caller.name, view.resolved, 500)
            raise
        self._record(rt, books, caller.name, view.resolved, resp.status)
        body, headers = resp.body, admission.headers
        if admission.lease:
            if isinstance(body, bytes):
                await books.release(caller.name, admission.lease, rt.log)
            else:  # the token's stream is open until its last byte: counted till then (a passthrough too)
                stream = Relay(body) if isinstance(body, Passthrough) else body
                body = _Released(stream, lambda: books.release(caller.name, admission.lease, rt.log))
        return Response(resp.status, (*resp.headers, *headers), body) if headers or body is not resp.body else resp

    @staticmethod
    def _record(rt: Runtime, books: IsolateBooks, name: str, model: str | None, status: int) -> None:
        now = rt.clock()
        books.pending.record(name, model, status, now)
        books.flush_soon(rt.defer, rt.log, now)

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

    def _health(self) -> dict[str, Any]:
        """Public: whether the proxy is up and configured, nothing about keys, tokens or errors."""
        configured = self.config_error is None and bool(len(self.pool)) and self.tokens.configured
        return {"status": "ok" if configured else "misconfigured", "version": __version__, "configured": configured}

    async def _status(self, rt: Runtime) -> dict[str, Any]:
        """For admins: the pool, the tokens' limits and usage, the catalogue, the configuration's errors."""
        now = rt.clock()
        await self.pool.sync(rt, now)  # a new isolate shows the cool-downs stored in KV
        callers = self.tokens.callers
        book, limits = await self._read(rt, callers)
        tokens = [_token_entry(caller, book, limits) for caller in callers]
        keys = self.pool.health(now)
        today = date_of(now)
        by_key = [book.summary("key", fp) for fp in self.pool.fingerprints]
        keys["today"] = [  # per key, the attempts today: answered, and failures by class (its tokens: in "usage")
            {
                "key": f"#{i + 1}",
                **{k: v for k, v in usage.get(today, {}).items() if isinstance(v, int) and k not in TOKEN_FIELDS},
            }
            for i, usage in enumerate(by_key)
        ]
        keys["usage"] = [{"key": f"#{i + 1}", "days": usage} for i, usage in enumerate(by_key)]
        return {
            "status": self._health()["status"],
            "version": __version__,
            "keys": keys,
            "tokens": tokens,
            "catalogue": refresh.catalogue_status(self, now),
            "points": self.pool.balances_health(now),
            "config_error": self.config_error.message if self.config_error else None,
            "counted_in": getattr(self.books(rt).store, "scope", "the ledger"),
        }

    async def _read(self, rt: Runtime, callers: tuple[Caller, ...]) -> tuple[UsageBook, dict[str, Any]]:
        """The ledger's books and these tokens' counts (what a failed call left here included)."""
        books = self.books(rt)
        try:
            answer = await books.call({"read": [c.name for c in callers]})
        except Exception as exc:
            rt.log(f"ledger call failed ({type(exc).__name__})")
            answer = {}
        book = UsageBook()
        book.merge(answer.get("usage"))
        book.merge(books.pending.to_json())
        limits = answer.get("limits")
        return book, limits if isinstance(limits, dict) else {}

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

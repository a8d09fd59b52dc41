"""The Workers edge: every JS / Pyodide call of the Worker lives here and only here.

* ``JsFetchClient``: the JS ``fetch`` bridge (manual redirects, an
  ``AbortController`` so a cancelled answer stops the upstream request); the
  body is read chunk by chunk from its ``ReadableStream`` only if the core reads
  it, else handed to the client as it is (``Passthrough``).
* ``JsKV``: the Workers KV binding as a ``KeyValueStore``.
* ``Ledger``: the Durable Object that holds the deployment's counts (``ledger.py``), and
  ``JsLedger``, an isolate's way to it (binding ``POE_LEDGER``: one RPC per call).
* ``scheduled``: the Cron Trigger's handler, one ``App.scheduled`` pass (model list, balances).
* ``serve``: JS request -> core ``Request``; core ``Response`` -> JS ``Response``.
  A body the core writes in Python goes through a ``TransformStream`` pumped by a
  task given to ``ctx.waitUntil``; the request's ``signal`` (compatibility flag
  ``enable_request_signal``) stops the pump and the upstream when the client leaves,
  since a write nobody reads never settles.

Every crossing between Python and JS costs CPU the user pays for: the settings,
the app and the KV adapter are made once per isolate, headers cross in one call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import sys
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any
from urllib.parse import urlsplit

import js  # type: ignore[import-not-found]
from pyodide.ffi import create_proxy, to_js  # type: ignore[import-not-found]
from workers import DurableObject  # type: ignore[import-not-found]

from ..app import App
from ..http import OutboundRequest, Passthrough, Request, Response, Runtime, UpstreamResponse
from ..ledger import LedgerState
from ..meter import HEAD_BYTES, TAIL_BYTES, Ends
from ..settings import ENV_NAMES

__all__ = ["JsFetchClient", "JsKV", "JsLedger", "Ledger", "scheduled", "serve"]

LEDGER_NAME = "ledger"  # the one object of the namespace
SAVE_MS = 2000  # a changed ledger is saved to its storage within this (an alarm), not on every call


def _js_obj(value: dict[str, Any]) -> Any:
    return to_js(value, dict_converter=js.Object.fromEntries)


def _headers(js_headers: Any) -> dict[str, str]:
    """JS Headers -> a dict in one conversion (names come lower-case from JS)."""
    return dict(js.Object.fromEntries(js_headers).to_py())


class JsFetchClient:
    async def send(self, request: OutboundRequest) -> UpstreamResponse:
        controller = js.AbortController.new()
        init: dict[str, Any] = {
            "method": request.method,
            "headers": _js_obj(dict(request.headers)),
            "signal": controller.signal,
            "redirect": "manual",  # a redirect must not carry the Poe key elsewhere
        }
        try:
            if request.body is not None:
                init["body"] = to_js(request.body)  # one call; ~10x cheaper than a buffer proxy
            resp = await js.fetch(request.url, _js_obj(init))
        except BaseException:
            # a cancelled wait (connect timeout) must not leave the upstream request running
            with contextlib.suppress(Exception):
                controller.abort()
            raise
        native = resp.body

        async def body() -> AsyncIterator[bytes]:
            if native is None:
                return
            reader = native.getReader()  # only now: a piped body must stay unlocked
            while True:
                part = await reader.read()
                if part.done:
                    return
                yield part.value.to_bytes()

        async def close() -> None:
            with contextlib.suppress(Exception):
                controller.abort()

        return UpstreamResponse(int(resp.status), _headers(resp.headers), body(), close, native)


class JsKV:
    def __init__(self, binding: Any) -> None:
        self._binding = binding

    async def get(self, key: str) -> str | None:
        value = await self._binding.get(key)
        return None if _null(value) else str(value)  # a missing key: JS null, not the string "jsnull"

    async def put(self, key: str, value: str, ttl: int | None = None) -> None:
        if ttl:
            await self._binding.put(key, value, _js_obj({"expirationTtl": int(ttl)}))
        else:
            await self._binding.put(key, value)


class JsLedger:
    """The ``POE_LEDGER`` Durable Object as a ``LedgerStore``."""

    scope = "the deployment (Durable Object POE_LEDGER)"

    def __init__(self, namespace: Any) -> None:
        self._namespace = namespace

    async def call(self, request: str) -> str:
        stub = self._namespace.getByName(LEDGER_NAME)  # a stub per call: stubs belong to the request that made them
        return str(await stub.call(request))


class Ledger(DurableObject):  # type: ignore[misc]
    """The Durable Object: ``LedgerState`` in memory, saved to its storage by an alarm after changes."""

    def __init__(self, ctx: Any, env: Any) -> None:
        super().__init__(ctx, env)
        self.storage = ctx.storage
        self.state: LedgerState | None = None
        self.alarm_set = False

    async def call(self, request: str) -> str:
        state = self.state
        if state is None:  # first call since the object woke: what it saved
            saved = await self.storage.get("ledger")
            state = self.state = LedgerState(saved if isinstance(saved, str) else None)
        try:
            parsed = json.loads(request)
        except ValueError:
            return "{}"
        out, changed = state.handle(parsed, time.time())
        if changed and not self.alarm_set:
            await self.storage.setAlarm(time.time() * 1000 + SAVE_MS)
            self.alarm_set = True  # only once it is set: a failed one is tried again on the next change
        return json.dumps(out, separators=(",", ":"))

    async def alarm(self, _info: Any = None) -> None:
        self.alarm_set = False
        if self.state is not None:
            await self.storage.put("ledger", self.state.dump(time.time()))


def _log(line: str) -> None:
    print(f"[poe-proxy] {line}", file=sys.stdout)


class _Isolate:
    """What lives as long as the isolate: the app (settings, catalogue, pool) and the adapters."""

    def __init__(self, env: Any) -> None:
        values = {}
        for name in ENV_NAMES:
            value = getattr(env, name, None)
            if value is not None and str(value) != "undefined":
                values[name] = str(value)
        self.app = App(values)
        binding = getattr(env, "POE_KV", None)
        self.kv = JsKV(binding) if binding is not None else None
        namespace = getattr(env, "POE_LEDGER", None)
        self.ledger = JsLedger(namespace) if namespace is not None else None
        self.http = JsFetchClient()


_ISOLATE: _Isolate | None = None


def _defer(ctx: Any) -> Any:
    def defer(work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        proxy = create_proxy(task)
        task.add_done_callback(lambda _t: proxy.destroy())
        ctx.waitUntil(proxy)

    return defer


def _keep_ends(native: Any, ends: Ends, rt: Runtime, signal: Any) -> Any:
    """The body teed: one branch to the client, the other gathered by the runtime into one buffer (no
    Python per chunk) whose first and last bytes go to ``ends`` when it is whole. Both branches are piped
    with the request's signal, which cancels them when the client leaves, so the upstream is cancelled as
    it is without the tee (workerd fires the signal for a body it reads from a stream of the Worker's,
    not for a branch of the fetch's own body handed over as it is: tests/e2e/test_disconnect.py).
    IdentityTransformStream is workerd's native byte stream: JS's TransformStream cost about 0.1 ms
    a streamed event more (bench: ``wk-openai metered``)."""
    client, copy = native.tee()
    out, sink = js.IdentityTransformStream.new(), js.IdentityTransformStream.new()  # native byte streams: no JS per chunk
    options = _js_obj({"signal": signal} if signal is not None else {})
    delivered = client.pipeTo(out.writable, options)
    piped = copy.pipeTo(sink.writable, options)
    rt.defer(_gathered(delivered, piped, js.Response.new(sink.readable).arrayBuffer(), ends, rt))
    return out.readable


async def _gathered(delivered: Any, piped: Any, gathered: Any, ends: Ends, rt: Runtime) -> None:
    # every promise awaited (a rejected one left alone is an "Uncaught (in promise)" in the logs)
    results: tuple[Any, Any, Any] = await asyncio.gather(delivered, piped, gathered, return_exceptions=True)
    buffer = results[2]
    if isinstance(buffer, BaseException):  # the client left, or the upstream broke: no whole body to read
        return
    try:
        size = int(buffer.byteLength)
        head = js.Uint8Array.new(buffer, 0, min(size, HEAD_BYTES)).to_bytes()
        ends(head, js.Uint8Array.new(buffer, max(0, size - TAIL_BYTES)).to_bytes())
    except Exception as exc:  # usage is a count, never a failure of the answer
        rt.log(f"reading a passed-through body's usage failed ({type(exc).__name__})")


async def _pump(body: AsyncIterator[bytes], writer: Any, signal: Any) -> None:
    """Copy the core's chunks into the TransformStream; stop when the client leaves."""
    task = asyncio.current_task()
    on_abort = create_proxy(lambda _event: task.cancel() if task is not None else None)
    watching = signal is not None
    if watching:
        signal.addEventListener("abort", on_abort)
    try:
        if watching and signal.aborted:  # the client left while the answer was being opened
            raise asyncio.CancelledError
        async for chunk in body:
            if chunk:
                await writer.write(to_js(chunk))
    except asyncio.CancelledError:
        _log("client left; the upstream answer is cancelled")
    except Exception as exc:
        _log(f"stream ended early: {type(exc).__name__}")
    finally:
        if watching:
            with contextlib.suppress(Exception):
                signal.removeEventListener("abort", on_abort)
        on_abort.destroy()
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(BaseException):
                await aclose()  # closes the upstream request
        with contextlib.suppress(Exception):
            await writer.close()


def _body(js_request: Any) -> Any:
    """The request's body stream, or None (JS ``null`` arrives as a ``JsNull``, not None)."""
    stream = js_request.body
    return None if _null(stream) else stream


def _null(value: Any) -> bool:
    """JS ``null`` arrives as a ``JsNull`` (Pyodide 0.28+), ``undefined`` as None."""
    return value is None or type(value).__name__ == "JsNull"


async def _discard(js_request: Any) -> None:
    """Read an oversized body to its end without keeping it, so the 413 reaches the client
    (answering while the client is still sending makes some clients see a reset)."""
    stream = _body(js_request)
    if stream is None:
        return
    reader = stream.getReader()
    with contextlib.suppress(Exception):
        while not (await reader.read()).done:
            pass


DRAIN_MS = 5000


async def _drain_refused(js_request: Any) -> None:
    """Let a refused body run out before the answer, in JS (no Python per chunk, nothing kept), for at
    most DRAIN_MS: answering while it still comes (or cancelling it) makes the runtime drop the
    connection, often under the next request; an endless body must not hold the Worker longer."""
    controller = js.AbortController.new()
    try:
        pipe = _body(js_request).pipeTo(js.WritableStream.new(), _js_obj({"signal": controller.signal}))
        await asyncio.wait_for(pipe, DRAIN_MS / 1000)
    except Exception:  # the time is up (or the body broke): stop reading it
        with contextlib.suppress(Exception):
            controller.abort()


async def _read_capped(js_request: Any, cap: int) -> tuple[bytes | None, int]:
    """The body, or None once it passes ``cap`` bytes (the rest is cancelled, not read)."""
    reader = _body(js_request).getReader()
    parts: list[bytes] = []
    size = 0
    while True:
        part = await reader.read()
        if part.done:
            return b"".join(parts), size
        chunk = part.value.to_bytes()
        size += len(chunk)
        if size > cap:
            with contextlib.suppress(Exception):
                await reader.cancel()
            return None, size
        parts.append(chunk)


def _js_response(body: Any, status: int, headers: tuple[tuple[str, str], ...]) -> Any:
    return js.Response.new(body, _js_obj({"status": status, "headers": to_js([list(h) for h in headers])}))


async def serve(request: Any, env: Any, ctx: Any) -> Any:
    """The Worker's fetch handler; nothing escapes it as a traceback."""
    try:
        return await _serve(request, env, ctx)
    except Exception as exc:  # a bug in the edge itself: the core's own handler never got to answer
        request_id = "req_" + secrets.token_hex(12)
        _log(f"internal error in {request_id} at the edge: {type(exc).__name__}: {exc}")
        body = json.dumps(
            {
                "error": {
                    "message": f"The proxy hit an internal error; the Worker logs have its details under {request_id}.",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            }
        ).encode()
        return _js_response(to_js(body), 500, (("content-type", "application/json"), ("x-request-id", request_id)))


async def _serve(request: Any, env: Any, ctx: Any) -> Any:
    global _ISOLATE
    if _ISOLATE is None:
        _ISOLATE = _Isolate(env)
    iso = _ISOLATE
    app = iso.app
    js_request = request.js_object
    rt = Runtime(http=iso.http, kv=iso.kv, clock=time.time, defer=_defer(ctx), log=_log, ledger=iso.ledger)
    method = str(js_request.method).upper()  # the raw string: any method, no enum to fail on
    url = urlsplit(str(js_request.url))
    headers = _headers(js_request.headers)
    core = Request(method=method, path=url.path, headers=headers, query=url.query)
    has_body = _body(js_request) is not None
    early = await app.refuse_unread(core, rt) if has_body else None
    if early is not None:  # no valid token: the body is neither read by Python nor kept
        await _drain_refused(js_request)
        return _answer(early, method, rt, js_request)
    body = b""
    if has_body:
        if app.declared_too_large(headers):
            await _discard(js_request)  # the core answers 413 from the header alone
        elif "content-length" in headers:
            body = (await js_request.arrayBuffer()).to_bytes()  # one crossing
        else:  # chunked: read with a running cap, never more than the limit
            read, size = await _read_capped(js_request, app.cfg.max_body_bytes)
            if read is None:
                headers = {**headers, "content-length": str(size)}  # the guard's 413, from the size read so far
            body = read or b""
        core = Request(method=method, path=url.path, headers=headers, body=body, query=url.query)
    return _answer(await app.handle(core, rt), method, rt, js_request)


async def scheduled(controller: Any, env: Any, ctx: Any) -> None:
    """The Worker's scheduled handler (Cron Trigger): one pass, awaited, so the invocation lasts as long."""
    global _ISOLATE
    try:
        if _ISOLATE is None:
            _ISOLATE = _Isolate(env)
        iso = _ISOLATE
        rt = Runtime(http=iso.http, kv=iso.kv, clock=time.time, defer=_defer(ctx), log=_log, ledger=iso.ledger)
        await iso.app.scheduled(rt)
    except Exception as exc:  # the pass logs its own failures; this is the edge's
        _log(f"scheduled pass failed at the edge: {type(exc).__name__}")


def _answer(resp: Response, method: str, rt: Runtime, js_request: Any) -> Any:
    if isinstance(resp.body, bytes):
        payload = to_js(resp.body) if resp.body and resp.status not in (204, 304) and method != "HEAD" else None
        return _js_response(payload, resp.status, resp.headers)
    if isinstance(resp.body, Passthrough):
        # Poe's body goes to the client as it is: no Python per chunk; workerd cancels the
        # upstream fetch itself when the client leaves
        native = resp.body.upstream.native
        if resp.body.ends is not None and method != "HEAD":
            native = _keep_ends(native, resp.body.ends, rt, getattr(js_request, "signal", None))
        return _js_response(native, resp.status, resp.headers)
    stream = js.TransformStream.new()
    rt.defer(_pump(resp.body, stream.writable.getWriter(), getattr(js_request, "signal", None)))
    return _js_response(stream.readable, resp.status, resp.headers)

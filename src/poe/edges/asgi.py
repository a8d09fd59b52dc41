"""Self-hosted mode: the same core as an ASGI app under CPython (uvicorn).

This is the CPython edge (the Worker's edge is ``workers.py``): an httpx client
for upstream calls, an in-memory key-value store, and the ASGI glue. The
contract tests run the core through it; it also lets the proxy run without
Cloudflare:

    pip install uvicorn httpx
    poe-proxy                                        # reads env vars and ./config.toml

A background task runs the scheduled pass (``refresh``: the model list, the keys' balances)
at startup and every ``SCHEDULE_SECONDS`` (the Worker's Cron Trigger does it there).

``config.toml`` (optional): ``port = 8080``, ``apikey = ["..."]``,
``accessTokens = ["..."]``, ``timeout = 120``, ``baseUrl = "..."``; environment
variables with the Worker's names win over it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import tomllib
from collections.abc import AsyncIterator, Awaitable, Mapping
from pathlib import Path
from typing import Any

import httpx

from ..app import App
from ..http import OutboundRequest, Passthrough, Request, Runtime, UpstreamResponse
from ..settings import ENV_NAMES

__all__ = ["HttpxClient", "MemoryKV", "ProxyASGI", "env_from_config"]


class HttpxClient:
    def __init__(self) -> None:
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(None), follow_redirects=False)

    async def send(self, request: OutboundRequest) -> UpstreamResponse:
        req = self._client.build_request(request.method, request.url, headers=dict(request.headers), content=request.body)
        resp = await self._client.send(req, stream=True)

        async def body() -> AsyncIterator[bytes]:
            async for chunk in resp.aiter_bytes():  # decoded, should Poe ever compress
                yield chunk

        return UpstreamResponse(
            status=resp.status_code,
            headers={k.lower(): v for k, v in resp.headers.items()},
            body=body(),
            close=resp.aclose,
        )

    async def aclose(self) -> None:
        await self._client.aclose()


class MemoryKV:
    """A KeyValueStore in process memory, with TTLs (one process = one 'isolate')."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[str, float | None]] = {}

    async def get(self, key: str) -> str | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.time():
            del self._data[key]
            return None
        return value

    async def put(self, key: str, value: str, ttl: int | None = None) -> None:
        self._data[key] = (value, time.time() + ttl if ttl else None)


async def _read_capped(receive: Any, cap: int) -> tuple[bytes | None, int]:
    """The body, or None once it passes ``cap`` bytes (then nothing more is read or kept)."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            return None, max(size, cap + 1)
        parts.append(chunk)
        if not message.get("more_body"):
            return b"".join(parts), size


class ProxyASGI:
    def __init__(self, env: Mapping[str, str], *, log: bool = True) -> None:
        self.env = dict(env)
        self.app = App(self.env)  # one per server: settings, catalogue and pool parsed once
        self.kv = MemoryKV()
        self._http: HttpxClient | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._log = log
        self._timer: asyncio.Task[None] | None = None

    def _defer(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _print(self, line: str) -> None:
        if self._log:
            print(f"[poe-proxy] {line}", file=sys.stderr)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    if self.app.cfg.schedule_seconds > 0:
                        self._timer = asyncio.ensure_future(self._every(self.app.cfg.schedule_seconds))
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self._timer is not None:
                        self._timer.cancel()
                        await asyncio.gather(self._timer, return_exceptions=True)
                    if self._http is not None:
                        await self._http.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if self._http is None:
            self._http = HttpxClient()
        app = self.app
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        rt = Runtime(http=self._http, kv=self.kv, clock=time.time, defer=self._defer, log=self._print)
        req = Request(method=scope["method"], path=scope["path"], headers=headers, query=scope.get("query_string", b"").decode())
        resp = await app.refuse_unread(req, rt)  # no token, no body read
        if resp is None:
            body = b""
            if not app.declared_too_large(headers):  # else the guard's 413 follows from Content-Length alone
                read, size = await _read_capped(receive, app.cfg.max_body_bytes)
                if read is None:  # a chunked body over the limit: the 413 from the size read so far
                    headers = {**headers, "content-length": str(size)}
                body = read or b""
            req = Request(req.method, req.path, headers, body, req.query)
            resp = await app.handle(req, rt)
        await send(
            {
                "type": "http.response.start",
                "status": resp.status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in resp.headers],
            }
        )
        if isinstance(resp.body, bytes):
            await send({"type": "http.response.body", "body": resp.body if scope["method"] != "HEAD" else b""})
            return
        if isinstance(resp.body, Passthrough):
            await self._pump(_relay(resp.body.upstream), receive, send)
            return
        await self._pump(resp.body, receive, send)

    async def scheduled(self) -> None:
        """One scheduled pass (the timer's; tests call it directly)."""
        if self._http is None:
            self._http = HttpxClient()
        rt = Runtime(http=self._http, kv=self.kv, clock=time.time, defer=self._defer, log=self._print)
        await self.app.scheduled(rt)

    async def _every(self, seconds: float) -> None:
        while True:
            try:
                await self.scheduled()
            except Exception as exc:  # the pass logs its own failures; never let the timer die
                self._print(f"scheduled pass failed ({type(exc).__name__})")
            await asyncio.sleep(seconds)

    async def _pump(self, body: AsyncIterator[bytes], receive: Any, send: Any) -> None:
        """Stream chunks; stop (and cancel upstream) when the client disconnects."""

        async def copy() -> None:
            async for chunk in body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        copier = asyncio.ensure_future(copy())
        watcher = asyncio.ensure_future(watch())
        try:
            await asyncio.wait({copier, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (copier, watcher):
                task.cancel()
            # let a cancelled copier leave the generator before closing it
            await asyncio.gather(copier, watcher, return_exceptions=True)
            aclose = getattr(body, "aclose", None)
            if aclose is not None:
                await aclose()
        if copier.done() and not copier.cancelled() and copier.exception() is not None:
            self._print(f"stream ended early: {type(copier.exception()).__name__}")


async def _relay(upstream: UpstreamResponse) -> AsyncIterator[bytes]:
    """An upstream body passed through; closed however the copy ends."""
    try:
        async for chunk in upstream.body:
            yield chunk
    finally:
        await upstream.close()


def env_from_config(path: Path, environ: Mapping[str, str]) -> tuple[dict[str, str], int]:
    """Merge ./config.toml (seed names) with the environment (Worker names win)."""
    env: dict[str, str] = {}
    port = 8080
    if path.exists():
        data = tomllib.loads(path.read_text())
        port = int(data.get("port", port))
        mapping = {"apikey": "POE_APIKEYS", "accessTokens": "API_ACCESS_TOKENS", "timeout": "TIMEOUT", "baseUrl": "POE_BASE_URL"}
        for name, env_name in mapping.items():
            value = data.get(name)
            if isinstance(value, list):
                env[env_name] = ",".join(str(v) for v in value)
            elif value is not None:
                env[env_name] = str(value)
    env.update({k: v for k, v in environ.items() if k in ENV_NAMES})
    port = int(environ.get("PORT", port))
    return env, port


def main() -> None:
    import uvicorn

    env, port = env_from_config(Path("config.toml"), os.environ)
    uvicorn.run(ProxyASGI(env), host=os.environ.get("HOST", "127.0.0.1"), port=port, log_level="warning")


if __name__ == "__main__":
    main()

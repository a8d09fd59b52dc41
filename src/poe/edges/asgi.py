"""Self-hosted mode: the same core as an ASGI app under CPython (uvicorn).

This is the CPython edge (the Worker's edge is ``workers.py``): an httpx client
for upstream calls, a key-value store (SQLite, ``sqlite_kv.py``, so cool-downs and
the rotation counter survive a restart; in memory when no state file is wanted),
and the ASGI glue. The contract tests run the core through it; it also lets the
proxy run without Cloudflare:

    pip install '.[selfhost]'
    poe-proxy                       # reads ./config.toml (or --config FILE) and env vars

A background task runs the scheduled pass (``refresh``: the model list, the keys' balances)
at startup and every ``SCHEDULE_SECONDS`` (the Worker's Cron Trigger does it there).

``config.toml`` (optional; ``config.example.toml`` documents every key): the
original keys ``port = 8080``, ``apikey = ["..."]``, ``accessTokens = ["..."]``,
``timeout = 120``, ``baseUrl = "..."``; ``host`` and ``stateFile`` (default
``state.db``; ``""`` keeps state in memory); and every Worker setting by its own
name (``POE_PROTOCOL = "bot"``, ...). Environment variables (the settings' names,
``PORT``, ``HOST``, ``STATE_FILE``) win over the file; an empty one counts as unset.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import time
import tomllib
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ..app import App
from ..http import KeyValueStore, OutboundRequest, Passthrough, Relay, Request, Runtime, UpstreamResponse
from ..ledger import LocalLedger
from ..settings import ENV_NAMES
from .sqlite_kv import SqliteKV

__all__ = ["ConfigFileError", "HttpxClient", "MemoryKV", "ProxyASGI", "ServerConfig", "main", "server_config"]


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
    def __init__(self, env: Mapping[str, str], *, log: bool = True, kv: KeyValueStore | None = None) -> None:
        self.env = dict(env)
        self.app = App(self.env)  # one per server: settings, catalogue and pool parsed once
        self.kv: KeyValueStore = kv if kv is not None else MemoryKV()
        # the server is one process: its ledger is exact, and saved with the rest of the state
        self.ledger = LocalLedger(time.time, self.kv, save_seconds=self.app.cfg.usage_flush_seconds, log=self._print)
        self._http: HttpxClient | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._log = log
        self._timer: asyncio.Task[None] | None = None

    async def aclose(self) -> None:
        """Finish the deferred work (cool-downs being written to the store), then close."""
        try:  # the usage not yet handed to the ledger, then the ledger to the state file
            await self.app.books(self._runtime()).flush()
        except Exception as exc:
            self._print(f"ledger call failed ({type(exc).__name__})")
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)
            left = list(self._tasks)
            for task in left:
                task.cancel()  # e.g. a flush still waiting for its turn: flushed above
            await asyncio.gather(*left, return_exceptions=True)
        await self.ledger.flush()
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        close = getattr(self.kv, "close", None)
        if close is not None:
            close()

    def _runtime(self) -> Runtime:
        http = self._http if self._http is not None else HttpxClient()
        self._http = http
        return Runtime(http=http, kv=self.kv, clock=time.time, defer=self._defer, log=self._print, ledger=self.ledger)

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
                    await self.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        app = self.app
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        rt = self._runtime()
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
            await self._pump(Relay(resp.body), receive, send)
            return
        await self._pump(resp.body, receive, send)

    async def scheduled(self) -> None:
        """One scheduled pass (the timer's; tests call it directly)."""
        await self.app.scheduled(self._runtime())

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


# ---------------------------------------------------------------- configuration and main

# config.toml keys of the original project -> the settings they set
LEGACY_KEYS = {"apikey": "POE_APIKEYS", "accessTokens": "API_ACCESS_TOKENS", "timeout": "TIMEOUT", "baseUrl": "POE_BASE_URL"}
# what only the self-hosted server has: config.toml key -> environment variable
SERVER_KEYS = {"port": "PORT", "host": "HOST", "stateFile": "STATE_FILE"}
DEFAULTS = {"PORT": "8080", "HOST": "127.0.0.1", "STATE_FILE": "state.db"}
IN_MEMORY = ("", ":memory:")


class ConfigFileError(Exception):
    """config.toml (or a server variable) cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    env: dict[str, str]  # the settings, by their Worker names
    host: str
    port: int
    state_file: str | None  # None: state in memory, lost on restart
    config_file: Path | None  # the file read, if any


def _setting_text(key: str, value: Any) -> str:
    """A TOML value as the text of a setting: lists joined with commas, tables as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
        return ",".join(str(v) for v in value)
    if isinstance(value, list | dict):
        return json.dumps(value)
    raise ConfigFileError(f"config.toml: {key} must be a string, number, boolean, list or table")


def server_config(path: Path | None, environ: Mapping[str, str], *, required: bool = False) -> ServerConfig:
    """Merge ``path`` (config.toml) with the environment; the environment wins, empty values count as unset."""
    values: dict[str, str] = {}
    read: Path | None = None
    if path is not None and path.exists():
        try:
            data = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigFileError(f"{path}: not valid TOML ({exc})") from None
        read = path
        given: dict[str, str] = {}  # target name -> the key that set it
        for key, value in data.items():
            name = LEGACY_KEYS.get(key) or SERVER_KEYS.get(key) or (key if key in ENV_NAMES else None)
            if name is None:
                known = ", ".join([*LEGACY_KEYS, *SERVER_KEYS, *ENV_NAMES])
                raise ConfigFileError(f"{path}: unknown key {key!r} (known: {known})")
            if name in given:
                raise ConfigFileError(f"{path}: {given[name]!r} and {key!r} set the same thing; keep one")
            given[name] = key
            values[name] = _setting_text(key, value)
    elif required and path is not None:
        raise ConfigFileError(f"{path}: no such file")
    for name in (*ENV_NAMES, *SERVER_KEYS.values()):
        if environ.get(name, "").strip():
            values[name] = environ[name]
    server = {name: values.pop(name, DEFAULTS[name]) for name in SERVER_KEYS.values()}
    try:
        port = int(server["PORT"])
        if not 0 < port < 65536:
            raise ValueError
    except ValueError:
        raise ConfigFileError(f"port (PORT) must be a TCP port number (got {server['PORT'][:20]!r})") from None
    state = server["STATE_FILE"].strip()
    return ServerConfig(
        env=values,
        host=server["HOST"].strip() or DEFAULTS["HOST"],
        port=port,
        state_file=None if state in IN_MEMORY else state,
        config_file=read,
    )


def _toml(value: Any) -> str:
    """A setting's default as a TOML value (the file is read back by ``_setting_text``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]" if all(isinstance(v, str) for v in value) else "[]"
    return json.dumps(str(value))


def _comment(text: str, width: int = 96) -> list[str]:
    import textwrap

    return ["# " + line for line in textwrap.wrap(text, width - 2)]


def config_example() -> str:
    """config.example.toml: every key, what it does and its default (a test keeps the file equal)."""
    from ..settings import SETTINGS

    lines = [
        "# Poe Proxy, self-hosted: copy to config.toml (next to where poe-proxy runs, or pass",
        "# --config FILE; in the container: /data/config.toml) and fill in the first block.",
        "# Environment variables with the same names (upper case below; PORT, HOST, STATE_FILE",
        "# for the first block) win over this file. Generated: poe-proxy --example-config",
        "",
        "# The original keys.",
        "port = 8080                              # PORT",
        'apikey = ["your-poe-api-key"]            # POE_APIKEYS: the pool of Poe API keys (poe.com/api_key)',
        'accessTokens = ["sk-choose-a-long-one"]  # API_ACCESS_TOKENS: what your clients send as Bearer token',
        "timeout = 120                            # TIMEOUT",
        '# baseUrl = "https://api.poe.com"        # POE_BASE_URL',
        "",
        "# The server.",
        '# host = "127.0.0.1"                     # HOST: "0.0.0.0" listens on every interface (the image does)',
        '# stateFile = "state.db"                 # STATE_FILE: key cool-downs, the rotation counter, usage and',
        '#                                        # limit counts (SQLite), kept across restarts; "" keeps them in memory',
        "",
        "# Every other setting, by the Worker's names, with its default (README, Configuration).",
        "# Lists may be TOML arrays or comma-separated strings; JSON settings may be TOML tables.",
    ]
    shown = set(LEGACY_KEYS.values())
    for setting in SETTINGS:
        if setting.name in shown:
            continue
        lines.append("")
        lines += _comment(f"{setting.name} ({setting.kind}): {setting.meaning}")
        value = '""' if setting.kind == "secret" else _toml(setting.default)
        lines.append(f"# {setting.name} = {value}")
    return "\n".join(lines) + "\n"


def _local_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def health_check(cfg: ServerConfig, timeout: float = 4) -> int:
    """0 when the server of this configuration answers /health with 200 (Docker's HEALTHCHECK)."""
    host = _local_host(cfg.host)
    url = f"http://[{host}]:{cfg.port}/health" if ":" in host else f"http://{host}:{cfg.port}/health"
    try:
        status = httpx.get(url, timeout=timeout).status_code
    except httpx.HTTPError as exc:
        print(f"poe-proxy: {url}: {type(exc).__name__}", file=sys.stderr)
        return 1
    return 0 if status == 200 else 1


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(
        prog="poe-proxy", description="Poe Proxy, self-hosted: OpenAI- and Anthropic-compatible APIs for Poe."
    )
    parser.add_argument("--config", type=Path, help="the config file (default: $CONFIG_FILE, else ./config.toml if it exists)")
    parser.add_argument("--health-check", action="store_true", help="ask the running server's /health; exit 0 if it answers 200")
    parser.add_argument("--example-config", action="store_true", help="print a config.toml with every key and its default")
    args = parser.parse_args(argv)
    if args.example_config:
        sys.stdout.write(config_example())
        return
    explicit = args.config or (Path(os.environ["CONFIG_FILE"]) if os.environ.get("CONFIG_FILE") else None)
    try:
        cfg = server_config(explicit or Path("config.toml"), os.environ, required=explicit is not None)
    except ConfigFileError as exc:
        sys.exit(f"poe-proxy: {exc}")
    if args.health_check:
        sys.exit(health_check(cfg))
    try:
        kv: KeyValueStore = SqliteKV(cfg.state_file) if cfg.state_file else MemoryKV()
    except (OSError, sqlite3.Error) as exc:
        sys.exit(f"poe-proxy: cannot use the state file {cfg.state_file} ({exc}); set stateFile / STATE_FILE")
    proxy = ProxyASGI(cfg.env, kv=kv)
    where = f"state in {Path(cfg.state_file).resolve()}" if cfg.state_file else "state in memory (lost on restart)"
    source = f"config {cfg.config_file}" if cfg.config_file else "no config file"
    print(f"[poe-proxy] http://{cfg.host}:{cfg.port} ({source}; {where})", file=sys.stderr)
    if proxy.app.config_error is not None:
        print(f"[poe-proxy] misconfigured, every API request answers 500: {proxy.app.config_error.message}", file=sys.stderr)
    uvicorn.run(proxy, host=cfg.host, port=cfg.port, log_level="warning")


if __name__ == "__main__":
    main()

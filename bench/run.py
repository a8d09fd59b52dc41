"""The Worker's own CPU against minimal "floor" Workers doing the same job, in the same run.

One run starts, all on 127.0.0.1, each in its own process group:

  upstream     the demo Poe upstream (demo/upstream.py: the bot protocol at /bot/<Bot> and
               Poe's OpenAI-compatible API at /v1/chat/completions), SlowStory without delay
  wk-openai    the project Worker under `wrangler dev`, POE_PROTOCOL=openai (passthrough)
  wk-bot       the project Worker under `wrangler dev`, POE_PROTOCOL=bot (translated)
  floor-py     bench/floors/python: a minimal Python Worker (/trivial, /handover, /loop)
  floor-js     bench/floors/js: the same in JavaScript
  asgi-openai, asgi-bot
               the proxy self-hosted (uvicorn), both modes
  litellm      LiteLLM's proxy (bench/.venv-litellm, from scripts/bench.sh), one worker, no
               database, in front of the upstream's OpenAI endpoint; skipped if missing

and sends each scenario's requests to every target it applies to, one request at a
time, the targets interleaved. The stream scenarios also go through the Worker's
translating doors (POST /v1/messages, POST /v1/responses) in both modes, held against
the read/write floor over the stream each mode reads (Poe's OpenAI chunks, the bot
protocol). For a Worker the CPU is that of the workerd process that
runs it (not wrangler's proxy workerd, not node): see bench/servers.py. The CPU figures
are not asserted: the run reports, including the targets of issue 13 met or missed.

Last, the load run (bench/load.py, issue 12): a seeded mix of good and bad requests from
concurrent clients through each Worker mode, every answer checked; the run exits 1 unless
it held (no valid request failed, every bad one got its 4xx, no 5xx, no crash).

Run: make bench   (or: python bench/run.py --help)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load
from servers import ROOT, CpuReading, Meter, Process, Server, ServerError, Wrangler, free_port
from wire import BenchError, anthropic_event, responses_event, sse_blocks

BENCH = ROOT / "bench"
DEFAULT_JSON = BENCH / "results" / "latest.json"
DEFAULT_LITELLM = BENCH / ".venv-litellm" / "bin" / "litellm"
ACCESS_TOKEN = "sk-bench-access-token-0123456789"
# a token with limits too high to reach: its requests take the ledger's round trip (the Durable Object)
LIMITED_TOKEN = "sk-bench-limited-token-0123456789"
LIMITED = "wk-openai limited"
METERED = "wk-openai metered"  # a stream that asks for usage: the Worker tees it to read the usage at its end
PROMPT = "Hello from the benchmark!"
MODES = ("openai", "bot")
DOORS = ("messages", "responses")  # the translating doors measured beside chat: Anthropic Messages, OpenAI Responses
FREE_PLAN_MS = 10.0  # Workers Free plan: CPU per request

# The targets of issue 13
T_PASSTHROUGH = 1.25  # passthrough stream / Python hand-over floor, 65 events
T_PER_EVENT = 0.02  # ms of CPU per extra event, passthrough
T_TRANSLATED = 1.25  # translated stream / Python read/write floor
T_HEALTH = 1.3  # GET /health / Python trivial floor
T_MEMORY_MB = 5.0  # RSS growth over a 10,000-event stream


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- requests


@dataclass(frozen=True)
class Column:
    """One kind of request to one server: a column of a scenario."""

    key: str  # e.g. "wk-openai", "py handover", "wk-bot /health"
    server: str  # the server that answers (and whose CPU is counted)
    method: str
    path: str
    body: bytes | None
    auth: str  # the bearer token
    wire: str  # how to read the answer: "openai" (SSE or JSON), "bot" (Poe SSE), "anthropic", "responses" (SSE), "plain"
    stream: bool = False
    every: int = 1  # takes part in every ``every``-th round of a scenario only (the doors: fewer samples, less time)


def openai_body(model: str, message: str, stream: bool) -> bytes:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": message}], "stream": stream}).encode()


def messages_body(model: str, message: str) -> bytes:
    """An Anthropic Messages request (POST /v1/messages), streamed."""
    body = {"model": model, "max_tokens": 4096, "stream": True, "messages": [{"role": "user", "content": message}]}
    return json.dumps(body).encode()


def responses_body(model: str, message: str) -> bytes:
    """An OpenAI Responses request (POST /v1/responses), streamed."""
    return json.dumps({"model": model, "input": message, "stream": True}).encode()


def bot_body(message: str) -> bytes:
    query = {
        "version": "1.2",
        "type": "query",
        "query": [{"role": "user", "content": message, "content_type": "text/markdown"}],
        "user_id": "",
        "conversation_id": secrets.token_hex(8),
        "message_id": secrets.token_hex(8),
        "temperature": None,
        "skip_system_prompt": False,
        "logit_bias": {},
        "stop_sequences": [],
        "language_code": "en",
    }
    return json.dumps(query).encode()


def poe_key(name: str) -> str:
    """One Poe key per caller, so that the upstream can tell who reached it, and how."""
    return f"bench-{name.replace(' ', '-')}"


def proxy_column(server: str, bot: str, message: str, stream: bool) -> Column:
    """The proxy's (and LiteLLM's) chat endpoint: model ids are the lower-case CUSTOM_MODELS names."""
    body = openai_body(bot.lower(), message, stream)
    return Column(server, server, "POST", "/v1/chat/completions", body, ACCESS_TOKEN, "openai", stream)


def door_column(server: str, door: str, bot: str, message: str) -> Column:
    """A streamed request to one of the proxy's translating doors: ``messages`` (Anthropic) or ``responses``."""
    if door == "messages":
        return Column(
            f"{server} {door}",
            server,
            "POST",
            "/v1/messages",
            messages_body(bot.lower(), message),
            ACCESS_TOKEN,
            "anthropic",
            True,
        )
    return Column(
        f"{server} {door}", server, "POST", "/v1/responses", responses_body(bot.lower(), message), ACCESS_TOKEN, "responses", True
    )


def direct_openai(bot: str, message: str, stream: bool) -> Column:
    body = openai_body(bot, message, stream)
    return Column("direct-openai", "upstream", "POST", "/v1/chat/completions", body, poe_key("direct-openai"), "openai", stream)


def direct_bot(bot: str, message: str) -> Column:
    return Column("direct-bot", "upstream", "POST", f"/bot/{bot}", bot_body(message), poe_key("direct-bot"), "bot", True)


def handover(floor: str, bot: str, message: str, stream: bool) -> Column:
    """The floor hands the upstream's OpenAI answer to its response: the passthrough's floor."""
    key = f"{floor} handover"
    body = openai_body(bot, message, stream)
    return Column(key, f"floor-{floor}", "POST", "/handover/v1/chat/completions", body, poe_key(key), "openai", stream)


def loop(floor: str, bot: str, message: str) -> Column:
    """The floor reads the upstream's bot-protocol answer and writes each read: the translation's floor."""
    key = f"{floor} loop"
    return Column(key, f"floor-{floor}", "POST", f"/loop/bot/{bot}", bot_body(message), poe_key(key), "bot", True)


def loop_openai(floor: str, bot: str, message: str) -> Column:
    """The floor reads the upstream's streamed OpenAI answer and writes each read: the floor of a door that
    translates Poe's chat-completion chunks (openai mode).

    The body is the one the proxy sends for a Responses request, byte for byte (compact JSON, the usage chunk
    asked for): the demo upstream cuts its frames into pieces seeded by the request body, so the floor reads
    the very pieces the Worker reads (the Messages door adds ``max_tokens``: cut differently, as many pieces
    on average).
    """
    key = f"{floor} loop-openai"
    query = {
        "model": bot,
        "messages": [{"role": "user", "content": message}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    body = json.dumps(query, ensure_ascii=False, separators=(",", ":")).encode()
    return Column(key, f"floor-{floor}", "POST", "/loop/v1/chat/completions", body, poe_key(key), "openai", True)


def get(key: str, server: str, path: str) -> Column:
    return Column(key, server, "GET", path, None, ACCESS_TOKEN, "plain")


# ---------------------------------------------------------------- one request


@dataclass
class Sample:
    ttfb: float = math.nan  # s, first body byte
    total: float = math.nan  # s, the end of the answer
    cpu: float = math.nan  # ms, the server's CPU for this request
    text: str = ""
    pieces: int = 0  # text events / content deltas


SENT: Counter[str] = Counter()  # server -> POST requests sent to it (checked against what the upstream saw)


async def request(client: httpx.AsyncClient, base: str, col: Column, limit: float = 120) -> Sample:
    """Send one request and read its answer to the end; raises BenchError on a wrong or unfinished answer."""
    if col.method == "POST":
        SENT[col.server] += 1
    try:
        return await _request(client, base, col, limit)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:  # not the JSON or SSE expected
        raise BenchError(f"unreadable answer: {type(exc).__name__}: {exc}") from exc


async def _request(client: httpx.AsyncClient, base: str, col: Column, limit: float) -> Sample:
    headers = {"accept-encoding": "identity"}
    if col.wire == "anthropic":  # as Anthropic's clients authenticate
        headers |= {"x-api-key": col.auth, "anthropic-version": "2023-06-01"}
    else:
        headers["authorization"] = f"Bearer {col.auth}"
    if col.body is not None:
        headers["content-type"] = "application/json"
    s = Sample()
    buffer = bytearray()
    raw = bytearray()
    done = False
    t0 = time.perf_counter()
    async with client.stream(col.method, base + col.path, headers=headers, content=col.body, timeout=limit) as resp:
        async for chunk in resp.aiter_raw():
            now = time.perf_counter() - t0
            if math.isnan(s.ttfb):
                s.ttfb = now
            if resp.status_code != 200 or col.wire == "plain" or (col.wire == "openai" and not col.stream):
                raw += chunk
                continue
            buffer += chunk
            for event, data in sse_blocks(buffer):
                piece = ""
                if col.wire == "bot":
                    if event == "text":
                        piece = json.loads(data)["text"]
                    elif event == "done":
                        done = True
                    elif event == "error":
                        raise BenchError(f"error event: {data[:200]}")
                elif col.wire == "anthropic":
                    piece, done = anthropic_event(event, data, done)
                elif col.wire == "responses":
                    piece, done = responses_event(event, data, done)
                elif data == "[DONE]":
                    done = True
                else:
                    obj = json.loads(data)
                    if "error" in obj:
                        raise BenchError(f"error chunk: {data[:200]}")
                    if obj.get("choices"):
                        piece = obj["choices"][0].get("delta", {}).get("content") or ""
                if piece:
                    s.pieces += 1
                    s.text += piece
        s.total = time.perf_counter() - t0
        if resp.status_code != 200:
            raise BenchError(f"HTTP {resp.status_code}: {bytes(raw[:200])!r}")
    if col.wire == "openai" and not col.stream:
        message = json.loads(raw)["choices"][0]["message"]
        s.text, s.pieces, done = message.get("content") or "", 1, True
    elif col.wire == "plain":
        done = True
    if not done:
        raise BenchError(f"the answer ended without its end marker after {s.pieces} pieces")
    return s


# ---------------------------------------------------------------- statistics


def median(values: list[float]) -> float:
    values = [v for v in values if not math.isnan(v)]
    return statistics.median(values) if values else math.nan


def p90(values: list[float]) -> float:
    values = sorted(v for v in values if not math.isnan(v))
    if len(values) < 2:
        return values[0] if values else math.nan
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def summary(values: list[float]) -> dict[str, float]:
    clean = [v for v in values if not math.isnan(v)]
    if not clean:
        return {"n": 0}
    return {
        "n": len(clean),
        "median": median(clean),
        "p90": p90(clean),
        "mean": statistics.fmean(clean),
        "min": min(clean),
        "max": max(clean),
    }


def thirds(values: list[float]) -> list[float]:
    """Medians of the first, second and last third (in time): the same run split three ways."""
    k = len(values) // 3
    if k < 3:
        return []
    return [median(values[:k]), median(values[k : 2 * k]), median(values[2 * k :])]


def ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan


@dataclass
class Result:
    """What one column of one scenario measured."""

    col: Column
    samples: list[Sample] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""

    def cpu(self) -> list[float]:
        return [s.cpu for s in self.samples]

    def as_json(self) -> dict[str, Any]:
        return {
            "server": self.col.server,
            "request": f"{self.col.method} {self.col.path}",
            "cpu_ms": summary(self.cpu()),
            "cpu_ms_thirds": thirds(self.cpu()),
            "total_ms": summary([s.total * 1000 for s in self.samples]),
            "ttfb_ms": summary([s.ttfb * 1000 for s in self.samples]),
            "pieces": summary([float(s.pieces) for s in self.samples]),
            "errors": self.errors,
            **({"first_error": self.first_error} if self.first_error else {}),
        }


# ---------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    key: str
    title: str
    columns: list[Column]
    expected: str | None  # the answer's text (None: not checked, e.g. GET)
    results: dict[str, Result] = field(default_factory=dict)
    side_cpu: dict[str, dict[str, float]] = field(default_factory=dict)  # server -> process role -> ms per request
    checks: dict[str, Any] = field(default_factory=dict)

    def cpu(self, key: str) -> float:
        r = self.results.get(key)
        return median(r.cpu()) if r else math.nan

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "results": {k: r.as_json() for k, r in self.results.items()},
            "other_processes_cpu_ms_per_request": self.side_cpu,
            "cpu_checks": self.checks,
        }


class Bench:
    """The servers, the HTTP client and the measurement loops."""

    def __init__(self, servers: dict[str, Server]) -> None:
        self.servers = servers

    def meter(self, server: str) -> Meter | None:
        """The CPU counted for a server's requests: none for the upstream (it serves everyone)."""
        return None if server == "upstream" else self.servers[server].meter

    async def sequential(self, sc: Scenario, n: int, warmup: int) -> None:
        """``n`` requests per column, one at a time, the columns interleaved in a rotating order.

        A request's CPU is its server's CPU from just before it was sent to just before the
        server's next request: work the server does after the answer's last byte (a pump
        closing, waitUntil tasks) is counted to the request that caused it.
        """
        cols = order_columns(sc.columns)
        sc.results = {c.key: Result(c) for c in cols}
        servers = sorted({c.server for c in cols})
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
        async with httpx.AsyncClient(limits=limits) as client:
            for _ in range(warmup):
                for col in cols:
                    with contextlib.suppress(BenchError, httpx.HTTPError):
                        await request(client, self.servers[col.server].url, col)
            start: dict[str, CpuReading] = {}
            side_start: dict[str, dict[str, CpuReading]] = {}
            for s in servers:
                m = self.meter(s)
                if m is not None:
                    start[s] = m.read()
                    side_start[s] = {role: sm.read() for role, sm in side_meters(self.servers[s]).items()}
            pending: dict[str, tuple[Sample, int]] = {}  # server -> (its last sample, CPU ns before it)
            counts: Counter[str] = Counter()
            attributed: Counter[str] = Counter()
            for i in range(n):
                for j in range(len(cols)):
                    col = cols[(i + j) % len(cols)]
                    if i % col.every:
                        continue
                    m = self.meter(col.server)
                    before = m.read().ns if m is not None else 0
                    if col.server in pending:
                        last, ns = pending.pop(col.server)
                        last.cpu = (before - ns) / 1e6
                        attributed[col.server] += before - ns
                    result = sc.results[col.key]
                    try:
                        sample = await request(client, self.servers[col.server].url, col)
                        if sc.expected is not None and sample.text != sc.expected:
                            raise BenchError(f"unexpected answer ({sample.pieces} pieces): {sample.text[:80]!r}")
                    except (BenchError, httpx.HTTPError) as exc:
                        result.errors += 1
                        if not result.first_error:
                            result.first_error = f"{type(exc).__name__}: {exc}"[:300]
                            log(f"  ! {sc.key} {col.key}: {result.first_error}")
                        continue
                    result.samples.append(sample)
                    counts[col.server] += 1
                    if m is not None:
                        pending[col.server] = (sample, before)
            await asyncio.sleep(0.1)  # the last requests' tails
            for s, (last, ns) in pending.items():
                m = self.meter(s)
                assert m is not None
                now = m.read().ns
                last.cpu = (now - ns) / 1e6
                attributed[s] += now - ns
        for s, before in start.items():
            m = self.meter(s)
            assert m is not None
            end = m.read()
            total_ns = end.ns - before.ns
            sc.checks[s] = {
                "schedstat_ms": total_ns / 1e6,
                "stat_ms": (end.stat_s - before.stat_s) * 1000,  # ticks: also counts threads that exited
                "outside_requests_ms": (total_ns - attributed[s]) / 1e6,
                "alive": m.alive(),
            }
            if counts[s]:
                sc.side_cpu[s] = {
                    role: (sm.read().ns - side_start[s][role].ns) / 1e6 / counts[s]
                    for role, sm in side_meters(self.servers[s]).items()
                }

    async def concurrent(self, col: Column, total: int, expected: str) -> dict[str, Any]:
        """``total`` requests at once; completes, errors and the latency spread."""
        m = self.meter(col.server)
        limits = httpx.Limits(max_connections=total + 5, max_keepalive_connections=total + 5)
        async with httpx.AsyncClient(limits=limits) as client:
            base = self.servers[col.server].url
            before = m.read().ns if m is not None else 0
            t0 = time.perf_counter()
            got = await asyncio.gather(*(request(client, base, col, limit=300) for _ in range(total)), return_exceptions=True)
            wall = time.perf_counter() - t0
            await asyncio.sleep(0.1)
            cpu = (m.read().ns - before) / 1e6 if m is not None else math.nan
        samples = [g for g in got if isinstance(g, Sample)]
        complete = [s for s in samples if s.text == expected]
        errors = [f"{type(g).__name__}: {g}"[:200] for g in got if isinstance(g, BaseException)]
        truncated = len(samples) - len(complete)
        return {
            "requests": total,
            "complete": len(complete),
            "truncated": truncated,
            "errors": len(errors),
            "first_errors": sorted(set(errors))[:3],
            "pieces": summary([float(s.pieces) for s in samples]),
            "total_ms": summary([s.total * 1000 for s in complete]),
            "ttfb_ms": summary([s.ttfb * 1000 for s in complete]),
            "wall_s": wall,
            "worker_cpu_ms_per_stream": cpu / total,
        }

    async def long_stream(self, col: Column, expected: str, passes: int) -> dict[str, Any]:
        """One long stream, ``passes`` times; the server's RSS before and after each (the Worker's workerd).

        A second pass tells a high-water mark (the first pass grows the heap, the second
        reuses it) from memory kept per stream (both grow).
        """
        m = self.meter(col.server)
        assert m is not None
        out: dict[str, Any] = {"passes": []}
        async with httpx.AsyncClient() as client:
            base = self.servers[col.server].url
            await asyncio.sleep(0.5)
            for _ in range(passes):
                rss0, cpu0 = m.rss(), m.read().ns
                error = ""
                try:
                    s = await request(client, base, col, limit=600)
                    if s.text != expected:
                        error = f"truncated or wrong: {s.pieces} pieces"
                except (BenchError, httpx.HTTPError) as exc:
                    s, error = Sample(), f"{type(exc).__name__}: {exc}"[:300]
                await asyncio.sleep(0.5)
                cpu = (m.read().ns - cpu0) / 1e6
                rss1 = m.rss()
                out["passes"].append(
                    {
                        "pieces": s.pieces,
                        "total_s": s.total,
                        "cpu_ms": cpu,
                        "rss_before_mb": rss0 / 2**20,
                        "rss_after_mb": rss1 / 2**20,
                        "rss_growth_mb": (rss1 - rss0) / 2**20,
                        **({"error": error} if error else {}),
                    }
                )
        return out


def side_meters(server: Server) -> dict[str, Meter]:
    return server.side_meters() if isinstance(server, Wrangler) else {}


def order_columns(cols: list[Column]) -> list[Column]:
    """Spread each server's columns through the round, so that a server's two requests are rarely adjacent."""
    by_server: dict[str, list[Column]] = {}
    for c in cols:
        by_server.setdefault(c.server, []).append(c)
    out: list[Column] = []
    while any(by_server.values()):
        for group in by_server.values():
            if group:
                out.append(group.pop(0))
    return out


# ---------------------------------------------------------------- the upstream (counting who reaches it, how)


class Recorder:
    """ASGI wrapper of the demo upstream: per Poe key, the requests per path and the TCP connections.

    ``GET /bench/calls`` returns them. It tells, for example, whether a Worker in openai mode
    really called /v1/chat/completions (passthrough) or still /bot/<Bot>.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.paths: dict[str, Counter[str]] = {}
        self.connections: dict[str, set[tuple[str, int]]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/bench/calls":
            calls = {
                k: {"paths": dict(v), "requests": sum(v.values()), "connections": len(self.connections[k])}
                for k, v in self.paths.items()
            }
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": json.dumps(calls).encode()})
            return
        if scope["type"] == "http" and scope["method"] == "POST":
            auth = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            key = auth.split(" ", 1)[-1]
            self.paths.setdefault(key, Counter())[scope["path"]] += 1
            self.connections.setdefault(key, set()).add(tuple(scope.get("client") or ("", 0)))
        await self.app(scope, receive, send)


def serve_upstream(port: int) -> None:
    import logging

    import uvicorn

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from demo.upstream import make_app

    if os.environ.get("BENCH_WHOLE_FRAMES") == "1":  # --whole-frames
        import demo.openai_api

        if hasattr(demo.openai_api, "_cut"):
            demo.openai_api._cut = lambda frame, rng: [frame]

    logging.getLogger("fastapi_poe").setLevel(logging.ERROR)
    # how long an idle keep-alive connection stays open (uvicorn's default: 5 s; --upstream-keep-alive)
    keep_alive = float(os.environ.get("BENCH_KEEP_ALIVE") or 5)
    uvicorn.run(Recorder(make_app()), host="127.0.0.1", port=port, log_level="warning", timeout_keep_alive=keep_alive)


# ---------------------------------------------------------------- starting everything


@dataclass
class Setup:
    servers: dict[str, Server]
    skipped: dict[str, str]  # server -> why
    features: dict[str, bool]  # what the demo upstream offers
    references: dict[str, str]  # SlowStory message -> its text


def asgi_module(project: Path) -> str:
    """The self-hosted entry point: poe.selfhost, or poe.edges.asgi after the reshaping of issue 13."""
    if (project / "src" / "poe" / "selfhost.py").exists():
        return "poe.selfhost"
    return "poe.edges.asgi"


def start_all(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack) -> Setup:
    py_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    port = free_port()
    upstream = Process(
        "upstream",
        [sys.executable, str(Path(__file__).resolve()), "--serve-upstream", str(port)],
        {
            **py_env,
            "DEMO_SLOW_DELAY": "0",
            "PYTHONPATH": str(ROOT),
            "BENCH_WHOLE_FRAMES": "1" if args.whole_frames else "0",
            "BENCH_KEEP_ALIVE": str(args.upstream_keep_alive),
        },
        ROOT,
        tmp / "upstream.log",
        port,
    )
    stack.callback(upstream.stop)
    upstream.start("/stats")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from demo.upstream import DEMO_MODELS

    proxy_vars = {"POE_BASE_URL": upstream.url, "CUSTOM_MODELS": DEMO_MODELS, "TIMEOUT": "60"}
    makers: dict[str, Callable[[], Server]] = {}
    for mode in MODES:
        makers[f"wk-{mode}"] = lambda mode=mode: Wrangler(  # type: ignore[misc]
            f"wk-{mode}",
            args.project,
            ["src", "wrangler.toml"],
            tmp / f"wk-{mode}",
            {**proxy_vars, "POE_PROTOCOL": mode},
            {
                "POE_APIKEYS": poe_key(f"wk-{mode}"),
                "API_ACCESS_TOKENS": ACCESS_TOKEN,
                "TOKEN_POLICIES": json.dumps({"bench": {"token": LIMITED_TOKEN, "rpm": 10**9, "rpd": 10**9}}),
            },
            "/health",
        )
    for floor, directory in (("py", "python"), ("js", "js")):
        makers[f"floor-{floor}"] = lambda directory=directory, floor=floor: Wrangler(  # type: ignore[misc]
            f"floor-{floor}",
            BENCH / "floors" / directory,
            ["src", "wrangler.toml"],
            tmp / f"floor-{floor}",
            {"UPSTREAM": upstream.url},
            {},
            "/trivial",
        )
    if not args.no_asgi:
        for mode in MODES:
            port = free_port()
            (tmp / f"asgi-{mode}").mkdir()  # an empty cwd: no config file is picked up
            makers[f"asgi-{mode}"] = lambda mode=mode, port=port: Process(  # type: ignore[misc]
                f"asgi-{mode}",
                [sys.executable, "-m", asgi_module(args.project)],
                {
                    **py_env,
                    **proxy_vars,
                    "POE_PROTOCOL": mode,
                    "POE_APIKEYS": poe_key(f"asgi-{mode}"),
                    "API_ACCESS_TOKENS": ACCESS_TOKEN,
                    "PORT": str(port),
                    "HOST": "127.0.0.1",
                    "PYTHONPATH": str(args.project / "src"),
                },
                tmp / f"asgi-{mode}",
                tmp / f"asgi-{mode}.log",
                port,
            )
    skipped: dict[str, str] = {}
    if args.no_litellm:
        skipped["litellm"] = "--no-litellm"
    elif not args.litellm.exists():
        skipped["litellm"] = f"not installed ({args.litellm}): scripts/bench.sh installs it (see its output if that failed)"
    else:
        makers["litellm"] = lambda: litellm_server(args.litellm, upstream.url, tmp)

    servers: dict[str, Server] = {"upstream": upstream}
    lock = threading.Lock()

    def start(name: str) -> None:
        server = makers[name]()
        with lock:
            stack.callback(server.stop)
        if isinstance(server, Wrangler):
            server.start()
        elif isinstance(server, Process):
            server.start("/health/liveliness" if name == "litellm" else "/health", timeout=120)
        servers[name] = server

    required = {"wk-openai", "wk-bot", "floor-py", "floor-js"}
    with ThreadPoolExecutor(max_workers=len(makers)) as pool:
        futures = {name: pool.submit(start, name) for name in makers}
        for name, future in futures.items():
            try:
                future.result()
            except Exception as exc:
                if name in required:
                    raise
                skipped[name] = f"did not start: {str(exc)[:500]}"
                log(f"  ! {name} skipped: {str(exc)[:300]}")
    features, references = probe_upstream(upstream.url, args)
    return Setup(servers, skipped, features, references)


def litellm_server(executable: Path, upstream: str, tmp: Path) -> Process:
    """LiteLLM's proxy: one uvicorn worker, no database, the demo upstream's OpenAI endpoint for echo and slowstory."""
    models = "\n".join(
        f"  - model_name: {bot.lower()}\n"
        f"    litellm_params:\n"
        f"      model: openai/{bot}\n"
        f"      api_base: {upstream}/v1\n"
        f"      api_key: {poe_key('litellm')}\n"
        for bot in ("Echo", "SlowStory")
    )
    config = tmp / "litellm.yaml"
    config.write_text(f"model_list:\n{models}\nlitellm_settings:\n  telemetry: false\n  drop_params: true\n")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "LITELLM_MASTER_KEY", "OPENAI_"))}
    env |= {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no download of the price list
        "LITELLM_LOG": "ERROR",
        "DISABLE_ADMIN_UI": "True",
        "NO_DOCS": "True",
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [str(executable), "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
    (tmp / "litellm").mkdir()
    return Process("litellm", [*cmd, "--telemetry", "False"], env, tmp / "litellm", tmp / "litellm.log", port)


def probe_upstream(base: str, args: argparse.Namespace) -> tuple[dict[str, bool], dict[str, str]]:
    """What the demo upstream offers, and the reference texts of the stories used."""

    async def go() -> tuple[dict[str, bool], dict[str, str]]:
        features = {"openai_endpoint": False, "story_length": False}
        refs: dict[str, str] = {}
        async with httpx.AsyncClient() as client:
            with contextlib.suppress(BenchError, httpx.HTTPError, KeyError, ValueError):
                s = await request(client, base, direct_openai("Echo", PROMPT, False))
                features["openai_endpoint"] = s.text == PROMPT
            s = await request(client, base, direct_bot("SlowStory", "0 3"))
            features["story_length"] = s.pieces == 3
            for events in {65, 200, args.big_events, args.concurrent_events, *load.STORY_WORDS}:
                if events == 65 or features["story_length"]:
                    refs[f"0 {events}"] = (await request(client, base, direct_bot("SlowStory", f"0 {events}"))).text
        return features, refs

    return asyncio.run(go())


# ---------------------------------------------------------------- the scenarios of a run


def build_scenarios(setup: Setup, door_every: int = 1) -> list[Scenario]:
    have = setup.servers
    oa = setup.features["openai_endpoint"]
    proxies = [s for s in ("wk-openai", "wk-bot", "asgi-openai", "asgi-bot") if s in have]

    trivial = []
    for s in proxies:
        trivial += [get(f"{s} /health", s, "/health"), get(f"{s} /v1/models", s, "/v1/models")]
    trivial += [get("py trivial", "floor-py", "/trivial"), get("js trivial", "floor-js", "/trivial")]
    out = [Scenario("trivial", "trivial GET", trivial, None)]

    def chat(key: str, title: str, bot: str, message: str, stream: bool, expected: str) -> Scenario:
        cols = [proxy_column(s, bot, message, stream) for s in proxies]
        if "wk-openai" in proxies:  # the same requests with a limited token: the ledger's call added
            cols.append(dataclasses.replace(proxy_column("wk-openai", bot, message, stream), key=LIMITED, auth=LIMITED_TOKEN))
        if "wk-openai" in proxies and stream:
            query = {**json.loads(openai_body(bot.lower(), message, True)), "stream_options": {"include_usage": True}}
            cols.append(
                dataclasses.replace(proxy_column("wk-openai", bot, message, True), key=METERED, body=json.dumps(query).encode())
            )
        if "litellm" in have and oa:
            cols.append(proxy_column("litellm", bot, message, stream))
        if oa:
            cols += [
                direct_openai(bot, message, stream),
                handover("py", bot, message, stream),
                handover("js", bot, message, stream),
            ]
        cols += [direct_bot(bot, message), loop("py", bot, message), loop("js", bot, message)]
        if stream:  # the translating doors, through the Worker in both modes, and their openai-mode floor
            doors = [door_column(f"wk-{mode}", door, bot, message) for door in DOORS for mode in MODES]
            if oa:
                doors += [loop_openai("py", bot, message), loop_openai("js", bot, message)]
            cols += [dataclasses.replace(c, every=door_every) for c in doors]
        return Scenario(key, title, cols, expected)

    out.append(chat("echo", "echo, non-streamed", "Echo", PROMPT, False, PROMPT))
    for events in (65, 200):
        msg = f"0 {events}"
        if msg in setup.references:
            out.append(chat(f"stream{events}", f"stream, {events} events", "SlowStory", msg, True, setup.references[msg]))
    return out


# ---------------------------------------------------------------- derived figures


def per_event(scenarios: dict[str, Scenario], key: str) -> dict[str, float]:
    """CPU per streamed event from the 65- and 200-event medians, and the events that fit in 10 ms."""
    a, b = scenarios.get("stream65"), scenarios.get("stream200")
    if a is None or b is None:
        return {}
    c65, c200 = a.cpu(key), b.cpu(key)
    if math.isnan(c65) or math.isnan(c200):
        return {}
    slope = (c200 - c65) / 135
    base = c65 - 65 * slope
    fit = (FREE_PLAN_MS - base) / slope if slope > 0 else math.inf
    return {"cpu_65_ms": c65, "cpu_200_ms": c200, "ms_per_event": slope, "ms_at_0_events": base, "events_in_10ms": max(fit, 0.0)}


# which floor each mode is held against: (Python floor column, JS floor column, what it does)
FLOORS = {
    "trivial": ("py trivial", "js trivial", "trivial"),
    "openai": ("py handover", "js handover", "handover"),
    "bot": ("py loop", "js loop", "read/write loop"),
}
# the translating doors (messages, responses): openai mode reads Poe's chat-completion chunks, so its floor
# reads and writes that OpenAI stream; bot mode reads the bot protocol, as chat does
DOOR_FLOORS = {
    "openai": ("py loop-openai", "js loop-openai", "read/write loop (OpenAI SSE)"),
    "bot": FLOORS["bot"],
}


def floors_of(mode: str, door: str) -> tuple[str, str, str]:
    return FLOORS[mode] if door == "chat" else DOOR_FLOORS[mode]


def worker_key(mode: str, door: str) -> str:
    """The column of the Worker in ``mode`` through ``door`` (chat's is the server's own name)."""
    return f"wk-{mode}" if door == "chat" else f"wk-{mode} {door}"


def comparisons(scenarios: dict[str, Scenario]) -> list[dict[str, Any]]:
    """One row per scenario and mode: the Worker's CPU, its floors and the ratios."""
    rows = []
    for sc in scenarios.values():
        for mode in MODES:
            worker = f"wk-{mode}"
            if sc.key == "trivial":
                for path in ("/health", "/v1/models"):
                    rows.append(comparison(sc, f"GET {path}", mode, f"{worker} {path}", FLOORS["trivial"], ""))
            else:
                rows.append(comparison(sc, sc.title, mode, worker, FLOORS[mode], "chat"))
        for door in DOORS:
            for mode in MODES:
                if (key := worker_key(mode, door)) in sc.results:
                    rows.append(comparison(sc, sc.title, mode, key, DOOR_FLOORS[mode], door))
    return rows


def comparison(sc: Scenario, title: str, mode: str, key: str, floors: tuple[str, str, str], door: str) -> dict[str, Any]:
    py, js, job = floors
    r = sc.results.get(key)
    w = r.cpu() if r else []
    py_r = sc.results.get(py)
    py_third = thirds(py_r.cpu()) if py_r else []
    spread = [ratio(x, y) for x, y in zip(thirds(w), py_third, strict=False)]
    return {
        "scenario": title,
        "key": sc.key,
        "mode": mode,
        "door": door,  # chat (/v1/chat/completions), messages (/v1/messages), responses (/v1/responses); "" for a GET
        "worker_ms": median(w),
        "worker_p90_ms": p90(w),
        "floor": job,
        "py_floor_ms": sc.cpu(py),
        "js_floor_ms": sc.cpu(js),
        "x_py": ratio(median(w), sc.cpu(py)),
        "x_js": ratio(median(w), sc.cpu(js)),
        "x_py_thirds": spread,
        "errors": (r.errors if r else 0),
    }


# ---------------------------------------------------------------- output


def fmt(v: float | None, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    if v == 0:
        return "0"
    text = f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}" if abs(v) >= 0.1 else f"{v:.3f}"
    return text + unit


def fx(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.2f}x"


def spread(values: list[float]) -> str:
    values = [v for v in values if not math.isnan(v)]
    return f"{min(values):.2f}-{max(values):.2f}" if values else "-"


def table(head: list[str], rows: list[list[str]], left: int = 2, left_last: bool = False) -> str:
    """A plain-text table: the first ``left`` columns (and the last, if ``left_last``) aligned left."""
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = []
    for k, r in enumerate([head, *rows]):
        cells = [
            str(c).ljust(widths[i]) if i < left or (left_last and i == len(r) - 1) else str(c).rjust(widths[i])
            for i, c in enumerate(r)
        ]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render(report: dict[str, Any]) -> str:
    out: list[str] = []
    rows = []
    for c in report["comparisons"]:
        rows.append(
            [
                c["scenario"],
                c["mode"],
                c["door"] or "-",
                f"{fmt(c['worker_ms'])} / {fmt(c['worker_p90_ms'])}",
                c["floor"],
                fmt(c["py_floor_ms"]),
                fx(c["x_py"]),
                spread(c["x_py_thirds"]),
                fmt(c["js_floor_ms"]),
                fx(c["x_js"]),
            ]
        )
    for label, name, ratios in (("CPU per extra event", "ms_per_event", True), ("events in 10 ms CPU", "events_in_10ms", False)):
        for door in ("chat", *DOORS):
            for mode in MODES:
                pe = report["per_event"].get(worker_key(mode, door), {})
                floors = floors_of(mode, door)
                py, js = (report["per_event"].get(floors[i], {}).get(name, math.nan) for i in (0, 1))
                if pe:
                    v = pe[name]
                    x_py, x_js = (fx(ratio(v, f)) if ratios else "" for f in (py, js))
                    rows.append([label, mode, door, fmt(v), floors[2], fmt(py), x_py, "", fmt(js), x_js])
    out.append("The Worker's own workerd CPU per request (ms), against minimal Workers doing the same job in the same run")
    out.append(
        table(
            ["scenario", "mode", "door", "Worker med / p90", "floor", "Python", "x Python", "x Py thirds", "JS", "x JS"],
            rows,
            left=3,
        )
    )
    out.append(
        "mode openai: passthrough of the upstream's OpenAI answer, held against the floor that hands the upstream body\n"
        "to its response; mode bot: translated from the bot protocol, held against the floor that reads the same bot\n"
        "stream and writes every read from code. Doors messages (/v1/messages) and responses (/v1/responses) translate\n"
        "in both modes: openai mode held against the floor that reads and writes Poe's OpenAI stream, bot mode against\n"
        "the bot-stream loop. x Py thirds: the ratio in each third of the run (its spread).\n"
        "Events in 10 ms: (10 ms - CPU at 0 events) / CPU per event, from the 65- and 200-event medians."
    )

    out.append("")
    out.append(
        "Every target: median total time (ms), added to the direct call of the same upstream API, and CPU per request (ms)"
    )
    head = ["target", "upstream API"]
    short = {"echo": "echo", "stream65": "65 events", "stream200": "200 events"}
    keys = [k for k in short if k in report["scenarios"]]
    for k in keys:
        head += [f"{short[k]}: total", "added", "CPU"]
    head.append("CPU/event")
    rows = []
    for target, api in report["targets"].items():
        row = [target, api]
        for k in keys:
            res = report["scenarios"][k]["results"]
            base = "direct-openai" if api.startswith("openai") else "direct-bot"
            r, d = res.get(target), res.get(base)
            if r is None:
                row += ["-", "-", "-"]
                continue
            total = r["total_ms"].get("median", math.nan)
            added = total - d["total_ms"].get("median", math.nan) if d and target != base else math.nan
            cpu = r["cpu_ms"].get("median", math.nan) if not target.startswith("direct") else math.nan
            row += [fmt(total), "-" if math.isnan(added) else f"{added:+.1f}", fmt(cpu)]
        row.append(fmt(report["per_event"].get(target, {}).get("ms_per_event")))
        rows.append(row)
    out.append(table(head, rows))
    out.append("CPU: a Worker's workerd, or all processes of a self-hosted proxy or LiteLLM (the upstream not included).")

    if report["long_streams"]:
        out.append("")
        events = report["settings"]["big_events"]
        passes = report["settings"]["big_passes"]
        out.append(
            f"{events:,}-event stream, {passes} passes: CPU (first pass) and RSS (MB) of the Worker's workerd; growth per pass"
        )
        rows = []
        for key, r in report["long_streams"].items():
            first = r["passes"][0]
            growth = [f"{p['rss_growth_mb']:+.1f}" for p in r["passes"]]
            errors = "; ".join(p["error"] for p in r["passes"] if p.get("error"))
            rows.append(
                [
                    key,
                    str(first["pieces"]),
                    fmt(first["cpu_ms"]),
                    fmt(first["cpu_ms"] / events if events else math.nan),
                    fmt(first["rss_before_mb"]),
                    fmt(r["passes"][-1]["rss_after_mb"]),
                    " / ".join(growth),
                    errors,
                ]
            )
        head = ["target", "events", "CPU ms", "ms/event", "RSS before", "after", "growth", "error"]
        out.append(table(head, rows, left=1, left_last=True))

    if report["concurrent"]:
        out.append("")
        s = report["settings"]
        out.append(
            f"{s['concurrent']} concurrent streams through workerd ({s['concurrent_events']} events, "
            f"{s['concurrent_delay']} s per event): latency (ms) of the complete ones"
        )
        rows = []
        for key, r in report["concurrent"].items():
            t = r["total_ms"]
            rows.append(
                [
                    key,
                    f"{r['complete']}/{r['requests']}",
                    str(r["truncated"]),
                    str(r["errors"]),
                    fmt(t.get("median")),
                    fmt(t.get("p90")),
                    fmt(t.get("max")),
                    fmt(r["ttfb_ms"].get("median")),
                    fmt(r["worker_cpu_ms_per_stream"]),
                ]
            )
        out.append(
            table(["target", "complete", "truncated", "errors", "p50", "p90", "max", "TTFB p50", "CPU/stream"], rows, left=1)
        )

    if report["load"]:
        out.append("")
        out.extend(render_load(report))

    out.append("")
    out.append("Targets (issue 13)")
    rows = [[t["target"], t["mode"], t["measured"], t["goal"], t["verdict"], t["detail"]] for t in report["verdicts"]]
    out.append(table(["target", "mode", "measured", "goal", "", ""], rows, left=2, left_last=True))

    notes = report["notes"]
    if notes:
        out.append("")
        out.extend(f"note: {n}" for n in notes)
    return "\n".join(out)


def render_load(report: dict[str, Any]) -> list[str]:
    """The load run (issue 12): per Worker mode, then per class of request."""
    s = report["settings"]
    runs = report["load"]
    first = next(iter(runs.values()))
    out = [
        f"Load held (issue 12): {s['load_requests']:,} requests through each Worker mode from {s['load_clients']} "
        f"concurrent clients, {first['bad_requests']} of them bad (seed {s['load_seed']})"
    ]
    rows = []
    for key, r in runs.items():
        rows.append(
            [
                key,
                fmt(r["wall_s"]),
                fmt(r["throughput_rps"]),
                f"{r['valid_ok']}/{r['valid_requests']}",
                str(r["valid_failures"]),
                f"{r['bad_refused_as_expected']}/{r['bad_requests']}",
                str(r["server_errors"]),
                str(r["crashes"]),
                f"{fmt(r['latency_ms']['valid_p50'])} / {fmt(r['latency_ms']['valid_p95'])}",
                fmt(r["worker_cpu_ms_per_request"]),
                f"{r['worker_busy'] * 100:.0f}%",
            ]
        )
    head = ["target", "wall s", "req/s", "valid ok", "failed", "bad refused", "5xx", "crashes", "valid p50/p95 ms"]
    out.append(table([*head, "CPU/req", "busy"], rows, left=1))
    for key, r in runs.items():
        out.append(f"{key} statuses: " + ", ".join(f"{k} x{v}" for k, v in r["statuses"].items()))
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in r["cpu_s"].items())
        out.append(f"{key} CPU s in {r['wall_s']:.1f} s: {cpu}")
    out.append("")
    out.append("Load run per class: answered as expected / requests, latency p50 / p95 (ms)")
    head = ["class", "expected"]
    for key in runs:
        head += [f"{key}", "p50", "p95"]
    rows = []
    for kind, c in first["classes"].items():
        row = [kind, str(c["expected"])]
        for r in runs.values():
            k = r["classes"].get(kind)
            row += [f"{k['as_expected']}/{k['requests']}", fmt(k["p50_ms"]), fmt(k["p95_ms"])] if k else ["-", "-", "-"]
        rows.append(row)
    out.append(table(head, rows))
    out.append(
        "valid: a 200 with the whole answer (a stream up to its end marker: [DONE], message_stop, response.completed;\n"
        "the upstream's text); bad: its 4xx, in the door's error shape. Crashes: connection errors, a runtime 5xx\n"
        "(text/plain), wrangler log lines (Uncaught, exceeded, fatal, ...), workerd gone, /health failing after.\n"
        "CPU/req and busy: the Worker's workerd (busy: its CPU time over the wall time)."
    )
    for key, r in runs.items():
        problems = load.failures(r)
        out.append(
            f"{key}: " + ("held: 0 valid requests failed, 0 5xx, 0 crashes" if r["held"] else "NOT HELD: " + "; ".join(problems))
        )
        for f in r["findings"]:
            out.append(f"  {f['class']} ({f['check']}, x{f['count']}, first #{f['first_request']}): {f['detail'][:200]}")
            out.append(f"    reproduce: {f['reproduce'][:400]}")
        for line in r["crash_evidence"]["first_log_lines"]:
            out.append(f"  log: {line[:300]}")
    return out


def verdicts(report: dict[str, Any]) -> list[dict[str, str]]:
    """Issue 13's targets, met or missed, with what qualifies the figure (the ratio's spread over thirds)."""
    comps = {(c["scenario"], c["mode"]): c for c in report["comparisons"] if c["door"] in ("chat", "")}
    out = []

    def add(target: str, mode: str, value: float, goal: float, measured: str, goal_text: str, detail: str = "") -> None:
        met = value < goal if goal_text.startswith("<") and not goal_text.startswith("<=") else value <= goal
        verdict = "-" if math.isnan(value) else "met" if met else "MISSED"
        out.append(
            {"target": target, "mode": mode, "measured": measured, "detail": detail, "goal": goal_text, "verdict": verdict}
        )

    def ratio_row(target: str, mode: str, c: dict[str, Any], goal: float) -> None:
        detail = ""
        if c["x_py_thirds"]:
            detail = "thirds " + spread(c["x_py_thirds"])
            if any(not math.isnan(t) and (t <= goal) != (c["x_py"] <= goal) for t in c["x_py_thirds"]):
                detail += " (not in every third)"
        shown = "-" if math.isnan(c["x_py"]) else f"{c['x_py']:.3f}x"  # 3 decimals: 1.30x could be 1.304x
        add(target, mode, c["x_py"], goal, shown, f"<= {goal}x", detail)

    if c := comps.get(("stream, 65 events", "openai")):
        ratio_row("passthrough stream, 65 events / Python hand-over", "openai", c, T_PASSTHROUGH)
    if pe := report["per_event"].get("wk-openai"):
        v = pe["ms_per_event"]
        add("passthrough CPU per extra event (65 -> 200)", "openai", v, T_PER_EVENT, f"{fmt(v)} ms", f"<= {T_PER_EVENT} ms")
    events = report["settings"]["big_events"]
    r = report["long_streams"].get("wk-openai")
    if r and not r["passes"][0].get("error"):
        v = r["passes"][0]["cpu_ms"] / events
        add(f"passthrough CPU per event ({events:,} events)", "openai", v, T_PER_EVENT, f"{fmt(v)} ms", f"<= {T_PER_EVENT} ms")
    for n in (65, 200):
        if c := comps.get((f"stream, {n} events", "bot")):
            ratio_row(f"translated stream, {n} events / Python loop", "bot", c, T_TRANSLATED)
    for mode in MODES:
        if c := comps.get(("GET /health", mode)):
            ratio_row("GET /health / Python trivial", mode, c, T_HEALTH)
    for mode in MODES:
        if r := report["long_streams"].get(f"wk-{mode}"):
            # the largest growth of any pass (the first may only raise a high-water mark; a later one should not grow)
            growth = max(p["rss_growth_mb"] for p in r["passes"])
            if any(p.get("error") for p in r["passes"]):
                growth = math.nan
            floor = report["long_streams"].get(FLOORS[mode][0], {}).get("passes", [])
            detail = "passes " + ", ".join(f"{p['rss_growth_mb']:+.1f}" for p in r["passes"])
            if floor:
                detail += "; Python floor " + ", ".join(f"{p['rss_growth_mb']:+.1f}" for p in floor)
            add(
                f"RSS growth, {events:,}-event stream",
                mode,
                growth,
                T_MEMORY_MB,
                f"{growth:+.1f} MB",
                f"< {T_MEMORY_MB:.0f} MB",
                detail,
            )
    for mode in MODES:
        if r := report["concurrent"].get(f"wk-{mode}"):
            n = r["requests"]
            add(f"{n} concurrent streams complete", mode, n - r["complete"], 0, f"{r['complete']}/{n}", f"{n}/{n}")
    return out


def upstream_notes(calls: dict[str, Any], sent: Counter[str]) -> list[str]:
    """What the upstream saw from each proxy: did openai mode really pass through (chat) or translate Poe's
    chat chunks (messages, responses), bot mode translate the bot protocol, one upstream call per request?"""
    notes = []
    for proxy in ("wk", "asgi"):
        for mode in MODES:
            name = f"{proxy}-{mode}"
            got = calls.get(poe_key(name), {})
            seen: dict[str, int] = got.get("paths", {})
            bot = sum(n for p, n in seen.items() if p.startswith("/bot/"))
            oa = seen.get("/v1/chat/completions", 0)
            native = {p: n for p, n in seen.items() if p != "/v1/chat/completions" and not p.startswith("/bot/")}
            if mode == "openai" and bot and not oa:
                notes.append(
                    f"{name} called the upstream's bot protocol only (POE_PROTOCOL=openai had no effect): "
                    "its figures are those of translation, not of passthrough"
                )
            if mode == "bot" and oa:
                notes.append(f"{name} called the upstream's OpenAI endpoint: POE_PROTOCOL=bot had no effect")
            if native:
                paths = ", ".join(f"{p} ({n})" for p, n in sorted(native.items()))
                notes.append(
                    f"{name} called {paths} upstream: a door went to Poe's own endpoint instead of translating "
                    f"{'chat-completion chunks' if mode == 'openai' else 'the bot protocol'}; its figures are not the translation's"
                )
            if sent[name] and got.get("requests", 0) != sent[name]:
                notes.append(
                    f"{name}: {sent[name]} POST requests sent, the upstream saw {got.get('requests', 0)} from it "
                    "(a retry, a second attempt, or requests that never reached it)"
                )
    return notes


def git_state(project: Path) -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--", "src", "demo", "bench"))}


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else float(f"{value:.4g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="The Worker's CPU against minimal floor Workers, LiteLLM and the self-hosted proxy.")
    p.add_argument("-n", "--requests", type=int, default=100, help="requests per target in each scenario (default 100)")
    p.add_argument(
        "--door-requests",
        type=int,
        default=50,
        help="requests to the /v1/messages and /v1/responses columns (and their floor) in each stream scenario: they "
        "take part in every (requests // this)-th round (default 50, every 2nd round of 100)",
    )
    p.add_argument("--warmup", type=int, default=5, help="unmeasured rounds before each scenario (default 5)")
    p.add_argument("--big-events", type=int, default=10_000, help="events of the long stream (default 10000; 0: skip)")
    p.add_argument("--big-passes", type=int, default=3, help="times the long stream is sent to each target (default 3)")
    p.add_argument("--concurrent", type=int, default=50, help="concurrent streams through each Worker mode (default 50; 0: skip)")
    p.add_argument("--concurrent-events", type=int, default=200, help="events of each concurrent stream (default 200)")
    p.add_argument(
        "--concurrent-delay", type=float, default=0.005, help="seconds between a concurrent stream's events (default 0.005)"
    )
    p.add_argument(
        "--load-requests",
        type=int,
        default=1000,
        help="the load run (bench/load.py): requests through each Worker mode, good and bad mixed (default 1000; 0: skip)",
    )
    p.add_argument("--load-clients", type=int, default=32, help="concurrent clients of the load run (default 32)")
    p.add_argument("--load-bad", type=float, default=0.25, help="share of bad requests in the load run (default 0.25)")
    p.add_argument("--load-seed", type=int, default=1, help="seed of the load run's plan (default 1)")
    p.add_argument(
        "--load-modes", default="openai,bot", help="Worker modes of the load run, comma-separated (default openai,bot)"
    )
    p.add_argument(
        "--whole-frames",
        action="store_true",
        help="the demo's OpenAI endpoint writes every SSE frame whole (by default it cuts each in 1-3 pieces, "
        "as a network may: about 2 upstream reads per event)",
    )
    p.add_argument(
        "--upstream-keep-alive",
        type=float,
        default=5.0,
        help="seconds the demo upstream keeps an idle keep-alive connection open (default 5, uvicorn's own)",
    )
    p.add_argument("--no-asgi", action="store_true", help="leave out the self-hosted proxy")
    p.add_argument("--no-litellm", action="store_true", help="leave out LiteLLM")
    p.add_argument("--litellm", type=Path, default=DEFAULT_LITELLM, help=f"LiteLLM's executable (default {DEFAULT_LITELLM})")
    p.add_argument(
        "--project", type=Path, default=ROOT, help="the project checkout to measure (src/, wrangler.toml; default this one)"
    )
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the results (default {DEFAULT_JSON})")
    p.add_argument("--keep-logs", action="store_true", help="keep the servers' logs and work directories (printed)")
    p.add_argument("--serve-upstream", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the upstream's own process
    args = p.parse_args(argv)
    args.project = args.project.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_upstream:
        serve_upstream(args.serve_upstream)
        return 0
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="poe-bench-"))
    notes: list[str] = []
    with contextlib.ExitStack() as stack:
        if not args.keep_logs:
            stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        log("starting: the demo upstream, the Worker (openai, bot), the floors (Python, JS), the self-hosted proxy, LiteLLM ...")
        try:
            setup = start_all(args, tmp, stack)
        except (ServerError, BenchError, httpx.HTTPError) as exc:
            log(f"error: {type(exc).__name__}: {exc}")
            return 1
        servers = setup.servers
        log("ready in " + ", ".join(f"{k} {s.started_s:.1f} s" for k, s in servers.items()))
        for name, why in setup.skipped.items():
            notes.append(f"{name} skipped: {why}")
        if not setup.features["openai_endpoint"]:
            notes.append("the demo upstream has no OpenAI endpoint: no hand-over floors, direct-openai or LiteLLM")
        if not setup.features["story_length"]:
            notes.append("the demo upstream's SlowStory ignores a word count: no 200-event, long or concurrent streams")
        bench = Bench(servers)
        door_every = max(1, args.requests // max(1, args.door_requests))
        scenarios = {sc.key: sc for sc in build_scenarios(setup, door_every)}
        for sc in scenarios.values():
            t0 = time.monotonic()
            doors = sum(c.every > 1 for c in sc.columns)
            each = f" ({doors} of them in 1 round of {door_every})" if doors else ""
            log(f"{sc.title}: {args.requests} requests x {len(sc.columns)} targets{each}, interleaved ...")
            asyncio.run(bench.sequential(sc, args.requests, args.warmup))
            log(f"  {time.monotonic() - t0:.0f} s")

        long_streams: dict[str, Any] = {}
        msg = f"0 {args.big_events}"
        if args.big_events and msg in setup.references:
            log(f"{args.big_events}-event stream through each mode (and its Python floor) ...")
            cols = [proxy_column(f"wk-{mode}", "SlowStory", msg, True) for mode in MODES]
            if setup.features["openai_endpoint"]:
                cols.append(handover("py", "SlowStory", msg, True))
            cols.append(loop("py", "SlowStory", msg))
            for col in cols:
                long_streams[col.key] = asyncio.run(bench.long_stream(col, setup.references[msg], args.big_passes))

        concurrent: dict[str, Any] = {}
        msg = f"{args.concurrent_delay} {args.concurrent_events}"
        ref = setup.references.get(f"0 {args.concurrent_events}")
        if args.concurrent and ref is not None:
            for mode in MODES:
                log(f"{args.concurrent} concurrent streams through wk-{mode} ...")
                col = proxy_column(f"wk-{mode}", "SlowStory", msg, True)
                concurrent[col.key] = asyncio.run(bench.concurrent(col, args.concurrent, ref))

        calls = httpx.get(f"{servers['upstream'].url}/bench/calls", timeout=10).json()
        notes += upstream_notes(calls, SENT)

        load_runs: dict[str, Any] = {}  # after the upstream's counts above: they check the scenarios only
        if args.load_requests:
            jobs = load.make_plan(args.load_requests, args.load_bad, args.load_seed, ACCESS_TOKEN, setup.references)
            for mode in args.load_modes.split(","):
                name = f"wk-{mode}"
                bad = sum(not j.valid for j in jobs)
                log(f"load run through {name}: {len(jobs)} requests ({bad} bad) from {args.load_clients} clients ...")
                server = servers[name]
                assert isinstance(server, Wrangler)
                others = {
                    "wrangler's proxy workerd": Meter([server.proxy_pid]),
                    "wrangler (node)": Meter([pid for role, pid in server.roles.items() if role.startswith("node")]),
                    "the upstream": servers["upstream"].meter,
                }
                r = load.run(server, jobs, args.load_clients, servers["upstream"].url, poe_key(name), others)
                load_runs[name] = r
                verdict = "held" if r["held"] else "NOT HELD: " + "; ".join(load.failures(r))
                log(f"  {r['wall_s']:.0f} s, {r['throughput_rps']:.0f} requests/s: {verdict}")
                if r["upstream_requests"] != r["valid_posts"]:
                    notes.append(
                        f"load run through {name}: {r['valid_posts']} valid POST requests, the upstream saw "
                        f"{r['upstream_requests']} from it (a retry, or a bad request that reached it)"
                    )
        for name, server in servers.items():
            if isinstance(server, Wrangler) and not server.meter.alive():
                notes.append(f"{name}: the Worker's workerd ({server.worker_pid}) was gone at the end: figures unreliable")

    targets = {"direct-openai": "openai (demo)", "direct-bot": "bot (demo)"}
    for name in ("wk-openai", "asgi-openai", "wk-bot", "asgi-bot", "litellm"):
        if name in servers:
            targets[name] = "openai, passthrough" if name.endswith("openai") else "bot, translated"
    if any(LIMITED in sc.results for sc in scenarios.values()):
        targets[LIMITED] = "openai, passthrough (token with rpm and rpd)"
    if any(METERED in sc.results for sc in scenarios.values()):
        targets[METERED] = "openai, passthrough (include_usage: teed)"
    if "litellm" in servers:
        targets["litellm"] = "openai (LiteLLM)"
    for door in DOORS:
        for mode in MODES:
            if any(worker_key(mode, door) in sc.results for sc in scenarios.values()):
                targets[worker_key(mode, door)] = f"{mode}, translated ({door})"
    report: dict[str, Any] = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            "requests": args.requests,
            "door_requests": args.requests // door_every,
            "whole_frames": args.whole_frames,
            "warmup": args.warmup,
            "big_events": args.big_events,
            "big_passes": args.big_passes,
            "concurrent": args.concurrent,
            "concurrent_events": args.concurrent_events,
            "concurrent_delay": args.concurrent_delay,
            "load_requests": args.load_requests,
            "load_clients": args.load_clients,
            "load_bad": args.load_bad,
            "load_seed": args.load_seed,
            "load_modes": args.load_modes,
            "upstream_keep_alive_s": args.upstream_keep_alive,
            "project": str(args.project),
        },
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "git": git_state(args.project),
        "upstream_features": setup.features,
        "skipped": setup.skipped,
        "servers": {
            k: {
                "url": s.url,
                "startup_s": s.started_s,
                "processes": s.roles,
                "measured_pids": s.meter.pids,
                **({"worker_identified_by": s.identified_by} if isinstance(s, Wrangler) else {}),
            }
            for k, s in servers.items()
        },
        "targets": targets,
        "scenarios": {k: sc.as_json() for k, sc in scenarios.items()},
        "comparisons": comparisons(scenarios),
        "per_event": {
            k: v
            for k in (
                "wk-openai",
                "wk-bot",
                "asgi-openai",
                "asgi-bot",
                "litellm",
                "py handover",
                "js handover",
                "py loop",
                "js loop",
                *(worker_key(mode, door) for door in DOORS for mode in MODES),
                *DOOR_FLOORS["openai"][:2],
            )
            if (v := per_event(scenarios, k))
        },
        "long_streams": long_streams,
        "concurrent": concurrent,
        "load": load_runs,
        "upstream_calls": calls,
        "notes": notes,
    }
    report["verdicts"] = verdicts(report)
    report["duration_s"] = time.monotonic() - started
    print()
    print(render(report))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rounded(report), indent=2) + "\n")
    print(f"\nresults: {args.json} ({report['duration_s']:.0f} s in all)")
    if args.keep_logs:
        print(f"server logs: {tmp}")
    if any(not r["held"] for r in load_runs.values()):
        print("\nthe load run did not hold (see above): exit status 1")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

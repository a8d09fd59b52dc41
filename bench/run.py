"""Latency and throughput of the proxy against the Poe-protocol server behind it.

One run starts the demo upstream (demo/upstream.py, fastapi_poe) on 127.0.0.1
and sends the same requests to three targets:

  direct   POST /bot/<Bot> on the upstream itself (a Poe QueryRequest; the SSE
           is read to its ``done`` event): the floor
  asgi     the proxy in self-hosted mode (``python -m poe.selfhost``, uvicorn)
  workerd  the Worker in workerd (``wrangler dev``)

Each server is its own process; this process is only the client (httpx). The
upstream runs as ``bench/run.py --serve-upstream PORT``: demo/upstream.py's app
wrapped to count the TCP connections each target's Poe key arrives on.
Results: a table on stdout and JSON in bench/results/latest.json. Nothing is
asserted: a benchmark reports, it does not pass or fail on timings.

Run: make bench   (or: python bench/run.py --help)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import math
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "bench" / "results" / "latest.json"
TARGETS = ("direct", "asgi", "workerd")
PROXIES = ("asgi", "workerd")
POE_KEYS = {t: f"bench-{t}" for t in TARGETS}  # one Poe key per target: the upstream tells them apart
PROMPT = "Hello from the benchmark!"


def _project(module: str) -> ModuleType:
    """A module of this project (tests.support, demo.upstream), imported from the repository root.

    Imported by name so that type-checking this file does not type-check those too.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(module)


# ---------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    bot: str  # the Poe bot (direct)
    model: str  # the proxy's model id for it (CUSTOM_MODELS)
    stream: bool  # OpenAI stream flag (the upstream always streams)
    expected: str  # the answer's text, to check each response
    floor: bool = False  # no upstream call: GET /v1/models on a proxy, GET /stats on the upstream


@dataclass
class Sample:
    ttfb: float = math.nan  # first body byte
    first_token: float = math.nan  # first non-empty piece of answer text
    total: float = math.nan  # the end of the answer (``done`` / ``[DONE]`` / the JSON body)
    text: str = ""


class BenchError(Exception):
    pass


def build_request(target: str, base: str, sc: Scenario, token: str) -> tuple[str, str, dict[str, str], bytes | None]:
    """(method, url, headers, body) for one scenario on one target."""
    if sc.floor:
        if target == "direct":
            return "GET", f"{base}/stats", {}, None
        return "GET", f"{base}/v1/models", {"authorization": f"Bearer {token}"}, None
    if target == "direct":
        query: dict[str, Any] = {
            "version": "1.2",
            "type": "query",
            "query": [{"role": "user", "content": PROMPT, "content_type": "text/markdown"}],
            "user_id": "",
            "conversation_id": secrets.token_hex(8),
            "message_id": secrets.token_hex(8),
            "temperature": None,
            "skip_system_prompt": False,
            "logit_bias": {},
            "stop_sequences": [],
            "language_code": "en",
        }
        headers = {
            "authorization": f"Bearer {POE_KEYS['direct']}",
            "content-type": "application/json",
            "accept": "text/event-stream",
        }
        return "POST", f"{base}/bot/{sc.bot}", headers, json.dumps(query).encode()
    chat = {"model": sc.model, "messages": [{"role": "user", "content": PROMPT}], "stream": sc.stream}
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    return "POST", f"{base}/v1/chat/completions", headers, json.dumps(chat).encode()


class SSESplitter:
    """Minimal client-side SSE reader: (event, data) per blank-line-terminated block."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> Iterator[tuple[str, str]]:
        self._buf = (self._buf + chunk).replace(b"\r\n", b"\n")
        while b"\n\n" in self._buf:
            block, self._buf = self._buf.split(b"\n\n", 1)
            event, data = "message", []
            for line in block.decode().split("\n"):
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
            if data or event != "message":
                yield event, "\n".join(data)


async def measure(client: httpx.AsyncClient, target: str, base: str, sc: Scenario, token: str) -> Sample:
    """One request, timed from just before sending to the end of the answer."""
    method, url, headers, body = build_request(target, base, sc, token)
    s = Sample()
    sse = SSESplitter()
    raw = b""
    t0 = time.perf_counter()
    async with client.stream(method, url, headers=headers, content=body) as resp:
        async for chunk in resp.aiter_bytes():  # decoded: workerd gzips for clients that accept it
            now = time.perf_counter() - t0
            if math.isnan(s.ttfb):
                s.ttfb = now
            if sc.floor or (target != "direct" and not sc.stream):
                raw += chunk
                continue
            for event, data in sse.feed(chunk):
                piece = ""
                if target == "direct":
                    if event == "text":
                        piece = json.loads(data)["text"]
                    elif event == "done":
                        s.total = now
                    elif event == "error":
                        raise BenchError(f"upstream error event: {data[:200]}")
                elif data == "[DONE]":
                    s.total = now
                else:
                    obj = json.loads(data)
                    if "error" in obj:
                        raise BenchError(f"proxy error chunk: {data[:200]}")
                    if obj.get("choices"):
                        piece = obj["choices"][0]["delta"].get("content") or ""
                if piece:
                    if math.isnan(s.first_token):
                        s.first_token = now
                    s.text += piece
        end = time.perf_counter() - t0
        if resp.status_code != 200:
            raise BenchError(f"{target} HTTP {resp.status_code}: {raw[:200]!r}")
    if sc.floor:
        s.total = end
    elif target != "direct" and not sc.stream:
        s.total = s.first_token = end
        s.text = json.loads(raw)["choices"][0]["message"]["content"]
    if math.isnan(s.total):
        raise BenchError(f"{target}: the answer ended without its done marker")
    if not sc.floor and s.text != sc.expected:
        raise BenchError(f"{target}: unexpected answer {s.text[:80]!r}")
    return s


# ---------------------------------------------------------------- statistics


def summarize(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p90 = statistics.quantiles(ordered, n=10, method="inclusive")[-1] if len(ordered) > 1 else ordered[0]
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "p90": p90,
        "mean": statistics.fmean(ordered),
        "min": ordered[0],
        "max": ordered[-1],
    }


@dataclass
class Row:
    scenario: str
    metric: str
    unit: str  # "ms" (lower is better), "req/s" (higher is better) or "" (a count: no ratio)
    stats: dict[str, dict[str, float]] = field(default_factory=dict)  # target -> summary
    errors: dict[str, int] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)  # more for the JSON
    in_table: bool = True

    def ratios(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        base = self.stats.get("direct", {})
        for target in PROXIES:
            st = self.stats.get(target, {})
            entry: dict[str, float] = {}
            for k in ("median", "p90"):
                if self.unit in ("ms", "req/s") and k in st and base.get(k):
                    entry[k] = st[k] / base[k]
                    if self.unit == "ms":
                        entry[f"{k}_delta_ms"] = st[k] - base[k]
            if entry:
                out[target] = entry
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "metric": self.metric,
            "unit": self.unit,
            "targets": self.stats,
            "ratio_proxy_over_direct": self.ratios(),
            "errors": self.errors,
            **self.detail,
        }


def latency_rows(sc: Scenario, samples: dict[str, list[Sample]], errors: dict[str, int]) -> list[Row]:
    metrics: list[tuple[str, Callable[[Sample], float]]] = [("total", lambda s: s.total)]
    if sc.stream:
        metrics = [("TTFB", lambda s: s.ttfb), ("first token", lambda s: s.first_token), ("total", lambda s: s.total)]
    rows = []
    for name, get in metrics:
        row = Row(sc.title, name, "ms", errors=errors, in_table=name != "first token")
        for target, got in samples.items():
            row.stats[target] = summarize([get(s) * 1000 for s in got])
        rows.append(row)
    return rows


# ---------------------------------------------------------------- the upstream, counting connections


class ConnectionCounter:
    """ASGI wrapper of the demo upstream: per Poe key, bot requests and the distinct TCP connections they came on.

    ``GET /bench/connections`` returns the counts, ``POST`` returns them and starts again.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: dict[str, int] = {}
        self.connections: dict[str, set[tuple[str, int]]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/bench/connections":
            counts = {k: {"requests": n, "connections": len(self.connections[k])} for k, n in self.requests.items()}
            if scope["method"] == "POST":
                self.requests.clear()
                self.connections.clear()
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": json.dumps(counts).encode()})
            return
        if scope["type"] == "http" and scope["path"].startswith("/bot/"):
            auth = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            key = auth.split(" ", 1)[-1]
            self.requests[key] = self.requests.get(key, 0) + 1
            self.connections.setdefault(key, set()).add(tuple(scope.get("client") or ("", 0)))
        await self.app(scope, receive, send)


def serve_upstream(port: int) -> None:
    """The demo upstream (demo/upstream.py's make_app), wrapped in a ConnectionCounter."""
    import logging

    import uvicorn

    app = ConnectionCounter(_project("demo.upstream").make_app())
    logging.getLogger("fastapi_poe").setLevel(logging.ERROR)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


async def upstream_connections(client: httpx.AsyncClient, base: str, reset: bool = False) -> dict[str, dict[str, float]]:
    """target -> requests and connections the upstream saw since the last reset."""
    resp = await client.request("POST" if reset else "GET", f"{base}/bench/connections")
    by_key = resp.json()
    return {t: by_key[key] for t, key in POE_KEYS.items() if key in by_key}


def connections_row(title: str, counts: dict[str, dict[str, float]]) -> Row:
    row = Row(title, "upstream conns/req", "", detail={"upstream_connections": counts})
    for target, c in counts.items():
        if c["requests"]:
            row.stats[target] = {"median": c["connections"] / c["requests"]}
    return row


# ---------------------------------------------------------------- server CPU time


def _label(pid: int, cmdline: str, entry_port: int | None) -> str:
    name = Path(cmdline.split(" ", 1)[0]).name if cmdline else str(pid)
    if name == "workerd" and entry_port is not None:
        if f"entry=127.0.0.1:{entry_port}" in cmdline:
            return "workerd (wrangler dev's proxy)"
        return "workerd (the Worker)"
    if name == "node":
        return "node (wrangler)"
    return name


class CpuMeter:
    """CPU seconds used by each server's process group, from /proc (Linux; empty elsewhere)."""

    def __init__(self) -> None:
        self.groups: dict[str, tuple[int, int | None]] = {}  # target -> (process group, wrangler's port)
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def add(self, target: str, pgid: int, entry_port: int | None = None) -> None:
        self.groups[target] = (pgid, entry_port)

    def snapshot(self) -> dict[str, dict[str, float]]:
        """target -> process label -> CPU seconds so far (user + system)."""
        out: dict[str, dict[str, float]] = {t: {} for t in self.groups}
        proc = Path("/proc")
        if not proc.is_dir():
            return out
        by_pgid = {pgid: (t, port) for t, (pgid, port) in self.groups.items()}
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                pgrp = int(fields[2])
                if pgrp not in by_pgid:
                    continue
                cpu = (int(fields[11]) + int(fields[12])) / self._tick
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, ValueError, IndexError):
                continue
            target, port = by_pgid[pgrp]
            label = _label(int(entry.name), cmdline, port)
            out[target][label] = out[target].get(label, 0.0) + cpu
        return out

    @staticmethod
    def per_request(
        before: dict[str, dict[str, float]], after: dict[str, dict[str, float]], requests: dict[str, int]
    ) -> dict[str, dict[str, float]]:
        """target -> label -> CPU ms per request (plus "total")."""
        out: dict[str, dict[str, float]] = {}
        for target, procs in after.items():
            n = requests.get(target, 0)
            if not n:
                continue
            per = {k: (v - before.get(target, {}).get(k, 0.0)) * 1000 / n for k, v in procs.items()}
            per["total"] = sum(per.values())
            out[target] = per
        return out


def cpu_row(title: str, per_request: dict[str, dict[str, float]]) -> Row:
    """Server CPU per request: direct = the upstream's; a proxy = its own processes' (not the upstream's)."""
    row = Row(title, "server CPU/req", "ms", detail={"cpu_ms_per_request_by_process": per_request})
    for target, per in per_request.items():
        row.stats[target] = {"median": per["total"]}
    return row


# ---------------------------------------------------------------- runners


async def run_sequential(
    bases: dict[str, str], sc: Scenario, token: str, n: int, warmup: int, meter: CpuMeter
) -> tuple[dict[str, list[Sample]], dict[str, int], dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """One request at a time; targets interleaved (rotating order) so drift hits all alike.

    Returns the samples, the errors, the servers' CPU ms per request and the upstream's connection counts.
    """
    samples: dict[str, list[Sample]] = {t: [] for t in bases}
    errors: dict[str, int] = dict.fromkeys(bases, 0)
    names = list(bases)
    async with httpx.AsyncClient(timeout=30) as client:
        for target in names:
            for _ in range(warmup):
                with contextlib.suppress(BenchError, httpx.HTTPError):
                    await measure(client, target, bases[target], sc, token)
        await upstream_connections(client, bases["direct"], reset=True)
        before = meter.snapshot()
        for i in range(n):
            for j in range(len(names)):
                target = names[(i + j) % len(names)]
                try:
                    samples[target].append(await measure(client, target, bases[target], sc, token))
                except (BenchError, httpx.HTTPError) as exc:
                    errors[target] += 1
                    if errors[target] == 1:
                        print(f"  ! {sc.key} on {target}: {exc}", file=sys.stderr)
        after = meter.snapshot()
        conns = await upstream_connections(client, bases["direct"])
    # the upstream served every target's requests (but none of a proxy's GET /v1/models)
    counts = {t: n for t in names}
    counts["direct"] = n if sc.floor else n * len(names)
    return samples, errors, CpuMeter.per_request(before, after, counts), conns


async def run_concurrent(
    bases: dict[str, str], target: str, sc: Scenario, token: str, total: int, concurrency: int, meter: CpuMeter
) -> tuple[float, list[Sample], int, dict[str, float], dict[str, float]]:
    """``total`` requests from ``concurrency`` clients.

    Returns the wall time (s), the samples, the errors, CPU ms per request and the upstream's connection counts.
    """
    base = bases[target]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        # open the connections first (errors here show again in the measured part)
        await asyncio.gather(*(measure(client, target, base, sc, token) for _ in range(concurrency)), return_exceptions=True)
        samples: list[Sample] = []
        errors = 0
        todo = iter(range(total))

        async def worker() -> None:
            nonlocal errors
            for _ in todo:
                try:
                    samples.append(await measure(client, target, base, sc, token))
                except (BenchError, httpx.HTTPError) as exc:
                    errors += 1
                    if errors == 1:
                        print(f"  ! concurrent {sc.key} on {target}: {exc}", file=sys.stderr)

        await upstream_connections(client, bases["direct"], reset=True)
        before = meter.snapshot()
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
        cpu = CpuMeter.per_request(before, meter.snapshot(), {target: total})
        conns = await upstream_connections(client, bases["direct"])
        return wall, samples, errors, cpu.get(target, {}), conns.get(target, {})


# ---------------------------------------------------------------- servers


class Process:
    """A server in its own process group on 127.0.0.1, ready when ``ready_url`` answers 200."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], cwd: Path, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, url: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            time.sleep(0.05)
        tail = self.log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{self.name} did not start ({url}):\n{tail}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._log.close()


def start_servers(
    stack: contextlib.ExitStack, targets: list[str], tmp: Path, slow_delay: float, token: str, meter: CpuMeter
) -> tuple[dict[str, str], dict[str, float]]:
    """Start the upstream and the proxies asked for; returns their base URLs and startup times."""
    support = _project("tests.support")  # free_port, WranglerDev
    demo_models: str = _project("demo.upstream").DEMO_MODELS

    bases: dict[str, str] = {}
    startup: dict[str, float] = {}
    py_env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    t0 = time.monotonic()
    port = support.free_port()
    upstream = Process(
        "demo upstream",
        [sys.executable, str(Path(__file__).resolve()), "--serve-upstream", str(port)],
        {**py_env, "DEMO_SLOW_DELAY": str(slow_delay), "PYTHONPATH": str(ROOT)},
        ROOT,
        tmp / "upstream.log",
    )
    stack.callback(upstream.stop)
    upstream_url = f"http://127.0.0.1:{port}"
    upstream.wait_ready(f"{upstream_url}/stats")
    meter.add("direct", upstream.proc.pid)
    startup["direct"] = time.monotonic() - t0
    bases["direct"] = upstream_url

    proxy_env = {
        "API_ACCESS_TOKENS": token,
        "POE_BASE_URL": upstream_url,
        "CUSTOM_MODELS": demo_models,
        "TIMEOUT": "30",
    }
    if "asgi" in targets:
        t0 = time.monotonic()
        port = support.free_port()
        asgi_dir = tmp / "asgi"  # an empty cwd: no config.toml is picked up
        asgi_dir.mkdir()
        asgi = Process(
            "self-hosted proxy",
            [sys.executable, "-m", "poe.selfhost"],
            {
                **py_env,
                **proxy_env,
                "POE_APIKEYS": POE_KEYS["asgi"],
                "PORT": str(port),
                "HOST": "127.0.0.1",
                "PYTHONPATH": str(ROOT / "src"),
            },
            asgi_dir,
            tmp / "asgi.log",
        )
        stack.callback(asgi.stop)
        bases["asgi"] = f"http://127.0.0.1:{port}"
        asgi.wait_ready(f"{bases['asgi']}/health")
        meter.add("asgi", asgi.proc.pid)
        startup["asgi"] = time.monotonic() - t0

    if "workerd" in targets:
        t0 = time.monotonic()
        worker = support.WranglerDev(
            secrets={"POE_APIKEYS": POE_KEYS["workerd"], "API_ACCESS_TOKENS": token},
            variables={k: v for k, v in proxy_env.items() if k != "API_ACCESS_TOKENS"},
            state_dir=tmp / "worker" / "state",
            workdir=tmp / "worker",
        )
        (tmp / "worker").mkdir()
        stack.callback(worker.stop)
        worker.start()
        meter.add("workerd", worker.proc.pid, worker.port)  # its own session: node and both workerd
        bases["workerd"] = worker.url
        startup["workerd"] = time.monotonic() - t0
    return bases, startup


# ---------------------------------------------------------------- output


def _fmt(v: float | None) -> str:
    if v is None or math.isnan(v):
        return "-"
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def render(rows: list[Row], targets: list[str]) -> str:
    head = ["scenario", "metric"]
    for t in targets:
        head.append(f"{t} med / p90")
        if t != "direct":
            head.append(f"{t}/direct")
    lines: list[list[str]] = [head]
    previous = ""
    for row in rows:
        if not row.in_table:
            continue
        metric = f"{row.metric} ({row.unit})" if row.unit else row.metric
        cells = ["" if row.scenario == previous else row.scenario, metric]
        previous = row.scenario
        ratios = row.ratios()
        for t in targets:
            st = row.stats.get(t, {})
            if "p90" in st:
                cells.append(f"{_fmt(st.get('median'))} / {_fmt(st.get('p90'))}")
            else:
                cells.append(_fmt(st.get("median")))
            if t != "direct":
                r = ratios.get(t, {})
                if "median" not in r:
                    cells.append("-")
                elif row.unit == "ms":
                    cells.append(f"{r['median']:.2f}x {r['median_delta_ms']:+.1f}ms")
                else:
                    cells.append(f"{r['median']:.2f}x")
        if any(row.errors.values()):
            cells[-1] += "  errors " + ", ".join(f"{t}={n}" for t, n in row.errors.items() if n)
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for k, line in enumerate(lines):
        out.append("  ".join(c.ljust(widths[i]) if i < 2 else c.rjust(widths[i]) for i, c in enumerate(line)).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _rounded(value: Any) -> Any:
    """Floats to 4 significant digits (NaN as null), for a readable JSON file."""
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.4g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--", "src", "demo"))}


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Benchmark the proxy (self-hosted and workerd) against the upstream directly.")
    p.add_argument("-n", "--requests", type=int, default=100, help="sequential requests per scenario and target (default 100)")
    p.add_argument("--warmup", type=int, default=5, help="unrecorded requests per scenario and target first (default 5)")
    p.add_argument("--load-requests", type=int, default=200, help="requests in the concurrency test (default 200)")
    p.add_argument("--concurrency", type=int, default=10, help="concurrent clients in the concurrency test (default 10)")
    p.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help="comma-separated subset of direct,asgi,workerd (direct is always run: it is the baseline)",
    )
    p.add_argument(
        "--slow-delay",
        type=float,
        default=0.0,
        help="seconds between SlowStory's pieces (DEMO_SLOW_DELAY; default 0: measure the proxy, not the bot)",
    )
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the results (default {DEFAULT_JSON})")
    p.add_argument("--keep-logs", action="store_true", help="keep the servers' logs (the directory is printed)")
    p.add_argument("--serve-upstream", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the upstream's own process
    args = p.parse_args(argv)
    chosen = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = set(chosen) - set(TARGETS)
    if unknown:
        p.error(f"unknown targets: {', '.join(sorted(unknown))}")
    args.targets = [t for t in TARGETS if t == "direct" or t in chosen]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_upstream:
        serve_upstream(args.serve_upstream)
        return 0
    support = _project("tests.support")
    token: str = support.ACCESS_TOKEN
    story: str = _project("demo.upstream").STORY
    scenarios = [
        Scenario("floor", "no upstream call (*)", "", "", False, "", floor=True),
        Scenario("echo", "echo, non-streaming", "Echo", "echo", False, PROMPT),
        Scenario("echo_stream", "echo, streaming", "Echo", "echo", True, PROMPT),
        Scenario("story_stream", f"SlowStory, streaming, {len(story.split())} events", "SlowStory", "slowstory", True, story),
    ]
    load = scenarios[1]
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="poe-bench-"))
    rows: list[Row] = []
    with contextlib.ExitStack() as stack:
        if not args.keep_logs:
            import shutil

            stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        print(f"starting servers: {', '.join(args.targets)} ...", file=sys.stderr)
        meter = CpuMeter()
        bases, startup = start_servers(stack, args.targets, tmp, args.slow_delay, token, meter)
        print("ready in " + ", ".join(f"{t} {s:.1f} s" for t, s in startup.items()), file=sys.stderr)

        for sc in scenarios:
            print(f"{sc.key}: {args.requests} sequential requests per target ...", file=sys.stderr)
            samples, errors, cpu, conns = asyncio.run(run_sequential(bases, sc, token, args.requests, args.warmup, meter))
            rows.extend(latency_rows(sc, samples, errors))
            rows.append(cpu_row(sc.title, cpu))
            if not sc.floor:
                rows.append(connections_row(sc.title, conns))
                rows[-1].in_table = False  # the load test shows it

        title = f"echo, {args.load_requests} requests, {args.concurrency} concurrent"
        throughput = Row(title, "throughput", "req/s")
        latency = Row(title, "latency", "ms")
        load_cpu: dict[str, dict[str, float]] = {}
        load_conns: dict[str, dict[str, float]] = {}
        for target in args.targets:
            print(f"load on {target}: {args.load_requests} requests, {args.concurrency} concurrent ...", file=sys.stderr)
            wall, got, errs, cpu_ms, conns_seen = asyncio.run(
                run_concurrent(bases, target, load, token, args.load_requests, args.concurrency, meter)
            )
            if conns_seen:
                load_conns[target] = conns_seen
            rate = len(got) / wall if wall > 0 else math.nan
            throughput.stats[target] = {"n": len(got), "median": rate, "wall_s": wall}
            throughput.errors[target] = latency.errors[target] = errs
            latency.stats[target] = summarize([s.total * 1000 for s in got])
            if cpu_ms:
                load_cpu[target] = cpu_ms
        rows += [latency, throughput, cpu_row(title, load_cpu), connections_row(title, load_conns)]

    elapsed = time.monotonic() - started
    print()
    print(render(rows, args.targets))
    print()
    print(
        "ms: lower is better; req/s: higher is better. proxy/direct = ratio of the medians (and their difference).\n"
        "(*) a proxy's GET /v1/models against the upstream's GET /stats: each server's floor per request.\n"
        "server CPU/req: direct = the upstream's CPU time per request; a proxy = its own processes' (upstream not\n"
        "included; for workerd: wrangler's node, its proxy workerd and the Worker's workerd; see the JSON).\n"
        "upstream conns/req: TCP connections the upstream accepted per request it served (1.00 = no reuse)."
    )
    result = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(elapsed, 1),
        "settings": {
            "requests": args.requests,
            "warmup": args.warmup,
            "load_requests": args.load_requests,
            "concurrency": args.concurrency,
            "slow_delay": args.slow_delay,
            "targets": args.targets,
        },
        "startup_s": {t: round(s, 2) for t, s in startup.items()},
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "git": git_state(),
        "rows": [r.as_json() for r in rows],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(_rounded(result), indent=2) + "\n")
    print(f"results: {args.json} ({elapsed:.0f} s in all)")
    if args.keep_logs:
        print(f"server logs: {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Load held (issue 12, item 5): the Worker in workerd under concurrent good and bad requests.

A fixed, seeded plan of requests (``make_plan``) is sent by ``clients`` concurrent clients (each
takes the next request of the plan as soon as its last one is answered) to the Worker under
`wrangler dev`, one upstream mode at a time, every answer read to its end and checked:

* valid requests (streamed and non-streamed chat completions of the demo's Echo and SlowStory,
  streamed /v1/messages and /v1/responses, GET /v1/models) must get a 200 with a complete body:
  a stream ends with its end marker (``data: [DONE]``, ``message_stop``, ``response.completed``)
  and nothing after it, and its text is the upstream's (the echoed prompt, the story);
* bad requests (a wrong or missing token, invalid JSON, lone surrogates, deep nesting, a body
  over MAX_BODY_BYTES, an unknown model, a wrong method) must get their 4xx;
* every answer passes the fuzz suite's checks (tests/fuzz.py ``check_answer``): no 5xx, no
  traceback, an ``x-request-id``, errors in the shape of the door called.

Crashes are counted apart: a connection reset or refused (no answer), a 5xx in ``text/plain``
(the runtime's, not the proxy's), a line of the Worker's wrangler log written during the run that
says ``Uncaught``, ``exceeded``, ``fatal`` and the like, the Worker's workerd gone, or ``/health``
not answering after the run. The run "holds" when no valid request failed, no bad one got
anything but its 4xx, no answer was a 5xx and nothing crashed; ``bench/run.py`` exits 1 otherwise.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from servers import Meter, Wrangler
from wire import BenchError, anthropic_event, responses_event, sse_blocks

from tests.fuzz import check_answer, curl

MAX_BODY = 10 * 2**20  # the Worker's default MAX_BODY_BYTES; an oversized body is 1 KiB more
STORY_WORDS = (8, 24, 48)  # SlowStory lengths used (their texts are fetched from the upstream first)
STORY_DELAYS = (0, 0.002)  # seconds between a story's events
TIMEOUT = 60.0  # per request
DOORS = ("/v1/chat/completions", "/v1/messages", "/v1/responses")
# words of the echoed prompts: non-ASCII, escapes and controls the answer must carry back unchanged
WORDS = (
    "hello",
    "proxy",
    "load",
    "stream",
    "héllo",
    "naïve",
    "日本語",
    "🙂",
    "tab\there",
    "line\nbreak",
    '"quoted"',
    "back\\slash",
)

# class -> weight, among the valid requests
VALID_KINDS = {"chat stream": 30, "chat": 20, "messages stream": 15, "responses stream": 15, "models": 10}
# class -> (weight among the bad requests, the status each must get)
BAD_KINDS = {
    "bad token": (20, 401),
    "invalid JSON": (15, 400),
    "lone surrogate": (15, 400),
    "deep nesting": (10, 400),
    "unknown model": (15, 404),
    "wrong method": (15, 405),
    "oversized": (3, 413),
}
END_MARKERS = {"openai-sse": "data: [DONE]", "anthropic": "message_stop", "responses": "response.completed"}
# what a wrangler log line says when the isolate or the runtime went wrong
CRASH_LOG = re.compile(
    r"uncaught|exceeded|fatal|maximum call stack|segmentation fault|received signal|out of memory"
    r"|isolate\b.*(?:abort|terminat)|\bcrash|\[wrangler:error\]",  # wrangler:error: an error escaped the Worker
    re.IGNORECASE,
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# ---------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Job:
    """One request of the plan, and what its answer must be."""

    index: int
    kind: str  # its class: a key of VALID_KINDS or BAD_KINDS
    expect: int  # the status it must get
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    wire: str = "error"  # how to check a 200: openai-sse, openai-json, anthropic, responses, models
    text: str | None = None  # the answer's text (valid requests)

    @property
    def valid(self) -> bool:
        return self.expect < 400


JSON_TYPE = (("content-type", "application/json"),)


def auth(path: str, token: str) -> tuple[tuple[str, str], ...]:
    """As each door's clients authenticate: Anthropic's with x-api-key, the rest with a bearer token."""
    if path == "/v1/messages":
        return (("x-api-key", token), ("anthropic-version", "2023-06-01"))
    return (("authorization", f"Bearer {token}"),)


def door_body(path: str, model: str, message: str, stream: bool) -> dict[str, Any]:
    if path == "/v1/messages":
        return {"model": model, "max_tokens": 4096, "stream": stream, "messages": [{"role": "user", "content": message}]}
    if path == "/v1/responses":
        return {"model": model, "input": message, "stream": stream}
    return {"model": model, "messages": [{"role": "user", "content": message}], "stream": stream}


def dumps(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def prompt(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12)))


def weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def valid_job(i: int, kind: str, rng: random.Random, token: str, refs: dict[str, str]) -> Job:
    if kind == "models":
        return Job(i, kind, 200, "GET", "/v1/models", auth("/v1/models", token), None, "models")
    stories = [n for n in STORY_WORDS if f"0 {n}" in refs]
    if stories and rng.random() < 0.5:
        words = rng.choice(stories)
        model, message, text = "slowstory", f"{rng.choice(STORY_DELAYS)} {words}", refs[f"0 {words}"]
    else:
        model, message = "echo", prompt(rng)
        text = message
    if kind.startswith("chat"):
        path, stream = "/v1/chat/completions", kind == "chat stream"
        wire = "openai-sse" if stream else "openai-json"
    else:
        path, stream = ("/v1/messages", True) if kind == "messages stream" else ("/v1/responses", True)
        wire = "anthropic" if path == "/v1/messages" else "responses"
    body = dumps(door_body(path, model, message, stream))
    return Job(i, kind, 200, "POST", path, auth(path, token) + JSON_TYPE, body, wire, text)


_OVERSIZED: dict[str, bytes] = {}


def oversized(path: str) -> bytes:
    """A valid request to ``path`` but for its size: MAX_BODY + 1 KiB (one object per door, shared by the plan)."""
    if path not in _OVERSIZED:
        empty = len(dumps(door_body(path, "echo", "", False)))
        _OVERSIZED[path] = dumps(door_body(path, "echo", "x" * (MAX_BODY + 1024 - empty), False))
    return _OVERSIZED[path]


def bad_job(i: int, kind: str, rng: random.Random, token: str) -> Job:
    expect = BAD_KINDS[kind][1]
    path = rng.choice(DOORS)
    body = door_body(path, "echo", prompt(rng), rng.random() < 0.5)
    headers = auth(path, token) + JSON_TYPE
    raw = dumps(body)
    method = "POST"
    text_field = "input" if path == "/v1/responses" else "messages"
    if kind == "bad token":
        headers = (
            rng.choice(
                (
                    (),
                    (("authorization", "Bearer sk-wrong"),),
                    (("authorization", f"Basic {token}"),),
                    (("authorization", f"Bearer {token[:-1]}"),),
                    (("x-api-key", "sk-wrong"), ("anthropic-version", "2023-06-01")),
                )
            )
            + JSON_TYPE
        )
    elif kind == "invalid JSON":
        raw = rng.choice(
            (
                raw[: rng.randrange(1, len(raw) - 1)],  # cut short
                raw[:-1] + b",}",  # a trailing comma
                raw.replace(b'"', b"'"),
                raw + b" x",
                b"",
                b"null",
                b"[]",
            )
        )
    elif kind == "lone surrogate":
        where = rng.choice(("text", "model", "bytes"))
        if where == "model":
            body["model"] = "echo\ud800"
            raw = dumps(body)  # as the JSON escape \ud800
        else:
            message = prompt(rng) + rng.choice(("\ud800", "\udfff", "\udbff x"))
            if path == "/v1/responses":
                body["input"] = message
            else:
                body["messages"][0]["content"] = message
            raw = dumps(body)
            if where == "bytes":  # the surrogate's (invalid) UTF-8 bytes instead of its escape
                raw = (
                    raw.replace(b"\\ud800", b"\xed\xa0\x80")
                    .replace(b"\\udfff", b"\xed\xbf\xbf")
                    .replace(b"\\udbff", b"\xed\xaf\xbf")
                )
    elif kind == "deep nesting":
        depth = rng.choice((65, 1_000, 100_000))
        opener, closer = rng.choice((("[", "]"), ('{"a":', "}")))
        key = rng.choice((text_field, "metadata", "x_unknown"))
        rest = dumps({k: v for k, v in body.items() if k != key})
        raw = rest[:-1] + f', "{key}": {opener * depth}1{closer * depth}}}'.encode()
    elif kind == "unknown model":
        body["model"] = f"bench-no-such-model-{rng.randrange(10**6)}"
        raw = dumps(body)
    elif kind == "wrong method":
        path = rng.choice((*DOORS, "/v1/models"))
        allowed = ("GET", "HEAD") if path == "/v1/models" else ("POST",)
        method = rng.choice([m for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "PROPFIND") if m not in allowed])
        headers = auth(path, token) + JSON_TYPE
        return Job(i, kind, expect, method, path, headers, raw if method in ("POST", "PUT", "PATCH") else None)
    elif kind == "oversized":
        raw = oversized(path)
    return Job(i, kind, expect, method, path, headers, raw)


def make_plan(total: int, bad_share: float, seed: int, token: str, refs: dict[str, str]) -> list[Job]:
    """``total`` requests, about ``bad_share`` of them bad; the same seed draws the same plan."""
    rng = random.Random(seed)
    bad_weights = {k: w for k, (w, _) in BAD_KINDS.items()}
    jobs = []
    for i in range(total):
        if rng.random() < bad_share:
            jobs.append(bad_job(i, weighted(rng, bad_weights), rng, token))
        else:
            jobs.append(valid_job(i, weighted(rng, VALID_KINDS), rng, token, refs))
    return jobs


# ---------------------------------------------------------------- one request


@dataclass
class Outcome:
    job: Job
    status: int | None = None  # None: no answer (a reset, a timeout)
    seconds: float = math.nan  # to the end of the answer
    problems: list[tuple[str, str]] = field(default_factory=list)  # (check, detail)
    crash: str = ""  # why it counts as a crash


def check_body(job: Job, headers: dict[str, str], body: bytes) -> str | None:
    """Why a 200's body is not the complete, right answer (None: it is)."""
    if job.wire == "models":
        ids = {m["id"] for m in json.loads(body)["data"]}
        return None if "echo" in ids else f"no echo among the {len(ids)} models"
    if job.wire == "openai-json":
        choice = json.loads(body)["choices"][0]
        text = choice["message"].get("content") or ""
        if choice.get("finish_reason") != "stop":
            return f"finish_reason {choice.get('finish_reason')!r}"
        return None if text == job.text else f"wrong text: {text[:80]!r}"
    if not headers.get("content-type", "").startswith("text/event-stream"):
        return f"a stream as {headers.get('content-type')!r}"
    buffer = bytearray(body)
    text, done = "", False
    for event, data in sse_blocks(buffer):
        piece = ""
        if job.wire == "anthropic":
            piece, done = anthropic_event(event, data, done)
        elif job.wire == "responses":
            piece, done = responses_event(event, data, done)
        elif done:
            raise BenchError(f"an event after [DONE]: {data[:100]!r}")
        elif data == "[DONE]":
            done = True
        else:
            obj = json.loads(data)
            if "error" in obj:
                raise BenchError(f"error chunk: {data[:200]}")
            if obj.get("choices"):
                piece = obj["choices"][0].get("delta", {}).get("content") or ""
        text += piece
    if buffer.strip():
        return f"{len(buffer)} bytes after the last complete event: {bytes(buffer[:80])!r}"
    if not done:
        return f"the stream ended without {END_MARKERS[job.wire]} after {len(text)} characters"
    return None if text == job.text else f"wrong text ({len(text)} characters): {text[:80]!r}"


async def send(client: httpx.AsyncClient, base: str, job: Job) -> Outcome:
    out = Outcome(job)
    headers = {"accept-encoding": "identity", **dict(job.headers)}
    body = bytearray()
    t0 = time.perf_counter()
    try:
        async with client.stream(job.method, base + job.path, headers=headers, content=job.body, timeout=TIMEOUT) as resp:
            async for chunk in resp.aiter_raw():
                body += chunk
            status, answer_headers = resp.status_code, {k.lower(): v for k, v in resp.headers.items()}
    except httpx.TimeoutException as exc:
        out.seconds = time.perf_counter() - t0
        out.problems.append(("answered", f"no answer in {TIMEOUT:.0f} s ({type(exc).__name__})"))
        return out
    except httpx.TransportError as exc:  # reset, refused, or cut in the middle of the body
        out.seconds = time.perf_counter() - t0
        out.crash = f"{type(exc).__name__}: {exc}"[:200]
        out.problems.append(("answered", f"connection: {out.crash}"))
        return out
    out.seconds = time.perf_counter() - t0
    out.status = status
    raw = bytes(body)
    out.problems += check_answer(job.method, job.path, status, answer_headers, raw)
    if status >= 500 and answer_headers.get("content-type", "").startswith("text/plain"):
        out.crash = f"HTTP {status} text/plain (the runtime's): {raw[:120]!r}"
    if job.valid:
        if status != 200:
            out.problems.append(("valid_succeeds", f"HTTP {status}: {raw[:200]!r}"))
        else:
            try:
                problem = check_body(job, answer_headers, raw)
            except (BenchError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                problem = f"unreadable answer: {type(exc).__name__}: {exc}"[:300]
            if problem:
                out.problems.append(("complete_answer", problem))
    elif status != job.expect:
        out.problems.append(("refused", f"HTTP {status}, expected {job.expect}: {raw[:200]!r}"))
    return out


async def drive(base: str, jobs: list[Job], clients: int) -> tuple[list[Outcome], float]:
    """``clients`` concurrent clients working through the plan; the outcomes and the wall time."""
    todo = iter(jobs)
    outcomes: list[Outcome] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits) as client:

        async def one_client() -> None:
            for job in todo:  # one iterator shared: each request is taken once
                outcomes.append(await send(client, base, job))

        t0 = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        wall = time.perf_counter() - t0
    return outcomes, wall


# ---------------------------------------------------------------- a run, and its figures


def percentile(values: list[float], p: int) -> float:
    values = sorted(v for v in values if not math.isnan(v))
    if len(values) < 2:
        return values[0] if values else math.nan
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def signature(text: str) -> str:
    """What makes two problems the same kind: the text without ids and numbers."""
    return re.sub(r"\d+", "N", re.sub(r"(?:req|chatcmpl|msg|resp)_\w+", "", text))[:160]


def upstream_requests(upstream: str, key: str) -> int:
    calls = httpx.get(f"{upstream}/bench/calls", timeout=10).json()
    return int(calls.get(key, {}).get("requests", 0))


def run(
    server: Wrangler, jobs: list[Job], clients: int, upstream: str, poe_key: str, others: dict[str, Meter] | None = None
) -> dict[str, Any]:
    """The plan through one Worker; what every answer was, the crashes, the figures (``others``: processes
    whose CPU during the run is recorded beside the Worker's, e.g. wrangler's proxy and the upstream)."""
    others = others or {}
    log_offset = server.log_path.stat().st_size if server.log_path.exists() else 0
    calls0 = upstream_requests(upstream, poe_key)
    cpu0, rss0 = server.meter.read().ns, server.meter.rss()
    others0 = {k: m.read().ns for k, m in others.items()}
    client0 = time.process_time()
    outcomes, wall = asyncio.run(drive(server.url, jobs, clients))
    client_cpu = time.process_time() - client0
    time.sleep(0.3)  # the last log lines
    cpu = (server.meter.read().ns - cpu0) / 1e6
    others_cpu = {k: (m.read().ns - others0[k]) / 1e9 for k, m in others.items()}
    rss1 = server.meter.rss()
    try:
        health = httpx.get(server.url + "/health", timeout=10).status_code
    except httpx.HTTPError as exc:
        health = 0
        health_error = f"{type(exc).__name__}: {exc}"
    else:
        health_error = f"HTTP {health}"
    calls = upstream_requests(upstream, poe_key) - calls0
    with open(server.log_path, "rb") as f:
        f.seek(log_offset)
        new_log = f.read().decode(errors="replace")
    crash_lines = [line.strip() for line in ANSI.sub("", new_log).splitlines() if CRASH_LOG.search(line)]
    alive = server.meter.alive() and server.proc is not None and server.proc.poll() is None

    outcomes.sort(key=lambda o: o.job.index)
    resets = [o for o in outcomes if o.crash and o.status is None]
    runtime_5xx = [o for o in outcomes if o.crash and o.status is not None]
    crashes = len(resets) + len(runtime_5xx) + len(crash_lines) + (not alive) + (health != 200)
    valid = [o for o in outcomes if o.job.valid]
    bad = [o for o in outcomes if not o.job.valid]
    statuses = Counter(str(o.status) if o.status is not None else "no answer" for o in outcomes)
    classes: dict[str, Any] = {}
    for kind in (*VALID_KINDS, *BAD_KINDS):
        got = [o for o in outcomes if o.job.kind == kind]
        if got:
            times = [o.seconds * 1000 for o in got]
            classes[kind] = {
                "valid": got[0].job.valid,
                "expected": got[0].job.expect,
                "requests": len(got),
                "as_expected": sum(not o.problems for o in got),
                "p50_ms": percentile(times, 50),
                "p95_ms": percentile(times, 95),
                "statuses": dict(sorted(Counter(str(o.status or "no answer") for o in got).items())),
            }
    findings: dict[tuple[str, str, str], dict[str, Any]] = {}
    for o in outcomes:
        for check, detail in o.problems:
            key = (o.job.kind, check, signature(detail))
            if key not in findings:
                findings[key] = {
                    "class": o.job.kind,
                    "check": check,
                    "status": o.status,
                    "detail": detail[:300],
                    "count": 0,
                    "first_request": o.job.index,
                    "reproduce": curl(o.job.method, server.url + o.job.path, dict(o.job.headers), o.job.body)[:700],
                }
            findings[key]["count"] += 1
    valid_posts = sum(o.job.method == "POST" for o in valid)
    result = {
        "requests": len(outcomes),
        "clients": clients,
        "wall_s": wall,
        "throughput_rps": len(outcomes) / wall if wall else math.nan,
        "valid_requests": len(valid),
        "valid_ok": sum(not o.problems for o in valid),
        "valid_failures": sum(bool(o.problems) for o in valid),
        "bad_requests": len(bad),
        "bad_refused_as_expected": sum(not o.problems for o in bad),
        "bad_answered_otherwise": sum(bool(o.problems) for o in bad),
        "server_errors": sum(o.status is not None and o.status >= 500 for o in outcomes),
        "crashes": crashes,
        "crash_evidence": {
            "connection_errors": len(resets),
            "runtime_5xx_text_plain": len(runtime_5xx),
            "log_lines": len(crash_lines),
            "first_log_lines": crash_lines[:5],
            "workerd_alive_after": alive,
            "health_after": health_error,
        },
        "statuses": dict(sorted(statuses.items())),
        "classes": classes,
        "latency_ms": {
            "valid_p50": percentile([o.seconds * 1000 for o in valid], 50),
            "valid_p95": percentile([o.seconds * 1000 for o in valid], 95),
            "bad_p50": percentile([o.seconds * 1000 for o in bad], 50),
            "bad_p95": percentile([o.seconds * 1000 for o in bad], 95),
        },
        "worker_cpu_ms": cpu,
        "worker_cpu_ms_per_request": cpu / len(outcomes) if outcomes else math.nan,
        "worker_busy": cpu / 1000 / wall if wall else math.nan,  # share of the wall time the Worker's workerd was on a CPU
        "cpu_s": {"the Worker's workerd": cpu / 1000, **others_cpu, "the bench client": client_cpu},
        "rss_before_mb": rss0 / 2**20,
        "rss_after_mb": rss1 / 2**20,
        "upstream_requests": calls,
        "valid_posts": valid_posts,
        "findings": list(findings.values())[:12],  # in the order they first happened
    }
    result["held"] = not (result["valid_failures"] or result["bad_answered_otherwise"] or result["server_errors"] or crashes)
    return result


def failures(r: dict[str, Any]) -> list[str]:
    """What keeps a run from holding, in words (empty: it held)."""
    out = []
    if r["valid_failures"]:
        out.append(f"{r['valid_failures']} valid requests failed")
    if r["bad_answered_otherwise"]:
        out.append(f"{r['bad_answered_otherwise']} bad requests not answered with their 4xx")
    if r["server_errors"]:
        out.append(f"{r['server_errors']} 5xx")
    if r["crashes"]:
        e = r["crash_evidence"]
        why = [
            f"{e['connection_errors']} connection errors" if e["connection_errors"] else "",
            f"{e['runtime_5xx_text_plain']} runtime 5xx" if e["runtime_5xx_text_plain"] else "",
            f"{e['log_lines']} log lines" if e["log_lines"] else "",
            "" if e["workerd_alive_after"] else "workerd gone",
            "" if e["health_after"] == "HTTP 200" else f"/health after: {e['health_after']}",
        ]
        out.append(f"{r['crashes']} crashes ({', '.join(w for w in why if w)})")
    return out

"""Fuzzing the proxy from its own OpenAPI description, against a running proxy.

Three sources of requests, every answer checked the same way:

- schemathesis's cases from ``/openapi.json``: positive (bodies the description accepts) and
  negative (bodies it rejects), for every operation;
- hostile variants of valid requests, the classes of issue 12: lone surrogates (escaped and as
  bytes), invalid UTF-8, deep nesting, 5,000-digit integers, NaN and Infinity, 1 MB values,
  ``max_tokens`` beside ``max_completion_tokens``, odd HTTP methods, bad or missing tokens, bodies
  that are not JSON objects, chunked bodies, unknown paths.

Checks (``check_answer``): no 5xx; no traceback; every error body well formed in the shape of the
door called (OpenAI's error object; Anthropic's on ``/v1/messages``) with ``x-request-id``; and,
for a documented operation, schemathesis's conformance checks: status documented, content type,
headers and body (SSE events too) valid against the description. A request that fails (no
answer, a reset) is a crash.

The model field is drawn mostly from demo bots that answer (``FUZZ_MODELS``); the rest keep what
was generated (unknown ids: 404s). Demo bots that fail on purpose (``failing``, ``silent``) are
never picked: their 502/504 are the upstream's doing, not the client's.

Small runs are part of ``make test`` (tests/contract/test_fuzz.py). The long run::

    make fuzz                                     # 10,000 requests against the Worker in workerd
    .venv/bin/python -m tests.fuzz --requests 10000 --target workerd/openai --target asgi/bot
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import copy
import dataclasses
import functools
import json
import random
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import hypothesis
import hypothesis.errors
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import Case, GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi import checks as openapi_checks

from poe import __version__
from poe.openapi import ALIASES, document
from tests.support import ACCESS_TOKEN

DOC = document(__version__)
ANTHROPIC_PATHS = frozenset({"/v1/messages", "/v1/messages/count_tokens", "/messages", "/messages/count_tokens"})
# demo bots that answer; "failing" and "silent" fail on purpose (the upstream's 502/504, not the client's)
FUZZ_MODELS = ("echo", "thinker", "toolbot", "replacer", "refuser", "artist", "gpt-4o", "ECHO", "poe/echo", "claude-3.5-sonnet")
CONFORMANCE = [
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]
# a Python traceback, or a JavaScript stack ("at async Object.fetch (file:///...:5495:22)")
TRACEBACK = re.compile(
    rb'Traceback \(most recent call last\)|File "[^"\n]+", line \d+|\bat (?:async )?[\w.$<>]+ \([^)\n]*:\d+:\d+\)'
)
TIMEOUT = 30.0
SHOWN_HEADERS = ("authorization", "x-api-key", "content-type", "anthropic-version", "transfer-encoding")

# A valid body per door: the base of the hostile variants.
VALID: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {
        "model": "echo",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "stop": ["zz"],
        "logit_bias": {"50256": -1},
        "max_completion_tokens": 50,
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}}
        ],
    },
    "/v1/responses": {
        "model": "echo",
        "instructions": "Be brief.",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
        "tools": [{"type": "function", "name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}],
    },
    "/v1/messages": {
        "model": "echo",
        "max_tokens": 50,
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "stop_sequences": ["zz"],
        "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {}}}],
    },
    "/v1/messages/count_tokens": {"model": "echo", "messages": [{"role": "user", "content": "hi"}], "system": "Be brief."},
    "/v1/images/generations": {"model": "artist", "prompt": "a lighthouse", "size": "1024x1024"},
}
ODD_METHODS = ("PROPFIND", "PURGE", "MKCOL", "LOCK", "PUT", "PATCH", "DELETE", "TRACE", "FOO", "get", "Post")


# ---------------------------------------------------------------- findings


@dataclasses.dataclass
class Finding:
    """One distinct failure: what check, on what, and the first request that showed it."""

    check: str
    where: str
    status: int | None
    detail: str
    reproducer: str
    count: int = 0
    known: str | None = None  # the KNOWN_BUGS entry it matches


@dataclasses.dataclass
class Summary:
    target: str
    requests: int = 0
    seconds: float = 0.0
    statuses: collections.Counter[int] = dataclasses.field(default_factory=collections.Counter)
    sources: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    server_errors: int = 0
    tracebacks: int = 0
    crashes: int = 0
    findings: dict[tuple[str, str, int | None, str, str | None], Finding] = dataclasses.field(default_factory=dict)

    @property
    def failures(self) -> list[Finding]:
        """Distinct failures that are not known bugs."""
        return [f for f in self.findings.values() if f.known is None]

    @property
    def known(self) -> list[Finding]:
        return [f for f in self.findings.values() if f.known is not None]

    def _of_known(self, check: str) -> str:
        known = sum(f.count for f in self.known if f.check == check)
        return f" ({known} from known bugs)" if known else ""

    def report(self) -> str:
        rate = self.requests / self.seconds if self.seconds else 0.0
        statuses = ", ".join(f"{s} x{n}" for s, n in sorted(self.statuses.items()))
        lines = [
            f"fuzz {self.target}: {self.requests} requests in {self.seconds:.0f} s ({rate:.0f}/s); "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.sources.items())),
            f"  statuses: {statuses}",
            f"  5xx: {self.server_errors}{self._of_known('no_server_error')}, tracebacks: {self.tracebacks}"
            f"{self._of_known('no_traceback')}, crashes: {self.crashes}{self._of_known('no_crash')}, "
            f"distinct failures: {len(self.failures)}, known bugs seen: {len({f.known for f in self.known})}",
        ]
        for f in sorted(self.findings.values(), key=lambda f: (f.known is not None, f.check, f.where)):
            tag = f"KNOWN BUG ({f.known})" if f.known else "FAILURE"
            lines.append(f"  {tag}: {f.check} on {f.where} -> {f.status} (x{f.count}): {f.detail[:300]}")
            lines.append(f"    reproduce: {f.reproducer[:600]}")
        return "\n".join(lines)


# A known bug in src/ that the fuzz finds: (name, predicate over the request and the finding). Fuzz runs
# report a match as "known" instead of failing. Each entry is a BUG: remove it once src/ is fixed.
Request = dict[str, Any]  # method, path, headers, body (bytes)


def _anonymous(request: Request) -> bool:
    """Sent without a valid access token."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return headers.get("authorization") != f"Bearer {ACCESS_TOKEN}" and headers.get("x-api-key") != ACCESS_TOKEN


KNOWN_BUGS: list[tuple[str, Callable[[Request, Finding], bool]]] = []  # none open: fixed ones became tests (test_fuzz.py)
# Answers that come from the runtime in front of the Worker, not from the proxy: workerd refuses methods it does
# not know (e.g. FOO; PROPFIND and PURGE do reach the Worker) with its own 501 before any Worker code runs.
PLATFORM_ANSWERS = ((501, b"ERROR: Unrecognized request method."),)


# ---------------------------------------------------------------- checks


def _signature(text: str) -> str:
    """What makes two failures the same kind: the text without ids, numbers and quoted values."""
    text = re.sub(r"req_[0-9a-f]+|chatcmpl-\w+|msg_\w+|resp_\w+", "<id>", text)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "<q>", text)
    return re.sub(r"\d+", "N", text)[:120]


def door_of(path: str) -> str:
    return "anthropic" if path.rstrip("/") in ANTHROPIC_PATHS else "openai"


def error_shape_problem(door: str, body: bytes) -> str | None:
    """Why an error body is not the door's error object (None: it is)."""
    try:
        obj = json.loads(body)
    except ValueError:
        return f"the error body is not JSON: {body[:200]!r}"
    if door == "anthropic":
        ok = (
            isinstance(obj, dict)
            and obj.get("type") == "error"
            and set(obj) <= {"type", "error", "request_id"}
            and isinstance(obj.get("error"), dict)
            and set(obj["error"]) == {"type", "message"}
            and all(isinstance(obj["error"][k], str) and obj["error"][k] for k in ("type", "message"))
        )
        return None if ok else f"not Anthropic's error shape: {body[:300]!r}"
    err = obj.get("error") if isinstance(obj, dict) else None
    ok = (
        isinstance(obj, dict)
        and set(obj) == {"error"}
        and isinstance(err, dict)
        and set(err) == {"message", "type", "param", "code"}
        and isinstance(err["message"], str)
        and bool(err["message"])
        and isinstance(err["type"], str)
        and all(err[k] is None or isinstance(err[k], str) for k in ("param", "code"))
    )
    return None if ok else f"not OpenAI's error shape: {body[:300]!r}"


def check_answer(method: str, path: str, status: int, headers: Mapping[str, str], body: bytes) -> list[tuple[str, str]]:
    """The checks every answer passes, documented operation or not: (check, detail) per problem (headers lower-case)."""
    problems: list[tuple[str, str]] = []
    if status >= 500:
        problems.append(("no_server_error", f"HTTP {status}: {body[:300]!r}"))
    if TRACEBACK.search(body):
        problems.append(("no_traceback", f"HTTP {status}: {body[:500]!r}"))
    if "x-request-id" not in headers and status != 204:
        problems.append(("request_id", f"HTTP {status} without x-request-id: {body[:200]!r}"))
    if status >= 400 and method.upper() != "HEAD":
        ctype = headers.get("content-type", "")
        shape = error_shape_problem(door_of(path), body)
        if not ctype.startswith("application/json"):
            problems.append(("error_shape", f"HTTP {status} error as {ctype or 'no content type'}: {body[:200]!r}"))
        elif shape:
            problems.append(("error_shape", f"HTTP {status}: {shape}"))
    return problems


def plain_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    """Lower-case names, one value each (schemathesis keeps lists)."""
    return {k.lower(): str(v[0] if isinstance(v, list) and v else v) for k, v in headers.items()}


def curl(method: str, url: str, headers: dict[str, str], body: bytes | None) -> str:
    parts = [f"curl -X {method} '{url}'"]
    for k, v in headers.items():
        if k.lower() not in SHOWN_HEADERS:
            continue
        v = "Bearer $TOKEN" if k.lower() == "authorization" and v.endswith(ACCESS_TOKEN) else v
        v = "$TOKEN" if k.lower() == "x-api-key" and v == ACCESS_TOKEN else v
        parts.append(f"-H '{k}: {v}'")
    if body:
        shown = body if len(body) <= 400 else body[:200] + b"...(" + str(len(body)).encode() + b" bytes)..." + body[-100:]
        parts.append("--data-binary " + repr(shown)[1:])
    return " ".join(parts)


# ---------------------------------------------------------------- what the description rejects


def lenient(path: str, body: dict[str, Any]) -> bool:
    """Bodies the description rejects but a door's parser reads leniently on purpose."""
    path = "/v1" + path if not path.startswith("/v1") else path
    if path == "/v1/chat/completions":
        # `tool_choice: null` wins over `function_call`, and `tools` over `functions`, whatever the other holds
        return ("tool_choice" in body and body["tool_choice"] is None) or (body.get("tools") is not None and "functions" in body)
    if path.startswith("/v1/messages"):
        tools = body.get("tools")  # only server tools: `tool_choice` is not read (there is nothing to choose among)
        return (
            isinstance(tools, list)
            and bool(tools)
            and all(isinstance(t, dict) and t.get("type") not in (None, "custom") for t in tools)
        )
    return path == "/v1/images/generations" and not body.get("model")  # any empty `model` means dall-e-3


@functools.cache
def body_validator(method: str, path: str) -> Any:
    """A JSON Schema validator of the operation's request body (None: it takes none)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    body = DOC["paths"][path][method.lower()].get("requestBody")
    if body is None:
        return None
    registry = Registry().with_resource("urn:doc", Resource.from_contents(DOC, default_specification=DRAFT202012))
    ref = body["content"]["application/json"]["schema"]["$ref"].replace("#", "urn:doc#")
    return Draft202012Validator({"$ref": ref}, registry=registry)


def rejected_by_description(method: str, path: str, body: Any) -> str | None:
    """Why the description rejects a JSON body that no door reads leniently (then the answer must be a 4xx)."""
    from jsonschema.exceptions import best_match

    validator = body_validator(method, path)
    if validator is None or not isinstance(body, dict) or lenient(path, body):
        return None
    error = best_match(validator.iter_errors(body))
    return None if error is None else f"{'/'.join(map(str, error.absolute_path))}: {error.message[:200]}"


# ---------------------------------------------------------------- the plan


def _without_security(doc: dict[str, Any]) -> dict[str, Any]:
    """The description as the fuzzer generates from it: no security schemes, so the fuzzer sets the token
    itself (schemathesis would otherwise invent tokens, or drop ours in negative cases)."""
    out = json.loads(json.dumps(doc))
    out.pop("security", None)
    out["components"].pop("securitySchemes", None)
    for item in out["paths"].values():
        for op in item.values():
            op.pop("security", None)
    return out


SCHEMA = schemathesis.openapi.from_dict(_without_security(DOC))
OPERATIONS = {(op.method.upper(), op.path): op for op in (r.ok() for r in SCHEMA.get_all_operations())}


@dataclasses.dataclass(frozen=True)
class Item:
    """One request of a run: a schemathesis case's inputs (``op`` set), or a hostile request; ``seed`` decides
    the rest (model steering, token, the hostile variant), so every target of a run gets the same requests."""

    source: str  # "positive", "negative" or "hostile"
    seed: int
    op: tuple[str, str] | None = None
    inputs: dict[str, Any] | None = None


def draw(op: Any, mode: GenerationMode, n: int, seed: int) -> list[dict[str, Any]]:
    """The inputs of ``n`` schemathesis cases for ``op`` (fewer if the strategy runs dry)."""
    drawn: list[dict[str, Any]] = []

    @hypothesis.settings(
        max_examples=n, database=None, deadline=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck)
    )
    @hypothesis.seed(seed)
    @hypothesis.given(op.as_strategy(generation_mode=mode))
    def collect(case: Case) -> None:
        drawn.append(
            {
                "body": case.body,
                "path_parameters": dict(case.path_parameters or {}),
                "query": dict(case.query or {}),
                "headers": dict(case.headers or {}),
                "media_type": case.media_type,
            }
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.suppress(hypothesis.errors.Unsatisfiable):  # no negative case for an operation without inputs
            collect()
    return drawn[:n]


@functools.cache
def make_plan(total: int, seed: int) -> tuple[Item, ...]:
    """About ``total`` requests: 40% positive cases, 35% negative, the rest hostile; POSTs weigh 4, the rest 1."""
    rng = random.Random(seed)
    weights = {key: 1 if key[1] in ALIASES or key[0] != "POST" else 4 for key in OPERATIONS}
    plan: list[Item] = []
    for mode, share in ((GenerationMode.POSITIVE, 0.40), (GenerationMode.NEGATIVE, 0.35)):
        unit = total * share / sum(weights.values())
        for key, op in OPERATIONS.items():
            for inputs in draw(op, mode, max(1, round(unit * weights[key])), rng.randrange(2**32)):
                plan.append(Item(mode.value, rng.randrange(2**32), key, inputs))
    plan.extend(Item("hostile", rng.randrange(2**32)) for _ in range(max(0, total - len(plan))))
    rng.shuffle(plan)
    return tuple(plan)


# ---------------------------------------------------------------- the run


class Fuzzer:
    def __init__(self, base_url: str, target: str, *, token: str = ACCESS_TOKEN) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.summary = Summary(target)
        self.session = requests.Session()
        self._anonymous_body = 0  # requests since a POST with a body and no valid token (for KNOWN_BUGS), counting down

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------ recording

    def _record(self, check: str, where: str, status: int | None, detail: str, request: Request) -> None:
        known = next((name for name, matches in KNOWN_BUGS if matches(request, Finding(check, where, status, detail, ""))), None)
        key = (check, where, status, _signature(detail), known)
        if key not in self.summary.findings:
            url = self.base_url + request["path"]
            reproducer = curl(request["method"], url, request["headers"], request["body"])
            self.summary.findings[key] = Finding(check, where, status, detail, reproducer, known=known)
        self.summary.findings[key].count += 1

    def _answered(self, source: str, request: Request, response: Any, where: str, error: str = "") -> None:
        request["after_anonymous_body"] = self._anonymous_body > 0  # for KNOWN_BUGS
        body = request["body"]
        self._anonymous_body = 2 if body and request["method"] == "POST" and _anonymous(request) else self._anonymous_body - 1
        s = self.summary
        s.requests += 1
        s.sources[source] += 1
        request["answer"] = error.encode() if response is None else response.content[:300]
        if response is None:
            s.crashes += 1
            self._record("no_crash", where, None, error, request)
            return
        s.statuses[response.status_code] += 1
        if (response.status_code, response.content) in PLATFORM_ANSWERS:
            s.sources["platform answers"] += 1
            return
        headers = plain_headers(response.headers)
        for check, detail in check_answer(request["method"], request["path"], response.status_code, headers, response.content):
            s.server_errors += check == "no_server_error"
            s.tracebacks += check == "no_traceback"
            self._record(check, where, response.status_code, detail, request)

    def _conform(self, case: Case, response: Any, where: str, request: Request) -> None:
        try:
            case.validate_response(response, checks=CONFORMANCE)
        except FailureGroup as group:
            for failure in group.exceptions:
                detail = f"{failure.title}: {failure.message}"
                self._record(f"conformance:{type(failure).__name__}", where, response.status_code, detail, request)
        except Exception as exc:
            self._record("conformance:crashed", where, response.status_code, f"{type(exc).__name__}: {exc}", request)

    # ------------------------------------------------ schemathesis's cases

    def _case(self, item: Item, rng: random.Random) -> Case:
        """The item's case, the model mostly a demo bot that answers, the path's id mostly one that exists."""
        assert item.op is not None and item.inputs is not None
        op = OPERATIONS[item.op]
        inputs = {**item.inputs, **copy.deepcopy({k: v for k, v in item.inputs.items() if v is not NOT_SET})}
        body = inputs["body"]
        images = op.path.endswith("generations")
        if (
            isinstance(body, dict)
            and (isinstance(body.get("model"), str) or ("model" not in body and images))
            and rng.random() < 0.85
        ):
            body["model"] = "artist" if images else rng.choice(FUZZ_MODELS)  # a text bot's answer has no image: a 502
        params = inputs["path_parameters"]
        if "model" in params and rng.random() < 0.5:
            params["model"] = rng.choice(FUZZ_MODELS)
        return op.Case(
            body=body, path_parameters=params, query=inputs["query"], headers=inputs["headers"], media_type=inputs["media_type"]
        )

    def _auth(self, path: str, rng: random.Random) -> dict[str, str]:
        roll = rng.random()
        if roll < 0.03:
            return {}
        if roll < 0.06:
            return {"authorization": "Bearer sk-not-a-token"}
        if door_of(path) == "anthropic" and roll < 0.5:
            return {"x-api-key": self.token, "anthropic-version": "2023-06-01"}
        return {"authorization": f"Bearer {self.token}"}

    def send_case(self, item: Item) -> None:
        rng = random.Random(item.seed)
        case = self._case(item, rng)
        headers = self._auth(case.operation.path, rng)
        where = f"{case.operation.method.upper()} {case.operation.path}"
        try:
            response = case.call(base_url=self.base_url, session=self.session, headers=headers, timeout=TIMEOUT)
        except Exception as exc:
            request: Request = {"method": case.method.upper(), "path": case.formatted_path, "headers": headers, "body": None}
            with contextlib.suppress(Exception):
                request["body"] = json.dumps(case.body).encode()
            self._answered(item.source, request, None, where, f"{type(exc).__name__}: {exc}"[:300])
            return
        sent = response.request
        body = sent.body.encode() if isinstance(sent.body, str) else sent.body
        request = {
            "method": str(sent.method),
            "path": str(sent.url)[len(self.base_url) :],
            "headers": dict(sent.headers),
            "body": body,
        }
        self._answered(item.source, request, response, where)
        self._conform(case, response, where, request)
        status = response.status_code
        why = rejected_by_description(case.operation.method, case.operation.path, case.body) if status < 400 else None
        if why:
            detail = f"HTTP {status} for a body the description rejects ({why}): {json.dumps(case.body, default=str)[:300]}"
            self._record("rejects_invalid", where, status, detail, request)

    # ------------------------------------------------ hostile requests

    def send_hostile(self, item: Item) -> None:
        kind, method, path, body, headers = hostile(random.Random(item.seed), self.token)
        shown = body if isinstance(body, bytes) or body is None else b"<chunked>"
        request: Request = {"method": method, "path": path, "headers": headers, "body": shown}
        where = f"{method} {path[:80]}"
        source = f"hostile:{kind}"
        try:
            response = self.session.request(method, self.base_url + path, data=body, headers=headers, timeout=TIMEOUT)
        except Exception as exc:
            self._answered(source, request, None, where, f"{type(exc).__name__}: {exc}"[:300])
            return
        self._answered(source, request, response, where)
        if kind in MUST_REJECT and response.status_code < 400 and method not in ("get", "Post"):  # lenient on case only
            self._record(
                "rejects_invalid", where, response.status_code, f"HTTP {response.status_code} for a {kind} request", request
            )
        op = OPERATIONS.get((method, path))
        if op is not None:
            self._conform(op.Case(media_type="application/json"), response, where, request)

    def isolate_check(self, logs: str, running: bool) -> None:
        """workerd: the isolate never went down (a fatal error or a stack overflow is logged) and wrangler runs on."""
        fatal = re.findall(r".*(?:Fatal|isolate.*(?:abort|terminat)|Maximum call stack).*", logs)
        nothing: Request = {"method": "-", "path": "", "headers": {}, "body": None}
        if fatal:
            self.summary.crashes += len(fatal)
            self._record("isolate", "workerd log", None, fatal[0][:300], nothing)
        if not running:
            self.summary.crashes += 1
            self._record("isolate", "wrangler dev", None, "wrangler dev exited", nothing)

    # ------------------------------------------------ driving

    def run(self, plan: tuple[Item, ...], progress: Callable[[str], None] | None = None) -> Summary:
        started = time.monotonic()
        for i, item in enumerate(plan):
            if item.op is not None:
                self.send_case(item)
            else:
                self.send_hostile(item)
            if progress and (i + 1) % 500 == 0:
                s = self.summary
                progress(f"  {i + 1}/{len(plan)} requests, {s.server_errors} 5xx, {len(s.failures)} distinct failures")
        self.summary.seconds = time.monotonic() - started
        return self.summary


def hostile(rng: random.Random, token: str) -> tuple[str, str, str, bytes | Iterator[bytes] | None, dict[str, str]]:
    """(kind, method, path, body, headers) of one hostile request: a valid one, spoilt one of HOSTILE_KINDS' ways."""
    path = rng.choice(list(VALID))
    body = json.loads(json.dumps(VALID[path]))
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}

    def with_raw(field: str, raw_value: str) -> bytes:
        rest = json.dumps({k: v for k, v in body.items() if k != field})
        return (rest[:-1] + f', "{field}": {raw_value}}}').encode()

    kind = rng.choice(HOSTILE_KINDS)
    if kind == "surrogate_escape":  # "\ud800" as a JSON escape in some string
        _set_random_string(body, rng, lambda s: s[: rng.randrange(len(s) + 1)] + rng.choice(("\ud800", "\udfff", "\udbff\ud7ff")))
        return kind, "POST", path, json.dumps(body).encode(), headers
    if kind == "surrogate_key":
        body["logit_bias" if "chat" in path else "metadata"] = {"\ud800": 1}
        return kind, "POST", path, json.dumps(body).encode(), headers
    if kind in ("surrogate_bytes", "invalid_utf8"):
        marker = "\u2603MARK\u2603"
        _set_random_string(body, rng, lambda s: s + marker)
        bad = b"\xed\xa0\x80" if kind == "surrogate_bytes" else rng.choice((b"\xff", b"\xc3", b"\x80abc", b"\xf4\x90\x80\x80"))
        return kind, "POST", path, json.dumps(body, ensure_ascii=False).encode().replace(marker.encode(), bad), headers
    if kind == "deep_nesting":
        depth = rng.choice((64, 500, 5_000, 50_000, 200_000))
        opener, closer = rng.choice((("[", "]"), ('{"a":', "}")))
        field = rng.choice(("messages", "input", "x_unknown", "tools", "metadata", "prompt"))
        return kind, "POST", path, with_raw(field, opener * depth + "1" + closer * depth), headers
    if kind == "huge_integer":
        field = rng.choice(("max_tokens", "max_completion_tokens", "temperature", "seed", "top_k", "n", "max_output_tokens"))
        return kind, "POST", path, with_raw(field, rng.choice(("", "-")) + "9" * rng.choice((20, 400, 5_000, 50_000))), headers
    if kind == "not_a_number":
        field = rng.choice(("temperature", "top_p", "max_tokens", "presence_penalty"))
        return kind, "POST", path, with_raw(field, rng.choice(("NaN", "Infinity", "-Infinity"))), headers
    if kind == "big_value":
        big = "x" * rng.choice((100_000, 1_000_000))
        field = rng.choice(("model", "stop", "temperature", "role"))
        if field == "role" and isinstance(body.get("messages"), list):
            body["messages"][0]["role"] = big
        else:
            body[field] = big
        return kind, "POST", path, json.dumps(body).encode(), headers
    if kind == "max_tokens_pair":  # issue 12, class 4: max_tokens unchecked beside max_completion_tokens
        path = "/v1/chat/completions"
        body = {**VALID[path], "max_completion_tokens": rng.choice((5, None))}
        body["max_tokens"] = rng.choice(("ten", {}, [], 0, -(10**30), True, 1.5))
        return kind, "POST", path, json.dumps(body).encode(), headers
    if kind == "odd_method":
        method = rng.choice(ODD_METHODS)
        target = rng.choice((*VALID, "/v1/models", "/health", "/", "/openapi.json", "/v1/nowhere", "/v1/models/echo"))
        return kind, method, target, json.dumps(body).encode() if rng.random() < 0.5 else None, headers
    if kind == "bad_token":
        bad_headers = rng.choice(
            (
                {},
                {"authorization": "Bearer"},
                {"authorization": "Bearer sk-wrong"},
                {"authorization": "Basic " + token},
                {"x-api-key": "sk-wrong"},
                {"authorization": f"Bearer {token}\u00e9"},
            )
        )
        return kind, "POST", path, json.dumps(body).encode(), {**bad_headers, "content-type": "application/json"}
    if kind == "not_an_object":
        raw = rng.choice(
            (b"", b"null", b"[]", b'"text"', b"42", b"{", b'{"model": "echo",}', b"\x00\x01", b"{}" * 1000, b" " * 10)
        )
        return kind, "POST", path, raw, headers
    if kind == "chunked":  # no Content-Length
        data = json.dumps(body).encode()
        return kind, "POST", path, iter([data[:10], data[10:]]), {"authorization": headers["authorization"]}
    if kind == "many_values":
        count = rng.choice((1_000, 20_000))
        if path == "/v1/messages" or path == "/v1/messages/count_tokens":
            body["messages"] = [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}] * (count // 2) + body[
                "messages"
            ]
        elif "messages" in body:
            body["messages"] = [{"role": "user", "content": "x"}] * count
        elif "input" in body:
            body["input"] = [{"role": "user", "content": "x"}] * count
        else:
            body["prompt"] = "x " * count
        return kind, "POST", path, json.dumps(body).encode(), headers
    if kind == "anonymous_big_body":  # a body to read, and no valid token to read it for
        body["padding"] = "x" * rng.choice((20_000, 200_000, 2_000_000))
        token_headers = rng.choice(({}, {"authorization": "Bearer sk-wrong"}, {"x-api-key": "sk-wrong"}))
        return kind, "POST", path, json.dumps(body).encode(), {**token_headers, "content-type": "application/json"}
    target = rng.choice(("/v1/completions", "/v1/embeddings", "/v1/../health", "/%00", "/v1/models/" + "a" * 5000, "/v2/chat"))
    return "unknown_path", rng.choice(("GET", "POST")), target, json.dumps(body).encode(), headers


# Hostile requests that are always a client's mistake: a 4xx, never an answer.
MUST_REJECT = frozenset(
    {"surrogate_bytes", "invalid_utf8", "not_a_number", "max_tokens_pair", "odd_method", "bad_token", "not_an_object"}
)
HOSTILE_KINDS = (
    "surrogate_escape",
    "surrogate_key",
    "surrogate_bytes",
    "invalid_utf8",
    "deep_nesting",
    "huge_integer",
    "not_a_number",
    "big_value",
    "max_tokens_pair",
    "odd_method",
    "bad_token",
    "not_an_object",
    "chunked",
    "many_values",
    "unknown_path",
    "anonymous_big_body",
)


def _set_random_string(obj: Any, rng: random.Random, change: Callable[[str], str]) -> None:
    """Change one string value somewhere in ``obj`` (in place)."""
    slots: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if isinstance(value, str):
                slots.append((node, key))
            else:
                walk(value)

    walk(obj)
    node, key = rng.choice(slots)
    node[key] = change(node[key])


# ---------------------------------------------------------------- the command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=10_000, help="requests per target (default 10000)")
    parser.add_argument(
        "--target", action="append", help="asgi/openai, asgi/bot, workerd/openai, workerd/bot (default workerd/openai)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--url", help="fuzz a proxy that is already running (its token in --token) instead of starting one")
    parser.add_argument("--token", default=ACCESS_TOKEN)
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    started = time.monotonic()
    plan = make_plan(args.requests, args.seed)
    say(f"{len(plan)} requests drawn in {time.monotonic() - started:.0f} s (seed {args.seed})")
    summaries: list[Summary] = []
    if args.url:
        fuzzer = Fuzzer(args.url, args.url, token=args.token)
        summaries.append(fuzzer.run(plan, say))
        fuzzer.close()
    else:
        with _proxies() as proxies:
            for target in args.target or ["workerd/openai"]:
                proxy = proxies.get(target)
                say(f"fuzzing {target} at {proxy.url}")
                fuzzer = Fuzzer(proxy.url, target)
                summary = fuzzer.run(plan, say)
                summaries.append(summary)
                if proxy.worker is not None:
                    fuzzer.isolate_check(proxy.worker.logs(), proxy.worker.proc is not None and proxy.worker.proc.poll() is None)
    for summary in summaries:
        print(summary.report())
    return 1 if any(s.failures for s in summaries) else 0


@contextlib.contextmanager
def _proxies() -> Iterator[Any]:
    import tempfile
    from pathlib import Path

    from tests.conftest import ProxyFactory
    from tests.support import upstream_server

    with upstream_server() as upstream, tempfile.TemporaryDirectory(prefix="poe-fuzz-") as tmp:
        factory = ProxyFactory(upstream, Path(tmp))
        try:
            yield factory
        finally:
            factory.close()


if __name__ == "__main__":
    sys.exit(main())

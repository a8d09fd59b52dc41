"""The real command-line clients (Claude Code, Codex CLI) run offline against a local base URL.

- ``claude_command``/``claude_env`` and ``codex_command``/``codex_env``: how to run each CLI
  non-interactively, with a throw-away home, no telemetry, no auto-update, no login, and no
  network beyond the base URL (see tests/fixtures/clients/README.md for what they send).
- ``Recorder``: a stdlib HTTP server that answers ``POST /v1/messages`` (Anthropic Messages,
  streamed or not), ``/v1/messages/count_tokens`` and ``POST /v1/responses`` (OpenAI Responses,
  streamed or not) with "hello from recorder", and records every request it gets (secrets
  redacted).

``python -m tests.support_clients record`` runs both CLIs against a Recorder and rewrites the
reference request fixtures in tests/fixtures/clients/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "clients"
# the CLIs are their own npm project (tests/clients/package.json), installed by scripts/test.sh
CLIENTS = ROOT / "tests" / "clients" / "node_modules"
NODE_BIN = CLIENTS / ".bin"

ANSWER = "hello from recorder"
DEAD_PROXY = "http://127.0.0.1:9"  # discard port: nothing listens
SECRET_HEADERS = {"authorization", "x-api-key", "api-key", "proxy-authorization", "cookie", "chatgpt-account-id"}

Json = dict[str, Any]


# ---------------------------------------------------------------- the CLIs


def claude_command() -> list[str] | None:
    """Claude Code's native binary (npm @anthropic-ai/claude-code), or None when not installed.

    The wrapper's postinstall copies the platform binary over ``bin/claude.exe``; if install
    scripts were skipped the platform package's own binary is used.
    """
    wrapper = CLIENTS / "@anthropic-ai" / "claude-code"
    for platform in ("linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64", "linux-x64-musl", "linux-arm64-musl"):
        native = CLIENTS / "@anthropic-ai" / f"claude-code-{platform}" / "claude"
        if native.exists():
            return [str(native)]
    exe = wrapper / "bin" / "claude.exe"
    if exe.exists() and exe.stat().st_size > 1_000_000:
        return [str(exe)]
    return None


def codex_command() -> list[str] | None:
    """Codex CLI (npm @openai/codex: a Node launcher for the platform's native binary), or None."""
    launcher = NODE_BIN / "codex"
    if not launcher.exists() or not shutil.which("node"):
        return None
    vendor = CLIENTS / "@openai"
    if not any(vendor.glob("codex-*/vendor/*/bin/codex")):
        return None
    return [str(launcher)]


def _base_env(home: Path, outside_proxy: str = DEAD_PROXY) -> dict[str, str]:
    """A minimal environment: the caller's PATH and locale, everything else from a throw-away HOME.

    Requests to anything but 127.0.0.1/localhost go to ``outside_proxy``: by default a closed port,
    so they fail at once (no DNS, no leak out of CI); a Recorder there records them (CONNECT).
    """
    keep = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        NO_COLOR="1",
        TERM="dumb",
        CI="1",
        HTTP_PROXY=outside_proxy,
        HTTPS_PROXY=outside_proxy,
        ALL_PROXY=outside_proxy,
        http_proxy=outside_proxy,
        https_proxy=outside_proxy,
        all_proxy=outside_proxy,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


def claude_env(
    home: Path, base_url: str, api_key: str, model: str, *, bearer: bool = False, outside_proxy: str = DEAD_PROXY
) -> dict[str, str]:
    """Claude Code in print mode against ``base_url`` (no /v1: it appends /v1/messages itself).

    The key goes out as ``x-api-key`` (ANTHROPIC_API_KEY), or with ``bearer`` as
    ``Authorization: Bearer`` (ANTHROPIC_AUTH_TOKEN); with both set it sends both headers.
    """
    env = _base_env(home, outside_proxy)
    env["ANTHROPIC_AUTH_TOKEN" if bearer else "ANTHROPIC_API_KEY"] = api_key
    env.update(
        ANTHROPIC_BASE_URL=base_url,
        CLAUDE_CONFIG_DIR=str(home / ".claude"),
        # every model Claude Code might pick (main loop, the small/fast one, sub-agents) is this one
        ANTHROPIC_MODEL=model,
        ANTHROPIC_DEFAULT_OPUS_MODEL=model,
        ANTHROPIC_DEFAULT_SONNET_MODEL=model,
        ANTHROPIC_DEFAULT_HAIKU_MODEL=model,
        ANTHROPIC_SMALL_FAST_MODEL=model,
        CLAUDE_CODE_SUBAGENT_MODEL=model,
        # no telemetry, error reporting, feature flags, auto-update, model catalogue, surveys
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_TELEMETRY="1",
        DISABLE_ERROR_REPORTING="1",
        DISABLE_AUTOUPDATER="1",
        DISABLE_UPDATES="1",
        DISABLE_GROWTHBOOK="1",
        DISABLE_BUG_COMMAND="1",
        DISABLE_FEEDBACK_COMMAND="1",
        DISABLE_LOGIN_COMMAND="1",
        CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY="1",
        CLAUDE_CODE_DISABLE_TERMINAL_TITLE="1",
        CLAUDE_CODE_DISABLE_FEATURE_FLAGS="1",
        CLAUDE_CODE_ENABLE_TELEMETRY="0",
        CLAUDE_CODE_MAX_RETRIES="0",
    )
    return env


def claude_args(prompt: str, model: str) -> list[str]:
    return ["-p", prompt, "--model", model, "--output-format", "text", "--no-session-persistence"]


def codex_env(home: Path, api_key: str, outside_proxy: str = DEAD_PROXY) -> dict[str, str]:
    env = _base_env(home, outside_proxy)
    env.update(CODEX_HOME=str(home / ".codex"), POE_PROXY_API_KEY=api_key, RUST_LOG="error")
    return env


def write_codex_config(codex_home: Path, base_url: str, model: str) -> Path:
    """A config.toml for a ``poe`` provider speaking the Responses API at ``base_url`` (with /v1)."""
    codex_home.mkdir(parents=True, exist_ok=True)
    config = codex_home / "config.toml"
    config.write_text(
        f"""\
model = "{model}"
model_provider = "poe"
approval_policy = "never"
sandbox_mode = "read-only"
check_for_update_on_startup = false

[model_providers.poe]
name = "Poe Proxy"
base_url = "{base_url}"
env_key = "POE_PROXY_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
stream_idle_timeout_ms = 60000

[analytics]
enabled = false

[feedback]
enabled = false

[otel]
exporter = "none"
trace_exporter = "none"
metrics_exporter = "none"

[history]
persistence = "none"

[features]
plugins = false  # else it looks up github.com and chatgpt.com (plugin marketplace sync)
"""
    )
    return config


def codex_args(prompt: str, workdir: Path) -> list[str]:
    return [
        "exec",
        "--skip-git-repo-check",
        "--ephemeral",
        "--color",
        "never",
        "--sandbox",
        "read-only",
        "--cd",
        str(workdir),
        prompt,
    ]


def run_claude(
    home: Path,
    workdir: Path,
    base_url: str,
    api_key: str,
    model: str,
    prompt: str,
    timeout: float = 120,
    *,
    bearer: bool = False,
    outside_proxy: str = DEAD_PROXY,
) -> subprocess.CompletedProcess[str]:
    """``claude -p prompt`` against ``base_url`` (no /v1), in ``workdir`` with ``home`` as HOME."""
    cmd = claude_command()
    assert cmd, "Claude Code is not installed (npm ci in tests/clients)"
    return subprocess.run(
        [*cmd, *claude_args(prompt, model)],
        env=claude_env(home, base_url, api_key, model, bearer=bearer, outside_proxy=outside_proxy),
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_codex(
    home: Path,
    workdir: Path,
    base_url: str,
    api_key: str,
    model: str,
    prompt: str,
    timeout: float = 120,
    *,
    outside_proxy: str = DEAD_PROXY,
) -> subprocess.CompletedProcess[str]:
    """``codex exec prompt`` against ``base_url`` (with /v1), in ``workdir`` with ``home`` as HOME."""
    cmd = codex_command()
    assert cmd, "Codex CLI is not installed (npm ci in tests/clients)"
    write_codex_config(home / ".codex", base_url, model)
    return subprocess.run(
        [*cmd, *codex_args(prompt, workdir)],
        env=codex_env(home, api_key, outside_proxy),
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ---------------------------------------------------------------- the recording server


def _sse(event: str | None, data: Json) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


def anthropic_blocks(text: str = ANSWER, tool_call: Json | None = None) -> list[Json]:
    """An answer's content: the text, or (``tool_call``: ``{"name", "input"}``) a signed thinking block
    and a tool_use block."""
    if tool_call is None:
        return [{"type": "text", "text": text}]
    return [
        {"type": "thinking", "thinking": "I should use the tool.", "signature": "sig-recorder-0001"},
        {"type": "tool_use", "id": "toolu_recorder_0001", "name": tool_call["name"], "input": tool_call["input"]},
    ]


def anthropic_message(model: str, blocks: list[Json]) -> Json:
    return {
        "id": "msg_" + uuid.uuid4().hex[:24],
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": "tool_use" if blocks[-1]["type"] == "tool_use" else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 4},
    }


def anthropic_stream(model: str, blocks: list[Json], omit: frozenset[str] = frozenset()) -> Iterator[bytes]:
    """The event sequence Anthropic sends for ``blocks``; ``omit`` drops event types."""
    msg = anthropic_message(model, blocks)
    start = {**msg, "content": [], "stop_reason": None, "usage": {**msg["usage"], "output_tokens": 1}}

    def ev(kind: str, **fields: Any) -> bytes:
        return b"" if kind in omit else _sse(kind, {"type": kind, **fields})

    yield ev("message_start", message=start)
    yield ev("ping")
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            yield ev("content_block_start", index=index, content_block={"type": "text", "text": ""})
            for piece in (block["text"][:5], block["text"][5:]):
                yield ev("content_block_delta", index=index, delta={"type": "text_delta", "text": piece})
        elif block["type"] == "thinking":
            yield ev("content_block_start", index=index, content_block={"type": "thinking", "thinking": "", "signature": ""})
            yield ev("content_block_delta", index=index, delta={"type": "thinking_delta", "thinking": block["thinking"]})
            yield ev("content_block_delta", index=index, delta={"type": "signature_delta", "signature": block["signature"]})
        elif block["type"] == "tool_use":
            yield ev("content_block_start", index=index, content_block={**block, "input": {}})
            args = json.dumps(block["input"])
            for piece in (args[:7], args[7:]):
                yield ev("content_block_delta", index=index, delta={"type": "input_json_delta", "partial_json": piece})
        yield ev("content_block_stop", index=index)
    yield ev("message_delta", delta={"stop_reason": msg["stop_reason"], "stop_sequence": None}, usage={"output_tokens": 4})
    yield ev("message_stop")


def responses_items(text: str = ANSWER, tool_call: Json | None = None) -> list[Json]:
    """An answer's output items: a message, or (``tool_call``: ``{"name", "arguments"}`` for a function
    tool, ``{"name", "input"}`` for a custom one) a reasoning item and the call."""
    if tool_call is None:
        return [
            {
                "id": "msg_" + uuid.uuid4().hex,
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
            }
        ]
    reasoning = {
        "id": "rs_" + uuid.uuid4().hex,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "**Using the tool**"}],
        "encrypted_content": "enc-recorder-0001",
    }
    if "input" in tool_call:
        call = {
            "id": "ctc_" + uuid.uuid4().hex,
            "type": "custom_tool_call",
            "status": "completed",
            "call_id": "call_recorder_0001",
            "name": tool_call["name"],
            "input": tool_call["input"],
        }
    else:
        call = {
            "id": "fc_" + uuid.uuid4().hex,
            "type": "function_call",
            "status": "completed",
            "call_id": "call_recorder_0001",
            "name": tool_call["name"],
            "arguments": json.dumps(tool_call["arguments"]),
        }
    return [reasoning, call]


def responses_object(model: str, items: list[Json], *, status: str = "completed", body: Json | None = None) -> Json:
    body = body or {}
    return {
        "id": "resp_" + uuid.uuid4().hex,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": None,
        "model": model,
        "output": items if status == "completed" else [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": None,
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "store": body.get("store", False),
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": (
            {
                "input_tokens": 12,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 4,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 16,
            }
            if status == "completed"
            else None
        ),
        "metadata": {},
    }


def responses_stream(
    model: str, items: list[Json], body: Json | None = None, omit: frozenset[str] = frozenset()
) -> Iterator[bytes]:
    """The event sequence OpenAI sends for ``items``; ``omit`` drops event types."""
    done = responses_object(model, items, body=body)
    start = {**done, "status": "in_progress", "output": [], "usage": None}
    seq = 0

    def ev(kind: str, **fields: Any) -> bytes:
        nonlocal seq
        seq += 1
        return b"" if kind in omit else _sse(kind, {"type": kind, "sequence_number": seq, **fields})

    yield ev("response.created", response=start)
    yield ev("response.in_progress", response=start)
    for n, item in enumerate(items):
        at = {"item_id": item["id"], "output_index": n}
        if item["type"] == "message":
            yield ev("response.output_item.added", output_index=n, item={**item, "status": "in_progress", "content": []})
            text = item["content"][0]["text"]
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            yield ev("response.content_part.added", **at, content_index=0, part=part)
            for piece in (text[:5], text[5:]):
                yield ev("response.output_text.delta", **at, content_index=0, delta=piece, logprobs=[])
            yield ev("response.output_text.done", **at, content_index=0, text=text, logprobs=[])
            yield ev("response.content_part.done", **at, content_index=0, part={**part, "text": text})
        elif item["type"] == "reasoning":
            yield ev("response.output_item.added", output_index=n, item={**item, "summary": []})
            summary = item["summary"][0]["text"]
            yield ev("response.reasoning_summary_part.added", **at, summary_index=0, part={"type": "summary_text", "text": ""})
            yield ev("response.reasoning_summary_text.delta", **at, summary_index=0, delta=summary)
            yield ev("response.reasoning_summary_text.done", **at, summary_index=0, text=summary)
            yield ev("response.reasoning_summary_part.done", **at, summary_index=0, part=item["summary"][0])
        elif item["type"] == "function_call":
            yield ev("response.output_item.added", output_index=n, item={**item, "status": "in_progress", "arguments": ""})
            yield ev("response.function_call_arguments.delta", **at, delta=item["arguments"])
            yield ev("response.function_call_arguments.done", **at, arguments=item["arguments"])
        elif item["type"] == "custom_tool_call":
            yield ev("response.output_item.added", output_index=n, item={**item, "status": "in_progress", "input": ""})
            yield ev("response.custom_tool_call_input.delta", **at, delta=item["input"])
            yield ev("response.custom_tool_call_input.done", **at, input=item["input"])
        yield ev("response.output_item.done", output_index=n, item=item)
    yield ev("response.completed", response=done)


def _has_tool_result(body: Json) -> bool:
    """Whether the conversation already holds a tool result (then the scripted tool round is over)."""
    for msg in body.get("messages") or []:
        if isinstance(msg.get("content"), list) and any(b.get("type") == "tool_result" for b in msg["content"]):
            return True
    kinds = {"function_call_output", "custom_tool_call_output"}
    return any(isinstance(item, dict) and item.get("type") in kinds for item in body.get("input") or [])


def redact_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        value = "[redacted]" if key in SECRET_HEADERS else value
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


class _Handler(BaseHTTPRequestHandler):
    server: Recorder
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _record(self) -> tuple[Json, Any]:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not length and self.headers.get("transfer-encoding", "").lower() == "chunked":
            raw = self._read_chunked()
        body: Any
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = {"_raw": raw[:4000].decode(errors="replace")}
        parts = urlsplit(self.path)
        entry = {
            "method": self.command,
            "path": self.path if self.command == "CONNECT" else parts.path,  # CONNECT host:port
            "query": dict(parse_qsl(parts.query, keep_blank_values=True)),
            "headers": redact_headers(list(self.headers.items())),
            "body": body,
        }
        with self.server.lock:
            self.server.requests.append(entry)
        return entry, body

    def _read_chunked(self) -> bytes:
        out = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if not size:
                self.rfile.readline()
                return out
            out += self.rfile.read(size)
            self.rfile.readline()

    def _json(self, status: int, obj: Json) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _stream(self, frames: Iterator[bytes]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        for frame in frames:
            if frame:
                self.wfile.write(frame)
                self.wfile.flush()
        self.close_connection = True

    def _dispatch(self) -> None:
        entry, body = self._record()
        path = entry["path"].rstrip("/")
        body = body if isinstance(body, dict) else {}
        model = str(body.get("model") or "recorder-model")
        if self.command == "POST" and self.server.fail:
            self._json(*self.server.fail)
        elif self.command == "POST" and path.endswith("/messages/count_tokens"):
            self._json(200, {"input_tokens": 42})
        elif self.command == "POST" and path.endswith("/messages"):
            tool = self.server.anthropic_tool_call if not _has_tool_result(body) else None
            blocks = anthropic_blocks(self.server.answer, tool)
            if body.get("stream"):
                self._stream(anthropic_stream(model, blocks, self.server.omit_events))
            else:
                self._json(200, anthropic_message(model, blocks))
        elif self.command == "POST" and path.endswith("/responses"):
            tool = self.server.responses_tool_call if not _has_tool_result(body) else None
            items = responses_items(self.server.answer, tool)
            if body.get("stream"):
                self._stream(responses_stream(model, items, body, self.server.omit_events))
            else:
                self._json(200, responses_object(model, items, body=body))
        else:
            error = {"type": "error", "error": {"type": "not_found_error", "message": f"no route {self.command} {path}"}}
            self._json(404, error)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def do_CONNECT(self) -> None:  # a proxied HTTPS attempt: recorded, refused
        self._record()
        self._json(403, {"error": "offline"})


class Recorder(ThreadingHTTPServer):
    """Answers the Anthropic Messages and OpenAI Responses endpoints; records every request."""

    daemon_threads = True

    def __init__(
        self, answer: str = ANSWER, omit_events: frozenset[str] = frozenset(), fail: tuple[int, Json] | None = None
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.omit_events = omit_events  # stream event types left out
        self.fail = fail  # (status, JSON body) for every POST instead of an answer
        # a scripted tool round: the first answer calls this tool, the one after its result is the text
        self.anthropic_tool_call: Json | None = None  # {"name": ..., "input": {...}}
        self.responses_tool_call: Json | None = None  # {"name": ..., "arguments": {...}} or {"name": ..., "input": "..."}
        self.requests: list[Json] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up is no news
            super().handle_error(request, client_address)

    def __enter__(self) -> Recorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


# ---------------------------------------------------------------- fixtures


def sanitise(obj: Any, replacements: dict[str, str]) -> Any:
    """Temp paths replaced by stable placeholders, recursively (keys too)."""
    if isinstance(obj, str):
        for old, new in replacements.items():
            obj = obj.replace(old, new)
        return obj
    if isinstance(obj, list):
        return [sanitise(v, replacements) for v in obj]
    if isinstance(obj, dict):
        return {sanitise(k, replacements): sanitise(v, replacements) for k, v in obj.items()}
    return obj


# name -> (CLI, model, prompt, tool call for the scripted round or None). "echo" stands for any id
# the CLI does not know (a Poe bot name): both CLIs then fall back to generic model settings.
CLAUDE_SCENARIOS: dict[str, tuple[str, str, Json | None]] = {
    "default_model": ("", "Say hello.", None),  # no --model, no ANTHROPIC_MODEL: Claude Code's own default
    "claude-sonnet-4-5": ("claude-sonnet-4-5", "Say hello.", None),
    "custom_model": ("echo", "Say hello.", None),
    "tool_round": (
        "claude-sonnet-4-6",
        "Read note.txt and tell me what it says.",
        {"name": "Read", "input": {"file_path": "{work}/note.txt"}},
    ),
}
CODEX_SCENARIOS: dict[str, tuple[str, str, Json | None]] = {
    "known_model": ("gpt-5.5", "Say hello.", None),
    "custom_model": ("echo", "Say hello.", None),
    "tool_round": ("gpt-5.5", "What does note.txt say?", {"name": "exec_command", "arguments": {"cmd": "cat note.txt"}}),
    "custom_tool_round": (
        "gpt-5.5",
        "Add a line to note.txt.",
        {
            "name": "apply_patch",
            "input": "*** Begin Patch\n*** Update File: note.txt\n@@\n the note says 42\n+another line\n*** End Patch\n",
        },
    ),
}


def _record(cli: str, model: str, prompt: str, tool_call: Json | None) -> tuple[list[Json], subprocess.CompletedProcess[str]]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="cli-") as tmp, Recorder() as rec:
        home, work = Path(tmp) / "home", Path(tmp) / "work"
        home.mkdir()
        work.mkdir()
        (work / "note.txt").write_text("the note says 42\n")
        if tool_call is not None:
            tool_call = json.loads(json.dumps(tool_call).replace("{work}", str(work)))
        if cli == "claude":
            rec.anthropic_tool_call = tool_call
            env = claude_env(home, rec.url, "sk-recorder-key", model or "unused")
            args = claude_args(prompt, model)
            if not model:  # Claude Code's own choice of models
                env = {k: v for k, v in env.items() if not k.endswith("_MODEL")}
                args = [a for a in args if a not in ("--model", "")]
            cmd = [*(claude_command() or []), *args]
        else:
            rec.responses_tool_call = tool_call
            env = codex_env(home, "sk-recorder-key")
            write_codex_config(home / ".codex", f"{rec.url}/v1", model)
            cmd = [*(codex_command() or []), *codex_args(prompt, work)]
        proc = subprocess.run(cmd, env=env, cwd=work, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        port = rec.url.rsplit(":", 1)[1]
        replacements = {
            str(work): "/tmp/cli-work",
            str(home): "/tmp/cli-home",
            tmp: "/tmp/cli",
            re.sub(r"[^A-Za-z0-9]", "-", str(work)): "-tmp-cli-work",  # Claude Code's project directory name
            f"127.0.0.1:{port}": "127.0.0.1:PORT",
        }
        return list(sanitise(rec.requests, replacements)), proc


def _version(cmd: list[str]) -> str:
    return subprocess.run([*cmd, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()


def record_fixtures() -> None:
    """Run every scenario against a Recorder and write tests/fixtures/clients/*.json."""
    FIXTURES.mkdir(parents=True, exist_ok=True)
    plan = {
        "claude_code_requests.json": ("claude", claude_command(), CLAUDE_SCENARIOS),
        "codex_requests.json": ("codex", codex_command(), CODEX_SCENARIOS),
    }
    for name, (cli, cmd, scenarios) in plan.items():
        assert cmd, f"{cli} is not installed (npm ci in tests/clients)"
        out: Json = {"client": _version(cmd), "answer": ANSWER, "scenarios": {}}
        for scenario, (model, prompt, tool_call) in scenarios.items():
            requests, proc = _record(cli, model, prompt, tool_call)
            ok = proc.returncode == 0 and ANSWER in proc.stdout
            print(
                f"{name} {scenario}: {len(requests)} requests, exit {proc.returncode}, stdout {proc.stdout.strip()[-200:]!r}",
                file=sys.stderr,
            )
            if not ok:
                print(proc.stderr[-3000:], file=sys.stderr)
            out["scenarios"][scenario] = {"model": model or None, "prompt": prompt, "tool_call": tool_call, "requests": requests}
        text = json.dumps(out, indent=1, ensure_ascii=False) + "\n"
        assert "sk-recorder-key" not in text, "a key leaked into the fixture"
        (FIXTURES / name).write_text(text)


if __name__ == "__main__":
    if sys.argv[1:] == ["record"]:
        record_fixtures()
    else:
        print(__doc__)

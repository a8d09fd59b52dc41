"""The real command-line clients against the proxy: Claude Code (Anthropic Messages, POST /v1/messages)
and Codex CLI (OpenAI Responses, POST /v1/responses), run as a user would, offline.

Each CLI runs once per target with a throw-away HOME (see tests/support_clients.py for the flags and
environment), asks the demo ``echo`` bot a prompt and must print the echoed prompt. The harness tests
run the same commands against tests/support_clients.Recorder, a minimal server of both APIs, so a
failure there is the CLI or its setup, not the proxy. Skipped only when the npm packages are not
installed (their own npm project, tests/clients: ``make test`` installs them, or ``npm ci`` there).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import Proxy, ProxyFactory
from tests.support import ACCESS_TOKEN
from tests.support_clients import ANSWER, Recorder, claude_command, codex_command, run_claude, run_codex

needs_claude = pytest.mark.skipif(claude_command() is None, reason="Claude Code is not installed: npm ci in tests/clients")
needs_codex = pytest.mark.skipif(codex_command() is None, reason="Codex CLI (or node) is not installed: npm ci in tests/clients")

MODEL = "echo"  # demo bot: answers with the last user message
PROMPT = "Please repeat: the parrot says 7f3a9c"
EXPECTED = "the parrot says 7f3a9c"
TIMEOUT = 120


def dirs(tmp_path: Path) -> tuple[Path, Path]:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    return home, work


def explain(proc: subprocess.CompletedProcess[str], proxy: Proxy | None = None) -> str:
    logs = proxy.logs()[-3000:] if proxy else ""
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}\n--- proxy\n{logs}"


# ---------------------------------------------------------------- against the proxy


@needs_claude
@pytest.mark.parametrize("auth", ["x-api-key", "bearer"])
def test_claude_code_print_mode(proxy: Proxy, auth: str, tmp_path: Path) -> None:
    home, work = dirs(tmp_path)
    proc = run_claude(home, work, proxy.url, ACCESS_TOKEN, MODEL, PROMPT, timeout=TIMEOUT, bearer=auth == "bearer")
    assert proc.returncode == 0, explain(proc, proxy)
    assert EXPECTED in proc.stdout, explain(proc, proxy)
    assert "API Error" not in proc.stdout, explain(proc, proxy)


@needs_codex
def test_codex_exec(proxy: Proxy, tmp_path: Path) -> None:
    home, work = dirs(tmp_path)
    proc = run_codex(home, work, f"{proxy.url}/v1", ACCESS_TOKEN, MODEL, PROMPT, timeout=TIMEOUT)
    assert proc.returncode == 0, explain(proc, proxy)
    assert EXPECTED in proc.stdout, explain(proc, proxy)


@needs_claude
def test_claude_code_wrong_token_is_an_auth_error(proxies: ProxyFactory, tmp_path: Path) -> None:
    proxy = proxies.get("asgi/openai")
    home, work = dirs(tmp_path)
    proc = run_claude(home, work, proxy.url, "sk-not-a-valid-token", MODEL, PROMPT, timeout=TIMEOUT)
    assert proc.returncode != 0, explain(proc, proxy)
    assert "401" in proc.stdout, explain(proc, proxy)


# ---------------------------------------------------------------- the harness (no proxy)


@needs_claude
def test_claude_code_harness(tmp_path: Path) -> None:
    """Claude Code as run above, against the recording server: one streamed POST /v1/messages?beta=true,
    and nothing else (the recorder is also the proxy for every other host: it would record a CONNECT)."""
    home, work = dirs(tmp_path)
    with Recorder() as rec:
        proc = run_claude(home, work, rec.url, "sk-harness", MODEL, PROMPT, timeout=TIMEOUT, outside_proxy=rec.url)
    assert proc.returncode == 0, explain(proc)
    assert ANSWER in proc.stdout, explain(proc)
    assert [(r["method"], r["path"], r["query"]) for r in rec.requests] == [("POST", "/v1/messages", {"beta": "true"})]
    request = rec.requests[0]
    assert request["headers"]["x-api-key"] == "[redacted]"
    assert request["body"]["model"] == MODEL
    assert request["body"]["stream"] is True
    assert PROMPT in str(request["body"]["messages"])


@needs_codex
def test_codex_harness(tmp_path: Path) -> None:
    """Codex as run above, against the recording server: one streamed POST /v1/responses, and nothing
    else (the recorder is also the proxy for every other host: it would record a CONNECT)."""
    home, work = dirs(tmp_path)
    with Recorder() as rec:
        proc = run_codex(home, work, f"{rec.url}/v1", "sk-harness", MODEL, PROMPT, timeout=TIMEOUT, outside_proxy=rec.url)
    assert proc.returncode == 0, explain(proc)
    assert ANSWER in proc.stdout, explain(proc)
    assert [(r["method"], r["path"]) for r in rec.requests] == [("POST", "/v1/responses")]
    request = rec.requests[0]
    assert request["headers"]["authorization"] == "[redacted]"
    assert request["body"]["model"] == MODEL
    assert request["body"]["stream"] is True
    assert PROMPT in str(request["body"]["input"])

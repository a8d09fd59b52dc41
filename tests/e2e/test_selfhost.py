"""The self-hosted server as a user runs it: the `poe-proxy` command, config.toml, a state file.

A key cooled by the demo upstream (``busy-`` keys are rate-limited, see demo/upstream.py)
is still cooling after the server restarts on the same state file, and used again at once
when the state is thrown away; the contract tests pass against the running server by URL
(POE_PROXY_URL, as README "Development" shows).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from demo.upstream import DEMO_MODELS
from tests.conftest import proxy_defaults
from tests.support import (
    ACCESS_TOKEN,
    ADMIN_TOKEN,
    ROOT,
    ServerThread,
    admin_status,
    free_port,
    reset_upstream_stats,
    upstream_stats,
)

BIN = Path(sys.executable).parent
HEADERS = {"authorization": f"Bearer {ACCESS_TOKEN}"}
ASK = {"model": "echo", "messages": [{"role": "user", "content": "still cooling?"}]}
BUSY, GOOD = "busy-restart-aaaaaaaa", "good-restart-bbbbbbbb"


def poe_proxy() -> list[str]:
    """The console script pip installed beside this Python (as `poe-proxy` on a user's PATH)."""
    script = BIN / "poe-proxy"
    assert script.exists(), "poe-proxy is not installed: pip install -e '.[selfhost]' (make test does)"
    return [str(script)]


class PoeProxy:
    """`poe-proxy` in ``workdir`` (where its config.toml and state.db are), until stopped."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.env = env or {}
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "poe-proxy.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PoeProxy:
        env = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST", "STATE_FILE", "CONFIG_FILE")}
        env.update({"PORT": str(self.port), **self.env})
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(poe_proxy(), cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            time.sleep(0.1)
        raise AssertionError(f"poe-proxy did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        """SIGTERM, as `docker stop` sends: a graceful shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                # uvicorn shuts down gracefully, then re-raises the signal: -SIGTERM
                assert self.proc.wait(timeout=15) in (0, -signal.SIGTERM), self.log.read_text()
                assert "Traceback" not in self.log.read_text(), self.log.read_text()
            finally:
                if self.proc.poll() is None:
                    self.proc.kill()
        self.proc = None


@contextlib.contextmanager
def running(workdir: Path, env: dict[str, str] | None = None) -> Iterator[PoeProxy]:
    server = PoeProxy(workdir, env).start()
    try:
        yield server
    finally:
        server.stop()


def toml_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def write_config(workdir: Path, upstream_url: str, keys: list[str], **extra: str) -> None:
    lines = [
        "port = 8080  # PORT (set by the test) wins",
        f"apikey = {toml_list(keys)}",
        f'accessTokens = ["{ACCESS_TOKEN}"]',
        "timeout = 10",
        f'baseUrl = "{upstream_url}"',
        f"CUSTOM_MODELS = {DEMO_MODELS!r}",
        "RATE_LIMIT_COOLDOWN = 600",
        "SCHEDULE_SECONDS = 0",
    ]
    lines += [f"{k} = {v}" for k, v in extra.items()]
    (workdir / "config.toml").write_text("\n".join(lines) + "\n")


def uses(url: str, upstream_url: str, n: int) -> dict[str, int]:
    """Send n requests; how often each key reached the upstream."""
    reset_upstream_stats(upstream_url)
    with httpx.Client(headers=HEADERS, timeout=30) as client:
        for _ in range(n):
            r = client.post(f"{url}/v1/chat/completions", json=ASK)
            assert r.status_code == 200, r.text
    return upstream_stats(upstream_url)


@pytest.mark.parametrize("mode", ["openai", "bot"])
def test_cool_downs_survive_a_restart(tmp_path: Path, upstream: ServerThread, mode: str) -> None:
    write_config(tmp_path, upstream.url, [BUSY, GOOD], POE_PROTOCOL=f'"{mode}"')
    with running(tmp_path) as server:
        stats = uses(server.url, upstream.url, 4)
        assert stats.get(BUSY) == 1, stats  # tried once, then cooling for RATE_LIMIT_COOLDOWN
        assert stats.get(GOOD) == 4
    assert (tmp_path / "state.db").exists(), "the default state file is state.db in the working folder"

    with running(tmp_path) as server:  # the same state file
        stats = uses(server.url, upstream.url, 6)
        assert stats.get(BUSY, 0) == 0, f"the cooling key was used after the restart: {stats}"
        assert "state.db" in (tmp_path / "poe-proxy.log").read_text()

    # the control: without the state, the restarted server tries the busy key again
    with running(tmp_path, {"STATE_FILE": ":memory:"}) as server:
        stats = uses(server.url, upstream.url, 4)
        assert stats.get(BUSY) == 1, stats
        assert "state in memory" in (tmp_path / "poe-proxy.log").read_text()


def test_usage_and_daily_limits_survive_a_restart(tmp_path: Path, upstream: ServerThread) -> None:
    alice = "sk-alice-restart-0123456789"
    policies = json.dumps({"alice": {"token": alice, "rpd": 3}})
    write_config(tmp_path, upstream.url, [GOOD], ADMIN_TOKENS=f'"{ADMIN_TOKEN}"', TOKEN_POLICIES=f"'{policies}'")
    ask = {"headers": {"authorization": f"Bearer {alice}"}, "json": ASK, "timeout": 10}
    with running(tmp_path) as server:
        assert [httpx.post(f"{server.url}/v1/chat/completions", **ask).status_code for _ in range(2)] == [200, 200]
    with running(tmp_path) as server:  # a new process on the same state file
        codes = [httpx.post(f"{server.url}/v1/chat/completions", **ask).status_code for _ in range(2)]
        assert codes == [200, 429], "the day's count started from zero after the restart"
        token = next(t for t in admin_status(server.url)["tokens"] if t["name"] == "alice")
        day = token["usage"][time.strftime("%Y-%m-%d", time.gmtime())]
        assert day["requests"] == 4 and day["by_status"] == {"429": 1} and day["metered"] == 3
        assert admin_status(server.url)["counted_in"] == "this process"


def test_state_file_from_config_and_environment(tmp_path: Path, upstream: ServerThread) -> None:
    write_config(tmp_path, upstream.url, [BUSY, GOOD], stateFile='"var/state/poe.db"')
    with running(tmp_path) as server:
        uses(server.url, upstream.url, 2)
    assert (tmp_path / "var" / "state" / "poe.db").exists() and not (tmp_path / "state.db").exists()
    with running(tmp_path, {"STATE_FILE": str(tmp_path / "env.db")}) as server:
        uses(server.url, upstream.url, 2)
    assert (tmp_path / "env.db").exists()


def test_health_check_command_and_config_errors(tmp_path: Path, upstream: ServerThread) -> None:
    write_config(tmp_path, upstream.url, [GOOD])
    env = {**os.environ, "CONFIG_FILE": str(tmp_path / "config.toml")}
    with running(tmp_path) as server:
        check = subprocess.run([*poe_proxy(), "--health-check"], env={**env, "PORT": str(server.port)}, capture_output=True)
        assert check.returncode == 0, check.stderr
    check = subprocess.run([*poe_proxy(), "--health-check"], env={**env, "PORT": str(server.port)}, capture_output=True)
    assert check.returncode == 1
    (tmp_path / "bad.toml").write_text("prot = 1\n")
    bad = subprocess.run([*poe_proxy(), "--config", str(tmp_path / "bad.toml")], capture_output=True, text=True)
    assert bad.returncode == 1 and "unknown key 'prot'" in bad.stderr
    missing = subprocess.run([*poe_proxy(), "--config", str(tmp_path / "nope.toml")], capture_output=True, text=True)
    assert missing.returncode == 1 and "no such file" in missing.stderr


def test_example_config_command() -> None:
    """README: `poe-proxy --example-config` prints config.example.toml."""
    out = subprocess.run([*poe_proxy(), "--example-config"], capture_output=True, text=True, check=True).stdout
    assert out == (ROOT / "config.example.toml").read_text()


def test_config_example_starts_a_server(tmp_path: Path) -> None:
    """README: `cp config.example.toml config.toml`, fill in, `poe-proxy`."""
    shutil.copy(ROOT / "config.example.toml", tmp_path / "config.toml")
    with running(tmp_path, {"SCHEDULE_SECONDS": "0"}) as server:
        health = httpx.get(f"{server.url}/health").json()
        assert health["status"] == "ok", health
        r = httpx.get(f"{server.url}/v1/models", headers={"authorization": "Bearer sk-choose-a-long-one"})
        assert r.status_code == 200 and r.json()["data"]


def remote_env(upstream_url: str, mode: str = "openai") -> dict[str, str]:
    """README: `python -m tests.remote_env --upstream URL > test.env`, read back."""
    out = subprocess.run(
        [sys.executable, "-m", "tests.remote_env", "--upstream", upstream_url, "--mode", mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if line)


@pytest.mark.parametrize("mode", ["openai", "bot"])
def test_contract_tests_against_the_running_server(tmp_path: Path, upstream: ServerThread, mode: str) -> None:
    """POE_PROXY_URL: the contract suite aimed at a server someone else started (here `poe-proxy`)."""
    env = {**remote_env(upstream.url, mode), "STATE_FILE": ":memory:"}
    assert env["POE_PROTOCOL"] == mode and env["POE_APIKEYS"] == proxy_defaults(upstream.url)["POE_APIKEYS"]
    with running(tmp_path, env) as server:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "tests/contract",
                "-q",
                "-x",
                "-p",
                "no:cacheprovider",
                f"--basetemp={tmp_path / 'pt'}",
            ],
            cwd=ROOT,
            env={**os.environ, "POE_PROXY_URL": server.url, "POE_PROXY_UPSTREAM": upstream.url, "POE_PROXY_MODE": mode},
            capture_output=True,
            text=True,
            timeout=900,
        )
    tail = run.stdout[-4000:] + run.stderr[-2000:]
    assert run.returncode == 0, tail
    passed = re.search(r"(\d+) passed", tail)
    assert passed and int(passed.group(1)) >= 100, tail

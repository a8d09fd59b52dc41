"""Shared test helpers: real servers on 127.0.0.1, the conformance kit, the SDK."""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE_DIR = ROOT / "tests" / "conformance"  # vendored: see its README.md
ACCESS_TOKEN = "sk-test-access-token-0123456789"
ADMIN_TOKEN = "admin-test-token-9876543210"


def admin_status(url: str) -> dict[str, Any]:
    """GET /admin/status with the tests' admin token (what /health showed before it went quiet)."""
    r = httpx.get(f"{url}/admin/status", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)
    assert r.status_code == 200, r.text[:300]
    return dict(r.json())


def _load_conformance() -> Any:
    path = CONFORMANCE_DIR / "conformance.py"
    spec = importlib.util.spec_from_file_location("conformance", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["conformance"] = module
    spec.loader.exec_module(module)
    return module


conformance = _load_conformance()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """uvicorn serving an ASGI app on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.time() + 15
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextlib.contextmanager
def upstream_server() -> Iterator[ServerThread]:
    from demo.upstream import make_app

    with ServerThread(make_app()) as server:
        yield server


def upstream_stats(base_url: str) -> dict[str, int]:
    return dict(httpx.get(f"{base_url}/stats").json())


def reset_upstream_stats(base_url: str) -> None:
    httpx.post(f"{base_url}/stats/reset")


def sse_chunks(raw: bytes) -> list[dict[str, Any]]:
    """Validate a streamed body with the conformance kit and return its chunks."""
    return list(conformance.validate_stream(raw))


def content_of(chunks: list[dict[str, Any]]) -> str:
    return "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c.get("choices"))


# ---------------------------------------------------------------- the Worker in workerd


def wrangler_command() -> list[str]:
    """The project's pinned wrangler (npm install), else the one on PATH."""
    local = ROOT / "node_modules" / ".bin" / "wrangler"
    if local.exists():
        return [str(local)]
    import shutil

    found = shutil.which("wrangler")
    if not found:
        raise RuntimeError("wrangler not found: run `make test` or `make bench` (they install it) first")
    return [found]


def offline_flags(config: Path = ROOT / "wrangler.toml") -> list[str]:
    """workerd-offline's bundle needs python_workers_development for a Python Worker (command line
    only; the list replaces the Worker's own, so it repeats those)."""
    import os
    import tomllib

    flags: list[str] = tomllib.loads(config.read_text()).get("compatibility_flags", [])
    if not os.environ.get("MINIFLARE_WORKERD_PATH") or "python_workers" not in flags:
        return []
    return [arg for flag in [*flags, "python_workers_development"] for arg in ("--compatibility-flags", flag)]


def dev_command(workdir: Path, port: int, state_dir: Path, variables: dict[str, str]) -> list[str]:
    """`wrangler dev` of the Worker in ``workdir`` on 127.0.0.1:``port``, local state in ``state_dir``."""
    cmd = [
        *wrangler_command(),
        "dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--inspector-port",
        str(free_port()),
        "--persist-to",
        str(state_dir),
        "--show-interactive-dev-session=false",
        *offline_flags(workdir / "wrangler.toml"),
    ]
    for k, v in variables.items():
        cmd += ["--var", f"{k}:{v}"]
    return cmd


DEV_ENV = {"WRANGLER_SEND_METRICS": "false", "CI": "true", "NO_COLOR": "1"}


class WranglerDev:
    """`wrangler dev` of a copy of this project, secrets in its .dev.vars, local KV persisted."""

    def __init__(self, secrets: dict[str, str], variables: dict[str, str], state_dir: Path, workdir: Path) -> None:
        self.secrets = secrets
        self.variables = variables
        self.state_dir = state_dir
        self.workdir = workdir
        self.port = free_port()
        self.proc: Any = None
        self.log_path = workdir / "wrangler.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _prepare(self) -> None:
        import shutil

        if not (self.workdir / "src").exists():
            shutil.copytree(ROOT / "src", self.workdir / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
            shutil.copy(ROOT / "wrangler.toml", self.workdir / "wrangler.toml")
        lines = [f"{k}={v}" for k, v in self.secrets.items()]
        (self.workdir / ".dev.vars").write_text("\n".join(lines) + "\n")

    def start(self) -> WranglerDev:
        """Launch and wait for /health; a port taken between choosing and binding it is retried."""
        self._prepare()
        for _ in range(3):
            seen = len(self.logs())
            if self._launch():
                return self
            if "Address already in use" not in self.logs()[seen:]:
                raise RuntimeError(f"wrangler dev exited:\n{self.logs()[-3000:]}")
            self.port = free_port()
        raise RuntimeError(f"wrangler dev found no free port:\n{self.logs()[-3000:]}")

    def _launch(self) -> bool:
        """True once ready; False if wrangler exited (it is stopped and its log closed)."""
        import os
        import subprocess

        cmd = dev_command(self.workdir, self.port, self.state_dir, self.variables)
        env = {**os.environ, **DEV_ENV}
        self.log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd, cwd=self.workdir, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                return False
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"wrangler dev did not become ready:\n{self.logs()[-3000:]}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        import os
        import signal

        if self.proc is not None:
            # the whole session: workerd children can outlive a wrangler that exited
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except Exception:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.proc = None
        if getattr(self, "log", None) is not None:
            self.log.close()
            self.log = None

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import openai
import pytest

os.environ.setdefault("DEMO_SLOW_DELAY", "0.05")  # SlowStory: ~3.5 s a story, still far slower than the proxy

from demo.upstream import DEMO_MODELS
from poe.edges.asgi import ProxyASGI
from tests.support import ACCESS_TOKEN, ADMIN_TOKEN, ServerThread, WranglerDev, upstream_server

# Each API test runs on both runtimes (CPython ASGI, the Worker in workerd) and through both
# upstream protocols (Poe's OpenAI-compatible API passed through, the bot protocol translated).
MODES = ("openai", "bot")
TARGETS = [
    pytest.param(f"{kind}/{mode}", marks=[pytest.mark.e2e] if kind == "workerd" else [], id=f"{kind}-{mode}")
    for kind in ("asgi", "workerd")
    for mode in MODES
]
# POE_PROXY_URL: the API tests run against that server instead, in the mode POE_PROXY_MODE says
# (default openai): a self-hosted `poe-proxy`, the container, a Worker. It must be set up as
# `proxy_defaults` says (`python -m tests.remote_env --upstream URL` prints it), in front of the
# demo upstream at POE_PROXY_UPSTREAM. Tests that need a runtime or settings of their own skip.
REMOTE_URL = os.environ.get("POE_PROXY_URL", "").rstrip("/")
REMOTE_MODE = os.environ.get("POE_PROXY_MODE", "openai")
if REMOTE_URL:
    TARGETS = [pytest.param(f"url/{REMOTE_MODE}", id=f"url-{REMOTE_MODE}")]
BOT_TARGETS = [p for p in TARGETS if str(p.values[0]).endswith("/bot")]
OPENAI_TARGETS = [p for p in TARGETS if str(p.values[0]).endswith("/openai")]


@dataclass
class RemoteUpstream:
    url: str


@pytest.fixture(scope="session")
def upstream() -> Iterator[ServerThread]:
    """A real Poe-protocol server (fastapi_poe) on 127.0.0.1 (the one at POE_PROXY_UPSTREAM with POE_PROXY_URL)."""
    if REMOTE_URL:
        remote = os.environ.get("POE_PROXY_UPSTREAM", "").rstrip("/")
        if not remote:
            pytest.exit("POE_PROXY_URL needs POE_PROXY_UPSTREAM: the demo upstream that server uses (python demo/upstream.py)")
        yield RemoteUpstream(remote)  # type: ignore[misc]
        return
    with upstream_server() as server:
        yield server


def proxy_defaults(upstream_url: str) -> dict[str, str]:
    """The settings of the tests' proxies, in front of the demo upstream at ``upstream_url``."""
    return {
        "POE_APIKEYS": "good-key-1",
        "API_ACCESS_TOKENS": f"{ACCESS_TOKEN},sk-second-token",
        "ADMIN_TOKENS": ADMIN_TOKEN,
        "POE_BASE_URL": upstream_url,
        "POE_UPLOAD_URL": f"{upstream_url}/file_upload",
        "CUSTOM_MODELS": DEMO_MODELS,
        "TIMEOUT": "4",
        "SCHEDULE_SECONDS": "0",  # no scheduled pass in self-hosted proxies unless a test asks for one
    }


@dataclass
class Proxy:
    kind: str  # "asgi" (CPython, self-hosted mode) or "workerd" (wrangler dev)
    url: str
    worker: WranglerDev | None = None
    mode: str = "openai"  # POE_PROTOCOL

    clients: dict[str, openai.OpenAI] = field(default_factory=dict)

    def client(self, api_key: str = ACCESS_TOKEN) -> openai.OpenAI:
        """The official SDK in strict mode; one per token, closed with the session (no leaked sockets)."""
        if api_key not in self.clients:
            self.clients[api_key] = openai.OpenAI(
                base_url=f"{self.url}/v1",
                api_key=api_key,
                max_retries=0,
                timeout=30,
                _strict_response_validation=True,
            )
        return self.clients[api_key]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def logs(self) -> str:
        return self.worker.logs() if self.worker else ""


class ProxyFactory:
    """Proxies by (runtime, configuration), started once per session."""

    def __init__(self, upstream: ServerThread, tmp: Path) -> None:
        self.upstream = upstream
        self.tmp = tmp
        self._cache: dict[tuple[str, tuple[tuple[str, str], ...]], Proxy] = {}
        self._stack = contextlib.ExitStack()

    def defaults(self) -> dict[str, str]:
        return proxy_defaults(self.upstream.url)

    def get(self, target: str, **overrides: str) -> Proxy:
        """A proxy for ``kind/mode`` (e.g. ``workerd/bot``), shared by the tests that ask for the same."""
        kind, _, mode = target.partition("/")
        if REMOTE_URL:
            return self._remote(kind, mode, overrides)
        env = {**self.defaults(), **({"POE_PROTOCOL": mode} if mode else {}), **overrides}
        env = {k: v for k, v in env.items() if v != ""}
        key = (kind, tuple(sorted(env.items())))
        if key not in self._cache:
            self._cache[key] = self.start(kind, env, fresh=False)
        return self._cache[key]

    def _remote(self, kind: str, mode: str, overrides: dict[str, str]) -> Proxy:
        """The server at POE_PROXY_URL, for a test that asks for no runtime or settings of its own."""
        if kind != "url" or mode not in ("", REMOTE_MODE):
            pytest.skip(f"runs on {kind}/{mode} only, not on POE_PROXY_URL")
        own = sorted(k for k, v in overrides.items() if self.defaults().get(k, "") != v)
        if own:
            pytest.skip(f"needs its own {', '.join(own)}: not on POE_PROXY_URL")
        key = ("url", ())
        if key not in self._cache:
            self._cache[key] = Proxy("url", REMOTE_URL, mode=REMOTE_MODE)
            self._stack.callback(self._cache[key].close)
        return self._cache[key]

    def start(self, target: str, env: dict[str, str], *, fresh: bool = True, state_dir: Path | None = None) -> Proxy:
        if REMOTE_URL:
            pytest.skip("starts a proxy of its own: not on POE_PROXY_URL")
        kind, _, mode = target.partition("/")
        if mode:
            env = {**env, "POE_PROTOCOL": mode}
        mode = env.get("POE_PROTOCOL", "openai")
        if kind == "asgi":
            server = self._stack.enter_context(ServerThread(ProxyASGI(env, log=False)))
            proxy = Proxy(kind, server.url, mode=mode)
            self._stack.callback(proxy.close)
            return proxy
        secret_names = ("POE_APIKEYS", "API_ACCESS_TOKENS", "ADMIN_TOKENS", "TOKEN_POLICIES")
        workdir = Path(self._new_dir("worker"))
        worker = WranglerDev(
            secrets={k: v for k, v in env.items() if k in secret_names},
            variables={k: v for k, v in env.items() if k not in secret_names},
            state_dir=state_dir or workdir / "state",
            workdir=workdir,
        )
        worker.start()
        self._stack.callback(worker.stop)
        proxy = Proxy(kind, worker.url, worker, mode)
        self._stack.callback(proxy.close)
        return proxy

    def _new_dir(self, prefix: str) -> str:
        import tempfile

        return tempfile.mkdtemp(prefix=prefix, dir=self.tmp)

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="session")
def proxies(upstream: ServerThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyFactory]:
    factory = ProxyFactory(upstream, tmp_path_factory.mktemp("proxies"))
    yield factory
    factory.close()


@pytest.fixture(params=TARGETS)
def proxy(request: pytest.FixtureRequest, proxies: ProxyFactory) -> Proxy:
    """The default proxy, once per runtime (CPython ASGI, workerd) and upstream protocol."""
    return proxies.get(request.param)


@pytest.fixture(params=BOT_TARGETS)
def bot_proxy(request: pytest.FixtureRequest, proxies: ProxyFactory) -> Proxy:
    """For what only the translated bot protocol does (uploads, reasoning markers, max_tokens)."""
    return proxies.get(request.param)


@pytest.fixture(params=OPENAI_TARGETS)
def openai_proxy(request: pytest.FixtureRequest, proxies: ProxyFactory) -> Proxy:
    """For what only the passthrough of Poe's OpenAI-compatible API does."""
    return proxies.get(request.param)


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest) -> str:
    return str(request.param)

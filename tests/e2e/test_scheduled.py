"""The scheduled pass end to end: the Worker's Cron Trigger fired the way the README says
(``curl "http://localhost:8787/cdn-cgi/local/scheduled"``; ``wrangler dev`` serves that path for
Python Workers without ``--test-scheduled``), and the self-hosted timer.

Against the demo upstream: its ``/v1/models`` lists ``NewBot-2026``, which no catalogue of the
proxy has; its ``/usage/current_balance`` gives ``broke-`` keys 0 points, ``rich-`` keys 4500 and
other keys 1500. After one pass ``/v1/models`` lists the new bot with what Poe says about it, the
key at zero is cooling before any request used it, and the first attempts go to the keys in
proportion to their points (the demo's ``/stats`` counts queries per key).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from poe.edges.asgi import ProxyASGI
from tests.conftest import MODES, Proxy, ProxyFactory
from tests.support import ACCESS_TOKEN, ROOT, ServerThread, admin_status, conformance, reset_upstream_stats, upstream_stats

pytestmark = pytest.mark.skipif(bool(os.environ.get("POE_PROXY_URL")), reason="needs proxies of its own settings")

KEYS = ["good-sch1-aaaaaaaa", "rich-sch2-bbbbbbbb", "broke-sch3-cccccccc"]
HEADERS = {"authorization": f"Bearer {ACCESS_TOKEN}"}
NEW = "newbot-2026"
ROUNDS = 40


def settings(proxies: ProxyFactory, mode: str, **kw: str) -> dict[str, str]:
    return {**proxies.defaults(), "POE_APIKEYS": ",".join(KEYS), "POE_PROTOCOL": mode, "QUOTA_COOLDOWN": "1800", **kw}


def readme_curl(port: int) -> list[str]:
    """The README's line that fires the scheduled handler locally, pointed at this Worker."""
    found = set()
    for name in ("README.md", "README.zh-CN.md"):
        found |= set(re.findall(r'curl "http://localhost:8787(/cdn-cgi/local/scheduled[^"]*)"', (ROOT / name).read_text()))
    assert found == {"/cdn-cgi/local/scheduled"}, f"both READMEs must show the curl line: {found}"
    return ["curl", "-sS", "--fail", "--max-time", "60", f"http://127.0.0.1:{port}/cdn-cgi/local/scheduled"]


def fire_cron(proxy: Proxy) -> None:
    assert proxy.worker is not None
    cmd = readme_curl(proxy.worker.port)
    if shutil.which("curl"):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
        assert done.returncode == 0, done.stderr
    else:
        r = httpx.get(cmd[-1], timeout=60)
        assert r.status_code == 200, r.text


def listed(url: str) -> dict[str, dict[str, Any]]:
    r = httpx.get(f"{url}/v1/models", headers=HEADERS, timeout=30)
    assert r.status_code == 200, r.text[:300]
    conformance.validate("model.list", r.content)
    return {m["id"]: m for m in r.json()["data"]}


def chat(url: str, model: str, text: str = "after the pass") -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    return httpx.post(f"{url}/v1/chat/completions", json=body, headers=HEADERS, timeout=30)


def pool_state(url: str) -> dict[str, Any]:
    keys = admin_status(url)["keys"]
    assert isinstance(keys, dict)
    return keys


def check_before(url: str) -> None:
    assert NEW not in listed(url)
    r = chat(url, NEW)
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    assert pool_state(url)["cooling"] == []


def check_after(url: str, base: str) -> None:
    """What one pass changed, seen through the proxy's API and the upstream's counters."""
    models = listed(url)
    new = models[NEW]
    assert new["owned_by"] == "newlab" and new["created"] == 1_767_225_600
    assert new["context_window"] == {"context_length": 256000, "max_output_tokens": 32000} and new["context_length"] == 256000
    assert new["architecture"]["input_modalities"] == ["text", "image"]
    assert new["supported_endpoints"] == ["/v1/chat/completions", "/v1/responses"]
    assert "echo" in models and "gpt-4o" in models and "gemini-2.5-pro" not in models  # Poe's list + CUSTOM_MODELS
    one = httpx.get(f"{url}/v1/models/NewBot-2026", headers=HEADERS, timeout=10)
    assert one.status_code == 200 and one.json()["context_length"] == 256000
    conformance.validate("model", one.content)

    # the key at zero points is cooling, and no request has used it
    cooling = pool_state(url)["cooling"]
    assert [(c["key"], c["reason"]) for c in cooling] == [("#3", "out_of_points")], cooling
    assert 1700 < cooling[0]["seconds_left"] <= 1800
    assert upstream_stats(base).get(KEYS[2], 0) == 0

    r = chat(url, NEW, "hello new bot")
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "hello new bot"

    # the first attempts follow the points: 4500 against 1500, never the key at zero
    reset_upstream_stats(base)
    with httpx.Client(headers=HEADERS, timeout=30) as client:
        for _ in range(ROUNDS):
            body = {"model": "echo", "messages": [{"role": "user", "content": "spread"}]}
            assert client.post(f"{url}/v1/chat/completions", json=body).status_code == 200
    stats = upstream_stats(base)
    counts = [stats.get(k, 0) for k in KEYS]
    assert sum(counts) == ROUNDS and counts[2] == 0, counts
    assert ROUNDS * 3 / 4 - 4 <= counts[1] <= ROUNDS * 3 / 4 + 4, counts


def no_key_text(*texts: str) -> None:
    for text in texts:
        for key in KEYS:
            assert key not in text, "a Poe key leaked"


# ---------------------------------------------------------------- the Worker in workerd


@pytest.mark.e2e
@pytest.mark.parametrize("mode", MODES)
def test_the_cron_trigger_refreshes_the_catalogue_and_balances_in_workerd(proxies: ProxyFactory, mode: str) -> None:
    proxy = proxies.start("workerd", settings(proxies, mode))
    base = proxies.upstream.url
    check_before(proxy.url)
    reset_upstream_stats(base)
    reads = httpx.get(f"{base}/events").json().get("balance_reads", 0)
    fire_cron(proxy)
    assert httpx.get(f"{base}/events").json()["balance_reads"] == reads + len(KEYS)
    check_after(proxy.url, base)
    logs = proxy.logs()
    assert "model list refreshed" in logs and "balances read for 3 of 3 keys (1 at zero points, cooled)" in logs
    no_key_text(logs, str(admin_status(proxy.url)))


@pytest.mark.e2e
def test_a_new_isolate_serves_what_the_pass_stored(proxies: ProxyFactory, tmp_path: Path) -> None:
    state = tmp_path / "kv-state"
    env = settings(proxies, "openai", KV_PERSIST_SECONDS="0")
    first = proxies.start("workerd", env, state_dir=state)
    fire_cron(first)
    time.sleep(1.5)  # the cool-down's KV write lands after the handler
    assert first.worker is not None
    first.worker.stop()

    base = proxies.upstream.url
    second = proxies.start("workerd", env, state_dir=state)  # a new isolate: nothing in memory
    cooling = pool_state(second.url)["cooling"]
    assert [(c["key"], c["reason"]) for c in cooling] == [("#3", "out_of_points")]
    reset_upstream_stats(base)
    for _ in range(ROUNDS):
        assert chat(second.url, "echo").status_code == 200
    counts = [upstream_stats(base).get(k, 0) for k in KEYS]
    assert counts[2] == 0 and ROUNDS * 3 / 4 - 4 <= counts[1] <= ROUNDS * 3 / 4 + 4, counts  # balances from KV
    assert httpx.get(f"{base}/events").json().get("balance_reads", 0) == 0  # nothing asked Poe again (reset above)
    assert NEW in listed(second.url)  # the list the pass stored, read by an isolate that never ran it


# ---------------------------------------------------------------- self-hosted


class LoopOf:
    """An ASGI wrapper that remembers the server's event loop (to run a pass on it from the test)."""

    def __init__(self, app: ProxyASGI) -> None:
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.loop = asyncio.get_running_loop()
        await self.app(scope, receive, send)


@pytest.fixture
def self_hosted(proxies: ProxyFactory, request: pytest.FixtureRequest) -> Iterator[tuple[ProxyASGI, LoopOf, str]]:
    env = settings(proxies, str(request.param))
    app = ProxyASGI(env, log=False)
    wrapped = LoopOf(app)
    with ServerThread(wrapped) as server:
        yield app, wrapped, server.url


@pytest.mark.parametrize("self_hosted", MODES, indirect=True)
def test_a_pass_run_directly_in_self_hosted_mode(proxies: ProxyFactory, self_hosted: tuple[ProxyASGI, LoopOf, str]) -> None:
    app, wrapped, url = self_hosted
    base = proxies.upstream.url
    check_before(url)
    reset_upstream_stats(base)
    assert wrapped.loop is not None
    asyncio.run_coroutine_threadsafe(app.scheduled(), wrapped.loop).result(timeout=60)
    check_after(url, base)


def test_the_self_hosted_timer_runs_at_startup_and_every_schedule_seconds(
    proxies: ProxyFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    base = proxies.upstream.url
    env = settings(proxies, "openai", SCHEDULE_SECONDS="1")
    reads = httpx.get(f"{base}/events").json().get("balance_reads", 0)
    with ServerThread(ProxyASGI(env, log=True)) as server:
        deadline = time.monotonic() + 10
        while NEW not in listed(server.url) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert NEW in listed(server.url), "no pass at startup"
        assert [c["key"] for c in pool_state(server.url)["cooling"]] == ["#3"]
        while httpx.get(f"{base}/events").json()["balance_reads"] < reads + 3 * len(KEYS) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert httpx.get(f"{base}/events").json()["balance_reads"] >= reads + 3 * len(KEYS), "the timer did not repeat"
    stopped = httpx.get(f"{base}/events").json()["balance_reads"]
    time.sleep(1.5)
    assert httpx.get(f"{base}/events").json()["balance_reads"] == stopped, "the timer outlived the server"
    logs = capsys.readouterr().err
    assert logs.count("model list refreshed") == 1  # once: the stored list is not a day old on the next passes
    assert "balances read for 3 of 3 keys" in logs
    no_key_text(logs)

"""Usage you can read (issue 10): per access token and per Poe key, by day and model, with the
tokens the client was told, and the limits and counts held by the ledger, not by one isolate.

On workerd the ledger is the ``POE_LEDGER`` Durable Object: its counts outlive the Worker (a
restart on the same local state starts a new isolate with empty memory); self-hosted it is the
process, saved in the state file (tests/e2e/test_selfhost.py restarts one).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TARGETS, Proxy, ProxyFactory
from tests.support import ACCESS_TOKEN, ADMIN_TOKEN, admin_status

ALICE = "sk-alice-usage-0123456789"
KEYS = ["bad-usage-aaaaaaaa", "good-usage-bbbbbbbb"]  # the first is refused by the demo upstream: invalid_key
SECRETS = (ALICE, ACCESS_TOKEN, ADMIN_TOKEN, *KEYS)
HELLO = [{"role": "user", "content": "count these words for me please"}]


def post(proxy: Proxy, path: str, body: dict[str, Any], token: str = ALICE) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}", "x-api-key": token}
    r = httpx.post(f"{proxy.url}{path}", json=body, headers=headers, timeout=30)
    assert r.status_code == 200, r.text[:300]
    return r


def today(usage: dict[str, Any]) -> dict[str, Any]:
    day = time.strftime("%Y-%m-%d", time.gmtime())
    return dict(usage.get(day, {}))


@pytest.mark.parametrize("target", TARGETS)
def test_usage_per_token_and_key_with_the_tokens_the_client_saw(proxies: ProxyFactory, target: str) -> None:
    env = {**proxies.defaults(), "POE_APIKEYS": ",".join(KEYS), "TOKEN_POLICIES": json.dumps({"alice": {"token": ALICE}})}
    proxy = proxies.start(target, env)
    seen_in = seen_out = 0
    chat = post(proxy, "/v1/chat/completions", {"model": "echo", "messages": HELLO}).json()["usage"]
    seen_in, seen_out = seen_in + chat["prompt_tokens"], seen_out + chat["completion_tokens"]
    message = post(proxy, "/v1/messages", {"model": "gpt-4o", "max_tokens": 50, "messages": HELLO}).json()["usage"]
    seen_in, seen_out = seen_in + message["input_tokens"], seen_out + message["output_tokens"]
    stream = {"model": "echo", "stream": True, "stream_options": {"include_usage": True}, "messages": HELLO}
    frames = [
        json.loads(line[6:])
        for line in post(proxy, "/v1/chat/completions", stream).text.splitlines()
        if line.startswith("data: {")
    ]
    streamed = next(f["usage"] for f in frames if f.get("usage"))
    passthrough = proxy.mode == "openai"  # Poe's stream went to the client untouched: the proxy did not read it
    if not passthrough:
        seen_in, seen_out = seen_in + streamed["prompt_tokens"], seen_out + streamed["completion_tokens"]
    post(proxy, "/v1/chat/completions", {"model": "echo", "messages": HELLO}, token=ACCESS_TOKEN)
    assert seen_in > 0 and seen_out > 0

    status = admin_status(proxy.url)
    text = json.dumps(status)
    for secret in SECRETS:
        assert secret not in text
    tokens = {t["name"]: t for t in status["tokens"]}
    alice = today(tokens["alice"]["usage"])
    assert alice["requests"] == 3 and alice["errors"] == 0 and alice["client_errors"] == 0
    assert alice["metered"] == (2 if passthrough else 3)
    assert (alice["input_tokens"], alice["output_tokens"]) == (seen_in, seen_out)
    assert alice["by_model"]["echo"]["requests"] == 2 and alice["by_model"]["gpt-4o"]["requests"] == 1
    assert alice["by_model"]["gpt-4o"]["output_tokens"] == message["output_tokens"]
    assert today(tokens["token-1"]["usage"])["requests"] == 1

    keys = status["keys"]
    assert keys["today"][0] == {"key": "#1", "invalid_key": 1}  # tried once, then cooling
    assert keys["today"][1]["key"] == "#2" and keys["today"][1]["answered"] == 4
    good = today(keys["usage"][1]["days"])
    assert good["by_model"]["echo"]["answered"] == 3 and good["by_model"]["gpt-4o"]["answered"] == 1
    assert good["output_tokens"] >= seen_out  # alice's answers and token-1's went through this key
    if proxy.kind == "workerd":
        assert "Durable Object" in status["counted_in"]


@pytest.mark.e2e
def test_limits_and_usage_outlive_the_isolate(proxies: ProxyFactory, tmp_path: Path) -> None:
    env = {**proxies.defaults(), "TOKEN_POLICIES": json.dumps({"alice": {"token": ALICE, "rpd": 3}})}
    state = tmp_path / "state"
    first = proxies.start("workerd", env, state_dir=state)
    for _ in range(2):
        post(first, "/v1/chat/completions", {"model": "echo", "messages": HELLO})
    assert today(admin_status(first.url)["tokens"][0]["usage"])["requests"] == 2
    time.sleep(3)  # the ledger saves itself to its storage within 2 s of a change
    assert first.worker is not None
    first.worker.stop()

    second = proxies.start("workerd", env, state_dir=state)  # a new isolate: nothing in its memory
    r = post(second, "/v1/chat/completions", {"model": "echo", "messages": HELLO})
    assert r.headers["x-ratelimit-remaining-requests"] == "0"  # the third of three today
    over = httpx.post(
        f"{second.url}/v1/chat/completions",
        json={"model": "echo", "messages": HELLO},
        headers={"authorization": f"Bearer {ALICE}"},
        timeout=30,
    )
    assert over.status_code == 429 and "3 requests per day" in over.json()["error"]["message"]
    alice = next(t for t in admin_status(second.url)["tokens"] if t["name"] == "alice")
    assert alice["now"]["requests_today"] == 3
    assert today(alice["usage"])["requests"] == 4 and today(alice["usage"])["by_status"] == {"429": 1}


@pytest.mark.e2e
def test_a_worker_without_the_ledger_binding_counts_per_isolate(proxies: ProxyFactory, tmp_path: Path) -> None:
    """A fork that dropped the Durable Object from wrangler.toml still serves, limits and counts (in its isolate)."""
    import re
    import shutil

    from tests.support import ROOT, WranglerDev

    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    toml = (ROOT / "wrangler.toml").read_text()
    toml = re.sub(
        r"\[\[(env\.production\.)?durable_objects\.bindings\]\]\nname = \"POE_LEDGER\"\nclass_name = \"Ledger\"\n", "", toml
    )
    toml = re.sub(r"\[\[migrations\]\]\ntag = \"v1\"\nnew_sqlite_classes = \[\"Ledger\"\]\n", "", toml)
    assert "POE_LEDGER" not in toml and "migrations" not in toml
    (tmp_path / "wrangler.toml").write_text(toml)
    env = {**proxies.defaults(), "TOKEN_POLICIES": json.dumps({"alice": {"token": ALICE, "rpm": 2}})}
    secret_names = ("POE_APIKEYS", "API_ACCESS_TOKENS", "ADMIN_TOKENS", "TOKEN_POLICIES")
    worker = WranglerDev(
        secrets={k: v for k, v in env.items() if k in secret_names},
        variables={k: v for k, v in env.items() if k not in secret_names},
        state_dir=tmp_path / "state",
        workdir=tmp_path,
    ).start()
    try:
        proxy = Proxy("workerd", worker.url, worker)
        for _ in range(2):
            post(proxy, "/v1/chat/completions", {"model": "echo", "messages": HELLO})
        over = httpx.post(
            f"{proxy.url}/v1/chat/completions",
            json={"model": "echo", "messages": HELLO},
            headers={"authorization": f"Bearer {ALICE}"},
            timeout=30,
        )
        assert over.status_code == 429
        status = admin_status(proxy.url)
        assert status["counted_in"] == "this isolate"
        assert today(status["tokens"][0]["usage"])["requests"] == 3
    finally:
        worker.stop()

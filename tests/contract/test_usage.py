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


ANSWERS: list[str] = []  # every answer's headers and body, scanned for secrets


def post(proxy: Proxy, path: str, body: dict[str, Any], token: str = ALICE, status: int = 200) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}", "x-api-key": token}
    r = httpx.post(f"{proxy.url}{path}", json=body, headers=headers, timeout=30)
    assert r.status_code == status, r.text[:300]
    ANSWERS.append(f"{r.headers}\n{r.text}")
    return r


def no_secrets(proxy: Proxy, status: dict[str, Any]) -> None:
    """No key or token in any answer, in the admin status, or in the Worker's log lines."""
    for text in (*ANSWERS, json.dumps(status), proxy.logs()):
        for secret in SECRETS:
            assert secret not in text, "a key or token leaked"
    ANSWERS.clear()


def today(usage: dict[str, Any]) -> dict[str, Any]:
    day = time.strftime("%Y-%m-%d", time.gmtime())
    return dict(usage.get(day, {}))


def sse_data(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]


@pytest.mark.parametrize("target", TARGETS)
def test_usage_per_token_and_key_with_the_tokens_the_client_saw(proxies: ProxyFactory, target: str) -> None:
    env = {**proxies.defaults(), "POE_APIKEYS": ",".join(KEYS), "TOKEN_POLICIES": json.dumps({"alice": {"token": ALICE}})}
    proxy = proxies.start(target, env)
    seen: dict[str, list[int]] = {}  # model -> [input, output] the client was told

    def saw(model: str, tokens_in: int, tokens_out: int) -> None:
        entry = seen.setdefault(model, [0, 0])
        entry[0] += tokens_in
        entry[1] += tokens_out

    chat = post(proxy, "/v1/chat/completions", {"model": "echo", "messages": HELLO}).json()["usage"]
    saw("echo", chat["prompt_tokens"], chat["completion_tokens"])
    message = post(proxy, "/v1/messages", {"model": "gpt-4o", "max_tokens": 50, "messages": HELLO}).json()["usage"]
    saw("gpt-4o", message["input_tokens"], message["output_tokens"])
    # a stream that asks for usage: metered whether translated (bot mode) or passed through (openai mode,
    # where the proxy reads only its last bytes, once it has ended)
    stream = {"model": "echo", "stream": True, "stream_options": {"include_usage": True}, "messages": HELLO}
    streamed = next(f["usage"] for f in sse_data(post(proxy, "/v1/chat/completions", stream).text) if f.get("usage"))
    saw("echo", streamed["prompt_tokens"], streamed["completion_tokens"])
    native = proxy.mode == "openai"  # Claude through /v1/messages: Poe's own Anthropic answer, passed through
    if native:
        claude = {"model": "claude-sonnet-4.5", "max_tokens": 50, "messages": HELLO}
        whole = post(proxy, "/v1/messages", claude).json()["usage"]
        events = sse_data(post(proxy, "/v1/messages", {**claude, "stream": True}).text)
        start = next(e["message"]["usage"] for e in events if e["type"] == "message_start")
        delta = next(e["usage"] for e in events if e["type"] == "message_delta")
        for usage in (whole, {**start, "output_tokens": delta["output_tokens"]}):
            parts = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
            saw("claude-sonnet-4.5", sum(usage.get(k) or 0 for k in parts), usage["output_tokens"])
    # a stream that did not ask: counted, but in openai mode nothing in it says its tokens (bot mode
    # translates it, so the proxy knows them)
    post(proxy, "/v1/chat/completions", {**stream, "stream_options": None})
    unmetered = 1 if proxy.mode == "openai" else 0
    if not unmetered:  # translated: the proxy counted what it wrote, the same as the stream that asked
        saw("echo", streamed["prompt_tokens"], streamed["completion_tokens"])
    post(proxy, "/v1/chat/completions", {"model": "echo", "messages": HELLO}, token=ACCESS_TOKEN)
    assert all(tokens_in > 0 and tokens_out > 0 for tokens_in, tokens_out in seen.values()), seen

    requests = 6 if native else 4
    # a passed-through answer is metered once its last byte is out, after the client has it: wait for it
    for _ in range(50):
        status = admin_status(proxy.url)
        tokens = {t["name"]: t for t in status["tokens"]}
        if today(tokens["alice"]["usage"]).get("metered") == requests - unmetered:
            break
        time.sleep(0.1)
    no_secrets(proxy, status)
    assert "ledger call failed" not in proxy.logs()
    alice = today(tokens["alice"]["usage"])
    assert alice["requests"] == requests and alice["errors"] == 0 and alice["client_errors"] == 0
    assert alice["metered"] == requests - unmetered
    by_model = alice["by_model"]
    assert {m: [c["input_tokens"], c["output_tokens"]] for m, c in by_model.items()} == seen
    assert (alice["input_tokens"], alice["output_tokens"]) == tuple(map(sum, zip(*seen.values(), strict=True)))
    assert (by_model["echo"]["requests"], by_model["gpt-4o"]["requests"]) == (3, 1)
    assert today(tokens["token-1"]["usage"])["requests"] == 1

    keys = status["keys"]
    assert keys["today"][0] == {"key": "#1", "invalid_key": 1}  # tried once, then cooling
    assert keys["today"][1]["key"] == "#2" and keys["today"][1]["answered"] == requests + 1
    good = today(keys["usage"][1]["days"])
    assert good["by_model"]["echo"]["answered"] == 4 and good["by_model"]["gpt-4o"]["answered"] == 1
    if native:
        assert good["by_model"]["claude-sonnet-4.5"]["output_tokens"] == seen["claude-sonnet-4.5"][1]
    if proxy.kind == "workerd":
        assert "Durable Object" in status["counted_in"]
        assert "reading KV failed" not in proxy.logs()  # a missing KV key is JS null, not the text "jsnull"


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
    over = post(second, "/v1/chat/completions", {"model": "echo", "messages": HELLO}, status=429)
    assert "3 requests per day" in over.json()["error"]["message"]
    status = admin_status(second.url)
    alice = next(t for t in status["tokens"] if t["name"] == "alice")
    assert alice["now"]["requests_today"] == 3
    assert today(alice["usage"])["requests"] == 4 and today(alice["usage"])["by_status"] == {"429": 1}
    no_secrets(second, status)
    no_secrets(first, {})


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
        post(proxy, "/v1/chat/completions", {"model": "echo", "messages": HELLO}, status=429)
        status = admin_status(proxy.url)
        assert status["counted_in"] == "this isolate"
        assert today(status["tokens"][0]["usage"])["requests"] == 3
        no_secrets(proxy, status)
    finally:
        worker.stop()

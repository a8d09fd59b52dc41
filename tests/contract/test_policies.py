"""Token policies: model scopes, requests per minute and per day, concurrent streams, and the
admin API that shows them (issue 10). Limits do not depend on the upstream mode, so these run
in openai mode on both runtimes, each on a proxy of its own (the counts are its state).
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import OPENAI_TARGETS, Proxy, ProxyFactory
from tests.support import ACCESS_TOKEN, ADMIN_TOKEN, admin_status

ALICE = "sk-alice-0123456789abcdef"
BOB = "sk-bob-0123456789abcdef"
CAROL = "sk-carol-0123456789abcdef"
DAVE = "sk-dave-0123456789abcdef"
POLICIES = {
    "alice": {"token": ALICE, "models": ["echo", "gpt-*"], "rpm": 3},
    "bob": {"token": BOB, "rpd": 2},
    "carol": {"token": CAROL, "concurrency": 1},
    "dave": {"token": DAVE, "models": ["echo"], "rpm": 100},
}
SECRETS = (ALICE, BOB, CAROL, DAVE, ACCESS_TOKEN, ADMIN_TOKEN, "good-key-1")
HELLO = [{"role": "user", "content": "hi"}]


@pytest.fixture(params=OPENAI_TARGETS)
def proxy(request: pytest.FixtureRequest, proxies: ProxyFactory) -> Proxy:
    return proxies.get(request.param, TOKEN_POLICIES=json.dumps(POLICIES))


def chat(proxy: Proxy, token: str, model: str = "echo", **extra: object) -> httpx.Response:
    body = {"model": model, "messages": HELLO, **extra}
    return httpx.post(f"{proxy.url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {token}"}, timeout=30)


def no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, "a token or key leaked"


def test_a_token_limited_to_some_models_and_requests_a_minute(proxy: Proxy) -> None:
    seen: list[str] = []
    for remaining in (2, 1, 0):
        r = chat(proxy, ALICE)
        seen.append(r.text)
        assert r.status_code == 200, r.text[:300]
        assert r.headers["x-ratelimit-limit-requests"] == "3"
        assert r.headers["x-ratelimit-remaining-requests"] == str(remaining)
        assert r.headers["x-ratelimit-reset-requests"].endswith("s")
    over = chat(proxy, ALICE)  # the burst goes over the limit
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "rate_limit_exceeded"
    assert int(over.headers["retry-after"]) >= 1 and over.headers["x-ratelimit-remaining-requests"] == "0"
    anthropic = httpx.post(
        f"{proxy.url}/v1/messages",
        json={"model": "echo", "max_tokens": 10, "messages": HELLO},
        headers={"x-api-key": ALICE},
        timeout=30,
    )
    assert anthropic.status_code == 429 and anthropic.json()["error"]["type"] == "rate_limit_error"
    assert "retry-after" in anthropic.headers
    unlimited = chat(proxy, ACCESS_TOKEN)  # a token without a policy keeps today's behaviour
    assert unlimited.status_code == 200 and "x-ratelimit-limit-requests" not in unlimited.headers
    no_secrets(*seen, over.text, anthropic.text, proxy.logs())


def test_a_model_outside_the_scope_is_a_403_and_not_listed(proxy: Proxy, proxies: ProxyFactory) -> None:
    scoped = proxies.get(
        proxy.kind + "/openai", TOKEN_POLICIES=json.dumps({"dora": {"token": ALICE, "models": ["echo", "gpt-*"]}})
    )
    r = chat(scoped, ALICE, model="thinker")
    assert r.status_code == 403, r.text[:300]
    err = r.json()["error"]
    assert err["code"] == "model_not_allowed" and err["param"] == "model" and err["type"] == "permission_error"
    assert chat(scoped, ALICE, model="gpt-4o").status_code == 200  # a glob
    r = httpx.post(
        f"{scoped.url}/v1/messages",
        json={"model": "thinker", "max_tokens": 10, "messages": HELLO},
        headers={"x-api-key": ALICE},
        timeout=30,
    )
    assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error"
    listed = httpx.get(f"{scoped.url}/v1/models", headers={"authorization": f"Bearer {ALICE}"}, timeout=10).json()
    ids = {m["id"] for m in listed["data"]}
    assert "echo" in ids and "gpt-4o" in ids and "thinker" not in ids and "claude-sonnet-4" not in ids
    everything = httpx.get(f"{scoped.url}/v1/models", headers={"authorization": f"Bearer {ACCESS_TOKEN}"}, timeout=10).json()
    assert len(everything["data"]) > len(listed["data"])


def test_a_daily_limit(proxy: Proxy) -> None:
    assert [chat(proxy, BOB).status_code for _ in range(2)] == [200, 200]
    r = chat(proxy, BOB)
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 60  # until the day turns, not a minute
    assert r.headers["x-ratelimit-limit-requests"] == "2"


def test_concurrent_streams(proxy: Proxy) -> None:
    body = {"model": "slowstory", "stream": True, "messages": [{"role": "user", "content": "0.2"}]}
    headers = {"authorization": f"Bearer {CAROL}"}
    with httpx.stream("POST", f"{proxy.url}/v1/chat/completions", json=body, headers=headers, timeout=30) as first:
        assert first.status_code == 200
        reading = first.iter_raw()  # kept: a dropped iterator closes the response, and the stream with it
        next(reading)
        second = chat(proxy, CAROL)
        assert second.status_code == 429, second.text[:300]
        assert "at a time" in second.json()["error"]["message"]
    # the first stream closed: the slot is free again (the proxy sees the disconnect shortly after)
    for _ in range(50):
        r = chat(proxy, CAROL)
        if r.status_code == 200:
            break
        httpx.get(f"{proxy.url}/health")  # let the event loop run the cancelled stream's cleanup
    assert r.status_code == 200, r.text[:300]


def test_admin_status_shows_tokens_and_usage_without_secrets(proxy: Proxy) -> None:
    chat(proxy, ACCESS_TOKEN)
    status = admin_status(proxy.url)
    names = {t["name"]: t for t in status["tokens"]}
    assert {"alice", "bob", "carol", "token-1", "token-2"} <= set(names)
    assert names["alice"]["limits"] == {"rpm": 3, "rpd": None, "concurrency": None}
    assert names["alice"]["models"] == ["echo", "gpt-*"]
    assert names["token-1"]["limits"] is None
    today = next(iter(names["token-1"]["usage"].values()))
    assert today["requests"] >= 1 and today["by_model"]["echo"]["requests"] >= 1
    no_secrets(json.dumps(status))
    for token in (ALICE, ACCESS_TOKEN, "nope"):
        r = httpx.get(f"{proxy.url}/admin/status", headers={"authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 401
        no_secrets(r.text)


def test_bad_policies_are_a_clear_configuration_error(proxies: ProxyFactory) -> None:
    proxy = proxies.get("asgi/openai", TOKEN_POLICIES='{"x": {"token": "short"}}')
    r = chat(proxy, ACCESS_TOKEN)
    assert r.status_code == 500 and r.json()["error"]["code"] == "proxy_misconfigured"
    assert "TOKEN_POLICIES" in r.json()["error"]["message"]
    assert httpx.get(f"{proxy.url}/health").json()["status"] == "misconfigured"


def test_a_token_reads_its_own_limits_and_usage(proxy: Proxy) -> None:
    assert chat(proxy, DAVE).status_code == 200
    r = httpx.get(f"{proxy.url}/v1/key", headers={"authorization": f"Bearer {DAVE}"}, timeout=10)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    me = r.json()
    assert me["name"] == "dave" and me["models"] == ["echo"]
    assert me["limits"] == {"rpm": 100, "rpd": None, "concurrency": None}
    assert me["now"]["requests_this_minute"] >= 1
    day = next(iter(me["usage"].values()))
    assert day["requests"] >= 1 and day["by_model"]["echo"]["requests"] >= 1
    everyone = {t["name"]: t for t in admin_status(proxy.url)["tokens"]}
    assert me["limits"] == everyone["dave"]["limits"] and me["now"] == everyone["dave"]["now"]  # the admin API's entry
    plain = httpx.get(f"{proxy.url}/v1/key", headers={"authorization": f"Bearer {ACCESS_TOKEN}"}, timeout=10).json()
    assert plain["name"] == "token-1" and plain["limits"] is None  # a token without a policy: only its own usage
    assert httpx.get(f"{proxy.url}/v1/key", timeout=10).status_code == 401
    no_secrets(r.text, json.dumps(plain), proxy.logs())

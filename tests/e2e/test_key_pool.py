"""The key pool end to end: rotation, cool-downs, failover, KV persistence.

The upstream is the real fastapi_poe demo server; how it answers depends on
the key that calls it (see demo/upstream.py): ``bad-`` keys get HTTP 401,
``broke-`` keys an insufficient_fund error event, ``busy-`` keys a rate-limit
error event (both as HTTP 200), ``limited-`` keys HTTP 429 with Retry-After,
``down-`` keys HTTP 503.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Proxy, ProxyFactory
from tests.support import ACCESS_TOKEN, admin_status, reset_upstream_stats, sse_chunks, upstream_stats

HEADERS = {"authorization": f"Bearer {ACCESS_TOKEN}"}
ASK = {"model": "echo", "messages": [{"role": "user", "content": "pool check"}]}


def ask(proxy: Proxy, stream: bool = False) -> httpx.Response:
    return httpx.post(f"{proxy.url}/v1/chat/completions", json={**ASK, "stream": stream}, headers=HEADERS, timeout=30)


def health(proxy: Proxy) -> dict[str, object]:
    return admin_status(proxy.url)


def assert_no_key_text(keys: list[str], *texts: str) -> None:
    for text in texts:
        for key in keys:
            assert key not in text, "a Poe key leaked"


def test_failover_skips_bad_keys_and_cools_them(proxies: ProxyFactory, target: str, upstream: object) -> None:
    keys = ["bad-k1-aaaaaaaa", "broke-k2-bbbbbbbb", "busy-k3-cccccccc", "good-k4-dddddddd"]
    proxy = proxies.start(target, {**proxies.defaults(), "POE_APIKEYS": ",".join(keys)})
    base = proxies.upstream.url
    reset_upstream_stats(base)
    seen: list[str] = []

    # whichever key the rotation starts on, the client gets a normal answer
    r = ask(proxy)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "pool check"
    seen += [r.text, str(r.headers)]
    r = ask(proxy, stream=True)
    assert r.status_code == 200
    assert "pool check" in "".join(c["choices"][0]["delta"].get("content", "") for c in sse_chunks(r.content) if c["choices"])
    seen += [r.text, str(r.headers)]

    # the bad keys were tried at most once each and are now cooling, with reasons
    state = health(proxy)
    seen.append(str(state))
    pool = state["keys"]
    assert isinstance(pool, dict)
    cooling = {c["key"]: c for c in pool["cooling"]}
    stats = upstream_stats(base)
    for i, key in enumerate(keys[:3]):
        if stats.get(key):
            assert stats[key] == 1
            assert f"#{i + 1}" in cooling
    reasons = {c["reason"] for c in cooling.values()}
    assert reasons <= {"invalid_key", "out_of_points", "rate_limited"}

    # from now on only the working key is used
    before = upstream_stats(base)
    for _ in range(6):
        r = ask(proxy)
        assert r.status_code == 200
        seen += [r.text, str(r.headers)]
    after = upstream_stats(base)
    for key in keys[:3]:
        assert after.get(key, 0) == before.get(key, 0), f"cooled key {key[:5]}... was used again"
    assert after[keys[3]] - before.get(keys[3], 0) == 6
    assert_no_key_text(keys, *seen, proxy.logs())


def test_cooldown_classes(proxies: ProxyFactory, target: str) -> None:
    keys = [
        "bad-c1-11111111",
        "broke-c2-22222222",
        "busy-c3-33333333",
        "limited-c4-44444444",
        "down-c5-55555555",
        "good-c6-66666666",
    ]
    proxy = proxies.start(target, {**proxies.defaults(), "POE_APIKEYS": ",".join(keys), "QUOTA_COOLDOWN": "1800"})
    # enough requests that every key comes up in the rotation
    for _ in range(len(keys)):
        assert ask(proxy).status_code == 200
    pool = health(proxy)["keys"]
    assert isinstance(pool, dict)
    assert pool["configured"] == 6 and pool["healthy"] == 1
    by_key = {c["key"]: c for c in pool["cooling"]}
    assert by_key["#1"]["reason"] == "invalid_key" and 3000 < by_key["#1"]["seconds_left"] <= 3600
    assert by_key["#2"]["reason"] == "out_of_points" and 1700 < by_key["#2"]["seconds_left"] <= 1800
    assert by_key["#3"]["reason"] == "rate_limited" and 50 < by_key["#3"]["seconds_left"] <= 60
    assert by_key["#4"]["reason"] == "rate_limited" and 20 < by_key["#4"]["seconds_left"] <= 30  # Retry-After: 30
    assert by_key["#5"]["reason"] == "unavailable" and by_key["#5"]["seconds_left"] <= 10


def test_all_keys_out_of_points_is_429_insufficient_quota(proxies: ProxyFactory, target: str) -> None:
    keys = ["broke-q1-aaaaaaaa", "broke-q2-bbbbbbbb"]
    proxy = proxies.start(target, {**proxies.defaults(), "POE_APIKEYS": ",".join(keys)})
    for attempt in range(2):  # first: both tried now; second: both already cooling
        r = ask(proxy)
        assert r.status_code == 429, r.text
        err = r.json()["error"]
        assert err["code"] == "insufficient_quota" and err["type"] == "insufficient_quota", attempt
        assert 3500 < int(r.headers["retry-after"]) <= 3600
        assert_no_key_text(keys, r.text, str(r.headers))


def test_all_keys_rate_limited_is_429_with_soonest_retry_after(proxies: ProxyFactory, target: str) -> None:
    keys = ["busy-r1-aaaaaaaa", "limited-r2-bbbbbbbb"]
    proxy = proxies.start(target, {**proxies.defaults(), "POE_APIKEYS": ",".join(keys)})
    r = ask(proxy, stream=True)
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "rate_limit_exceeded"
    assert 20 < int(r.headers["retry-after"]) <= 30  # the 429's Retry-After: 30 is the soonest
    r = ask(proxy)
    assert r.status_code == 429 and int(r.headers["retry-after"]) <= 30


def test_requests_spread_evenly_over_healthy_keys(proxies: ProxyFactory, target: str) -> None:
    keys = [f"good-s{i}-{i * 11111111}" for i in range(1, 5)]
    proxy = proxies.start(target, {**proxies.defaults(), "POE_APIKEYS": ",".join(keys)})
    base = proxies.upstream.url
    reset_upstream_stats(base)
    n = 400
    with httpx.Client(headers=HEADERS, timeout=30) as client:
        for _ in range(n):
            assert client.post(f"{proxy.url}/v1/chat/completions", json=ASK).status_code == 200
    stats = upstream_stats(base)
    counts = [stats.get(k, 0) for k in keys]
    assert sum(counts) == n
    for c in counts:
        assert abs(c - n / 4) <= n / 4 * 0.05, counts


def test_keys_are_trimmed_and_deduplicated(proxies: ProxyFactory, target: str) -> None:
    proxy = proxies.start(target, {**proxies.defaults(), "POE_APIKEYS": " good-t1-aaaa , ,good-t2-bbbb,good-t1-aaaa,, "})
    pool = health(proxy)["keys"]
    assert isinstance(pool, dict) and pool["configured"] == 2


@pytest.mark.e2e
def test_cooldowns_and_rotation_survive_a_worker_restart(proxies: ProxyFactory, tmp_path: Path) -> None:
    keys = ["bad-p1-aaaaaaaa", "good-p2-bbbbbbbb", "good-p3-cccccccc"]
    env = {**proxies.defaults(), "POE_APIKEYS": ",".join(keys), "KV_PERSIST_SECONDS": "0"}
    state = tmp_path / "kv-state"
    first = proxies.start("workerd", env, state_dir=state)
    for _ in range(3):
        assert ask(first).status_code == 200
    pool = health(first)["keys"]
    assert isinstance(pool, dict) and [c["key"] for c in pool["cooling"]] == ["#1"]
    time.sleep(1.5)  # deferred KV writes land after the responses
    assert first.worker is not None
    first.worker.stop()

    base = proxies.upstream.url
    second = proxies.start("workerd", env, state_dir=state)
    pool = health(second)["keys"]
    assert isinstance(pool, dict)
    assert [c["key"] for c in pool["cooling"]] == ["#1"], "the cool-down was not read back from KV"
    reset_upstream_stats(base)
    for _ in range(4):
        assert ask(second).status_code == 200
    stats = upstream_stats(base)
    assert stats.get(keys[0], 0) == 0, "the cooled key was tried after the restart"
    assert stats.get(keys[1]) == 2 and stats.get(keys[2]) == 2


@pytest.mark.e2e
def test_rotation_counter_continues_in_a_new_isolate(proxies: ProxyFactory, tmp_path: Path) -> None:
    keys = ["good-n1-aaaaaaaa", "good-n2-bbbbbbbb"]
    env = {**proxies.defaults(), "POE_APIKEYS": ",".join(keys), "KV_PERSIST_SECONDS": "0"}
    state = tmp_path / "kv-state"
    base = proxies.upstream.url
    first = proxies.start("workerd", env, state_dir=state)
    reset_upstream_stats(base)
    for _ in range(3):
        assert ask(first).status_code == 200
    order_first = upstream_stats(base)
    assert order_first == {keys[0]: 2, keys[1]: 1}
    time.sleep(1.5)
    assert first.worker is not None
    first.worker.stop()
    second = proxies.start("workerd", env, state_dir=state)
    reset_upstream_stats(base)
    assert ask(second).status_code == 200
    # a fresh counter would start on key 1 again; the stored one continues with key 2
    assert upstream_stats(base) == {keys[1]: 1}


def test_all_keys_invalid_is_a_clear_502_not_a_retryable_429(proxies: ProxyFactory, target: str) -> None:
    keys = ["bad-i1-aaaaaaaa", "bad-i2-bbbbbbbb"]
    proxy = proxies.start(target, {**proxies.defaults(), "POE_APIKEYS": ",".join(keys)})
    first = ask(proxy)
    assert first.status_code == 502, first.text
    assert first.json()["error"]["code"] == "invalid_poe_keys"
    again = ask(proxy)  # now every key is cooling as invalid
    assert again.status_code == 502
    assert again.json()["error"]["code"] == "invalid_poe_keys"
    assert "POE_APIKEYS" in again.json()["error"]["message"]
    assert_no_key_text(keys, first.text, again.text, str(first.headers), str(again.headers), proxy.logs())

"""README claims that need a test of their own (issue 12): each fails on a proxy without the behaviour."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import BOT_TARGETS, ProxyFactory
from tests.support import ACCESS_TOKEN, admin_status, reset_upstream_stats

AUTH = {"authorization": f"Bearer {ACCESS_TOKEN}"}
BOUND_SECONDS = 4.0  # the story takes ~20 s upstream and TIMEOUT is 60 s: neither can pass for a cancel


@pytest.mark.parametrize("target", BOT_TARGETS)
def test_max_tokens_in_bot_mode_cancels_the_upstream_answer(proxies: ProxyFactory, target: str, upstream: object) -> None:
    proxy = proxies.get(target, TIMEOUT="60")
    base = upstream.url  # type: ignore[attr-defined]
    reset_upstream_stats(base)
    body = {"model": "slowstory", "max_tokens": 5, "messages": [{"role": "user", "content": "0.3"}]}
    r = httpx.post(f"{proxy.url}/v1/chat/completions", json=body, headers=AUTH, timeout=30)
    assert r.status_code == 200 and r.json()["choices"][0]["finish_reason"] == "length"
    answered = time.monotonic()
    while time.monotonic() - answered < BOUND_SECONDS and not httpx.get(f"{base}/events").json().get("cancelled"):
        time.sleep(0.1)
    seen = httpx.get(f"{base}/events").json()
    assert seen.get("started") == 1 and seen.get("cancelled") == 1 and not seen.get("completed"), seen


def test_a_slow_bot_is_a_504_that_does_not_cool_its_key(proxies: ProxyFactory, target: str) -> None:
    proxy = proxies.get(target, POE_APIKEYS="good-slow-1")  # one key: were it cooled, nothing would answer
    slow = {"model": "silent", "messages": [{"role": "user", "content": "x"}]}
    r = httpx.post(f"{proxy.url}/v1/chat/completions", json=slow, headers=AUTH, timeout=30)
    assert r.status_code == 504, r.text[:300]
    assert admin_status(proxy.url)["keys"]["cooling"] == []
    quick = {"model": "echo", "messages": [{"role": "user", "content": "still here"}]}
    r = httpx.post(f"{proxy.url}/v1/chat/completions", json=quick, headers=AUTH, timeout=30)
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "still here"

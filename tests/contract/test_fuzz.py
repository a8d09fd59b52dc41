"""A small fuzz run on every target (tests/fuzz.py): schemathesis's cases from the OpenAPI description,
positive and negative, and hostile variants of valid requests.

No 5xx, no traceback, no crash, every error in the door's shape with ``x-request-id``, every answer of a
documented operation conforming to the description. The same requests go to every target (drawn once).
The long run (10,000 requests against the Worker in workerd) is ``make fuzz``.
"""

from __future__ import annotations

import json

import httpx
import pytest
import requests

from tests.conftest import Proxy, ProxyFactory
from tests.fuzz import Fuzzer, Item, make_plan
from tests.support import ACCESS_TOKEN

BEARER = {"authorization": f"Bearer {ACCESS_TOKEN}"}
HELLO = {"model": "echo", "messages": [{"role": "user", "content": "hi"}]}

REQUESTS = 250
SEED = 12


@pytest.fixture(scope="module")
def plan() -> tuple[Item, ...]:
    return make_plan(REQUESTS, SEED)


def test_fuzz(proxy: Proxy, plan: tuple[Item, ...]) -> None:
    logged = len(proxy.logs())
    fuzzer = Fuzzer(proxy.url, f"{proxy.kind}/{proxy.mode}")
    try:
        fuzzer.run(plan)
        if proxy.worker is not None:
            fuzzer.isolate_check(proxy.logs()[logged:], proxy.worker.proc is not None and proxy.worker.proc.poll() is None)
    finally:
        fuzzer.close()
    summary = fuzzer.summary
    report = summary.report()
    print(report)
    assert summary.requests == len(plan)
    assert not summary.failures, report  # known bugs (tests/fuzz.py KNOWN_BUGS) are reported, not failed
    assert summary.statuses[200] >= len(plan) // 5, report  # the requests reach the bots, not only the parsers
    assert {400, 401, 404, 405} <= set(summary.statuses), report


# ---------------------------------------------------------------- bugs the fuzz found, fixed: each stays a test

TOOL_ROUND_ONLY = {
    "model": "echo",
    "messages": [
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ],
}


def test_a_tool_round_alone_is_not_a_5xx(bot_proxy: Proxy) -> None:
    r = httpx.post(f"{bot_proxy.url}/v1/chat/completions", json=TOOL_ROUND_ONLY, headers=BEARER, timeout=30)
    assert r.status_code < 500, r.text[:300]


@pytest.mark.e2e
def test_a_refused_body_does_not_cost_the_next_request(proxies: ProxyFactory) -> None:
    url = proxies.get("workerd/openai").url
    padded = json.dumps({"model": "echo", "messages": [{"role": "user", "content": "x" * 200_000}]}).encode()
    statuses = []
    with requests.Session() as client:  # one connection, as a busy client or a front proxy keeps it
        for _ in range(40):
            assert client.post(f"{url}/v1/chat/completions", data=padded, timeout=30).status_code in (401, 500)
            answer = client.post(f"{url}/v1/chat/completions", json=HELLO, headers=BEARER, timeout=30)
            statuses.append(answer.status_code)
    assert set(statuses) == {200}, statuses

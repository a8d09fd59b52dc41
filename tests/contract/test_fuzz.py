"""A small fuzz run on every target (tests/fuzz.py): schemathesis's cases from the OpenAPI description,
positive and negative, and hostile variants of valid requests.

No 5xx, no traceback, no crash, every error in the door's shape with ``x-request-id``, every answer of a
documented operation conforming to the description. The same requests go to every target (drawn once).
The long run (10,000 requests against the Worker in workerd) is ``make fuzz``.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import Proxy
from tests.fuzz import Fuzzer, Item, make_plan

REQUESTS = 250
SEED = 12


@pytest.fixture(scope="module")
def plan() -> tuple[Item, ...]:
    return make_plan(REQUESTS, SEED)


def test_fuzz(proxy: Proxy, plan: tuple[Item, ...]) -> None:
    logged = len(proxy.logs())
    fuzzer = Fuzzer(proxy.url, f"{proxy.kind}/{proxy.mode}")
    try:
        summary = fuzzer.run(plan)
    finally:
        fuzzer.close()
    report = summary.report()
    print(report)
    assert summary.requests == len(plan)
    assert not summary.failures and not summary.crashes, report
    assert summary.statuses[200] >= len(plan) // 5, report  # the requests reach the bots, not only the parsers
    assert {400, 401, 404, 405} <= set(summary.statuses), report
    # workerd: the isolate never went down (a fatal error or a stack overflow would be logged)
    assert not re.search(r"Fatal|Maximum call stack|isolate.*(abort|terminat)", proxy.logs()[logged:]), proxy.logs()[logged:][
        -3000:
    ]

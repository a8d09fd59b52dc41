"""What one request can make the proxy hold, measured at the defaults (issue 12).

The Worker's isolate has 128 MB. With MAX_BODY_BYTES and the JSON caps, the worst
bodies found (many values, many strings, one huge string, many messages) must stay
far below it while parsed and translated, so requests in flight together fit too.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable

import pytest

from poe.doors.common import MAX_JSON_DEPTH, MAX_JSON_ITEMS, load_json
from poe.doors.openai_parse import parse_chat_request
from poe.errors import InvalidRequest, PayloadTooLarge
from poe.settings import Config

MB = 1 << 20
LIMIT = Config.defaults().max_body_bytes
N = MAX_JSON_ITEMS - 10
PEAK_BUDGET_MB = 40  # under a third of the isolate


def _strings() -> bytes:
    return b'{"x":[' + (b'"' + b"a" * (LIMIT // N - 3) + b'",') * N + b'"a"]}'


def _messages() -> bytes:
    count = N // 7  # each message is about 6 values as counted (its strings and commas)
    content = "a" * (LIMIT // count - 40)
    return json.dumps({"model": "x", "messages": [{"role": "user", "content": content}] * count}).encode()


WORST: dict[str, Callable[[], bytes]] = {
    "many empty objects": lambda: b'{"x":[' + b"{}," * N + b"{}]}",
    "many strings": _strings,
    "one string of the whole body": lambda: b'{"x":"' + b"a" * (LIMIT - 10) + b'"}',
    "many messages": _messages,
}


@pytest.mark.parametrize("name", WORST)
def test_worst_bodies_stay_far_below_the_isolate_memory(name: str) -> None:
    body = WORST[name]()
    assert len(body) <= LIMIT
    tracemalloc.start()
    try:
        obj = load_json(body)
        if "messages" in obj:
            parse_chat_request(obj)
        peak = tracemalloc.get_traced_memory()[1] / MB
    finally:
        tracemalloc.stop()
    print(f"{name}: {len(body) / MB:.1f} MB body, peak {peak:.1f} MB")
    assert peak < PEAK_BUDGET_MB


def test_one_value_over_the_cap_is_a_413_before_parsing() -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        load_json(b'{"x":[' + b"1," * MAX_JSON_ITEMS + b"1]}")
    assert caught.value.code == "too_many_values"
    load_json(b'{"x":[' + b"1," * (N - 5) + b"1]}")  # under it: fine


def test_the_depth_cap_ignores_brackets_inside_strings() -> None:
    inside = "[" * 10_000
    assert load_json(json.dumps({"x": inside, "y": [[["ok"]]]}).encode())["x"] == inside
    with pytest.raises(InvalidRequest):
        load_json(b'{"x":' + b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1) + b"}")
    load_json(b'{"x":' + b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1) + b"}")  # at the cap: fine

"""A client that goes away mid-stream cancels the upstream answer, within about a second.

The proxy's TIMEOUT is 60 s and the story takes about 20 s upstream, so neither a
timeout nor the story's end can pass for a cancellation: the bound (4 s after the
client left) is far below both.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import ProxyFactory
from tests.support import ACCESS_TOKEN, reset_upstream_stats

BOUND_SECONDS = 4.0


def events(base: str) -> dict[str, int]:
    return dict(httpx.get(f"{base}/events").json())


STORY = [{"role": "user", "content": "0.3"}]
DOORS = {
    "chat": ("/v1/chat/completions", {"model": "slowstory", "stream": True, "messages": STORY}),
    # asks for usage: in openai mode the passed-through body is teed to read its usage at the end
    "chat with usage": (
        "/v1/chat/completions",
        {"model": "slowstory", "stream": True, "stream_options": {"include_usage": True}, "messages": STORY},
    ),
    "messages": ("/v1/messages", {"model": "slowstory", "stream": True, "max_tokens": 4000, "messages": STORY}),
    "responses": ("/v1/responses", {"model": "slowstory", "stream": True, "input": "0.3"}),
}


@pytest.mark.parametrize("door", DOORS)
def test_client_disconnect_cancels_the_upstream_answer(proxies: ProxyFactory, target: str, upstream: object, door: str) -> None:
    proxy = proxies.get(target, TIMEOUT="60")
    base = upstream.url  # type: ignore[attr-defined]
    reset_upstream_stats(base)
    path, body = DOORS[door]
    headers = {"authorization": f"Bearer {ACCESS_TOKEN}"}
    with httpx.stream("POST", f"{proxy.url}{path}", json=body, headers=headers, timeout=30) as r:
        assert r.status_code == 200
        received = b""
        for piece in r.iter_raw():
            received += piece
            if received.count(b"delta") >= 2:
                break  # leave after two pieces of the story; closing the response drops the connection
    left = time.monotonic()
    while time.monotonic() - left < BOUND_SECONDS and not events(base).get("cancelled"):
        time.sleep(0.1)
    waited = time.monotonic() - left
    seen = events(base)
    assert seen.get("started") == 1
    assert seen.get("cancelled") == 1, f"the upstream answer was not cancelled within {BOUND_SECONDS} s: {seen}"
    assert not seen.get("completed")
    print(f"{target} {door}: upstream cancelled {waited:.1f} s after the client left")

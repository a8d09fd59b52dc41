"""A client that goes away mid-stream cancels the upstream request."""

from __future__ import annotations

import time

import httpx

from tests.conftest import Proxy
from tests.support import ACCESS_TOKEN, reset_upstream_stats


def events(base: str) -> dict[str, int]:
    return dict(httpx.get(f"{base}/events").json())


def test_client_disconnect_cancels_the_upstream_answer(proxy: Proxy, upstream: object) -> None:
    base = upstream.url  # type: ignore[attr-defined]
    reset_upstream_stats(base)
    body = {"model": "slowstory", "stream": True, "messages": [{"role": "user", "content": "0.3"}]}
    headers = {"authorization": f"Bearer {ACCESS_TOKEN}"}
    with httpx.stream("POST", f"{proxy.url}/v1/chat/completions", json=body, headers=headers, timeout=30) as r:
        assert r.status_code == 200
        received = b""
        for piece in r.iter_raw():
            received += piece
            if received.count(b"data: ") >= 3:
                break  # leave after a few chunks; closing the response drops the connection
    # the story takes ~20 s upstream (0.3 s a word); the cancellation must reach it before that
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        seen = events(base)
        if seen.get("cancelled"):
            break
        time.sleep(0.2)
    seen = events(base)
    assert seen.get("started") == 1
    assert seen.get("cancelled") == 1, seen
    assert not seen.get("completed")

"""Hostile input gets a clear 4xx in the caller's protocol, on both runtimes: never a 5xx,
a traceback, or an isolate that goes down with every request in flight on it.

Each class comes from a fuzz run against the Worker in workerd (issue 12): unknown
methods, lone UTF-16 surrogates, deep nesting, unvalidated ``max_tokens``, huge numbers,
NaN, echoes of huge values, bodies without ``Content-Length``. Input handling does not
depend on the upstream mode, so these run in openai mode on both runtimes.
"""

from __future__ import annotations

import contextlib
import json
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import OPENAI_TARGETS, ProxyFactory
from tests.support import ACCESS_TOKEN

AUTH = {"authorization": f"Bearer {ACCESS_TOKEN}", "content-type": "application/json"}
HELLO = [{"role": "user", "content": "hi"}]
DOORS = {
    "chat": ("/v1/chat/completions", {"model": "echo", "messages": HELLO}),
    "messages": ("/v1/messages", {"model": "echo", "max_tokens": 50, "messages": HELLO}),
    "responses": ("/v1/responses", {"model": "echo", "input": "hi"}),
}


@pytest.fixture(params=OPENAI_TARGETS)
def url(request: pytest.FixtureRequest, proxies: ProxyFactory) -> str:
    return proxies.get(request.param).url


def error_of(door: str, r: httpx.Response) -> dict[str, object]:
    """The error object in the door's protocol, after checking it is one and carries no traceback."""
    assert "Traceback" not in r.text and 'File "' not in r.text
    body = r.json()
    if door == "messages":
        assert body["type"] == "error", body
    err = body["error"]
    assert isinstance(err["message"], str) and err["message"]
    return dict(err)


def post_raw(url: str, path: str, raw: bytes) -> httpx.Response:
    return httpx.post(f"{url}{path}", content=raw, headers=AUTH, timeout=30)


@pytest.mark.parametrize("method", ["PROPFIND", "PURGE", "TRACE", "FOO"])
def test_unknown_methods_are_405_without_a_traceback(url: str, method: str) -> None:
    for path in ("/v1/chat/completions", "/v1/messages", "/health", "/nowhere"):
        r = httpx.request(method, f"{url}{path}", headers=AUTH, timeout=30)
        assert "Traceback" not in r.text
        if r.status_code == 501 and method == "FOO":  # workerd itself refuses methods it does not know
            continue
        assert r.status_code in (404, 405), (path, r.status_code, r.text[:200])
        assert r.headers["content-type"].startswith("application/json")
        if path == "/v1/chat/completions":
            assert r.status_code == 405 and "POST" in r.headers["allow"]
        error_of("messages" if path == "/v1/messages" else "chat", r)


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("where", ["model", "content", "unknown_field"])
def test_lone_surrogates_are_a_400_naming_the_field(url: str, door: str, where: str) -> None:
    path, body = DOORS[door]
    text = json.dumps(body)
    if where == "model":
        raw = text.replace('"echo"', '"ec\\ud800ho"')
        param = "model"
    elif where == "content":
        raw = text.replace('"hi"', '"h\\udc00i"')
        param = "input" if door == "responses" else "messages[0].content"
    else:
        raw = text[:-1] + ', "x_extra": {"deep": ["\\ud83d"]}}'
        param = "x_extra.deep[0]"
    r = post_raw(url, path, raw.encode())
    assert r.status_code == 400, r.text[:300]
    err = error_of(door, r)
    if door != "messages":
        assert err["param"] == param
    assert param in str(err["message"])


@pytest.mark.parametrize("door", DOORS)
def test_encoded_surrogate_bytes_are_a_400(url: str, door: str) -> None:
    path, body = DOORS[door]
    raw = json.dumps(body).replace('"hi"', '"h\\u0000i"').encode().replace(b"\\u0000", b"\xed\xa0\x80")
    r = post_raw(url, path, raw)
    assert r.status_code == 400, r.text[:300]
    error_of(door, r)


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("field", ["known", "unknown"])
def test_deep_nesting_is_a_400_and_the_isolate_lives_on(url: str, door: str, field: str) -> None:
    path, body = DOORS[door]
    deep = "[" * 20000 + "]" * 20000
    key = {"chat": "messages", "messages": "messages", "responses": "input"}[door] if field == "known" else "x_extra"
    raw = json.dumps(body)[:-1] + f', "{key}": {deep}}}'
    r = post_raw(url, path, raw.encode())
    assert r.status_code == 400, r.text[:300]
    assert "nested" in str(error_of(door, r)["message"])
    # the same isolate answers the next request: it did not go down with the deep one
    ok = post_raw(url, path, json.dumps(body).encode())
    assert ok.status_code == 200, ok.text[:300]


def test_too_many_values_is_a_413(url: str) -> None:
    raw = b'{"model": "echo", "messages": [{"role": "user", "content": "hi"}], "x": [' + b"{}," * 300_000 + b"{}]}"
    r = post_raw(url, "/v1/chat/completions", raw)
    assert r.status_code == 413, r.text[:300]
    assert error_of("chat", r)["code"] == "too_many_values"


@pytest.mark.parametrize(
    ("value", "words"),
    [("NaN", "NaN"), ("Infinity", "Infinity"), ("9" * 5000, "too many digits")],
)
def test_nan_infinity_and_huge_integers_are_named(url: str, value: str, words: str) -> None:
    raw = f'{{"model": "echo", "messages": [{{"role": "user", "content": "hi"}}], "temperature": {value}}}'
    r = post_raw(url, "/v1/chat/completions", raw.encode())
    assert r.status_code == 400, r.text[:300]
    message = str(error_of("chat", r)["message"])
    assert words in message and "UTF-8" not in message


@pytest.mark.parametrize("bad", ["10", {"n": 1}, 0, -(10**30), True])
def test_max_tokens_is_checked_beside_max_completion_tokens(url: str, bad: object) -> None:
    body = {"model": "echo", "messages": HELLO, "max_completion_tokens": 20, "max_tokens": bad}
    r = httpx.post(f"{url}/v1/chat/completions", json=body, headers=AUTH, timeout=30)
    assert r.status_code == 400, r.text[:300]
    assert error_of("chat", r)["param"] == "max_tokens"


def test_error_messages_quote_only_a_short_excerpt(url: str) -> None:
    huge = "x" * 1_000_000
    cases = [
        ("chat", {"model": "echo", "messages": [{"role": huge, "content": "hi"}]}),
        ("chat", {"model": huge, "messages": HELLO}),
        ("messages", {"model": "echo", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": huge}]}]}),
        ("responses", {"model": "echo", "input": [{"type": huge}]}),
    ]
    for door, body in cases:
        r = httpx.post(f"{url}{DOORS[door][0]}", json=body, headers=AUTH, timeout=30)
        assert 400 <= r.status_code < 500, r.text[:300]
        assert len(r.content) < 2000, (door, len(r.content))
        error_of(door, r)


def unfinished_post(url: str, path: str, headers: dict[str, str], size: int) -> tuple[int, bytes]:
    """POST a chunked body of ``size`` bytes that never ends (no final chunk); return the answer.

    A proxy that reads a body to its end before deciding never answers this request: only one
    that decides from the headers, or stops reading at its limit, does.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    chunk = b'{"model": "echo", "x": "' + b"x" * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(head.encode())
        sent = 0
        with contextlib.suppress(OSError):  # the proxy may stop reading and close: that is the point
            while sent < size:
                sock.sendall(frame)
                sent += len(chunk)
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    status_line = answer.split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), answer


def test_a_chunked_body_over_the_limit_is_a_413(proxies: ProxyFactory, target: str) -> None:
    if not target.endswith("openai"):
        pytest.skip("input handling does not depend on the mode")
    proxy = proxies.get(target, MAX_BODY_BYTES="1048576")
    status, answer = unfinished_post(proxy.url, "/v1/chat/completions", {"authorization": f"Bearer {ACCESS_TOKEN}"}, 4 << 20)
    assert status == 413, answer[:300]


def test_an_anonymous_body_is_not_read(url: str) -> None:
    status, answer = unfinished_post(url, "/v1/chat/completions", {"content-type": "application/json"}, 1 << 20)
    assert status == 401, answer[:300]
    status, answer = unfinished_post(url, "/v1/messages", {"x-api-key": "wrong"}, 1 << 20)
    assert status == 401, answer[:300]

"""Which upstream failure is which: retry on another key, or answer the client."""

from __future__ import annotations

import math

import pytest

from poe.errors import InvalidRequest, NotFound, UpstreamError
from poe.pool import AttemptFailed, classify_status, cooldown_seconds, parse_retry_after
from poe.settings import Config
from poe.upstreams.bot_events import PoeErrorEvent
from poe.upstreams.poe_bot import classify_error_event


@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, "invalid_key"), (403, "invalid_key"), (402, "out_of_points"), (429, "rate_limited"),
     (500, "unavailable"), (502, "unavailable"), (503, "unavailable"), (504, "unavailable"), (408, "unavailable"), (599, "unavailable")],
)  # fmt: skip
def test_statuses_that_another_key_may_not_have(status, kind):
    failure = classify_status(status, None, "body")
    assert isinstance(failure, AttemptFailed)
    assert failure.kind == kind
    assert str(status) in failure.detail


def test_429_keeps_retry_after():
    failure = classify_status(429, 12.0, "")
    assert isinstance(failure, AttemptFailed) and failure.retry_after == 12.0


def test_404_is_model_not_found():
    err = classify_status(404, None, "Not Found")
    assert isinstance(err, NotFound)
    assert (err.status, err.code, err.param) == (404, "model_not_found", "model")


def test_400_is_the_clients_fault_and_shows_the_reason():
    err = classify_status(400, None, '{"detail":\n   "message too long"}')
    assert isinstance(err, InvalidRequest) and err.status == 400
    assert err.message == "Poe rejected the request: message too long"  # the message of the error body
    plain = classify_status(400, None, "a\n   plain   text")
    assert plain.message == "Poe rejected the request: a plain text"  # whitespace collapsed
    assert isinstance(classify_status(400, None, ""), InvalidRequest)


@pytest.mark.parametrize("status", [405, 409, 418, 451])
def test_other_statuses_are_upstream_errors(status):
    err = classify_status(status, None, "x" * 1000)
    assert isinstance(err, UpstreamError) and err.status == 502
    assert str(status) in err.message
    assert len(err.message) < 400  # the body is cut short


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        (PoeErrorEvent("You do not have enough points to send this message.", False, "insufficient_fund"), "out_of_points"),
        pytest.param(
            PoeErrorEvent("You do not have enough points to send this message."),
            "out_of_points",
        ),
        (PoeErrorEvent("Insufficient fund"), "out_of_points"),
        (PoeErrorEvent("You have run out of compute points"), "out_of_points"),
        (PoeErrorEvent("You have exceeded rate limit for this bot. Please slow down."), "rate_limited"),
        (PoeErrorEvent("Too many requests"), "rate_limited"),
        (PoeErrorEvent("Busy", True, "rate_limit_exceeded"), "rate_limited"),
    ],
)
def test_error_events_another_key_may_not_have(event, kind):
    failure = classify_error_event(event)
    assert isinstance(failure, AttemptFailed)
    assert failure.kind == kind


@pytest.mark.parametrize("error_type", ["user_message_too_long", "user_caused_error", "privacy_authorization_error"])
def test_error_events_caused_by_the_request_are_400_with_the_type_as_code(error_type):
    # even when the text mentions points or limits, the type decides: another key fails the same way
    err = classify_error_event(PoeErrorEvent("Your message is too long for the rate limit", False, error_type))
    assert isinstance(err, InvalidRequest)
    assert (err.status, err.code) == (400, error_type)
    assert "too long" in err.message


def test_other_error_events_are_upstream_errors():
    err = classify_error_event(PoeErrorEvent("The bot crashed", True, None))
    assert isinstance(err, UpstreamError) and err.status == 502
    assert err.code == "upstream_error"
    assert "The bot crashed" in err.message
    err = classify_error_event(PoeErrorEvent("odd", True, "bot_unavailable; secret-key-1 leaked"))
    assert err.code == "upstream_error"  # an unknown type is not passed on: it is free text from upstream
    err = classify_error_event(PoeErrorEvent("odd", True, "bot_error"))
    assert err.code == "bot_error"


def test_snippets_are_cut_at_a_space_so_no_part_of_a_token_survives():
    from poe.pool import snippet

    text = "Poe said: " + "word " * 55 + "sk-secret-key-that-straddles-the-cut and more"
    cut = snippet(text, 300)
    assert len(cut) <= 300 and cut.endswith("...")
    assert "sk-" not in cut
    assert snippet("x" * 400, 300) == "..."  # one giant token: nothing of it


def test_error_event_text_is_trimmed():
    err = classify_error_event(PoeErrorEvent("  "))
    assert "The bot reported an error." in err.message
    err = classify_error_event(PoeErrorEvent("word " * 500))
    assert len(err.message) < 400 and err.message.endswith("...")


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("5", 5.0),
        ("0", 0.0),
        (" 2.5 ", 2.5),
        (None, None),
        ("", None),
        ("-1", None),
        ("nan", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
    ],
)
def test_parse_retry_after(raw, value):
    assert parse_retry_after(raw) == value


@pytest.mark.parametrize("raw", ["inf", "Infinity", "1e999"])
def test_infinite_retry_after_is_not_an_infinite_cooldown(raw):
    seconds = cooldown_seconds(Config.defaults(), "rate_limited", parse_retry_after(raw))
    assert math.isfinite(seconds)


def test_a_bots_own_quota_wording_does_not_cool_keys():
    # a bot relaying its backend's "quota" error is a bot error, not an exhausted Poe key
    failure = classify_error_event(PoeErrorEvent("Upstream said: You exceeded your current quota, check your plan."))
    assert not isinstance(failure, AttemptFailed)


# ---------------------------------------------------------------- the watchdog


async def test_watchdog_fires_once_nothing_arrives_for_the_idle_time() -> None:
    import asyncio

    from poe.upstreams.poe_bot import Watchdog

    fired: list[float] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    dog = Watchdog(0.2, lambda: fired.append(loop.time() - start))
    await asyncio.sleep(0.4)
    dog.stop()
    assert dog.fired and len(fired) == 1
    assert 0.2 <= fired[0] <= 0.35  # idle, at most idle + a quarter (plus scheduling)


async def test_watchdog_stays_quiet_while_progress_is_made() -> None:
    import asyncio

    from poe.upstreams.poe_bot import Watchdog

    dog = Watchdog(0.2, lambda: None)
    for _ in range(8):  # 0.4 s of steady progress: twice the idle time
        await asyncio.sleep(0.05)
        dog.progress += 1
    dog.stop()
    assert not dog.fired


async def test_a_stream_that_goes_silent_after_it_started_ends_with_a_timeout() -> None:
    import asyncio
    import json
    from collections.abc import AsyncIterator

    from poe.canonical import Delta, Failure
    from poe.catalogue import Model
    from poe.errors import UpstreamTimeout
    from poe.http import OutboundRequest, Runtime, UpstreamResponse
    from poe.pool import KeyPool
    from poe.upstreams.poe_bot import open_answer

    closed = asyncio.Event()

    class Stalling:
        async def send(self, request: OutboundRequest) -> UpstreamResponse:
            async def body() -> AsyncIterator[bytes]:
                yield b'event: text\ndata: {"text": "partial"}\n\n'
                await closed.wait()  # silent until the watchdog closes the response
                raise ConnectionError("aborted")

            async def close() -> None:
                closed.set()

            return UpstreamResponse(200, {}, body(), close)

    cfg = Config.defaults(api_keys=("k",), access_tokens=("t",), protocol="bot", timeout=1.0)
    rt = Runtime(http=Stalling(), kv=None, clock=lambda: 0.0, defer=lambda _w: None, log=lambda _l: None)
    req = parse_chat(json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
    opened = await open_answer(rt, cfg, KeyPool(("k",), cfg), req, Model("m", "M", "custom"))
    events = [ev async for batch in opened.value for ev in batch]
    assert events[0] == Delta(content="partial")
    assert isinstance(events[-1], Failure) and isinstance(events[-1].error, UpstreamTimeout)
    assert "stopped sending" in events[-1].error.message


def parse_chat(raw: str):  # type: ignore[no-untyped-def]
    from poe.doors.common import load_json
    from poe.doors.openai_parse import parse_chat_request

    return parse_chat_request(load_json(raw.encode()))


def test_an_unknown_model_is_a_404_in_either_of_poes_shapes() -> None:
    for status, body in (
        (404, '{"error": {"message": "no such model", "type": "not_found_error"}}'),
        (400, '{"error": {"message": "Model x not found", "type": "invalid_request_error", "code": "model_not_found"}}'),
    ):
        err = classify_status(status, None, body)
        assert isinstance(err, NotFound) and err.param == "model" and err.code == "model_not_found"

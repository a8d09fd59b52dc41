"""The ledger: limits counted in one place, usage merged from isolates, its state saved and restored."""

from __future__ import annotations

import asyncio
import json

import pytest

from poe.edges.sqlite_kv import SqliteKV
from poe.errors import RateLimited
from poe.ledger import LEASE_SECONDS, LEDGER_KEY, IsolateBooks, LedgerState, LocalLedger
from poe.policies import TokenPolicy

T0 = 20_000 * 86400.0 + 3600


def admit(state: LedgerState, now: float, **limits: int) -> dict:
    out, _ = state.handle({"admit": {"name": "alice", **limits}}, now)
    return out


def test_rpm_over_the_limit_is_refused_with_retry_after_and_the_trio() -> None:
    state = LedgerState()
    for i in range(3):
        assert dict(admit(state, T0 + i, rpm=3)["admitted"]["headers"])["x-ratelimit-remaining-requests"] == str(2 - i)
    refused = admit(state, T0 + 10, rpm=3)["refused"]
    headers = dict(refused["headers"])
    assert headers["retry-after"] == "50" and headers["x-ratelimit-remaining-requests"] == "0"
    assert "3 requests per minute" in refused["message"]
    assert "admitted" in admit(state, T0 + 60.5, rpm=3)  # the first one left the window


def test_the_day_count_and_the_open_answers() -> None:
    state = LedgerState()
    assert "admitted" in admit(state, T0, rpd=2, concurrency=1)
    assert "refused" in admit(state, T0 + 1, rpd=2, concurrency=1)  # one open already
    state.handle({"release": "alice"}, T0 + 2)
    assert "admitted" in admit(state, T0 + 3, rpd=2, concurrency=1)
    state.handle({"release": "alice"}, T0 + 4)
    assert "2 requests per day" in admit(state, T0 + 5, rpd=2, concurrency=1)["refused"]["message"]
    out, _ = state.handle({"read": ["alice", "bob"]}, T0 + 6)
    assert out["limits"] == {
        "alice": {"requests_this_minute": 2, "requests_today": 2, "open": 0},
        "bob": {"requests_this_minute": 0, "requests_today": 0, "open": 0},
    }


def test_an_answer_whose_end_never_came_stops_counting_after_the_lease() -> None:
    state = LedgerState()
    assert "admitted" in admit(state, T0, concurrency=1)
    assert "refused" in admit(state, T0 + 1, concurrency=1)
    assert "admitted" in admit(state, T0 + LEASE_SECONDS + 1, concurrency=1)


def test_state_survives_a_dump_and_load() -> None:
    state = LedgerState()
    admit(state, T0, rpm=2, rpd=5)
    admit(state, T0 + 1, rpm=2, rpd=5)
    state.handle({"usage": {"token": {"alice": {str(int(T0 // 86400)): {"models": {"echo": {"requests": 2}}}}}}}, T0 + 2)
    again = LedgerState(state.dump())
    assert "refused" in admit(again, T0 + 3, rpm=2, rpd=5)  # the minute's two requests held
    out, _ = again.handle({"read": ["alice"]}, T0 + 4)
    assert out["limits"]["alice"]["requests_today"] == 2
    assert out["usage"]["token"]["alice"][str(int(T0 // 86400))]["models"]["echo"] == {"requests": 2}
    assert LedgerState("not json").dump() == LedgerState().dump()


def test_nonsense_requests_change_nothing() -> None:
    state = LedgerState()
    for request in (None, [], {"admit": "x"}, {"admit": {"name": 3}}, {"release": 5}, {"read": "x"}):
        assert state.handle(request, T0) == ({}, False)


class Store:
    def __init__(self) -> None:
        self.ledger = LocalLedger(lambda: T0, scope="test")
        self.calls: list[dict] = []
        self.fail = False

    async def call(self, request: str) -> str:
        self.calls.append(json.loads(request))
        if self.fail:
            raise RuntimeError("unreachable")
        return await self.ledger.call(request)


async def test_usage_rides_along_with_the_next_call_and_survives_a_failed_one() -> None:
    store = Store()
    books = IsolateBooks(store, flush_seconds=0)
    books.pending.record("alice", "echo", 200, T0)
    store.fail = True
    with pytest.raises(RuntimeError):
        await books.admit(TokenPolicy("alice", "t" * 8, rpm=5))
    assert not books.pending.empty  # kept for the next call
    store.fail = False
    books.pending.record("alice", "echo", 502, T0)
    admission = await books.admit(TokenPolicy("alice", "t" * 8, rpm=5))
    assert dict(admission.headers)["x-ratelimit-limit-requests"] == "5"
    assert books.pending.empty and "usage" in store.calls[-1]
    answer = await books.call({"read": ["alice"]})
    day = answer["usage"]["token"]["alice"][str(int(T0 // 86400))]["models"]["echo"]
    assert day == {"requests": 2, "errors": 1}  # once each, though the first call failed


async def test_refusals_come_back_as_rate_limited() -> None:
    books = IsolateBooks(Store(), flush_seconds=0)
    policy = TokenPolicy("alice", "t" * 8, rpm=1)
    await books.admit(policy)
    with pytest.raises(RateLimited) as refused:
        await books.admit(policy)
    assert refused.value.status == 429 and dict(refused.value.headers)["retry-after"] == "60"


async def test_pending_usage_is_flushed_once_for_many_records() -> None:
    store = Store()
    books = IsolateBooks(store, flush_seconds=0.01)
    deferred: list[asyncio.Task[None]] = []
    for _ in range(5):
        books.pending.record("alice", "echo", 200, T0)
        books.flush_soon(lambda work: deferred.append(asyncio.ensure_future(work)), print)
    await asyncio.gather(*deferred)
    assert len(deferred) == 1 and len(store.calls) == 1 and books.pending.empty


async def test_a_saved_ledger_comes_back_from_the_state_file(tmp_path) -> None:
    kv = SqliteKV(tmp_path / "state.db")
    first = LocalLedger(lambda: T0, kv, save_seconds=60)
    await first.call(json.dumps({"admit": {"name": "alice", "rpd": 1}}))
    assert await kv.get(LEDGER_KEY) is None  # not yet: coalesced
    await first.flush()  # as at shutdown
    second = LocalLedger(lambda: T0 + 5, SqliteKV(tmp_path / "state.db"))
    out = json.loads(await second.call(json.dumps({"admit": {"name": "alice", "rpd": 1}})))
    assert "1 requests per day" in out["refused"]["message"]
    kv.close()


def test_a_saved_ledger_too_large_drops_its_oldest_days_first(monkeypatch: pytest.MonkeyPatch) -> None:
    import poe.ledger

    state = LedgerState()
    for d in range(5):
        for m in range(40):
            state.usage.record("alice", f"model-{m:03d}", 200, T0 - d * 86400)
    full = len(state.dump(T0))
    monkeypatch.setattr(poe.ledger, "MAX_SAVED_BYTES", full // 2)
    saved = LedgerState(state.dump(T0))
    days = saved.usage.summary("token", "alice")
    assert 1 <= len(days) < 5 and max(days) == max(state.usage.summary("token", "alice"))  # today stays

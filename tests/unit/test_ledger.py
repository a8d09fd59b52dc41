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


def release(state: LedgerState, lease: str, now: float) -> None:
    state.handle({"release": {"name": "alice", "lease": lease}}, now)


def test_the_day_count_and_the_open_answers() -> None:
    state = LedgerState()
    first = admit(state, T0, rpd=2, concurrency=1)["admitted"]["lease"]
    assert "refused" in admit(state, T0 + 1, rpd=2, concurrency=1)  # one open already
    release(state, first, T0 + 2)
    second = admit(state, T0 + 3, rpd=2, concurrency=1)["admitted"]["lease"]
    assert second != first
    release(state, second, T0 + 4)
    assert "2 requests per day" in admit(state, T0 + 5, rpd=2, concurrency=1)["refused"]["message"]
    out, _ = state.handle({"read": ["alice", "bob"]}, T0 + 6)
    assert out["limits"] == {
        "alice": {"requests_this_minute": 2, "requests_today": 2, "open": 0},
        "bob": {"requests_this_minute": 0, "requests_today": 0, "open": 0},
    }


def test_an_answer_whose_end_never_came_stops_counting_after_the_lease() -> None:
    state = LedgerState()
    old = admit(state, T0, concurrency=1)["admitted"]["lease"]
    assert "refused" in admit(state, T0 + 1, concurrency=1)
    new = admit(state, T0 + LEASE_SECONDS + 1, concurrency=1)["admitted"]["lease"]
    release(state, old, T0 + LEASE_SECONDS + 2)  # the late end of the expired one frees nothing else
    release(state, old, T0 + LEASE_SECONDS + 3)  # nor does a second release
    assert "refused" in admit(state, T0 + LEASE_SECONDS + 4, concurrency=1)
    release(state, new, T0 + LEASE_SECONDS + 5)
    assert "admitted" in admit(state, T0 + LEASE_SECONDS + 6, concurrency=1)


def test_no_lease_without_a_concurrency_limit() -> None:
    assert admit(LedgerState(), T0, rpm=5)["admitted"]["lease"] == ""


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
    for request in (None, [], {"admit": "x"}, {"admit": {"name": 3}}, {"release": 5}, {"release": {"name": "a"}}, {"read": "x"}):
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


class RemoteStore(Store):
    """A ledger elsewhere (a Durable Object): each call takes a while."""

    async def call(self, request: str) -> str:
        await asyncio.sleep(0.02)
        return await super().call(request)


async def test_pending_usage_is_flushed_once_for_many_records() -> None:
    store = RemoteStore()
    books = IsolateBooks(store, flush_seconds=0.01)
    deferred: list[asyncio.Task[None]] = []
    for _ in range(5):
        books.pending.record("alice", "echo", 200, T0)
        books.flush_soon(lambda work: deferred.append(asyncio.ensure_future(work)), print, T0)
    await asyncio.gather(*deferred)
    assert len(deferred) == 1 and len(store.calls) == 1 and books.pending.empty


async def test_under_steady_traffic_each_flush_ends_and_records_made_during_one_go_with_the_next() -> None:
    store = RemoteStore()
    books = IsolateBooks(store, flush_seconds=0.01)
    deferred: list[asyncio.Task[None]] = []
    for i in range(40):  # a record every 5 ms for 200 ms, while each call takes 20 ms
        books.pending.record("alice", "echo", 200, T0)
        books.flush_soon(lambda work: deferred.append(asyncio.ensure_future(work)), print, T0 + i * 0.005)
        await asyncio.sleep(0.005)
    await asyncio.gather(*deferred)
    books.flush_soon(lambda work: deferred.append(asyncio.ensure_future(work)), print, T0 + 1)
    await asyncio.gather(*deferred)
    assert 3 <= len(deferred) <= 20  # several short flushes, none that runs for the whole time
    answer = await books.call({"read": ["alice"]})
    assert answer["usage"]["token"]["alice"][str(int(T0 // 86400))]["models"]["echo"] == {"requests": 40}


async def test_a_flush_cut_by_the_platform_counts_as_gone_after_a_while() -> None:
    books = IsolateBooks(RemoteStore(), flush_seconds=5)
    dropped: list[object] = []
    books.pending.record("alice", "echo", 200, T0)
    books.flush_soon(dropped.append, print, T0)  # its waitUntil never runs it
    books.flush_soon(dropped.append, print, T0 + 10)
    assert len(dropped) == 1  # still counted as on its way
    books.flush_soon(dropped.append, print, T0 + 26)
    assert len(dropped) == 2
    for work in dropped:
        work.close()  # type: ignore[attr-defined]


async def test_a_ledger_that_does_not_answer_admits_nothing_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import poe.ledger

    class Silent:
        async def call(self, request: str) -> str:
            await asyncio.sleep(10)
            return "{}"

    monkeypatch.setattr(poe.ledger, "ADMIT_TIMEOUT", 0.05)
    with pytest.raises(TimeoutError):
        await IsolateBooks(Silent(), 0).admit(TokenPolicy("alice", "t" * 8, rpm=1))


async def test_a_saved_ledger_comes_back_from_the_state_file(tmp_path) -> None:
    kv = SqliteKV(tmp_path / "state.db")
    first = LocalLedger(lambda: T0, kv, save_seconds=0.01)
    await first.call(json.dumps({"admit": {"name": "alice", "rpd": 1}}))
    assert await kv.get(LEDGER_KEY) is None  # not yet: coalesced
    await asyncio.sleep(0.05)
    assert await kv.get(LEDGER_KEY) is not None  # saved by itself, shortly after
    await first.call(json.dumps({"usage": {"token": {"alice": {str(int(T0 // 86400)): {"models": {"echo": {"requests": 1}}}}}}}))
    await first.flush()  # as at shutdown: the change of a moment ago too
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


async def test_a_stream_releases_its_lease_once_however_it_ends() -> None:
    from poe.app import _Released

    released: list[int] = []

    async def release() -> None:
        released.append(1)

    async def body():  # type: ignore[no-untyped-def]
        yield b"a"
        yield b"b"

    closed_early = _Released(body(), release)  # the client left before the first chunk
    await closed_early.aclose()
    await closed_early.aclose()
    assert released == [1]
    read = _Released(body(), release)
    assert [chunk async for chunk in read] == [b"a", b"b"]
    await read.aclose()
    assert released == [1, 1]

"""KeyPool: rotation, cool-downs, exhaustion errors and KV sync between isolates."""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import pytest

from poe.errors import InsufficientQuota, RateLimited
from poe.http import Runtime
from poe.pool import COUNTER_NAME, KV_MIN_TTL, KV_PREFIX, KeyPool, cooldown_seconds, key_fingerprint
from poe.settings import Config

KEYS = ("poe-key-aaaa", "poe-key-bbbb", "poe-key-cccc", "poe-key-dddd")


def config(**kw: Any) -> Config:
    return Config.defaults(api_keys=KEYS, access_tokens=("t",), **kw)


class MemoryKV:
    """A KeyValueStore in a dict; remembers each put's TTL."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.ttls: dict[str, int | None] = {}
        self.gets = 0
        self.puts = 0

    async def get(self, key: str) -> str | None:
        self.gets += 1
        await asyncio.sleep(0)
        return self.data.get(key)

    async def put(self, key: str, value: str, ttl: int | None = None) -> None:
        self.puts += 1
        await asyncio.sleep(0)
        self.data[key] = value
        self.ttls[key] = ttl


class BrokenKV:
    async def get(self, key: str) -> str | None:
        raise RuntimeError("KV is down")

    async def put(self, key: str, value: str, ttl: int | None = None) -> None:
        raise RuntimeError("KV is down")


@dataclass
class FakeRuntime:
    """Collects deferred work (ctx.waitUntil) so a test can run it when it chooses."""

    kv: Any = None
    now: float = 1_000_000.0
    deferred: list[Awaitable[Any]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    @property
    def rt(self) -> Runtime:
        return Runtime(http=None, kv=self.kv, clock=lambda: self.now, defer=self.deferred.append, log=self.logs.append)  # type: ignore[arg-type]

    async def drain(self) -> None:
        while self.deferred:
            work, self.deferred = self.deferred, []
            await asyncio.gather(*work)


# ---------------------------------------------------------------- rotation


def test_rotation_is_even_over_healthy_keys():
    pool = KeyPool(KEYS, config())
    firsts = Counter()
    for _ in range(1000):
        plan = pool.plan(0.0)
        assert sorted(plan) == [0, 1, 2, 3]  # every key once, as failover order
        firsts[plan[0]] += 1
    assert firsts == {0: 250, 1: 250, 2: 250, 3: 250}
    assert pool.counter == 1000


def test_plan_is_a_rotation():
    pool = KeyPool(KEYS, config())
    assert [pool.plan(0.0) for _ in range(5)] == [[0, 1, 2, 3], [1, 2, 3, 0], [2, 3, 0, 1], [3, 0, 1, 2], [0, 1, 2, 3]]


def test_max_attempts_caps_the_plan():
    pool = KeyPool(KEYS, config(max_attempts=2))
    assert [pool.plan(0.0) for _ in range(3)] == [[0, 1], [1, 2], [2, 3]]


def test_cooled_keys_are_skipped_until_they_recover():
    env = FakeRuntime()
    pool = KeyPool(KEYS, config())
    pool.cool_down(env.rt, 1, "rate_limited", 60, now=0.0)
    firsts = Counter()
    for _ in range(300):
        plan = pool.plan(10.0)
        assert 1 not in plan and sorted(plan) == [0, 2, 3]
        firsts[plan[0]] += 1
    assert firsts == {0: 100, 2: 100, 3: 100}
    assert 1 in pool.plan(60.0)  # cooling ends at exactly now + seconds
    assert env.logs == ["key #2 cooling for 60 s (rate_limited)"]


def test_a_shorter_cooldown_does_not_shorten_a_longer_one():
    env = FakeRuntime()
    pool = KeyPool(KEYS, config())
    pool.cool_down(env.rt, 0, "invalid_key", 3600, now=0.0)
    pool.cool_down(env.rt, 0, "unavailable", 10, now=5.0)
    cd = pool.cooling(0, 100.0)
    assert cd is not None and (cd.until, cd.reason) == (3600.0, "invalid_key")
    pool.cool_down(env.rt, 0, "out_of_points", 7200, now=5.0)
    assert pool.cooling(0, 100.0).reason == "out_of_points"


def test_zero_second_cooldown_does_not_remove_the_key():
    pool = KeyPool(KEYS, config())
    pool.cool_down(FakeRuntime().rt, 2, "rate_limited", 0, now=5.0)
    assert 2 in pool.plan(5.0)


def test_healthy_lists_the_keys_not_cooling():
    pool = KeyPool(KEYS, config())
    env = FakeRuntime()
    pool.cool_down(env.rt, 2, "rate_limited", 30, 0.0)
    assert pool.healthy(10.0) == [0, 1, 3]
    assert pool.healthy(30.0) == [0, 1, 2, 3]  # expired at its "until"


# ---------------------------------------------------------------- exhaustion


def cool_all(pool: KeyPool, kinds: list[str], seconds: list[float], now: float = 0.0) -> None:
    env = FakeRuntime()
    for i, (kind, s) in enumerate(zip(kinds, seconds, strict=True)):
        pool.cool_down(env.rt, i, kind, s, now)  # type: ignore[arg-type]


def test_all_keys_cooling_gives_429_with_retry_after_at_the_soonest_recovery():
    pool = KeyPool(KEYS, config())
    cool_all(pool, ["rate_limited", "out_of_points", "invalid_key", "unavailable"], [60, 3600, 3600, 10.5])
    assert pool.plan(1.0) == []
    err = pool.exhausted_error(1.0)
    assert isinstance(err, RateLimited)
    assert (err.status, err.type, err.code) == (429, "rate_limit_error", "rate_limit_exceeded")
    assert dict(err.headers) == {"retry-after": "10"}  # ceil(10.5 - 1)
    assert "retry in 10 s" in err.message
    assert "1 invalid key" in err.message and "1 out of points" in err.message and "1 rate limited" in err.message
    for key in KEYS:
        assert key not in err.message


def test_all_keys_out_of_points_is_insufficient_quota():
    pool = KeyPool(KEYS, config())
    cool_all(pool, ["out_of_points"] * 4, [3600, 1800, 3600, 3600])
    err = pool.exhausted_error(0.0)
    assert isinstance(err, InsufficientQuota)
    assert (err.status, err.type, err.code) == (429, "insufficient_quota", "insufficient_quota")
    assert dict(err.headers) == {"retry-after": "1800"}
    assert "4 out of points" in err.message


def test_retry_after_is_at_least_one_second():
    pool = KeyPool(KEYS, config())
    cool_all(pool, ["rate_limited"] * 4, [0.2, 5, 5, 5])
    assert dict(pool.exhausted_error(0.0).headers) == {"retry-after": "1"}


def test_keys_recover_after_their_cooldown():
    pool = KeyPool(KEYS, config())
    cool_all(pool, ["rate_limited"] * 4, [10, 20, 30, 40])
    assert pool.plan(9.0) == []
    assert pool.plan(10.0) == [0]
    assert sorted(pool.plan(35.0)) == [0, 1, 2]


@pytest.mark.parametrize(
    ("kind", "retry_after", "expected"),
    [
        ("invalid_key", None, 3601.0),
        ("invalid_key", 5.0, 3601.0),
        ("out_of_points", None, 7200.0),
        ("rate_limited", None, 61.0),
        ("rate_limited", 17.0, 17.0),
        ("rate_limited", 0.0, 0.0),
        ("unavailable", None, 11.0),
        ("timeout", 30.0, 11.0),
    ],
)
def test_cooldown_seconds_policy(kind, retry_after, expected):
    cfg = config(invalid_key_cooldown=3601, quota_cooldown=7200, rate_limit_cooldown=61, error_cooldown=11)
    assert cooldown_seconds(cfg, kind, retry_after) == expected


def test_health_names_keys_by_position_only():
    pool = KeyPool(KEYS, config())
    pool.cool_down(FakeRuntime().rt, 2, "out_of_points", 100, now=0.0)
    health = pool.health(40.0)
    assert health == {
        "configured": 4,
        "healthy": 3,
        "cooling": [{"key": "#3", "reason": "out_of_points", "seconds_left": 60}],
    }
    assert not any(k in json.dumps(health) for k in KEYS)
    assert pool.health(100.0)["healthy"] == 4


# ---------------------------------------------------------------- KV sync


async def test_without_kv_nothing_is_deferred():
    env = FakeRuntime(kv=None)
    pool = KeyPool(KEYS, config())
    await pool.sync(env.rt, 0.0)
    pool.plan(0.0)
    pool.persist(env.rt, 0.0)
    pool.cool_down(env.rt, 0, "rate_limited", 60, 0.0)
    assert env.deferred == []


async def test_a_second_isolate_continues_the_rotation_and_sees_cooldowns():
    kv = MemoryKV()
    a = FakeRuntime(kv=kv)
    pool_a = KeyPool(KEYS, config(kv_persist_seconds=0))
    await pool_a.sync(a.rt, 0.0)
    for _ in range(6):
        pool_a.plan(0.0)
    pool_a.persist(a.rt, 0.0)
    pool_a.cool_down(a.rt, 2, "out_of_points", 3600, 0.0)
    assert kv.puts == 0  # nothing on the request path: all deferred
    await a.drain()
    assert kv.data[COUNTER_NAME] == "6"
    (cd_name,) = [n for n in kv.data if n != COUNTER_NAME]
    assert not any(k in cd_name or k in kv.data[cd_name] for k in KEYS)  # KV never holds key text
    assert kv.ttls[cd_name] >= 3600 and kv.ttls[COUNTER_NAME] is None

    b = FakeRuntime(kv=kv)
    pool_b = KeyPool(KEYS, config())
    await pool_b.sync(b.rt, 1.0)  # the first load is awaited, not deferred
    assert pool_b.counter == 6
    assert pool_b.cooling(2, 1.0) is not None and pool_b.cooling(2, 1.0).reason == "out_of_points"
    assert pool_b.plan(1.0) == pool_a.plan(1.0)  # same next step of the rotation, without key #3
    assert 2 not in pool_b.plan(1.0)
    await b.drain()


async def test_cooldowns_follow_the_key_not_its_position():
    kv = MemoryKV()
    a = FakeRuntime(kv=kv)
    pool_a = KeyPool(KEYS, config())
    await pool_a.sync(a.rt, 0.0)
    pool_a.cool_down(a.rt, 0, "invalid_key", 600, 0.0)  # poe-key-aaaa
    await a.drain()
    reordered = (KEYS[3], KEYS[2], KEYS[1], KEYS[0])
    pool_b = KeyPool(reordered, config())
    await pool_b.sync(FakeRuntime(kv=kv).rt, 1.0)
    assert list(pool_b.cooldowns) == [3]


async def test_counter_writes_are_coalesced():
    kv = MemoryKV()
    env = FakeRuntime(kv=kv)
    pool = KeyPool(KEYS, config(kv_persist_seconds=120))
    await pool.sync(env.rt, 0.0)
    pool.persist(env.rt, 0.0)  # counter unchanged: nothing to write
    assert env.deferred == []
    for t in range(0, 119):
        pool.plan(float(t))
        pool.persist(env.rt, float(t))
    await env.drain()
    assert kv.puts == 1 and kv.data[COUNTER_NAME] == "1"
    pool.plan(120.0)
    pool.persist(env.rt, 120.0)
    await env.drain()
    assert kv.puts == 2 and kv.data[COUNTER_NAME] == str(pool.counter) == "120"


async def test_later_refreshes_are_deferred_and_rate_limited():
    kv = MemoryKV()
    env_b = FakeRuntime(kv=kv)
    pool_b = KeyPool(KEYS, config(kv_refresh_seconds=10))
    await pool_b.sync(env_b.rt, 0.0)
    gets_after_load = kv.gets
    assert gets_after_load == 2 + len(KEYS)  # the counter, the balances and one entry per key

    env_a = FakeRuntime(kv=kv)
    pool_a = KeyPool(KEYS, config())
    await pool_a.sync(env_a.rt, 0.0)
    pool_a.cool_down(env_a.rt, 1, "rate_limited", 60, 1.0)
    await env_a.drain()

    await pool_b.sync(env_b.rt, 5.0)  # too soon to look again
    assert env_b.deferred == [] and pool_b.cooling(1, 5.0) is None
    await pool_b.sync(env_b.rt, 10.0)
    assert len(env_b.deferred) == 1  # read after the response, not on the request path
    await pool_b.sync(env_b.rt, 10.5)
    assert len(env_b.deferred) == 1  # one refresh at a time
    await env_b.drain()
    assert pool_b.cooling(1, 10.0) is not None
    assert 1 not in pool_b.plan(10.0)


async def test_expired_and_corrupt_kv_entries_are_ignored():
    kv = MemoryKV()
    pool = KeyPool(KEYS, config())
    names = [KV_PREFIX + "cooldown:" + key_fingerprint(k) for k in KEYS]
    kv.data[COUNTER_NAME] = "not a number"
    kv.data[names[0]] = json.dumps({"until": 50.0, "reason": "rate_limited"})  # expired at now=100
    kv.data[names[1]] = "{not json"
    kv.data[names[2]] = json.dumps(["until", 500])
    kv.data[names[3]] = json.dumps({"until": 500.0, "reason": "mystery"})
    await pool.sync(FakeRuntime(kv=kv).rt, 100.0)
    assert pool.counter == 0
    assert list(pool.cooldowns) == [3]
    assert pool.cooldowns[3].reason == "unavailable"


async def test_a_smaller_stored_counter_does_not_move_the_rotation_back():
    kv = MemoryKV()
    kv.data[COUNTER_NAME] = "2"
    pool = KeyPool(KEYS, config())
    for _ in range(5):
        pool.plan(0.0)
    await pool.sync(FakeRuntime(kv=kv).rt, 0.0)
    assert pool.counter == 5


async def test_kv_failures_never_fail_a_request():
    env = FakeRuntime(kv=BrokenKV())
    pool = KeyPool(KEYS, config(kv_persist_seconds=0, kv_refresh_seconds=0))
    await pool.sync(env.rt, 0.0)
    assert pool.plan(0.0) == [0, 1, 2, 3]
    pool.persist(env.rt, 0.0)
    pool.cool_down(env.rt, 0, "rate_limited", 60, 0.0)
    await pool.sync(env.rt, 1.0)
    await env.drain()  # deferred work swallows the errors
    assert env.logs.count("KV operation failed (RuntimeError)") >= 3
    assert not any("KV is down" in line or any(k in line for k in KEYS) for line in env.logs)
    assert 0 not in pool.plan(1.0)  # the in-memory cool-down still holds


async def test_cooldown_ttl_respects_the_kv_minimum():
    kv = MemoryKV()
    env = FakeRuntime(kv=kv)
    pool = KeyPool(KEYS, config())
    pool.cool_down(env.rt, 0, "unavailable", 10, 0.0)
    pool.cool_down(env.rt, 1, "out_of_points", 3600.2, 0.0)
    pool.cool_down(env.rt, 2, "rate_limited", 0, 0.0)  # nothing to store
    await env.drain()
    ttls = sorted(kv.ttls.values())
    assert ttls == [KV_MIN_TTL, math.ceil(3600.2) + 1]

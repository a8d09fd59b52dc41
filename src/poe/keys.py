"""The pool of Poe keys: rotation, cool-downs, KV persistence.

Keys are referred to by position (``#1``) in anything a person reads, and by
a short SHA-256 prefix in KV names; the key text itself never leaves this
module except in the upstream ``Authorization`` header.

State per isolate, shared through KV (which allows about one write per second
per name and is eventually consistent):

* the rotation counter lives in memory and is written to KV at most every
  ``kv_persist_seconds``, from a deferred task, never on the request path;
  a new isolate starts from the stored value;
* each cool-down is its own KV entry holding the absolute "until" time, with
  an expiration TTL of at least 60 s (KV's minimum), so isolates merge them
  by taking the later time and an expired entry means nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from .config import Config
from .errors import InsufficientQuota, ProxyError, RateLimited, UpstreamError
from .types import KeyValueStore, Runtime
from .upstream import FailureKind

__all__ = ["Cooldown", "KeyPool", "cooldown_seconds", "key_fingerprint"]

KV_PREFIX = "poe-proxy:"
COUNTER_NAME = KV_PREFIX + "rotation"
KV_MIN_TTL = 60


def key_fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Cooldown:
    until: float
    reason: FailureKind


def cooldown_seconds(cfg: Config, kind: FailureKind, retry_after: float | None) -> float:
    """The policy: which failure cools a key for how long."""
    if kind == "invalid_key":
        return cfg.invalid_key_cooldown
    if kind == "out_of_points":
        return cfg.quota_cooldown
    if kind == "rate_limited":
        return retry_after if retry_after is not None else cfg.rate_limit_cooldown
    return cfg.error_cooldown  # unavailable, timeout


class KeyPool:
    def __init__(self, keys: tuple[str, ...], cfg: Config) -> None:
        self._keys = keys
        self._cfg = cfg
        self._names = tuple(KV_PREFIX + "cooldown:" + key_fingerprint(k) for k in keys)
        self.counter = 0
        self.cooldowns: dict[int, Cooldown] = {}
        self._loaded = False
        self._refreshed_at = -math.inf
        self._refreshing = False
        self._persisted_counter = 0
        self._persisted_at = -math.inf

    def __len__(self) -> int:
        return len(self._keys)

    def key(self, index: int) -> str:
        return self._keys[index]

    # ------------------------------------------------------------ choosing

    def cooling(self, index: int, now: float) -> Cooldown | None:
        cd = self.cooldowns.get(index)
        if cd is not None and cd.until <= now:
            del self.cooldowns[index]
            return None
        return cd

    def healthy(self, now: float) -> list[int]:
        return [i for i in range(len(self._keys)) if self.cooling(i, now) is None]

    def plan(self, now: float) -> list[int]:
        """Healthy keys in the order to try them; advances the rotation by one."""
        healthy = self.healthy(now)
        if not healthy:
            return []
        start = self.counter % len(healthy)
        self.counter += 1
        order = healthy[start:] + healthy[:start]
        cap = self._cfg.max_attempts or len(order)
        return order[:cap]

    def exhausted_error(self, now: float) -> ProxyError:
        """Every key is cooling: 429 with Retry-After at the soonest recovery."""
        active = [cd for i in range(len(self._keys)) if (cd := self.cooling(i, now)) is not None]
        soonest = min((cd.until for cd in active), default=now + 1)
        retry_after = max(1, math.ceil(soonest - now))
        counts: dict[str, int] = {}
        for cd in active:
            counts[cd.reason] = counts.get(cd.reason, 0) + 1
        summary = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in sorted(counts.items()))
        headers = (("retry-after", str(retry_after)),)
        if active and all(cd.reason == "invalid_key" for cd in active):
            # not a wait-and-retry situation: say so instead of a 429 that SDKs retry
            return UpstreamError(
                f"Every Poe key behind this proxy was rejected by Poe as invalid or revoked ({summary}); "
                "the operator must fix POE_APIKEYS.",
                code="invalid_poe_keys",
            )
        if active and all(cd.reason == "out_of_points" for cd in active):
            return InsufficientQuota(
                f"Every Poe key behind this proxy is out of compute points ({summary}); retry in {retry_after} s.",
                headers=headers,
            )
        return RateLimited(
            f"Every Poe key behind this proxy is cooling down ({summary}); retry in {retry_after} s.",
            headers=headers,
        )

    # ------------------------------------------------------------ reporting

    def cool_down(self, rt: Runtime, index: int, kind: FailureKind, seconds: float, now: float) -> None:
        until = now + seconds
        current = self.cooldowns.get(index)
        if current is not None and current.until >= until:
            return
        self.cooldowns[index] = Cooldown(until, kind)
        rt.log(f"key #{index + 1} cooling for {seconds:.0f} s ({kind})")
        if rt.kv is not None and seconds > 0:
            ttl = max(KV_MIN_TTL, math.ceil(seconds) + 1)
            value = json.dumps({"until": until, "reason": kind})
            rt.defer(_quiet(rt, rt.kv.put(self._names[index], value, ttl)))

    # ------------------------------------------------------------ KV sync

    async def sync(self, rt: Runtime, now: float) -> None:
        """Load once (awaited, so a new isolate continues the rotation); later refreshes run deferred."""
        if rt.kv is None:
            return
        if not self._loaded:
            self._loaded = True
            await _quiet(rt, self._refresh(rt.kv, now, first=True))
        elif now - self._refreshed_at >= self._cfg.kv_refresh_seconds and not self._refreshing:
            self._refreshing = True
            rt.defer(_quiet(rt, self._refresh(rt.kv, now)))

    def persist(self, rt: Runtime, now: float) -> None:
        """Write the rotation counter, coalesced to one write per kv_persist_seconds."""
        if rt.kv is None or self.counter == self._persisted_counter:
            return
        if now - self._persisted_at < self._cfg.kv_persist_seconds:
            return
        self._persisted_counter, self._persisted_at = self.counter, now
        rt.defer(_quiet(rt, rt.kv.put(COUNTER_NAME, str(self.counter))))

    async def _refresh(self, kv: KeyValueStore, now: float, first: bool = False) -> None:
        try:
            names = [COUNTER_NAME] if first else []
            values = await asyncio.gather(*(kv.get(n) for n in (*names, *self._names)))
            if first:
                stored = _int(values[0])
                if stored is not None and stored > self.counter:
                    self.counter = self._persisted_counter = stored
                values = values[1:]
            for index, raw in enumerate(values):
                cd = _cooldown(raw)
                if cd is None or cd.until <= now:
                    continue
                mine = self.cooldowns.get(index)
                if mine is None or mine.until < cd.until:
                    self.cooldowns[index] = cd
        finally:
            self._refreshed_at = now  # also after a failure: no retry storm on every request
            self._refreshing = False

    # ------------------------------------------------------------ health

    def health(self, now: float) -> dict[str, Any]:
        cooling = []
        for i in range(len(self._keys)):
            cd = self.cooling(i, now)
            if cd is not None:
                cooling.append({"key": f"#{i + 1}", "reason": cd.reason, "seconds_left": math.ceil(cd.until - now)})
        return {
            "configured": len(self._keys),
            "healthy": len(self._keys) - len(cooling),
            "cooling": cooling,
        }


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _cooldown(raw: str | None) -> Cooldown | None:
    if not raw:
        return None
    try:
        obj = json.loads(raw)
        until = float(obj["until"])
        reason = obj.get("reason", "unavailable")
    except (ValueError, KeyError, TypeError):
        return None
    if reason not in ("invalid_key", "out_of_points", "rate_limited", "unavailable", "timeout"):
        reason = "unavailable"
    return Cooldown(until, reason)


async def _quiet(rt: Runtime, work: Awaitable[Any]) -> None:
    """Deferred KV work must never fail a request; log the class of error only."""
    try:
        await work
    except Exception as exc:
        rt.log(f"KV operation failed ({type(exc).__name__})")

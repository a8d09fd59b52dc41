"""The pool of Poe keys: choosing, attempting, classifying failures, cooling down, failing over.

Both upstreams use it: ``open_with_failover`` tries healthy keys in rotation
order with an ``attempt`` the upstream supplies, until one reaches its commit
point (Poe answered 200 and, for the bot protocol, the first meaningful event
arrived): the last moment another key can still be tried. Failures before it
are an ``AttemptFailed`` (the key may be at fault: cool it, try the next) or a
``ProxyError`` (the request is at fault: answer the client).

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
  by taking the later time and an expired entry means nothing;
* the keys' point balances, which the scheduled pass (``refresh``) reads from
  Poe, are one KV entry by fingerprint, read with the cool-downs.

Choosing: with no balances known, a plain rotation over the healthy keys. Once
balances are known, the first key of a request is drawn in proportion to its
points (a key of unknown balance counts as the median of the known ones, a key
known to be at zero not at all), from the same counter, so the keys drain
evenly instead of the poorest running dry first; the rest follow, most points
first, for failover.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from .errors import (
    ConfigError,
    InsufficientQuota,
    InvalidRequest,
    NotFound,
    ProxyError,
    RateLimited,
    UpstreamError,
    UpstreamTimeout,
)
from .http import KeyValueStore, OutboundRequest, Runtime, UpstreamResponse
from .settings import Config

__all__ = [
    "AttemptFailed",
    "Cooldown",
    "FailureKind",
    "KeyFailedMidAnswer",
    "KeyPool",
    "Opened",
    "classify_status",
    "cooldown_seconds",
    "key_fingerprint",
    "open_with_failover",
    "parse_retry_after",
    "read_head",
    "send_attempt",
]

FailureKind = Literal["invalid_key", "out_of_points", "rate_limited", "unavailable", "timeout"]
FAILURE_KINDS: tuple[FailureKind, ...] = ("invalid_key", "out_of_points", "rate_limited", "unavailable", "timeout")
MAX_RETRY_AFTER = 86400.0
ERROR_BODY_SECONDS = 5.0
ERROR_BODY_BYTES = 4096
T = TypeVar("T")


# ---------------------------------------------------------------- failure classes


class AttemptFailed(Exception):
    """A failure that another key may not have. ``detail`` is safe to show."""

    def __init__(self, kind: FailureKind, detail: str, retry_after: float | None = None, *, cool: bool = True) -> None:
        super().__init__(detail)
        self.kind: FailureKind = kind
        self.detail = detail
        self.retry_after = retry_after
        self.cool = cool  # False: try the next key, but this one is not to blame (no cool-down)


class KeyFailedMidAnswer(UpstreamError):
    """The key ran out (points, rate limit) after the answer began: a non-streamed answer can start over."""


def snippet(text: str, limit: int = 300) -> str:
    """Upstream text cut for a message, at a space: a token cut in two (a key Poe echoed, say)
    would leave a prefix that redaction, which matches whole secrets, cannot find."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[: limit - 3]
    return (head.rsplit(" ", 1)[0] if " " in head else "") + "..."


def _error_fields(body_text: str) -> tuple[str, str]:
    """(message, code) of an OpenAI/Anthropic-shaped error body; else (the text, "")."""
    try:
        obj = json.loads(body_text)
    except ValueError:
        return body_text, ""
    err = obj.get("error") if isinstance(obj, dict) else None
    if isinstance(err, dict) and isinstance(err.get("message"), str):
        code = err.get("code")
        return str(err["message"]), code if isinstance(code, str) else ""
    if isinstance(obj, dict) and isinstance(obj.get("detail"), str):
        return str(obj["detail"]), ""
    return body_text, ""


def classify_status(status: int, retry_after: float | None, body_text: str) -> AttemptFailed | ProxyError:
    """Map a non-200 upstream status to a retryable failure or a client error."""
    message, code = _error_fields(body_text)
    text = snippet(message) if "<html" not in body_text[:200].lower() else ""
    if status in (401, 403):
        return AttemptFailed("invalid_key", f"Poe rejected the API key (HTTP {status})")
    if status == 402:
        return AttemptFailed("out_of_points", "the Poe key is out of compute points (HTTP 402)")
    if status == 429:
        return AttemptFailed("rate_limited", "the Poe key hit a rate limit (HTTP 429)", retry_after)
    if status >= 500 or status == 408:
        return AttemptFailed("unavailable", f"Poe answered HTTP {status}" + (f" ({text})" if text else ""))
    if status == 404 or (status == 400 and code == "model_not_found"):  # Poe's docs give both
        return NotFound("Poe has no bot by this name (upstream HTTP 404).", param="model", code="model_not_found")
    if status == 413:
        return InvalidRequest(
            f"Poe says the request is too large: {text}" if text else "Poe says the request is too large.",
            code="context_length_exceeded",
        )
    if status in (400, 422):
        return InvalidRequest(f"Poe rejected the request: {text}" if text else f"Poe rejected the request (HTTP {status}).")
    return UpstreamError(f"Poe answered HTTP {status}" + (f": {text}" if text else "."))


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # HTTP-date form: rare for APIs; fall back to the default
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER)


async def read_head(response: UpstreamResponse, limit: int) -> bytes:
    """The start of a small or error body: reading stops once ``limit`` bytes are in."""
    data = b""
    async for chunk in response.body:
        data += chunk
        if len(data) >= limit:
            break
    return data


async def _error_text(response: UpstreamResponse) -> str:
    """The start of an error body, for its message (bounded in size and time, never fails)."""
    try:
        data = await asyncio.wait_for(read_head(response, ERROR_BODY_BYTES), ERROR_BODY_SECONDS)
    except Exception:
        data = b""
    return data[:ERROR_BODY_BYTES].decode("utf-8", "replace")


async def send_attempt(rt: Runtime, request: OutboundRequest, connect_timeout: float) -> UpstreamResponse:
    """Send one upstream request; a 200 response, or AttemptFailed / ProxyError (the body closed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + connect_timeout
    for tries in (1, 2):
        try:
            response = await asyncio.wait_for(rt.http.send(request), max(0.001, deadline - loop.time()))
            break
        except TimeoutError:
            raise AttemptFailed("timeout", f"Poe did not answer within {connect_timeout:g} s") from None
        except ProxyError:
            raise
        except Exception as exc:  # the transport's own errors: unreachable, reset, DNS
            if tries == 1:
                continue  # often a pooled connection Poe had just closed: once more, on a fresh one
            # not the key's fault: the next key is tried, but none is cooled for it (else one network
            # blip would cool a whole pool, and a single key would leave every client without for a while)
            raise AttemptFailed("unavailable", f"could not reach Poe ({type(exc).__name__})", cool=False) from None
    if response.status == 200:
        return response
    if 300 <= response.status < 400:  # never follow a redirect with a key attached
        await response.close()
        raise AttemptFailed("unavailable", f"Poe answered with a redirect (HTTP {response.status})")
    text = rt.redact(await _error_text(response))  # before any cut, so no part of a secret survives it
    await response.close()
    raise classify_status(response.status, parse_retry_after(response.headers.get("retry-after")), text)


KV_PREFIX = "poe-proxy:"
COUNTER_NAME = KV_PREFIX + "rotation"
BALANCES_NAME = KV_PREFIX + "balances"  # {"<fingerprint>": {"points": n, "at": t}}: written by refresh
KV_MIN_TTL = 60
BALANCE_MAX_AGE = 86400.0  # an older balance counts as unknown
GOLDEN = (math.sqrt(5) - 1) / 2  # k * GOLDEN mod 1: evenly spread points in [0, 1), one per request


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
        self.fingerprints = tuple(key_fingerprint(k) for k in keys)
        self._names = tuple(KV_PREFIX + "cooldown:" + fp for fp in self.fingerprints)
        self.counter = 0
        self.cooldowns: dict[int, Cooldown] = {}
        self.balances: dict[int, tuple[int, float]] = {}  # key index -> (points, when Poe said so)
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
        turn = self.counter
        self.counter += 1
        weights = self._weights(healthy, now)
        n = len(healthy)
        if weights is None:  # no balances known (or all alike): the plain rotation
            start = turn % n
            order = healthy[start:] + healthy[:start]
        else:
            mark = (turn * GOLDEN) % 1.0 * sum(weights)
            first = n - 1
            for pos, w in enumerate(weights):
                if mark < w:
                    first = pos
                    break
                mark -= w
            while weights[first] <= 0:  # float rounding at the very end of the range
                first -= 1
            rest = sorted((p for p in range(n) if p != first), key=lambda p: (-weights[p], (p - first) % n))
            order = [healthy[first], *(healthy[p] for p in rest)]
        cap = self._cfg.max_attempts or len(order)
        return order[:cap]

    # ------------------------------------------------------------ balances

    def set_points(self, index: int, points: int, at: float) -> None:
        """A key's point balance as Poe reported it at ``at`` (an older report does not replace a newer one)."""
        current = self.balances.get(index)
        if current is None or current[1] <= at:
            self.balances[index] = (max(0, points), at)

    def points(self, index: int, now: float) -> int | None:
        """The key's last known balance, or None (never read, or older than BALANCE_MAX_AGE)."""
        entry = self.balances.get(index)
        if entry is None or now - entry[1] > BALANCE_MAX_AGE:
            return None
        return entry[0]

    def _weights(self, healthy: list[int], now: float) -> list[float] | None:
        """Each healthy key's share of first attempts, or None when the balances say nothing."""
        known = [self.points(i, now) for i in healthy]
        if all(p is None for p in known):
            return None
        positive = [p for p in known if p]
        middle = float(statistics.median(positive)) if positive else 1.0  # what an unknown balance counts as
        weights = [middle if p is None else float(p) for p in known]
        if len(set(weights)) == 1:
            return None
        return weights

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
        if kind == "out_of_points":  # until the next balance says otherwise, the key comes last
            self.set_points(index, 0, now)
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
            values = await asyncio.gather(*(kv.get(n) for n in (*names, BALANCES_NAME, *self._names)))
            if first:
                stored = _int(values[0])
                if stored is not None and stored > self.counter:
                    self.counter = self._persisted_counter = stored
                values = values[1:]
            self.load_balances(values[0])
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

    def load_balances(self, raw: str | None) -> None:
        """The balances entry of KV (as ``refresh`` writes it); a corrupt one is ignored."""
        for index, (points, at) in parse_balances(raw, self.fingerprints).items():
            self.set_points(index, points, at)

    # ------------------------------------------------------------ health

    def balances_health(self, now: float) -> list[dict[str, Any]]:
        """Each key's last known points by position (``None``: not read, or too old), for an admin."""
        out = []
        for i in range(len(self._keys)):
            entry = self.balances.get(i)
            points = self.points(i, now)
            age = None if entry is None or points is None else max(0, round(now - entry[1]))
            out.append({"key": f"#{i + 1}", "points": points, "seconds_since_read": age})
        return out

    def health(self, now: float) -> dict[str, Any]:
        cooling = []
        for i in range(len(self._keys)):
            cd = self.cooling(i, now)
            if cd is not None:
                cooling.append({"key": f"#{i + 1}", "reason": cd.reason, "seconds_left": math.ceil(cd.until - now)})
        return {"configured": len(self._keys), "healthy": len(self._keys) - len(cooling), "cooling": cooling}


def parse_balances(raw: str | None, fingerprints: tuple[str, ...]) -> dict[int, tuple[int, float]]:
    """``{"<fingerprint>": {"points": n, "at": t}}`` -> {key index: (points, at)} for the keys given."""
    try:
        obj = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    if not isinstance(obj, dict):
        return {}
    out: dict[int, tuple[int, float]] = {}
    for index, fp in enumerate(fingerprints):
        entry = obj.get(fp)
        if not isinstance(entry, dict):
            continue
        points, at = entry.get("points"), entry.get("at")
        if isinstance(points, int) and not isinstance(points, bool) and isinstance(at, int | float) and math.isfinite(at):
            out[index] = (points, float(at))
    return out


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
    if reason not in FAILURE_KINDS:
        reason = "unavailable"
    return Cooldown(until, reason)


async def _quiet(rt: Runtime, work: Awaitable[Any]) -> None:
    """Deferred KV work must never fail a request; log the class of error only."""
    try:
        await work
    except Exception as exc:
        rt.log(f"KV operation failed ({type(exc).__name__})")


# ---------------------------------------------------------------- failover


@dataclass(frozen=True, slots=True)
class Opened(Generic[T]):
    """An answer that reached its commit point, and how to blame its key later."""

    value: T
    key_index: int
    on_failure: Callable[[AttemptFailed], None]


# attempt(key, connect_timeout, deadline) -> the upstream's opened answer
Attempt = Callable[[str, float, float], Awaitable[T]]


def report_failure(rt: Runtime, cfg: Config, pool: KeyPool, index: int, failure: AttemptFailed) -> None:
    """A key-related failure: cool the key down for as long as the policy says."""
    pool.cool_down(rt, index, failure.kind, cooldown_seconds(cfg, failure.kind, failure.retry_after), rt.clock())
    rt.log(f"key #{index + 1} failed: {failure.detail}")


async def open_with_failover(rt: Runtime, cfg: Config, pool: KeyPool, attempt: Attempt[T]) -> Opened[T]:
    """Try healthy keys in rotation order until one reaches the commit point."""
    if not len(pool):
        raise ConfigError("No Poe API keys are configured (POE_APIKEYS is empty).")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + cfg.timeout
    await pool.sync(rt, rt.clock())
    plan = pool.plan(rt.clock())
    pool.persist(rt, rt.clock())
    if not plan:
        raise pool.exhausted_error(rt.clock())
    failures: list[AttemptFailed] = []
    for index in plan:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        try:
            value = await attempt(pool.key(index), min(cfg.connect_timeout, remaining), deadline)
        except AttemptFailed as failure:
            failures.append(failure)
            if rt.meter is not None:
                rt.meter.attempt(index, failure.kind)
            if failure.cool:
                report_failure(rt, cfg, pool, index, failure)
            if sum(f.kind in ("unavailable", "timeout") for f in failures) >= 2:
                break  # two keys failed at the server or network level: Poe or the bot is down, not the keys
            continue

        if rt.meter is not None:
            rt.meter.attempt(index, "answered")

        def on_failure(failure: AttemptFailed, index: int = index) -> None:
            if rt.meter is not None:
                rt.meter.attempt(index, failure.kind)
            report_failure(rt, cfg, pool, index, failure)

        return Opened(value, index, on_failure)
    raise _failed(pool, rt, failures, cfg)


def _failed(pool: KeyPool, rt: Runtime, failures: list[AttemptFailed], cfg: Config) -> ProxyError:
    if not failures:
        return UpstreamTimeout(f"Poe did not answer within {cfg.timeout:g} s (TIMEOUT).")
    now = rt.clock()
    kinds = {f.kind for f in failures}
    if kinds <= {"rate_limited", "out_of_points", "invalid_key"}:
        if not pool.healthy(now):
            return pool.exhausted_error(now)
        if kinds & {"rate_limited", "out_of_points"}:  # MAX_ATTEMPTS stopped the attempts while healthy keys remain
            return RateLimited(
                f"The {len(failures)} Poe key(s) tried were rate-limited or out of points; others remain, retry now.",
                headers=(("retry-after", "1"),),
            )
    if failures[-1].kind == "timeout":
        return UpstreamTimeout(f"Poe did not answer in time: {failures[-1].detail}.")
    detail = "; ".join(dict.fromkeys(f.detail for f in failures))
    return UpstreamError(f"The request failed on {len(failures)} Poe key(s): {detail}.")

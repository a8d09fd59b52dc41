"""The ledger: the deployment's one set of counts (limits and usage), and an isolate's side of it (sans-IO).

Isolates come and go, and a client's requests land on many of them, so counts that must
add up live in one place: on Cloudflare a Durable Object (binding ``POE_LEDGER``: one
object, strongly consistent, its state saved in its own storage), self-hosted the process
itself (saved in ``STATE_FILE``), and on a Worker without the binding the isolate (counts
then hold per isolate). All three run ``LedgerState``; an isolate talks to it through a
``LedgerStore`` with one call that carries a JSON request:

    {"usage": <a UsageBook's to_json>,           # the isolate's counts since its last call
     "admit": {"name", "rpm", "rpd", "concurrency"},   # count a limited token's request, or refuse it
     "release": {"name", "lease"},                 # an answer counted against concurrency ended
     "read": ["<name>", ...]}                      # the books and these tokens' current counts

and answers ``{"admitted": {"headers", "lease"}} | {"refused": {"message", "headers"}}``, plus
``"usage"`` and ``"limits"`` when asked to read. Usage rides along with the next call or
goes within ``USAGE_FLUSH_SECONDS``, so an unlimited token's request costs no call of its own.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import RateLimited
from .http import KeyValueStore
from .policies import TokenPolicy
from .usage import UsageBook

__all__ = ["Admission", "IsolateBooks", "LedgerState", "LedgerStore", "Limiter", "LocalLedger"]

DAY = 86400.0
LEDGER_KEY = "poe-proxy:ledger"  # where a saved ledger is kept (the self-hosted state file)
MAX_SAVED_BYTES = 1_500_000
ADMIT_TIMEOUT = 3.0  # seconds a limited request waits for the ledger before it is served unchecked
FLUSH_GIVEN_UP = 25.0  # seconds after which a scheduled flush that never ended counts as gone
LEASE_SECONDS = 900.0  # an open stream whose end was never reported (its isolate died) stops counting after this


@dataclass(frozen=True, slots=True)
class Admission:
    headers: tuple[tuple[str, str], ...]  # the x-ratelimit-* trio, for every answer of a limited token
    lease: str = ""  # an open answer counted against ``concurrency``: released by this id when it ends


class Limiter:
    """Counts for the limited tokens: a sliding minute, the day, the open streams."""

    def __init__(self) -> None:
        self._minute: dict[str, deque[float]] = {}
        self._day: dict[str, tuple[int, int]] = {}  # name -> (day number, requests that day)
        self._open: dict[str, dict[str, float]] = {}  # name -> lease id -> when that open answer started

    def day_count(self, name: str, now: float) -> int:
        day, count = self._day.get(name, (-1, 0))
        return count if day == int(now // DAY) else 0

    def admit(self, policy: TokenPolicy, now: float) -> Admission:
        """Count the request, or raise RateLimited (429, with Retry-After and the trio)."""
        name = policy.name
        window = self._minute.setdefault(name, deque())
        while window and window[0] <= now - 60:
            window.popleft()
        today = int(now // DAY)
        used_today = self.day_count(name, now)
        if policy.rpm is not None and len(window) >= policy.rpm:
            wait = max(1, math.ceil(window[0] + 60 - now))
            raise _refuse(f"{policy.rpm} requests per minute", wait, _trio(policy.rpm, 0, wait))
        if policy.rpd is not None and used_today >= policy.rpd:
            wait = max(1, math.ceil((today + 1) * DAY - now))
            raise _refuse(f"{policy.rpd} requests per day", wait, _trio(policy.rpd, 0, wait))
        if policy.concurrency is not None and self.open_count(name, now) >= policy.concurrency:
            raise _refuse(f"{policy.concurrency} requests at a time", 1, ())
        window.append(now)
        self._day[name] = (today, used_today + 1)
        lease = ""
        if policy.concurrency is not None:  # the app reports the end of such a token's answers only
            lease = secrets.token_hex(8)
            self._open.setdefault(name, {})[lease] = now
        if policy.rpm is not None:
            reset = max(1, math.ceil(window[0] + 60 - now))
            return Admission(_trio(policy.rpm, policy.rpm - len(window), reset), lease)
        if policy.rpd is not None:
            return Admission(_trio(policy.rpd, policy.rpd - used_today - 1, math.ceil((today + 1) * DAY - now)), lease)
        return Admission((), lease)

    def release(self, name: str, lease: str) -> None:
        """An open answer ended (a lease already gone, or released twice, changes nothing)."""
        self._open.get(name, {}).pop(lease, None)

    def open_count(self, name: str, now: float) -> int:
        opened = self._open.get(name)
        if not opened:
            return 0
        for lease in [k for k, t in opened.items() if t <= now - LEASE_SECONDS]:
            del opened[lease]
        return len(opened)

    def minute_count(self, name: str, now: float) -> int:
        window = self._minute.get(name, deque())
        return sum(1 for t in window if t > now - 60)

    def to_json(self) -> dict[str, Any]:
        opened = {k: v for k, v in self._open.items() if v}
        return {"minute": {k: list(v) for k, v in self._minute.items() if v}, "day": self._day, "open": opened}

    def load(self, data: Any) -> None:
        if not isinstance(data, dict):
            return
        for name, times in _items(data.get("minute")):
            if isinstance(times, list) and all(_number(t) for t in times):
                self._minute[name] = deque(sorted(times))
        for name, pair in _items(data.get("day")):
            if isinstance(pair, list) and len(pair) == 2 and all(isinstance(n, int) for n in pair):
                self._day[name] = (pair[0], pair[1])
        for name, leases in _items(data.get("open")):
            if isinstance(leases, dict) and all(_number(t) for t in leases.values()):
                self._open[name] = {str(k): v for k, v in leases.items()}


def _refuse(what: str, wait: int, trio: tuple[tuple[str, str], ...]) -> RateLimited:
    return RateLimited(f"This access token is limited to {what}; retry in {wait} s.", headers=(("retry-after", str(wait)), *trio))


def _trio(limit: int, remaining: int, reset: int) -> tuple[tuple[str, str], ...]:
    return (
        ("x-ratelimit-limit-requests", str(limit)),
        ("x-ratelimit-remaining-requests", str(max(0, remaining))),
        ("x-ratelimit-reset-requests", f"{reset}s"),
    )


def _items(value: Any) -> list[tuple[str, Any]]:
    return [(str(k)[:64], v) for k, v in value.items()] if isinstance(value, dict) else []


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _limit(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


class LedgerState:
    """The counts themselves, wherever the ledger runs; ``handle`` answers one call."""

    def __init__(self, saved: str | None = None) -> None:
        self.limiter = Limiter()
        self.usage = UsageBook()
        if saved:
            try:
                data = json.loads(saved)
            except ValueError:
                data = None
            if isinstance(data, dict):
                self.limiter.load(data.get("limits"))
                self.usage.merge(data.get("usage"))

    def dump(self, now: float | None = None) -> str:
        """The state as JSON; past MAX_SAVED_BYTES (a Durable Object's value holds 2 MB) older days go first."""
        while True:
            out = json.dumps({"limits": self.limiter.to_json(), "usage": self.usage.to_json()}, separators=(",", ":"))
            if len(out) <= MAX_SAVED_BYTES or now is None or not self.usage.prune(now, keep_days=self.usage.days_kept(now) - 1):
                return out

    def handle(self, request: Any, now: float) -> tuple[dict[str, Any], bool]:
        """The answer to a call, and whether the state changed (to be saved)."""
        if not isinstance(request, dict):
            return {}, False
        out: dict[str, Any] = {}
        changed = False
        if request.get("usage"):
            self.usage.merge(request["usage"])
            self.usage.prune(now)
            changed = True
        release = request.get("release")
        if isinstance(release, dict) and isinstance(release.get("name"), str) and isinstance(release.get("lease"), str):
            self.limiter.release(release["name"][:64], release["lease"][:64])
            changed = True
        admit = request.get("admit")
        if isinstance(admit, dict) and isinstance(admit.get("name"), str):
            policy = TokenPolicy(
                name=admit["name"][:64],
                token="",
                rpm=_limit(admit.get("rpm")),
                rpd=_limit(admit.get("rpd")),
                concurrency=_limit(admit.get("concurrency")),
            )
            try:
                admission = self.limiter.admit(policy, now)
                out["admitted"] = {"headers": admission.headers, "lease": admission.lease}
                changed = True
            except RateLimited as err:
                out["refused"] = {"message": err.message, "headers": err.headers}
        names = request.get("read")
        if isinstance(names, list):
            out["usage"] = self.usage.to_json()
            out["limits"] = {
                name: {
                    "requests_this_minute": self.limiter.minute_count(name, now),
                    "requests_today": self.limiter.day_count(name, now),
                    "open": self.limiter.open_count(name, now),
                }
                for name in (str(n)[:64] for n in names[:1000])
            }
        return out, changed


class LedgerStore(Protocol):
    """Where the ledger runs, as an isolate reaches it: one JSON request in, one JSON answer out."""

    async def call(self, request: str) -> str: ...


class LocalLedger:
    """The ledger in this process: the self-hosted server's, or a Worker's without ``POE_LEDGER``.

    With a ``kv`` (the server's state file) it starts from what was saved there and saves
    itself after a change, at most every ``save_seconds``; ``flush()`` saves what is left.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        kv: KeyValueStore | None = None,
        save_seconds: float = 5.0,
        scope: str = "this process",
        log: Callable[[str], None] = print,
    ) -> None:
        self.scope = scope  # where the counts hold, for the admin API
        self._log = log
        self.state: LedgerState | None = None if kv is not None else LedgerState()
        self._clock = clock
        self._kv = kv
        self._save_seconds = save_seconds
        self._dirty = False
        self._saving: asyncio.Task[None] | None = None

    async def call(self, request: str) -> str:
        state = self.state
        if state is None:
            assert self._kv is not None
            state = self.state = LedgerState(await self._kv.get(LEDGER_KEY))
        out, changed = state.handle(json.loads(request), self._clock())
        if changed and self._kv is not None:
            self._dirty = True
            if self._saving is None or self._saving.done():
                self._saving = asyncio.ensure_future(self._save_later())
        return json.dumps(out, separators=(",", ":"))

    async def _save_later(self) -> None:
        await asyncio.sleep(self._save_seconds)
        await self.flush()

    async def flush(self) -> None:
        saving = self._saving
        if saving is not None and saving is not asyncio.current_task() and not saving.done():
            saving.cancel()  # called at shutdown: save now instead
        if self._dirty and self._kv is not None and self.state is not None:
            try:
                await self._kv.put(LEDGER_KEY, self.state.dump())
            except Exception as exc:  # e.g. the state file locked: kept dirty, saved after the next change
                self._log(f"saving the ledger failed ({type(exc).__name__})")
                return
            self._dirty = False


class IsolateBooks:
    """An isolate's side: its usage since its last call, and the calls that carry it."""

    def __init__(self, store: LedgerStore, flush_seconds: float) -> None:
        self.store = store
        self.pending = UsageBook()
        # a ledger in this process costs no round trip: its books go at once (it saves itself coalesced)
        self._flush_seconds = 0.0 if isinstance(store, LocalLedger) else flush_seconds
        self._flush_since: float | None = None  # when the scheduled flush was made (None: none is)

    async def call(self, request: dict[str, Any]) -> dict[str, Any]:
        """One call, with the pending usage on board; on failure the usage stays for the next one (so a
        call that failed after the ledger took it counts it twice: counts are at least once)."""
        book = self.pending
        if not book.empty:
            self.pending = UsageBook()
            request["usage"] = book.to_json()
        try:
            answer = json.loads(await self.store.call(json.dumps(request, separators=(",", ":"))))
        except BaseException:
            if not book.empty:
                book.merge(self.pending.to_json())
                self.pending = book
            raise
        return answer if isinstance(answer, dict) else {}

    def flush_soon(self, defer: Callable[[Awaitable[Any]], None], log: Callable[[str], None], now: float) -> None:
        """After a record: the pending usage goes within ``flush_seconds``, in one call for all of it.

        The flush runs in the ``waitUntil`` of the request that scheduled it, which the platform may cut
        (30 s after its response): one that has not ended by ``FLUSH_GIVEN_UP`` counts as gone."""
        if self.pending.empty:
            return
        since = self._flush_since
        if since is not None and now - since < FLUSH_GIVEN_UP:
            return
        self._flush_since = now
        defer(self._flush_later(log))

    async def _flush_later(self, log: Callable[[str], None]) -> None:
        try:
            if self._flush_seconds > 0:
                await asyncio.sleep(self._flush_seconds)
        finally:
            self._flush_since = None  # counts recorded from now on schedule a flush of their own
        try:
            if not self.pending.empty:
                await self.call({})
        except Exception as exc:  # the ledger unreachable: the counts wait for the next call
            log(f"ledger call failed ({type(exc).__name__})")

    async def flush(self) -> None:
        """What is pending, now (a server shutting down)."""
        if not self.pending.empty:
            await self.call({})

    async def admit(self, policy: TokenPolicy) -> Admission:
        request = {"admit": {"name": policy.name, "rpm": policy.rpm, "rpd": policy.rpd, "concurrency": policy.concurrency}}
        async with asyncio.timeout(ADMIT_TIMEOUT):  # a ledger that does not answer is one that cannot be reached
            answer = await self.call(request)
        refused = answer.get("refused")
        if isinstance(refused, dict):
            raise RateLimited(str(refused.get("message", "")), headers=_headers(refused.get("headers")))
        admitted = answer.get("admitted")
        if not isinstance(admitted, dict):
            raise ValueError("the ledger's answer has neither 'admitted' nor 'refused'")
        lease = admitted.get("lease")
        return Admission(_headers(admitted.get("headers")), lease if isinstance(lease, str) else "")

    async def release(self, name: str, lease: str, log: Callable[[str], None]) -> None:
        try:
            await self.call({"release": {"name": name, "lease": lease}})
        except Exception as exc:
            log(f"ledger call failed ({type(exc).__name__})")


def _headers(raw: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, list):
        return ()
    return tuple((str(p[0]), str(p[1])) for p in raw if isinstance(p, list | tuple) and len(p) == 2)

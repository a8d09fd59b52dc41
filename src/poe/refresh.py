"""Scheduled work: what the proxy learns from Poe on a schedule rather than per request.

``run(rt, app)`` is one pass, started by the Worker's Cron Trigger (hourly, ``wrangler.toml``)
or, self-hosted, by a timer every ``SCHEDULE_SECONDS``:

* Poe's model list (``GET {POE_BASE_URL}/v1/models``), fetched when the stored copy is older
  than ``CATALOGUE_REFRESH_HOURS``, and stored in KV as the catalogue keeps it (``poe_models``:
  ids, owners, dates and a few small fields per model, ~1/10 of Poe's answer), with its time
  under a second, tiny name that isolates poll;
* each key's point balance (``GET {POE_BASE_URL}/usage/current_balance``, no ``/v1``), for at
  most ``MAX_BALANCES_PER_PASS`` keys a pass (the longest unread first, so a large pool is read
  over several passes), stored in one KV entry by key fingerprint. A key at zero points is
  cooled (``out_of_points``, ``QUOTA_COOLDOWN``) before a request finds out; the pool prefers
  keys with more points (see ``pool``).

A pass never raises: each failure is logged by its class only, never with key text, and every
call to Poe is bounded in time and size. ``sync_catalogue(rt, app)`` is the per-isolate side:
the first request of an isolate reads the stored list (one KV read), later ones look at its
time at most every ``KV_REFRESH_SECONDS``, after the response, like the pool's cool-downs.
"""

from __future__ import annotations

import asyncio
import json
import math
import weakref
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .catalogue import Catalogue, from_stored, poe_models, stored_models
from .http import OutboundRequest, Runtime
from .pool import BALANCES_NAME, KV_PREFIX

if TYPE_CHECKING:
    from .app import App

__all__ = [
    "CATALOGUE_AT_NAME",
    "CATALOGUE_NAME",
    "MAX_BALANCES_PER_PASS",
    "catalogue_status",
    "install",
    "refresh_balances",
    "refresh_catalogue",
    "run",
    "sync_catalogue",
]

CATALOGUE_NAME = KV_PREFIX + "catalogue"  # {"fetched_at": t, "models": [...]} (catalogue.stored_models)
CATALOGUE_AT_NAME = KV_PREFIX + "catalogue-at"  # the same t alone: what isolates poll
MAX_BALANCES_PER_PASS = 20  # subrequests: a Worker on the Free plan may make 50 per invocation
BALANCE_CONCURRENCY = 5
BALANCE_TIMEOUT = 10.0
BALANCE_BYTES = 4096
CATALOGUE_TIMEOUT = 30.0
CATALOGUE_BYTES = 8 * 1024 * 1024  # Poe's list was ~1 MB in 2026
DUE_SLACK = 300.0  # an hourly cron a few seconds early still counts a day-old list as due


async def run(rt: Runtime, app: App) -> None:
    """One scheduled pass: the model list when due, and the keys' balances. Never raises."""
    log = rt.log
    rt = Runtime(rt.http, rt.kv, rt.clock, rt.defer, lambda line: log(app.redact(line)), app.redact)
    if app.config_error is not None:
        rt.log("scheduled pass skipped: the configuration has an error (see /health)")
        return
    await asyncio.gather(
        _guarded(rt, "model list", refresh_catalogue(rt, app)),
        _guarded(rt, "balances", refresh_balances(rt, app)),
    )


async def _guarded(rt: Runtime, what: str, work: Awaitable[Any]) -> None:
    try:
        await work
    except Exception as exc:
        rt.log(f"scheduled {what} refresh failed ({type(exc).__name__})")


# ---------------------------------------------------------------- HTTP, bounded


async def _get(rt: Runtime, url: str, headers: dict[str, str], seconds: float, limit: int) -> tuple[int, bytes]:
    """GET ``url``: (status, body) for a 200, (status, b"") otherwise; at most ``limit`` bytes and ``seconds``."""

    async def fetch() -> tuple[int, bytes]:
        response = await rt.http.send(OutboundRequest("GET", url, headers))
        try:
            if response.status != 200:
                return response.status, b""
            parts: list[bytes] = []
            size = 0
            async for chunk in response.body:
                parts.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise ValueError("the answer is larger than expected")
            return 200, b"".join(parts)
        finally:
            await response.close()

    return await asyncio.wait_for(fetch(), seconds)


# ---------------------------------------------------------------- the model list


def install(app: App, catalogue: Catalogue) -> None:
    """Serve ``catalogue`` from now on; the cached ``/v1/models`` answer is dropped with the old one."""
    app.catalogue = catalogue
    app._models = None


def _stamp(raw: str | None) -> float | None:
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


async def refresh_catalogue(rt: Runtime, app: App) -> bool:
    """Fetch Poe's model list if the stored one is older than CATALOGUE_REFRESH_HOURS; True if it was."""
    hours = app.cfg.catalogue_refresh_hours
    if hours <= 0:
        return False
    now = rt.clock()
    last = _stamp(await rt.kv.get(CATALOGUE_AT_NAME)) if rt.kv is not None else app.catalogue.fetched_at
    if last is not None and now - last < hours * 3600 - DUE_SLACK:
        return False
    url = f"{app.cfg.base_url}/v1/models"
    headers = {"accept": "application/json"}
    key = next((app.pool.key(i) for i in app.pool.healthy(now)), None)
    if key is not None:  # Poe needs none, but its own client sends one: the way known to work
        headers["authorization"] = f"Bearer {key}"
    try:
        status, body = await _get(rt, url, headers, CATALOGUE_TIMEOUT, CATALOGUE_BYTES)
        if status in (401, 403) and key is not None:  # the key is refused: the list is public
            status, body = await _get(rt, url, {"accept": "application/json"}, CATALOGUE_TIMEOUT, CATALOGUE_BYTES)
    except TimeoutError:
        rt.log(f"model list: Poe did not answer within {CATALOGUE_TIMEOUT:g} s; the current list stays")
        return False
    if status != 200:
        rt.log(f"model list: Poe answered HTTP {status}; the current list stays")
        return False
    try:
        models = poe_models(json.loads(body))
    except ValueError:
        models = ()
    if not models:
        rt.log("model list: Poe's answer held no usable model; the current list stays")
        return False
    install(app, Catalogue(app.cfg.custom_models, models, now))
    if rt.kv is not None:
        value = json.dumps({"fetched_at": now, "models": stored_models(models)}, separators=(",", ":"))
        await rt.kv.put(CATALOGUE_NAME, value)
        await rt.kv.put(CATALOGUE_AT_NAME, repr(now))  # after the list: a poller that sees it finds the list
    rt.log(f"model list refreshed: {len(models)} models from Poe")
    return True


@dataclass
class _Sync:
    loaded: bool = False
    checked_at: float = -math.inf
    busy: bool = False


_SYNC: weakref.WeakKeyDictionary[App, _Sync] = weakref.WeakKeyDictionary()


async def sync_catalogue(rt: Runtime, app: App) -> None:
    """Per isolate, before a request uses the catalogue: the stored list, read at most every KV_REFRESH_SECONDS.

    The first call of an isolate reads the stored list and waits for it (one KV read), so a model
    Poe added is known to the isolate's first request; later looks run after the response and
    read only the list's time, and the list itself when it changed.
    """
    if rt.kv is None or app.cfg.catalogue_refresh_hours <= 0:
        return
    state = _SYNC.get(app)
    if state is None:
        state = _SYNC[app] = _Sync()
    now = rt.clock()
    if not state.loaded:
        state.loaded = True
        await _load(rt, app, state, now, first=True)
    elif now - state.checked_at >= app.cfg.kv_refresh_seconds and not state.busy:
        state.busy = True
        rt.defer(_load(rt, app, state, now, first=False))


async def _load(rt: Runtime, app: App, state: _Sync, now: float, *, first: bool) -> None:
    kv = rt.kv
    assert kv is not None
    try:
        current = app.catalogue.fetched_at
        if not first:
            stamp = _stamp(await kv.get(CATALOGUE_AT_NAME))
            if stamp is None or (current is not None and stamp <= current):
                return
        raw = await kv.get(CATALOGUE_NAME)
        obj = json.loads(raw) if raw else None
        fetched_at = obj.get("fetched_at") if isinstance(obj, dict) else None
        if not isinstance(fetched_at, int | float) or (current is not None and fetched_at <= current):
            return  # nothing stored, or not newer (KV shows the new time before the new list: next look)
        models = from_stored(obj.get("models")) if isinstance(obj, dict) else ()
        if models:
            install(app, Catalogue(app.cfg.custom_models, models, float(fetched_at)))
    except Exception as exc:  # a request must never fail on this: the current list stays
        rt.log(f"model list: reading KV failed ({type(exc).__name__})")
    finally:
        state.checked_at = now  # also after a failure: no retry storm on every request
        state.busy = False


def catalogue_status(app: App, now: float) -> dict[str, Any]:
    """Which list ``/v1/models`` serves: ``poe`` (fetched, with its age) or ``bundled`` (the copy in the code)."""
    cat = app.catalogue
    fetched = cat.fetched_at
    return {
        "source": cat.source,
        "models": len(cat.listed()),
        "fetched_at": fetched,
        "age_seconds": max(0, round(now - fetched)) if fetched is not None else None,
    }


# ---------------------------------------------------------------- balances


async def _balance(rt: Runtime, app: App, index: int) -> int | None:
    """Key #index's point balance, or None (logged by class, never with the key)."""
    url = f"{app.cfg.base_url}/usage/current_balance"
    headers = {"authorization": f"Bearer {app.pool.key(index)}", "accept": "application/json"}
    name = f"key #{index + 1}"
    try:
        status, body = await _get(rt, url, headers, BALANCE_TIMEOUT, BALANCE_BYTES)
    except TimeoutError:
        rt.log(f"balance of {name}: no answer within {BALANCE_TIMEOUT:g} s")
        return None
    except Exception as exc:
        rt.log(f"balance of {name}: {type(exc).__name__}")
        return None
    if status != 200:
        rt.log(f"balance of {name}: HTTP {status}")
        return None
    try:
        points = json.loads(body).get("current_point_balance")
    except (ValueError, AttributeError):
        points = None
    if isinstance(points, bool) or not isinstance(points, int | float) or not math.isfinite(points):
        rt.log(f"balance of {name}: an answer without current_point_balance")
        return None
    return max(0, int(points))


def _stored_balances(raw: str | None) -> dict[str, Any]:
    try:
        obj = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return obj if isinstance(obj, dict) else {}


async def refresh_balances(rt: Runtime, app: App) -> dict[int, int | None]:
    """Read up to MAX_BALANCES_PER_PASS keys' balances (the longest unread first); cool the keys at zero.

    Returns {key index: points or None} for the keys read this pass.
    """
    pool = app.pool
    if not len(pool):
        return {}
    now = rt.clock()
    stored = _stored_balances(await rt.kv.get(BALANCES_NAME)) if rt.kv is not None else {}

    def read_at(index: int) -> float:
        entry = stored.get(pool.fingerprints[index])
        at = entry.get("at") if isinstance(entry, dict) else None
        return float(at) if isinstance(at, int | float) else -math.inf

    chosen = sorted(range(len(pool)), key=lambda i: (read_at(i), i))[:MAX_BALANCES_PER_PASS]
    results: dict[int, int | None] = {}
    for start in range(0, len(chosen), BALANCE_CONCURRENCY):
        batch = chosen[start : start + BALANCE_CONCURRENCY]
        for index, points in zip(batch, await asyncio.gather(*(_balance(rt, app, i) for i in batch)), strict=True):
            results[index] = points
    for index, points in results.items():
        if points is None:
            continue
        stored[pool.fingerprints[index]] = {"points": points, "at": now}
        if points <= 0:  # cooled now, before a request is refused for it
            pool.cool_down(rt, index, "out_of_points", app.cfg.quota_cooldown, now)
    kept = {fp: stored[fp] for fp in pool.fingerprints if fp in stored}  # keys no longer configured go
    value = json.dumps(kept, separators=(",", ":"))
    pool.load_balances(value)  # this isolate at once (and the keys other passes read)
    if rt.kv is not None:
        await rt.kv.put(BALANCES_NAME, value)
    known = [p for p in results.values() if p is not None]
    rt.log(
        f"balances read for {len(known)} of {len(results)} keys"
        f" ({sum(1 for p in known if p <= 0)} at zero points, cooled)"
        + (f"; {len(pool) - len(results)} keys wait for a later pass" if len(pool) > len(results) else "")
    )
    return results

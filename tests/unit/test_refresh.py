"""The scheduled pass (refresh): Poe's model list into the catalogue and KV, the keys' balances into
the pool; the per-isolate catalogue sync; key choice by points. An in-memory HTTP peer answers like
the demo upstream (its own /v1/models fixture and balance rules)."""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from demo import openai_api
from poe import __version__, refresh
from poe.app import App
from poe.catalogue import BOTS, CREATED, Catalogue, Model, from_stored, poe_models, stored_models
from poe.doors.openai_wire import model_list, model_object
from poe.http import OutboundRequest, Request, Runtime, UpstreamResponse
from poe.openapi import document
from poe.pool import BALANCE_MAX_AGE, BALANCES_NAME, KV_PREFIX, KeyPool, key_fingerprint, parse_balances
from poe.settings import Config
from tests.support import conformance

POE_LIST = {"object": "list", "data": openai_api.models()}
KEYS = ("good-key-aaaa", "rich-key-bbbb", "broke-key-cccc")


# ---------------------------------------------------------------- fakes


class MemoryKV:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.ttls: dict[str, int | None] = {}
        self.gets: list[str] = []
        self.puts: list[str] = []

    async def get(self, key: str) -> str | None:
        self.gets.append(key)
        await asyncio.sleep(0)
        return self.data.get(key)

    async def put(self, key: str, value: str, ttl: int | None = None) -> None:
        self.puts.append(key)
        await asyncio.sleep(0)
        self.data[key] = value
        self.ttls[key] = ttl


class BrokenKV:
    async def get(self, key: str) -> str | None:
        raise RuntimeError("KV is down")

    async def put(self, key: str, value: str, ttl: int | None = None) -> None:
        raise RuntimeError("KV is down")


Answer = tuple[int, bytes]


def demo_answer(request: OutboundRequest) -> Answer:
    """What the demo upstream answers: its model list, and balances by key prefix."""
    if request.url.endswith("/v1/models"):
        return 200, json.dumps(POE_LIST).encode()
    if request.url.endswith("/usage/current_balance"):
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not key or key.startswith("bad-"):
            return 401, b'{"error": {"message": "Invalid API key", "type": "authentication_error"}}'
        points = 0 if key.startswith("broke-") else 4500 if key.startswith("rich-") else 1500
        return 200, json.dumps({"current_point_balance": points}).encode()
    return 404, b"{}"


class Peer:
    def __init__(self, answer: Callable[[OutboundRequest], Answer] = demo_answer) -> None:
        self.answer = answer
        self.calls: list[OutboundRequest] = []
        self.closed = 0

    async def send(self, request: OutboundRequest) -> UpstreamResponse:
        self.calls.append(request)
        status, body = self.answer(request)

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(body), 1000):
                yield body[i : i + 1000]

        async def close() -> None:
            self.closed += 1

        return UpstreamResponse(status, {"content-type": "application/json"}, chunks(), close)

    def paths(self) -> list[str]:
        return [c.url.split("127.0.0.1:9", 1)[1] for c in self.calls]


ENVS: list[Env] = []


@pytest.fixture(autouse=True)
async def drain_every_env() -> AsyncIterator[None]:
    """Deferred work a test left (a cool-down's KV write) runs before the test ends."""
    yield
    for env in ENVS:
        await env.drain()
    ENVS.clear()


@dataclass
class Env:
    """One isolate's outside world: a clock, deferred work (ctx.waitUntil), logs."""

    peer: Any = field(default_factory=Peer)
    kv: Any = field(default_factory=MemoryKV)
    now: float = 1_800_000_000.0
    deferred: list[Awaitable[Any]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        ENVS.append(self)

    @property
    def rt(self) -> Runtime:
        return Runtime(http=self.peer, kv=self.kv, clock=lambda: self.now, defer=self.deferred.append, log=self.logs.append)

    async def drain(self) -> None:
        while self.deferred:
            work, self.deferred = self.deferred, []
            await asyncio.gather(*work)


def make_app(keys: tuple[str, ...] = KEYS, **env: str) -> App:
    return App(
        {
            "POE_APIKEYS": ",".join(keys),
            "API_ACCESS_TOKENS": "sk-t",
            "POE_BASE_URL": "http://127.0.0.1:9",
            "CUSTOM_MODELS": "mine=bot:MyPrivateBot",
            **env,
        }
    )


async def models_answer(app: App, env: Env, path: str = "/v1/models") -> dict[str, Any]:
    resp = await app.handle(Request("GET", path, {"authorization": "Bearer sk-t"}), env.rt)
    assert resp.status == 200 and isinstance(resp.body, bytes)
    return dict(json.loads(resp.body))


def no_key_text(*texts: str, keys: tuple[str, ...] = KEYS) -> None:
    for text in texts:
        for key in keys:
            assert key not in text, "a Poe key leaked"


# ---------------------------------------------------------------- Poe's list -> models


def test_poe_models_reads_poes_list() -> None:
    models = {m.id: m for m in poe_models(POE_LIST)}
    assert list(models) == [name.lower() for name in openai_api.BOTS]
    gpt = models["gpt-4o"]
    assert (gpt.bot, gpt.owned_by, gpt.created) == ("GPT-4o", "openai", openai_api.CREATED_MS // 1000)
    extra = dict(gpt.extra)
    assert extra["context_window"] == {"context_length": 128000, "max_output_tokens": 16384}
    assert extra["context_length"] == 128000
    assert extra["architecture"]["input_modalities"] == ["text", "image"]
    assert extra["supported_endpoints"] == ["/v1/chat/completions", "/v1/responses"]
    assert extra["supported_features"] == ["tools", "web_search"]
    assert extra["pricing"]["prompt"] == "0.0000025"
    assert not {"description", "parameters", "metadata", "root"} & set(extra)  # large, or not about the model's use
    echo = dict(models["echo"].extra)
    assert "supported_endpoints" not in echo and "context_window" not in echo and "pricing" not in echo  # empty / null
    new = models["newbot-2026"]
    assert (new.bot, new.owned_by, new.created) == ("NewBot-2026", "newlab", 1_767_225_600)


def test_poe_models_skips_what_it_cannot_use() -> None:
    good = {"id": "Good-Bot", "created": 1_700_000_000_000, "metadata": {"display_name": "Good-Bot"}}
    answer = {
        "data": [
            good,
            {**good, "owned_by": "Someone"},  # a duplicate id: the first stays
            {"id": "with/slash"},
            {"id": "with space"},
            {"id": ""},
            {"id": 42},
            {"name": "no-id"},
            "not an object",
            {"id": "x" * 129},
            {"id": "other", "metadata": {"display_name": "Something Else"}, "created": True, "owned_by": 7},
            {"id": "big", "pricing": {"prompt": "1" * 2000}, "context_length": -1, "supported_features": [1, 2]},
        ]
    }
    models = poe_models(answer)
    assert [m.id for m in models] == ["good-bot", "other", "big"]
    assert models[0].bot == "Good-Bot" and models[0].created == 1_700_000_000 and models[0].owned_by == "poe"
    assert models[1].bot == "other" and models[1].created == CREATED  # a display name that is not the id: the id
    assert models[2].extra == ()
    for bad in (None, [], {"data": None}, {"data": {}}, "text", {"object": "list"}):
        assert poe_models(bad) == ()


def test_a_poe_owner_says_less_than_the_bundled_one() -> None:
    (m,) = poe_models({"data": [{"id": "claude-sonnet-4", "owned_by": "Poe"}]})
    assert m.owned_by == "anthropic"  # Poe once said "poe" for every bot


def test_stored_models_round_trip() -> None:
    models = poe_models(POE_LIST)
    again = from_stored(json.loads(json.dumps(stored_models(models))))
    assert again == models
    assert [m.extra for m in again] == [m.extra for m in models]
    assert from_stored("nonsense") == () and from_stored([{"bot": "no id"}, 3]) == ()


# ---------------------------------------------------------------- the catalogue on the fresh list


def test_a_fresh_catalogue_lists_poes_models_and_keeps_aliases_and_custom_models() -> None:
    custom = (Model(id="mine", bot="MyPrivateBot", owned_by="custom", protocol="bot"),)
    fresh = poe_models(POE_LIST)
    cat = Catalogue(custom, fresh, 123.0)
    assert (cat.source, cat.fetched_at) == ("poe", 123.0)
    assert [m.id for m in cat.listed()] == [*(m.id for m in fresh), "mine"]
    assert cat.resolve("NEWBOT-2026").bot == "NewBot-2026"
    assert cat.resolve("claude-3-5-sonnet-latest") is cat.resolve("claude-sonnet-3.5")  # an alias, onto Poe's entry
    assert dict(cat.resolve("claude-3.5-sonnet").extra)["context_length"] == 200000
    assert cat.resolve("gemini-2.5-pro").bot == "Gemini-2.5-Pro"  # in the bundled copy only: still resolves
    assert "gemini-2.5-pro" not in {m.id for m in cat.listed()}  # but is not listed
    assert cat.resolve("mine").protocol == "bot"
    bundled = Catalogue(custom)
    assert (bundled.source, bundled.fetched_at) == ("bundled", None)
    assert len(bundled.listed()) == len(BOTS) + 1
    assert Catalogue(custom, (), 5.0).source == "bundled"  # an empty list is no list


def test_custom_models_win_over_poes_list() -> None:
    custom = (Model(id="gpt-4o", bot="My-GPT", owned_by="custom"),)
    cat = Catalogue(custom, poe_models(POE_LIST))
    assert cat.resolve("gpt-4o").bot == "My-GPT"
    assert [m for m in cat.listed() if m.id == "gpt-4o"] == [custom[0]]


def model_schema() -> Draft202012Validator:
    doc = document(__version__)
    registry = Registry().with_resource("urn:poe", Resource.from_contents(doc, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": "urn:poe#/components/schemas/Model"}, registry=registry)


def test_model_objects_keep_openais_shape_with_poes_fields() -> None:
    models = Catalogue((), poe_models(POE_LIST)).listed()
    body = model_list(models)
    conformance.validate("model.list", body)  # OpenAI's schema: extra properties allowed
    schema = model_schema()
    for obj in body["data"]:
        conformance.validate("model", obj)
        schema.validate(obj)  # the proxy's own description lists the extra fields
        assert isinstance(obj["created"], int) and obj["created"] < 10**11  # seconds, not Poe's milliseconds
    gpt = next(o for o in body["data"] if o["id"] == "gpt-4o")
    assert gpt["context_window"]["context_length"] == 128000 and gpt["supported_endpoints"]
    for bundled in Catalogue().listed()[:5]:
        assert model_object(bundled) == {"id": bundled.id, "object": "model", "created": CREATED, "owned_by": bundled.owned_by}


# ---------------------------------------------------------------- the pass


async def test_a_pass_stores_the_list_and_balances_and_cools_the_key_at_zero() -> None:
    env = Env()
    app = make_app(QUOTA_COOLDOWN="1800")
    before = await models_answer(app, env)
    assert "newbot-2026" not in {m["id"] for m in before["data"]}

    await app.scheduled(env.rt)
    await env.drain()

    paths = env.peer.paths()
    assert paths.count("/v1/models") == 1 and paths.count("/usage/current_balance") == 3  # no /v1 before usage
    balance_keys = sorted(c.headers["authorization"] for c in env.peer.calls if "usage" in c.url)
    assert balance_keys == sorted(f"Bearer {k}" for k in KEYS)
    assert env.peer.closed == len(env.peer.calls)  # every answer closed

    stored = json.loads(env.kv.data[refresh.CATALOGUE_NAME])
    assert stored["fetched_at"] == env.now and len(stored["models"]) == len(openai_api.BOTS)
    assert float(env.kv.data[refresh.CATALOGUE_AT_NAME]) == env.now
    balances = json.loads(env.kv.data[BALANCES_NAME])
    assert balances == {
        key_fingerprint(KEYS[0]): {"points": 1500, "at": env.now},
        key_fingerprint(KEYS[1]): {"points": 4500, "at": env.now},
        key_fingerprint(KEYS[2]): {"points": 0, "at": env.now},
    }
    # the key at zero is cooling now, before any request found out, here and in KV
    cd = app.pool.cooling(2, env.now)
    assert cd is not None and cd.reason == "out_of_points" and cd.until == env.now + 1800
    assert json.loads(env.kv.data[KV_PREFIX + "cooldown:" + key_fingerprint(KEYS[2])])["reason"] == "out_of_points"
    assert [app.pool.points(i, env.now) for i in range(3)] == [1500, 4500, 0]

    after = await models_answer(app, env)  # the cached answer was dropped with the old list
    ids = [m["id"] for m in after["data"]]
    assert "newbot-2026" in ids and "mine" in ids and "gemini-2.5-pro" not in ids
    one = await models_answer(app, env, "/v1/models/NewBot-2026")
    assert one["id"] == "NewBot-2026" and one["context_length"] == 256000 and one["owned_by"] == "newlab"
    assert refresh.catalogue_status(app, env.now + 60) == {
        "source": "poe",
        "models": len(openai_api.BOTS) + 1,
        "fetched_at": env.now,
        "age_seconds": 60,
    }
    no_key_text(*env.logs, *env.kv.data.values(), json.dumps(after))
    assert any("model list refreshed" in line for line in env.logs)


async def test_the_list_is_fetched_again_only_when_older_than_catalogue_refresh_hours() -> None:
    env = Env()
    app = make_app(CATALOGUE_REFRESH_HOURS="24")
    await app.scheduled(env.rt)
    env.now += 23 * 3600  # an hourly cron: balances every time, the list once a day
    await app.scheduled(env.rt)
    assert env.peer.paths().count("/v1/models") == 1
    assert env.peer.paths().count("/usage/current_balance") == 6
    env.now = 1_800_000_000.0 + 24 * 3600 - 60  # the cron fires a little early: still due
    await app.scheduled(env.rt)
    assert env.peer.paths().count("/v1/models") == 2


async def test_catalogue_refresh_hours_zero_never_fetches_nor_reads_the_list() -> None:
    env = Env()
    app = make_app(CATALOGUE_REFRESH_HOURS="0")
    await app.scheduled(env.rt)
    assert "/v1/models" not in env.peer.paths() and refresh.CATALOGUE_NAME not in env.kv.data
    await refresh.sync_catalogue(env.rt, app)
    assert refresh.CATALOGUE_NAME not in env.kv.gets and app.catalogue.source == "bundled"


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ((500, b"oops"), "HTTP 500"),
        ((200, b"not json"), "no usable model"),
        ((200, b'{"object": "list", "data": []}'), "no usable model"),
        ((200, b'{"data": [{"id": "a/b"}]}'), "no usable model"),
        ((302, b""), "HTTP 302"),
    ],
)
async def test_a_failed_fetch_keeps_the_current_list(answer: Answer, said: str) -> None:
    env = Env(peer=Peer(lambda r: answer if r.url.endswith("/v1/models") else demo_answer(r)))
    app = make_app()
    await app.scheduled(env.rt)
    await env.drain()
    assert app.catalogue.source == "bundled" and refresh.CATALOGUE_NAME not in env.kv.data
    assert any(said in line for line in env.logs), env.logs
    assert json.loads(env.kv.data[BALANCES_NAME])  # the balances were read all the same


async def test_a_refused_key_does_not_stop_the_public_list() -> None:
    def answer(r: OutboundRequest) -> Answer:
        if r.url.endswith("/v1/models") and "authorization" in r.headers:
            return 401, b"{}"
        return demo_answer(r)

    env = Env(peer=Peer(answer))
    app = make_app()
    await refresh.refresh_catalogue(env.rt, app)
    models_calls = [c for c in env.peer.calls if c.url.endswith("/v1/models")]
    assert [("authorization" in c.headers) for c in models_calls] == [True, False]
    assert app.catalogue.source == "poe"


class Hanging:
    """A peer that never answers (the pass must give up on its own)."""

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, request: OutboundRequest) -> UpstreamResponse:
        self.calls += 1
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


class Failing:
    async def send(self, request: OutboundRequest) -> UpstreamResponse:
        raise ConnectionError(f"could not connect with {request.headers.get('authorization')}")


async def test_a_pass_is_bounded_in_time_and_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refresh, "CATALOGUE_TIMEOUT", 0.05)
    monkeypatch.setattr(refresh, "BALANCE_TIMEOUT", 0.05)
    for peer in (Hanging(), Failing()):
        env = Env(peer=peer)
        app = make_app()
        await asyncio.wait_for(app.scheduled(env.rt), 2)
        assert app.catalogue.source == "bundled" and app.pool.healthy(env.now) == [0, 1, 2]
        assert all(app.pool.points(i, env.now) is None for i in range(3))
        no_key_text(*env.logs)
        assert any("TimeoutError" in line or "within" in line or "ConnectionError" in line for line in env.logs), env.logs
    env = Env(kv=BrokenKV())
    await make_app().scheduled(env.rt)  # KV down: logged, not raised
    assert any("RuntimeError" in line for line in env.logs)


async def test_an_oversized_answer_is_not_read_to_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refresh, "CATALOGUE_BYTES", 5000)
    env = Env()
    app = make_app()
    await refresh.run(env.rt, app)
    assert app.catalogue.source == "bundled"
    assert any("model list refresh failed (ValueError)" in line for line in env.logs), env.logs


async def test_a_balance_without_points_is_unknown_not_zero() -> None:
    answers = {
        "good": (200, b'{"current_point_balance": "lots"}'),
        "rich": (200, b"[]"),
        "broke": (503, b"down"),
    }

    def answer(r: OutboundRequest) -> Answer:
        if "usage" in r.url:
            return answers[r.headers["authorization"].removeprefix("Bearer ").split("-")[0]]
        return demo_answer(r)

    env = Env(peer=Peer(answer))
    app = make_app()
    results = await refresh.refresh_balances(env.rt, app)
    assert results == {0: None, 1: None, 2: None}
    assert app.pool.healthy(env.now) == [0, 1, 2]
    assert json.loads(env.kv.data[BALANCES_NAME]) == {}
    assert sum("balance of key #" in line for line in env.logs) == 3
    no_key_text(*env.logs)


async def test_a_large_pool_is_read_over_several_passes_longest_unread_first() -> None:
    keys = tuple(f"good-{i:02d}-key" for i in range(refresh.MAX_BALANCES_PER_PASS + 5))
    env = Env()
    app = make_app(keys)
    first = await refresh.refresh_balances(env.rt, app)
    assert sorted(first) == list(range(refresh.MAX_BALANCES_PER_PASS))
    assert any("5 keys wait for a later pass" in line for line in env.logs)
    env.now += 3600
    second = await refresh.refresh_balances(env.rt, app)
    assert list(second)[:5] == list(range(refresh.MAX_BALANCES_PER_PASS, len(keys)))  # the five never read come first
    stored = json.loads(env.kv.data[BALANCES_NAME])
    assert len(stored) == len(keys)
    # at most BALANCE_CONCURRENCY balance requests are in flight at once
    assert len(env.peer.calls) == 2 * refresh.MAX_BALANCES_PER_PASS


async def test_stored_balances_of_keys_no_longer_configured_are_dropped() -> None:
    env = Env()
    env.kv.data[BALANCES_NAME] = json.dumps({"0123456789abcdef": {"points": 5, "at": 1.0}})
    await refresh.refresh_balances(env.rt, make_app())
    assert "0123456789abcdef" not in json.loads(env.kv.data[BALANCES_NAME])


async def test_a_misconfigured_proxy_skips_the_pass() -> None:
    env = Env()
    app = make_app(TIMEOUT="soon")
    await app.scheduled(env.rt)
    assert env.peer.calls == [] and any("skipped" in line for line in env.logs)


async def test_without_kv_the_pass_serves_its_own_isolate() -> None:
    env = Env(kv=None)
    app = make_app()
    await app.scheduled(env.rt)
    assert env.deferred == []  # without KV, a cool-down writes nothing
    assert app.catalogue.source == "poe" and app.pool.cooling(2, env.now) is not None
    env.now += 3600
    await app.scheduled(env.rt)  # the isolate's own list is not yet due
    assert env.peer.paths().count("/v1/models") == 1


# ---------------------------------------------------------------- another isolate


async def test_another_isolate_reads_the_stored_list_then_polls_its_time() -> None:
    kv = MemoryKV()
    writer, reader = Env(kv=kv), Env(kv=kv, peer=Peer(lambda r: (500, b"")))
    first = make_app()
    await first.scheduled(writer.rt)
    await writer.drain()

    other = make_app(KV_REFRESH_SECONDS="60")
    kv.gets.clear()
    await refresh.sync_catalogue(reader.rt, other)  # the isolate's first request waits for one read
    assert kv.gets == [refresh.CATALOGUE_NAME]
    assert other.catalogue.source == "poe" and other.catalogue.fetched_at == writer.now
    assert other.catalogue.listed() == first.catalogue.listed()
    assert reader.peer.calls == []  # it did not ask Poe

    kv.gets.clear()
    reader.now += 30
    await refresh.sync_catalogue(reader.rt, other)
    assert kv.gets == [] and reader.deferred == []  # too soon
    reader.now += 30
    await refresh.sync_catalogue(reader.rt, other)
    await refresh.sync_catalogue(reader.rt, other)
    assert len(reader.deferred) == 1  # after the response, one at a time
    await reader.drain()
    assert kv.gets == [refresh.CATALOGUE_AT_NAME]  # unchanged: only the time was read

    writer.now += 25 * 3600  # the next day's list, with one model fewer
    smaller = {"object": "list", "data": [m for m in POE_LIST["data"] if m["id"] != "thinker"]}
    writer.peer = Peer(lambda r: (200, json.dumps(smaller).encode()) if r.url.endswith("/v1/models") else demo_answer(r))
    await first.scheduled(writer.rt)
    resp = await other.handle(Request("GET", "/v1/models", {"authorization": "Bearer sk-t"}), reader.rt)
    assert b'"thinker"' in resp.body  # type: ignore[operator]
    reader.now += 60
    await refresh.sync_catalogue(reader.rt, other)
    await reader.drain()
    assert other.catalogue.fetched_at == writer.now
    assert "thinker" not in {m.id for m in other.catalogue.listed()}
    assert other._models is None


async def test_a_new_time_before_its_list_is_visible_is_looked_at_again() -> None:
    kv = MemoryKV()
    env = Env(kv=kv)
    app = make_app(KV_REFRESH_SECONDS="0")
    await refresh.sync_catalogue(env.rt, app)  # nothing stored: the bundled copy
    assert app.catalogue.source == "bundled"
    kv.data[refresh.CATALOGUE_AT_NAME] = repr(env.now)  # KV shows the time before the list
    env.now += 1
    await refresh.sync_catalogue(env.rt, app)
    await env.drain()
    assert app.catalogue.source == "bundled"
    kv.data[refresh.CATALOGUE_NAME] = json.dumps({"fetched_at": env.now - 1, "models": stored_models(poe_models(POE_LIST))})
    env.now += 1
    await refresh.sync_catalogue(env.rt, app)
    await env.drain()
    assert app.catalogue.source == "poe"


@pytest.mark.parametrize("stored", ["not json", "[]", '{"fetched_at": "x", "models": []}', '{"fetched_at": 5, "models": "x"}'])
async def test_a_corrupt_stored_list_leaves_the_bundled_copy(stored: str) -> None:
    env = Env()
    env.kv.data[refresh.CATALOGUE_NAME] = stored
    app = make_app()
    await refresh.sync_catalogue(env.rt, app)
    assert app.catalogue.source == "bundled"
    env = Env(kv=BrokenKV())
    await refresh.sync_catalogue(env.rt, app)  # never raises
    assert app.catalogue.source == "bundled"


# ---------------------------------------------------------------- key choice by points


def pool_with(points: list[int | None], now: float = 1000.0, **cfg: Any) -> KeyPool:
    keys = tuple(f"k{i}" for i in range(len(points)))
    pool = KeyPool(keys, Config.defaults(api_keys=keys, access_tokens=("t",), **cfg))
    for i, p in enumerate(points):
        if p is not None:
            pool.set_points(i, p, now)
    return pool


def first_choices(pool: KeyPool, n: int, now: float = 1000.0) -> Counter[int]:
    return Counter(pool.plan(now)[0] for _ in range(n))


def test_without_balances_the_rotation_is_unchanged() -> None:
    pool = pool_with([None, None, None])
    assert [pool.plan(0.0) for _ in range(4)] == [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 1, 2]]
    equal = pool_with([700, 700, 700])
    assert [equal.plan(1000.0)[0] for _ in range(6)] == [0, 1, 2, 0, 1, 2]


def test_keys_are_chosen_in_proportion_to_their_points() -> None:
    pool = pool_with([1500, 4500])
    counts = first_choices(pool, 400)
    assert counts[1] == pytest.approx(300, abs=3) and counts[0] == pytest.approx(100, abs=3)
    window = first_choices(pool, 20)  # spread out, not in runs: any short window is close to the share
    assert 13 <= window[1] <= 17


def test_unknown_balances_count_as_the_median_and_zero_comes_last() -> None:
    pool = pool_with([3000, None, 1000, 0])
    counts = first_choices(pool, 600)
    assert counts[3] == 0
    assert counts[0] == pytest.approx(300, abs=4)
    assert counts[1] == pytest.approx(200, abs=4)  # unknown: the median of the known positive balances
    assert counts[2] == pytest.approx(100, abs=4)
    for _ in range(20):  # failover: most points first, the key at zero last
        rest = pool.plan(1000.0)[1:]
        assert rest[-1] == 3
        weights = {0: 3000, 1: 2000, 2: 1000, 3: 0}
        assert [weights[i] for i in rest] == sorted((weights[i] for i in rest), reverse=True)


def test_points_prefer_but_max_attempts_and_cooling_still_apply() -> None:
    pool = pool_with([100, 5000, 2000], max_attempts=2)
    rt = Runtime(http=None, kv=None, clock=lambda: 1000.0, defer=lambda _w: None, log=lambda _l: None)  # type: ignore[arg-type]
    pool.cool_down(rt, 1, "rate_limited", 60, 1000.0)
    for _ in range(10):
        plan = pool.plan(1000.0)
        assert len(plan) == 2 and 1 not in plan


def test_an_out_of_points_failure_puts_the_key_last_until_a_new_balance() -> None:
    pool = pool_with([1500, 1500, 1500])
    rt = Runtime(http=None, kv=None, clock=lambda: 1000.0, defer=lambda _w: None, log=lambda _l: None)  # type: ignore[arg-type]
    pool.cool_down(rt, 0, "out_of_points", 10, 1000.0)
    assert pool.points(0, 1000.0) == 0
    assert all(pool.plan(2000.0)[-1] == 0 for _ in range(6))  # healthy again, but tried last
    pool.set_points(0, 1500, 3000.0)  # the next pass: points again
    assert first_choices(pool, 30, 3000.0)[0] == 10


def test_old_balances_count_as_unknown() -> None:
    pool = pool_with([100, 9000], now=0.0)
    assert pool.points(1, BALANCE_MAX_AGE) == 9000
    assert pool.points(1, BALANCE_MAX_AGE + 1) is None
    later = BALANCE_MAX_AGE + 10
    assert [pool.plan(later)[0] for _ in range(4)] == [0, 1, 0, 1]  # the rotation again
    pool.set_points(1, 1, -5.0)  # an older report does not replace a newer one
    assert pool.balances[1] == (9000, 0.0)


async def test_another_isolate_reads_the_balances_with_the_cooldowns() -> None:
    kv = MemoryKV()
    env = Env(kv=kv)
    writer = make_app()
    await refresh.refresh_balances(env.rt, writer)
    await env.drain()
    reader = make_app()
    await reader.pool.sync(env.rt, env.now)
    assert [reader.pool.points(i, env.now) for i in range(3)] == [1500, 4500, 0]
    assert reader.pool.cooling(2, env.now) is not None
    counts = first_choices(reader.pool, 40, env.now)
    assert counts[2] == 0 and counts[1] == pytest.approx(30, abs=2) and counts[0] == pytest.approx(10, abs=2)


def test_parse_balances_ignores_what_is_not_a_balance() -> None:
    fps = (key_fingerprint("a"), key_fingerprint("b"), key_fingerprint("c"))
    raw = json.dumps(
        {
            fps[0]: {"points": 5, "at": 1.5},
            fps[1]: {"points": True, "at": 1},
            fps[2]: {"points": 3, "at": "later"},
            "other": {"points": 1, "at": 1},
        }
    )
    assert parse_balances(raw, fps) == {0: (5, 1.5)}
    for bad in (None, "", "[]", "{", '{"x": 1}', json.dumps({fps[0]: {"points": 1, "at": math.inf}})):
        assert parse_balances(bad, fps) == {}


def test_balances_health_names_keys_by_position_only() -> None:
    pool = pool_with([1500, None, 0], now=1000.0)
    assert pool.balances_health(1060.0) == [
        {"key": "#1", "points": 1500, "seconds_since_read": 60},
        {"key": "#2", "points": None, "seconds_since_read": None},
        {"key": "#3", "points": 0, "seconds_since_read": 60},
    ]
    assert pool.balances_health(1000.0 + BALANCE_MAX_AGE + 1)[0] == {"key": "#1", "points": None, "seconds_since_read": None}

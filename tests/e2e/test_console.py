"""The operator's console (GET /admin) in a real Chromium, against the Worker in workerd and the demo upstream.

Debian's ``chromium`` driven by Playwright for Python with ``executable_path``: no browser is
downloaded (``make test`` installs the Debian package when it is missing, see scripts/lib.sh).
Skipped when either is missing.

What a person does: signs in with the admin token, sees a key go to cooling after a request
that needed the failover (``busy-`` keys get HTTP 429 from the demo upstream), sees a token's
usage count up, streams answers in the playground (text, reasoning, a tool call), in English and
in Chinese, at desktop and phone width, light and dark. Every page must log no console error and
raise no uncaught exception, and ask nothing of any origin but the proxy's own.

Screenshots of the main views go to tests/screenshots/ (not committed);
``UPDATE_README_SCREENSHOT=1`` also writes docs/console.png, the README's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import Proxy, ProxyFactory
from tests.support import ACCESS_TOKEN, ADMIN_TOKEN, ROOT, admin_status

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None  # type: ignore[assignment]
if CHROMIUM is None or sync_playwright is None:
    pytest.skip("needs Debian's chromium and playwright (make test installs both)", allow_module_level=True)

SHOTS = ROOT / "tests" / "screenshots"
KEYS = "busy-console-1,good-console-2"  # #1: HTTP 429 from the demo upstream, cooled; #2 answers
ALICE = "sk-alice-console-0123456789"
POLICIES = json.dumps({"alice": {"token": ALICE, "models": ["echo", "thinker"], "rpm": 30, "rpd": 500, "concurrency": 2}})
TOOLS = '[{"type": "function", "function": {"name": "weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]'
DESKTOP = {"width": 1200, "height": 820}
PHONE = {"width": 390, "height": 844}


@dataclass
class Watch:
    """What a page did that it must not: console errors, uncaught exceptions, requests elsewhere."""

    origin: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> Page:
        def on_console(msg: ConsoleMessage) -> None:
            if msg.type in ("error", "warning"):
                self.errors.append(f"{msg.type}: {msg.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("request", lambda req: self.requests.append(req.url))
        return page

    def check(self, allowed: tuple[str, ...] = ()) -> None:
        errors = [e for e in self.errors if not any(a in e for a in allowed)]
        assert errors == [], errors
        elsewhere = [u for u in self.requests if urlsplit(u).scheme != "data" and not u.startswith(self.origin + "/")]
        assert elsewhere == [], elsewhere
        assert any(u.startswith(self.origin + "/admin/status") for u in self.requests)


@pytest.fixture(scope="module")
def console_proxy(proxies: ProxyFactory) -> Proxy:
    return proxies.get("workerd/openai", POE_APIKEYS=KEYS, TOKEN_POLICIES=POLICIES)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


@pytest.fixture(autouse=True)
def _patience() -> None:
    expect.set_options(timeout=10_000)  # the status refreshes every 5 s


def context(browser: Browser, **kw: Any) -> BrowserContext:
    kw.setdefault("viewport", DESKTOP)
    kw.setdefault("locale", "en-US")
    return browser.new_context(**kw)


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def chat(proxy: Proxy, token: str = ACCESS_TOKEN, model: str = "echo") -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "console check"}]}
    return httpx.post(f"{proxy.url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {token}"}, timeout=30)


def sign_in(page: Page, proxy: Proxy, token: str = ADMIN_TOKEN) -> None:
    page.goto(f"{proxy.url}/admin")
    expect(page.locator("#admin-token")).to_be_focused()  # typed at once, no mouse
    page.keyboard.type(token)
    page.keyboard.press("Enter")


def key_row(page: Page, key: str) -> Any:
    return page.locator(f'#pool tr[data-key="{key}"]')


def token_card(page: Page, name: str) -> Any:
    return page.locator(f'#tokens article[data-token="{name}"]')


def requests_today(page: Page, name: str) -> int:
    text = token_card(page, name).locator("[data-today]").inner_text()
    return int(re.findall(r"\d+", text)[0])


def no_junk(page: Page) -> None:
    """No value the script failed to turn into text, in any view."""
    tabs = page.get_by_role("tab")
    for i in range(tabs.count()):
        tabs.nth(i).click()
        text = page.locator("body").inner_text()
        for junk in ("undefined", "NaN", "[object Object]", "null"):
            assert not re.search(rf"(^|\W){re.escape(junk)}(\W|$)", text), (junk, text)


# ---------------------------------------------------------------- tests


def test_pool_cools_a_key_and_usage_counts_up(browser: Browser, console_proxy: Proxy) -> None:
    proxy = console_proxy
    watch = Watch(proxy.url)
    ctx = context(browser)
    page = watch.attach(ctx.new_page())
    sign_in(page, proxy)
    keys_tab = page.get_by_role("tab", name="Keys")
    expect(keys_tab).to_be_focused()
    expect(keys_tab).to_have_attribute("aria-selected", "true")
    expect(page.locator("#pool tbody tr")).to_have_count(2)
    # the token stays in this tab's sessionStorage: not in the URL, no cookie, nothing in localStorage
    assert page.evaluate("sessionStorage.getItem('admin')") == ADMIN_TOKEN
    assert ADMIN_TOKEN not in page.url and ctx.cookies() == [] and page.evaluate("localStorage.length") == 0

    # a request whose first key is rate-limited: the client gets its answer, the page shows the key cooling
    for _ in range(3):
        assert chat(proxy).status_code == 200
        if admin_status(proxy.url)["keys"]["cooling"]:
            break
    cooling = {c["key"]: c for c in admin_status(proxy.url)["keys"]["cooling"]}
    assert set(cooling) == {"#1"} and cooling["#1"]["reason"] == "rate_limited"
    row = key_row(page, "#1")
    expect(row.locator(".badge")).to_have_text("cooling")  # the next refresh, by itself
    expect(row).to_contain_text("rate limited")
    expect(row.locator("[data-until]")).to_have_text(re.compile(r"\d+ (s|min)"))
    expect(key_row(page, "#2").locator(".badge")).to_have_text("healthy")
    expect(page.locator("#pool-sum")).to_have_text("1 of 2 keys healthy")
    # each key's attempts and the tokens of its answers today, as the admin API has them
    key_2 = admin_status(proxy.url)["keys"]["usage"][1]["days"][time.strftime("%Y-%m-%d", time.gmtime())]
    expect(page.locator("#pool thead")).to_contain_text("Tokens in today")
    expect(key_row(page, "#2")).to_contain_text(f"{key_2['input_tokens']:,}")
    expect(page.locator("#errors")).to_contain_text("rate limited")
    shot(page, "keys-en")

    # usage: the arrow keys move between the views; a request counts up after a refresh
    keys_tab.focus()
    page.keyboard.press("ArrowRight")
    usage_tab = page.get_by_role("tab", name="Usage")
    expect(usage_tab).to_be_focused()
    expect(usage_tab).to_have_attribute("aria-selected", "true")
    expect(page.locator("#p-usage")).to_be_visible()
    expect(page.locator("#p-keys")).to_be_hidden()
    card = token_card(page, "token-1")
    expect(card.locator("[data-today]")).to_contain_text("Requests today")
    before = requests_today(page, "token-1")
    assert before >= 1
    assert chat(proxy).status_code == 200
    page.get_by_role("button", name="Refresh").click()
    expect(card.locator("[data-today]")).to_contain_text(f"Requests today: {before + 1}")
    chart = card.get_by_role("img")
    expect(chart).to_have_attribute("aria-label", re.compile(rf"{before + 1} in all"))
    expect(chart.locator("rect")).to_have_count(24)
    assert float(chart.locator("rect").last.get_attribute("height") or 0) > 0  # this hour's bar
    expect(card.locator("tbody tr").first).to_contain_text("echo")
    # the tokens of the answers, as the admin API has them (Poe's counts or the proxy's estimates)
    token_1 = next(t for t in admin_status(proxy.url)["tokens"] if t["name"] == "token-1")
    echo = token_1["usage"][time.strftime("%Y-%m-%d", time.gmtime())]["by_model"]["echo"]
    assert echo["input_tokens"] > 0 and echo["output_tokens"] > 0
    cells = card.locator("tbody tr").first.locator("td")
    expect(cells.nth(4)).to_have_text(f"{echo['input_tokens']:,}")
    expect(cells.nth(5)).to_have_text(f"{echo['output_tokens']:,}")

    # a token with limits shows them as meters; one over its scope counts as a client error by class
    assert chat(proxy, ALICE, model="gpt-4o").status_code == 403
    page.get_by_role("button", name="Refresh").click()
    alice = token_card(page, "alice")
    expect(alice.locator("meter")).to_have_count(3)
    expect(alice.locator('[data-count="rpm"]')).to_have_text("1 / 30")
    expect(alice.locator("[data-today]")).to_contain_text("client errors: 1")
    shot(page, "usage-en")
    page.get_by_role("tab", name="Keys").click()
    expect(page.locator("#errors")).to_contain_text("403 model not allowed")
    if os.environ.get("UPDATE_README_SCREENSHOT"):
        page.evaluate("document.activeElement.blur()")
        page.screenshot(path=ROOT / "docs" / "console.png", clip={"x": 0, "y": 0, "width": 1200, "height": 660})
    no_junk(page)

    ctx.close()
    watch.check()


def test_playground_streams_text_reasoning_and_tool_calls(browser: Browser, console_proxy: Proxy) -> None:
    proxy = console_proxy
    watch = Watch(proxy.url)
    ctx = context(browser)
    page = watch.attach(ctx.new_page())
    sign_in(page, proxy)
    page.get_by_role("tab", name="Models").click()
    expect(page.locator("#cat-stats")).to_contain_text("Models")
    expect(page.locator("#cat-count")).to_contain_text("access token")  # none saved yet

    page.get_by_role("tab", name="Playground").click()
    page.get_by_label("Access token").fill(ACCESS_TOKEN)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#access-state")).to_contain_text("saved")
    assert page.evaluate("sessionStorage.getItem('access')") == ACCESS_TOKEN

    # the catalogue lists the token's models, searchable; "Try" takes one to the playground
    page.get_by_role("tab", name="Models").click()
    page.get_by_label("Search models").fill("echo")
    expect(page.locator("#cat-count")).to_contain_text(re.compile(r"^1 of \d+ shown"))
    page.get_by_role("button", name="Try echo in the playground").click()
    expect(page.get_by_role("tab", name="Playground")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_label("Model", exact=True)).to_have_value("echo")
    expect(page.get_by_label("Prompt")).to_be_focused()

    # text, streamed; Ctrl+Enter sends
    page.keyboard.type("hello from the console")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#answer")).to_have_text("hello from the console")
    expect(page.locator("#run-note")).to_have_text("Done.")
    expect(page.locator('[data-field="id"]')).to_have_text(re.compile(r"^req_[0-9a-f]{24}$"))
    meta = page.locator("#run-meta")
    for label in ("Status", "First token", "Total", "Finish", "Tokens"):
        expect(meta).to_contain_text(label)
    expect(page.locator("#out-reasoning")).to_be_hidden()
    expect(page.locator("#out-tools")).to_be_hidden()

    # reasoning apart from the answer
    page.get_by_label("Model", exact=True).fill("thinker")
    page.get_by_label("Prompt").fill("6 times 7?")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#answer")).to_have_text("The answer is 42.")
    expect(page.locator("#reasoning")).to_contain_text("6 times 7 is 42")
    expect(page.locator("#out-reasoning")).to_be_visible()

    # a tool call apart from the answer
    page.get_by_label("Model", exact=True).fill("toolbot")
    page.get_by_label("Prompt").fill("weather in Paris?")
    page.locator("#p-play summary").click()
    page.get_by_label("Tools: a JSON array of OpenAI tools").fill(TOOLS)
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#run-note")).to_have_text("Done.")
    expect(page.locator("#calls")).to_contain_text("weather")
    expect(page.locator("#calls pre")).to_contain_text('"city": "Paris"')
    expect(page.locator("#run-meta")).to_contain_text("tool_calls")
    expect(page.locator("#out-reasoning")).to_be_hidden()
    shot(page, "playground-en")

    # an error is shown with the proxy's message and the request id
    page.get_by_label("Model", exact=True).fill("no-such-model-here")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#run-note")).to_contain_text("Failed")
    expect(page.locator('[data-field="id"]')).to_have_text(re.compile(r"^req_"))
    expect(page.locator("#run-meta")).to_contain_text("404")
    no_junk(page)

    ctx.close()
    watch.check(allowed=("the server responded with a status of 404",))  # the browser's own line for the 404 above


def test_chinese_at_phone_width_in_the_dark(browser: Browser, console_proxy: Proxy) -> None:
    proxy = console_proxy
    watch = Watch(proxy.url)
    ctx = context(browser, locale="zh-CN", viewport=PHONE, color_scheme="dark", is_mobile=True, has_touch=True)
    page = watch.attach(ctx.new_page())
    page.goto(f"{proxy.url}/admin")
    # the browser's language decides
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("Poe Proxy 控制台")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    page.get_by_label("管理令牌").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("tab", name="密钥")).to_have_attribute("aria-selected", "true")
    expect(key_row(page, "#1").locator(".badge")).to_have_text(re.compile("^(冷却中|可用)$"))
    expect(page.locator("#pool-sum")).to_contain_text("个密钥中")
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert dark == "rgb(16, 18, 23)", dark
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "keys-zh-phone-dark")

    # switchable, both ways
    page.get_by_label("语言").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("tab", name="Keys")).to_be_visible()
    page.get_by_label("Language").select_option("zh")
    expect(page.get_by_role("tab", name="用量")).to_be_visible()

    page.get_by_role("tab", name="用量").click()
    expect(token_card(page, "token-1").locator("[data-today]")).to_contain_text("今日请求")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "usage-zh-phone-dark")

    page.get_by_role("tab", name="试用").click()
    page.get_by_label("访问令牌").fill(ACCESS_TOKEN)
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#access-state")).to_contain_text("已保存")
    page.get_by_role("combobox", name="模型").fill("echo")
    page.get_by_label("提示词").fill("你好，控制台")
    page.get_by_role("button", name="发送").click()
    expect(page.locator("#answer")).to_have_text("你好，控制台")
    expect(page.locator("#run-note")).to_have_text("完成。")
    expect(page.locator("#run-meta")).to_contain_text("请求 ID")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "playground-zh-phone-dark")
    no_junk(page)

    ctx.close()
    watch.check()


def test_a_wrong_admin_token_is_refused_and_signing_out_forgets(browser: Browser, console_proxy: Proxy) -> None:
    proxy = console_proxy
    watch = Watch(proxy.url)
    ctx = context(browser)
    page = watch.attach(ctx.new_page())
    sign_in(page, proxy, token=ACCESS_TOKEN)  # an access token never opens the admin API
    expect(page.locator("#note")).to_contain_text("The admin token was refused")
    expect(page.locator("#admin-token")).to_be_focused()
    expect(page.locator("#app")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('admin')") is None

    page.keyboard.type(ADMIN_TOKEN)
    page.keyboard.press("Enter")
    expect(page.locator("#app")).to_be_visible()
    page.reload()  # the tab keeps its session: no second sign-in
    expect(page.locator("#pool tbody tr")).to_have_count(2)
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#login")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('admin')") is None
    assert ctx.cookies() == []

    ctx.close()
    watch.check(allowed=("the server responded with a status of 401",))  # the browser's own line for the refusal


def test_fields_the_status_may_add_are_shown(browser: Browser, console_proxy: Proxy) -> None:
    """Balances, per-key counts and the catalogue's age, wherever a later status puts them (the status is stubbed)."""
    proxy = console_proxy
    status = admin_status(proxy.url)
    status["points"] = [  # where /admin/status puts them
        {"key": "#1", "points": 1500, "seconds_since_read": 600},
        {"key": "#2", "points": None, "seconds_since_read": None},
    ]
    status["keys"]["requests_today"] = {"#1": 3, "#2": 12}
    status["catalogue"] = {"source": "poe", "models": 362, "fetched_at": 1_700_000_000, "age_seconds": 7200}
    status["config_error"] = "TOKEN_POLICIES: bad JSON"
    today = time.strftime("%Y-%m-%d", time.gmtime())
    older = {
        "requests": 2,
        "client_errors": 0,
        "errors": 0,
        "by_model": {"echo": {"requests": 2, "client_errors": 0, "errors": 0}},
    }
    for tok in status["tokens"]:
        if tok["name"] == "token-2":
            tok["usage"] = {today: older}  # a status without requests per hour
    watch = Watch(proxy.url)
    ctx = context(browser)
    page = watch.attach(ctx.new_page())
    page.route("**/admin/status", lambda route: route.fulfill(json=status))
    sign_in(page, proxy)
    header = page.locator("#pool thead")
    expect(header).to_contain_text("Points")
    expect(header).to_contain_text("Points read")
    expect(header).to_contain_text("Requests today")
    expect(key_row(page, "#1")).to_contain_text("1,500")
    expect(key_row(page, "#1")).to_contain_text("10 min ago")
    expect(key_row(page, "#2")).to_contain_text("12")
    expect(page.get_by_role("alert")).to_have_text("Configuration error: TOKEN_POLICIES: bad JSON")
    page.get_by_role("tab", name="Usage").click()
    expect(token_card(page, "token-2")).to_contain_text("This proxy's status has no requests per hour.")
    expect(token_card(page, "token-2").locator("[data-today]")).to_contain_text("Requests today: 2")
    page.get_by_role("tab", name="Models").click()
    stats = page.locator("#cat-stats")
    expect(stats).to_contain_text("362")
    expect(stats).to_contain_text("fetched from Poe")
    expect(stats).to_contain_text("2 h")
    page.get_by_label("Language").select_option("zh")
    expect(stats).to_contain_text("从 Poe 获取")
    expect(stats).to_contain_text("2小时")
    no_junk(page)
    ctx.close()
    watch.check()

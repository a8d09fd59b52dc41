"""The console page (GET /admin) as served: one self-contained page, its CSP, its two languages.

The browser tests (tests/e2e/test_console.py) drive it in Chromium; these check what can be read
from the bytes: the CSP allows exactly the page's own script and style, nothing refers to another
origin, no inline handler or style attribute would need a looser policy, every text has both
languages, and the page stays small.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re

from poe import console
from poe.app import App
from poe.http import Request, Runtime
from poe.pool import FAILURE_KINDS

PAGE = console.PAGE.decode()
HEADERS = dict(console.HEADERS)
CSP = HEADERS["content-security-policy"]


def directives() -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in CSP.split(";")) if d}


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_csp_allows_exactly_the_inline_script_and_style() -> None:
    scripts = re.findall(r"<script>(.*?)</script>", PAGE, flags=re.S)
    styles = re.findall(r"<style>(.*?)</style>", PAGE, flags=re.S)
    assert len(scripts) == 1 and len(styles) == 1
    assert PAGE.count("<script") == 1 and PAGE.count("<style") == 1
    d = directives()
    assert d["script-src"] == [sha256(scripts[0])]
    assert d["style-src"] == [sha256(styles[0])]
    assert d["default-src"] == ["'none'"] and d["connect-src"] == ["'self'"] and d["frame-ancestors"] == ["'none'"]
    assert d["base-uri"] == ["'none'"] and d["form-action"] == ["'none'"]
    assert "unsafe" not in CSP
    assert HEADERS["x-content-type-options"] == "nosniff" and HEADERS["referrer-policy"] == "no-referrer"


def test_nothing_refers_to_another_origin() -> None:
    # the one URL is the SVG namespace, a name and never fetched
    urls = set(re.findall(r"[a-z]+://[^\s\"'<>)]*", PAGE))
    assert urls == {"http://www.w3.org/2000/svg"}
    for attr in re.findall(r"\s(?:src|href|action|srcset|poster|data)=\"([^\"]*)\"", PAGE):
        assert attr.startswith(("#", "data:")), attr
    assert "@import" not in PAGE and "url(" not in console.STYLE


def test_no_inline_handlers_or_style_attributes() -> None:
    html = PAGE.replace(console.SCRIPT, "").replace(console.STYLE, "")
    assert not re.search(r"\son[a-z]+\s*=", html)
    assert not re.search(r"\sstyle\s*=", html)
    assert "javascript:" not in PAGE
    assert ".innerHTML" not in console.SCRIPT and "eval(" not in console.SCRIPT and "new Function" not in console.SCRIPT


def test_the_page_is_small() -> None:
    assert len(console.PAGE) < 50_000


def test_every_text_in_both_languages() -> None:
    en, zh = console.I18N["en"], console.I18N["zh"]
    assert set(en) == set(zh)
    assert all(v.strip() for v in [*en.values(), *zh.values()])
    for key in ("title", "signin", "pool_h", "cooling", "answer"):
        assert en[key] != zh[key]
    used = set(re.findall(r"data-i18n(?:-label)?=\"([a-z0-9_]+)\"", console.BODY))
    used |= set(re.findall(r"\bt\(\"([a-z0-9_]+)\"[,)]", console.SCRIPT))
    used |= {f"r_{kind}" for kind in FAILURE_KINDS} | {"st_ok", "st_misconfigured", "l_rpm", "l_rpd", "l_concurrency"}
    used |= {"src_poe", "src_bundled", "healthy", "cooling"}
    assert used <= set(en), sorted(used - set(en))
    # the placeholders of each text are the same in both languages
    for key in en:
        assert set(re.findall(r"\{\w+\}", en[key])) == set(re.findall(r"\{\w+\}", zh[key])), key


def test_the_app_serves_it_without_cors_or_a_token() -> None:
    rt = Runtime(None, None, lambda: 1_000.0, lambda work: work.close(), lambda line: None)  # type: ignore[arg-type]
    app = App({"POE_APIKEYS": "k", "API_ACCESS_TOKENS": "sk-token-1", "ADMIN_TOKENS": "admin-1", "CORS_ORIGINS": "*"})
    answer = asyncio.run(
        app.handle(Request(method="GET", path="/admin", headers={"origin": "https://elsewhere.example"}, body=b""), rt)
    )
    assert answer.status == 200 and answer.body == console.PAGE
    names = {k for k, _ in answer.headers}
    assert "content-security-policy" in names and "x-frame-options" in names
    assert not any(k.startswith("access-control-") for k in names)

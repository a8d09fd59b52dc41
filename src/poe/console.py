"""The operator's console: one self-contained page served at ``GET /admin``.

Plain HTML, CSS and a small script, all inline: no build step, nothing from another origin.
The page holds no data; it asks ``GET /admin/status`` (with an admin token the operator types,
kept in ``sessionStorage``) every few seconds and shows the key pool, the tokens' usage and
limits (with requests per hour), the catalogue and the day's errors by class. Its playground
streams ``POST /v1/chat/completions`` with an access token the operator types (kept the same
way), the reasoning and tool calls apart from the answer, with the request id and timing.
English and Chinese (``I18N``: the browser's language, switchable), light and dark themes
following the system, usable by keyboard and screen reader, at phone width.

The Content-Security-Policy allows exactly this page's one script and one style, by their
SHA-256 (computed here at import), and connections to its own origin only.
"""

from __future__ import annotations

import base64
import hashlib
import json

__all__ = ["HEADERS", "I18N", "PAGE", "SCRIPT", "STYLE"]

REFRESH_SECONDS = 5

# Every text the page shows, by key, in each language (the same keys in each: a test checks).
I18N: dict[str, dict[str, str]] = {
    "en": {
        "title": "Poe Proxy console",
        "skip": "Skip to content",
        "lang": "Language",
        "signin_h": "Sign in",
        "admin_token": "Admin token",
        "admin_hint": "One of ADMIN_TOKENS. Kept in this tab only (sessionStorage), never in a URL or a cookie.",
        "signin": "Sign in",
        "signout": "Sign out",
        "refresh": "Refresh",
        "refused": "The admin token was refused",
        "unreachable": "Could not reach the proxy",
        "views": "Views",
        "tab_keys": "Keys",
        "tab_usage": "Usage",
        "tab_models": "Models",
        "tab_play": "Playground",
        "version": "version {v}",
        "updated": "updated {t}",
        "st_ok": "ok",
        "st_misconfigured": "misconfigured",
        "config_error": "Configuration error",
        "pool_h": "Key pool",
        "pool_sum": "{h} of {n} keys healthy",
        "col_key": "Key",
        "col_state": "State",
        "col_reason": "Reason",
        "col_left": "Time left",
        "col_points": "Points",
        "healthy": "healthy",
        "cooling": "cooling",
        "r_invalid_key": "invalid key",
        "r_out_of_points": "out of points",
        "r_rate_limited": "rate limited",
        "r_unavailable": "Poe unavailable",
        "r_timeout": "timeout",
        "f_requests_today": "Requests today",
        "f_failures_today": "Failures today",
        "f_input_tokens": "Tokens in today",
        "f_output_tokens": "Tokens out today",
        "f_seconds_since_read": "Points read",
        "errors_h": "Errors today",
        "errors_sum": "Failed answers today: {n}",
        "no_errors": "No failed answers today.",
        "col_class": "Class",
        "col_why": "Reason",
        "col_count": "Count",
        "keys_cooling": "Keys cooling",
        "s400": "invalid request",
        "s403": "model not allowed",
        "s404": "not found",
        "s405": "wrong method",
        "s413": "request too large",
        "s429": "rate limited",
        "s500": "proxy error",
        "s502": "upstream error",
        "s504": "timeout",
        "s4xx": "client error",
        "s5xx": "server error",
        "tokens_h": "Access tokens",
        "no_tokens": "No access tokens are configured.",
        "scope": "Models",
        "all_models": "all models",
        "l_rpm": "This minute",
        "l_rpd": "Today",
        "l_concurrency": "Open streams",
        "no_limits": "No limits.",
        "today_sum": "Requests today: {r} · client errors: {c} · errors: {e}",
        "chart": "Requests per hour, last 24 hours: {n} in all, at most {m} in one hour",
        "chart_na": "This proxy's status has no requests per hour.",
        "h24": "24 h ago",
        "now": "now",
        "col_model": "Model",
        "col_requests": "Requests",
        "col_cerr": "Client errors",
        "col_err": "Errors",
        "col_in": "Tokens in",
        "col_out": "Tokens out",
        "no_usage": "No requests today.",
        "cat_h": "Catalogue",
        "cat_models": "Models",
        "cat_source": "Source",
        "cat_age": "Age",
        "src_poe": "fetched from Poe",
        "src_bundled": "bundled copy",
        "search": "Search models",
        "shown": "{k} of {n} shown",
        "need_access": "Save an access token in the Playground to list the models.",
        "col_owner": "Owner",
        "col_context": "Context",
        "try": "Try",
        "try_label": "Try {m} in the playground",
        "play_h": "Playground",
        "access_token": "Access token",
        "access_hint": "One of API_ACCESS_TOKENS or TOKEN_POLICIES, for the playground and the model list; kept in this tab only.",
        "access_saved": "An access token is saved in this tab.",
        "save": "Save",
        "forget": "Forget",
        "model": "Model",
        "prompt": "Prompt",
        "tools": "Tools (optional)",
        "tools_label": "Tools: a JSON array of OpenAI tools",
        "send": "Send",
        "stop": "Stop",
        "send_hint": "Ctrl+Enter sends.",
        "reasoning": "Reasoning",
        "tool_calls": "Tool calls",
        "answer": "Answer",
        "req_id": "Request id",
        "http": "Status",
        "first": "First token",
        "total": "Total",
        "finish": "Finish",
        "usage_tokens": "Tokens",
        "usage_fmt": "{p} in, {c} out",
        "streaming": "Streaming…",
        "done": "Done.",
        "stopped": "Stopped.",
        "failed": "Failed",
        "bad_tools": "Tools must be a JSON array.",
        "no_access": "Save an access token first.",
        "no_model": "Choose a model.",
        "models_n": "{n} models",
        "models_failed": "Could not list the models",
        "ago": "{d} ago",
        "unknown": "unknown",
        "u_s": "s",
        "u_min": "min",
        "u_h": "h",
        "u_d": "d",
    },
    "zh": {
        "title": "Poe Proxy 控制台",
        "skip": "跳到正文",
        "lang": "语言",
        "signin_h": "登录",
        "admin_token": "管理令牌",
        "admin_hint": "ADMIN_TOKENS 中的一个。只保存在当前标签页（sessionStorage），不会出现在网址或 Cookie 中。",
        "signin": "登录",
        "signout": "退出",
        "refresh": "刷新",
        "refused": "管理令牌被拒绝",
        "unreachable": "无法连接代理",
        "views": "视图",
        "tab_keys": "密钥",
        "tab_usage": "用量",
        "tab_models": "模型",
        "tab_play": "试用",
        "version": "版本 {v}",
        "updated": "更新于 {t}",
        "st_ok": "正常",
        "st_misconfigured": "配置有误",
        "config_error": "配置错误",
        "pool_h": "密钥池",
        "pool_sum": "{n} 个密钥中 {h} 个可用",
        "col_key": "密钥",
        "col_state": "状态",
        "col_reason": "原因",
        "col_left": "剩余时间",
        "col_points": "积分",
        "healthy": "可用",
        "cooling": "冷却中",
        "r_invalid_key": "密钥无效",
        "r_out_of_points": "积分用尽",
        "r_rate_limited": "被限流",
        "r_unavailable": "Poe 不可用",
        "r_timeout": "超时",
        "f_requests_today": "今日请求",
        "f_failures_today": "今日失败",
        "f_input_tokens": "今日输入 token",
        "f_output_tokens": "今日输出 token",
        "f_seconds_since_read": "积分读取于",
        "errors_h": "今日错误",
        "errors_sum": "今日 {n} 次失败的回答",
        "no_errors": "今日没有失败的回答。",
        "col_class": "类别",
        "col_why": "原因",
        "col_count": "次数",
        "keys_cooling": "冷却中的密钥",
        "s400": "请求无效",
        "s403": "模型不在授权范围内",
        "s404": "未找到",
        "s405": "方法错误",
        "s413": "请求过大",
        "s429": "被限流",
        "s500": "代理错误",
        "s502": "上游错误",
        "s504": "超时",
        "s4xx": "客户端错误",
        "s5xx": "服务器错误",
        "tokens_h": "访问令牌",
        "no_tokens": "没有配置访问令牌。",
        "scope": "模型",
        "all_models": "全部模型",
        "l_rpm": "本分钟",
        "l_rpd": "今日",
        "l_concurrency": "进行中的流",
        "no_limits": "不限量。",
        "today_sum": "今日请求：{r} · 客户端错误：{c} · 错误：{e}",
        "chart": "近 24 小时每小时请求数：共 {n} 次，单小时最多 {m} 次",
        "chart_na": "此代理的状态中没有每小时请求数。",
        "h24": "24 小时前",
        "now": "现在",
        "col_model": "模型",
        "col_requests": "请求",
        "col_cerr": "客户端错误",
        "col_err": "错误",
        "col_in": "输入 token",
        "col_out": "输出 token",
        "no_usage": "今日还没有请求。",
        "cat_h": "模型目录",
        "cat_models": "模型数",
        "cat_source": "来源",
        "cat_age": "更新距今",
        "src_poe": "从 Poe 获取",
        "src_bundled": "内置副本",
        "search": "搜索模型",
        "shown": "显示 {k} / {n}",
        "need_access": "在“试用”中保存访问令牌后即可列出模型。",
        "col_owner": "提供方",
        "col_context": "上下文",
        "try": "试用",
        "try_label": "在试用中使用 {m}",
        "play_h": "试用",
        "access_token": "访问令牌",
        "access_hint": "API_ACCESS_TOKENS 或 TOKEN_POLICIES 中的令牌，用于试用和模型列表；只保存在当前标签页。",
        "access_saved": "当前标签页已保存访问令牌。",
        "save": "保存",
        "forget": "清除",
        "model": "模型",
        "prompt": "提示词",
        "tools": "工具（可选）",
        "tools_label": "工具：OpenAI tools 的 JSON 数组",
        "send": "发送",
        "stop": "停止",
        "send_hint": "Ctrl+Enter 发送。",
        "reasoning": "推理过程",
        "tool_calls": "工具调用",
        "answer": "回答",
        "req_id": "请求 ID",
        "http": "状态码",
        "first": "首个 token",
        "total": "总耗时",
        "finish": "结束原因",
        "usage_tokens": "Token 数",
        "usage_fmt": "输入 {p}，输出 {c}",
        "streaming": "正在接收…",
        "done": "完成。",
        "stopped": "已停止。",
        "failed": "失败",
        "bad_tools": "工具必须是 JSON 数组。",
        "no_access": "请先保存访问令牌。",
        "no_model": "请选择模型。",
        "models_n": "{n} 个模型",
        "models_failed": "无法列出模型",
        "ago": "{d}前",
        "unknown": "未知",
        "u_s": "秒",
        "u_min": "分钟",
        "u_h": "小时",
        "u_d": "天",
    },
}

STYLE = """
:root{color-scheme:light dark;--bg:#f6f7f9;--fg:#15171c;--muted:#555c6b;--card:#fff;--line:#d8dbe2;--accent:#4b2fe0;--ok:#0f7035;--cool:#8a4f00;--bad:#b3261e;--bar:#6a55f0;--chip:#eceef3;
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","PingFang SC","Microsoft YaHei",sans-serif}
@media (prefers-color-scheme:dark){:root{--bg:#101217;--fg:#e5e7ed;--muted:#a0a6b4;--card:#1a1d24;--line:#30353f;--accent:#a898ff;--ok:#63d68f;--cool:#f2b45c;--bad:#ff8d84;--bar:#9d8cff;--chip:#262a33}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg)}
a{color:var(--accent)}
.skip{position:absolute;left:-999px;top:0;background:var(--card);padding:.5rem 1rem;z-index:9}
.skip:focus{left:0}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.75rem 1rem;border-bottom:1px solid var(--line);background:var(--card)}
header h1{font-size:1.15rem;margin:0}
#meta{margin:0;flex:1;min-width:10rem}
.bar{display:flex;gap:.5rem;flex-wrap:wrap;align-items:center}
main{max-width:72rem;margin:0 auto;padding:1rem}
main:focus{outline:none}
button,input,select,textarea{font:inherit;color:inherit}
button{background:var(--card);border:1px solid var(--line);border-radius:.4rem;padding:.35rem .8rem;cursor:pointer}
button.primary{background:var(--accent);border-color:var(--accent);color:var(--card);font-weight:600}
button:disabled{opacity:.5;cursor:default}
input,select,textarea{background:var(--card);border:1px solid var(--line);border-radius:.4rem;padding:.4rem .55rem;max-width:100%}
textarea{width:100%;resize:vertical}
label{font-weight:600;display:block;margin:.6rem 0 .2rem}
.hint,.muted{color:var(--muted);font-size:.88rem}
.note{margin:.25rem 0 .75rem}.note:empty{margin:0}
.note.bad,.bad{color:var(--bad)}
.card{background:var(--card);border:1px solid var(--line);border-radius:.6rem;padding:1rem;min-width:0}
.card h2,.card h3{margin:0 0 .5rem;font-size:1.05rem}
.grid{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,22rem),1fr))}
.wide{grid-column:1/-1}
[role=tablist]{display:flex;gap:.25rem;overflow-x:auto;border-bottom:1px solid var(--line);margin-bottom:1rem}
[role=tab]{border:0;border-bottom:3px solid transparent;border-radius:0;background:none;padding:.5rem .9rem;white-space:nowrap;color:var(--muted)}
[role=tab][aria-selected=true]{border-bottom-color:var(--accent);color:var(--fg);font-weight:600}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.85rem;color:var(--muted);font-weight:600}
td.n,th.n{text-align:right}
.badge{display:inline-block;padding:0 .5rem;border-radius:1rem;font-size:.85rem;font-weight:600;border:1px solid currentColor}
.badge.ok{color:var(--ok)}.badge.cooling,.badge.misconfigured{color:var(--cool)}
.chips{display:flex;flex-wrap:wrap;gap:.3rem;list-style:none;margin:.2rem 0;padding:0}
.chips li{background:var(--chip);border-radius:.3rem;padding:0 .4rem;font-size:.85rem}
dl.kv{display:grid;grid-template-columns:auto 1fr;gap:.2rem .8rem;margin:.5rem 0}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;overflow-wrap:anywhere}
.limits{display:grid;grid-template-columns:auto 1fr auto;gap:.2rem .6rem;align-items:center;margin:.5rem 0}
meter{width:100%}
.chart{display:block;width:100%;height:4rem;margin-top:.5rem}
.chart rect{fill:var(--bar)}.chart line{stroke:var(--line)}
.axis{display:flex;justify-content:space-between;font-size:.75rem;color:var(--muted)}
.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
.row>div{flex:1;min-width:min(100%,14rem)}.row input{width:100%}
form .row{margin-top:.75rem}#model{width:min(100%,28rem)}.card h3{margin-top:1rem}
pre,.answer{white-space:pre-wrap;overflow-wrap:anywhere;margin:0;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9rem}
.answer{font-family:inherit;font-size:1rem;min-height:2.5rem}
.out{margin-top:1rem}
#out-reasoning pre{color:var(--muted)}
.call{border-left:3px solid var(--accent);padding-left:.6rem;margin:.4rem 0}
[hidden]{display:none!important}
"""

SCRIPT = r"""
"use strict";
(() => {
const T = __I18N__, EVERY = __REFRESH__ * 1000, S = sessionStorage;
const $ = (id) => document.getElementById(id);
let lang = S.getItem("lang") || ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en");
let status = null, statusAt = 0, timer = 0, polls = 0, models = null, modelsError = "", run = null;
const play = {};

function t(k, v) {
  let s = T[lang][k] ?? T.en[k] ?? k;
  for (const [a, b] of Object.entries(v || {})) s = s.replace("{" + a + "}", b);
  return s;
}
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of kids.flat()) if (c != null) el.append(c);
  return el;
}
function sv(tag, attrs, ...kids) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of kids) el.append(c);
  return el;
}
const num = (n) => typeof n === "number" ? n.toLocaleString(lang === "zh" ? "zh-CN" : "en") : String(n ?? "");
function dur(s) {
  s = Math.max(0, Math.round(s));
  const sp = lang === "zh" ? "" : " ";
  if (s < 60) return s + sp + t("u_s");
  if (s < 3600) return Math.floor(s / 60) + sp + t("u_min") + (s % 60 ? " " + (s % 60) + sp + t("u_s") : "");
  if (s < 86400) return Math.floor(s / 3600) + sp + t("u_h") + (s % 3600 >= 60 ? " " + Math.floor(s % 3600 / 60) + sp + t("u_min") : "");
  return Math.floor(s / 86400) + sp + t("u_d");
}
const ms = (x) => x < 1000 ? Math.round(x) + " ms" : (x / 1000).toFixed(2) + " s";
function say(el, text, bad) { el.textContent = text || ""; el.classList.toggle("bad", !!bad); }
const note = (text, bad) => say($("note"), text, bad);

async function api(path, token, init) {
  init = init || {};
  return fetch(path, {...init, cache: "no-store", credentials: "omit",
    headers: {...(init.headers || {}), authorization: "Bearer " + token}});
}
async function why(r) {
  try { const j = await r.json(); return (j.error && j.error.message) || "HTTP " + r.status; } catch (e) { return "HTTP " + r.status; }
}

// ------------------------------------------------------------ language
function applyLang() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  $("lang").value = lang;
  render();
  renderModels();
  renderRun();
}

// ------------------------------------------------------------ sign-in and refresh
function shown(app) {
  const was = !$("app").hidden;
  $("login").hidden = app;
  $("app").hidden = !app;
  $("signout").hidden = $("refresh").hidden = !app;
  if (app && !was) document.querySelector("[role=tab][aria-selected=true]").focus();
}
function signOut(message) {
  clearTimeout(timer);
  S.removeItem("admin");
  status = null;
  shown(false);
  note(message || "", !!message);
  $("admin-token").focus();
}
async function poll() {
  clearTimeout(timer);
  const token = S.getItem("admin");
  if (!token) return;
  const seq = ++polls;  // a Refresh click while a poll is out: only the newest answer counts
  if (!document.hidden) {
    try {
      const r = await api("/admin/status", token);
      if (seq !== polls) return;
      if (r.status === 401 || r.status === 403) return signOut(t("refused") + ": " + await why(r));
      if (!r.ok) throw new Error(await why(r));
      const next = await r.json();
      if (seq !== polls) return;
      status = next;
      statusAt = Date.now();
      shown(true);
      note("");
      render();
    } catch (e) {
      if (seq !== polls) return;
      note(t("unreachable") + ": " + e.message, true);
    }
  }
  timer = setTimeout(poll, EVERY);
}

// ------------------------------------------------------------ rendering the status
function render() {
  if (!status) return;
  const st = status.status || "ok";
  $("meta").replaceChildren(
    h("span", {class: "badge " + (st === "ok" ? "ok" : "misconfigured"), text: t("st_" + st)}), " ",
    h("span", {class: "muted", text: t("version", {v: status.version || "?"}) + " · " +
      t("updated", {t: new Date(statusAt).toLocaleTimeString(lang === "zh" ? "zh-CN" : "en")})}));
  const ce = $("config-error");
  ce.hidden = !status.config_error;
  ce.textContent = status.config_error ? t("config_error") + ": " + status.config_error : "";
  renderPool();
  renderErrors();
  renderTokens();
  renderCatalogue();
}

const FIXED = ["key", "state", "reason", "seconds_left", "until", "points"];
function keyRows() {
  const k = status.keys || {}, rows = new Map();
  const row = (key) => rows.get(key) || rows.set(key, {key, state: "healthy"}).get(key);
  for (let i = 1; i <= (k.configured || 0); i++) row("#" + i);
  // whatever the status says per key ("#2"): lists of {key, ...} or maps by key, in keys or beside it
  const more = Object.entries(status).filter(([n, v]) => n !== "keys" && n !== "tokens" && Array.isArray(v));
  for (const [name, v] of [...Object.entries(k), ...more]) {
    if (Array.isArray(v)) {
      for (const it of v) {
        if (!it || typeof it !== "object" || !/^#\d+$/.test(it.key)) continue;
        const r = row(it.key);
        if (name === "cooling") r.state = "cooling";
        Object.assign(r, it);
      }
    } else if (v && typeof v === "object") {
      for (const [key, x] of Object.entries(v)) {
        if (!/^#\d+$/.test(key)) continue;
        if (x && typeof x === "object") Object.assign(row(key), x); else row(key)[name] = x;
      }
    }
  }
  const out = [...rows.values()].sort((a, b) => a.key.slice(1) - b.key.slice(1));
  for (const r of out) {
    const u = r.days && r.days[today()];  // keys.usage: the tokens of the answers this key gave today
    if (u && u.input_tokens != null) Object.assign(r, {input_tokens: u.input_tokens, output_tokens: u.output_tokens || 0});
    delete r.days;
    if (r.balance != null && r.points == null) { r.points = r.balance; delete r.balance; }
    if (typeof r.seconds_left === "number") r.until = statusAt + r.seconds_left * 1000;
  }
  return out;
}
function label(f) {
  const k = "f_" + f;
  return T.en[k] ? t(k) : f.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}
function value(f, v) {
  if (typeof v === "number" && /^seconds_since/.test(f)) return t("ago", {d: dur(v)});
  if (typeof v === "number" && /seconds$/.test(f)) return dur(v);
  if (typeof v === "number" && /_at$/.test(f) && v > 1e9) return t("ago", {d: dur(Date.now() / 1000 - v)});
  if (typeof v === "boolean") return v ? "✓" : "–";
  return num(v);
}
function left(until) { return until ? dur((until - Date.now()) / 1000) : ""; }
function renderPool() {
  const rows = keyRows(), k = status.keys || {};
  const healthy = rows.filter((r) => r.state !== "cooling").length;
  $("pool-sum").textContent = t("pool_sum", {h: num(k.healthy ?? healthy), n: num(k.configured ?? rows.length)});
  const points = rows.some((r) => r.points != null);
  const extra = [...new Set(rows.flatMap((r) => Object.keys(r).filter((f) => !FIXED.includes(f) &&
    (r[f] == null || typeof r[f] !== "object"))))];
  const th = (text, n) => h("th", {scope: "col", class: n ? "n" : null, text});
  $("pool").replaceChildren(
    h("caption", {class: "sr", text: t("pool_h")}),
    h("thead", {}, h("tr", {}, th(t("col_key")), th(t("col_state")), th(t("col_reason")), th(t("col_left"), 1),
      points ? th(t("col_points"), 1) : null, extra.map((f) => th(label(f), 1)))),
    h("tbody", {}, rows.map((r) => h("tr", {"data-key": r.key},
      h("th", {scope: "row", text: r.key}),
      h("td", {}, h("span", {class: "badge " + (r.state === "cooling" ? "cooling" : "ok"), text: t(r.state) })),
      h("td", {text: r.reason ? t("r_" + r.reason) : ""}),
      h("td", {class: "n", "data-until": r.until || null, text: left(r.until)}),
      points ? h("td", {class: "n", text: r.points == null ? "" : num(r.points)}) : null,
      extra.map((f) => h("td", {class: "n", text: r[f] == null ? "" : value(f, r[f])}))))));
}
function today() { return new Date().toISOString().slice(0, 10); }
function statusClass(code) {
  const k = "s" + code;
  return T.en[k] ? t(k) : t(code >= 500 ? "s5xx" : "s4xx");
}
function renderErrors() {
  const day = today(), by = {};
  let c = 0, e = 0, detailed = false;
  for (const tok of status.tokens || []) {
    const u = (tok.usage || {})[day];
    if (!u) continue;
    c += u.client_errors || 0;
    e += u.errors || 0;
    if (u.by_status) {
      detailed = true;
      for (const [s, n] of Object.entries(u.by_status)) by[s] = (by[s] || 0) + n;
    }
  }
  const rows = detailed ? Object.entries(by).sort((a, b) => b[1] - a[1]).map(([s, n]) => [s + " " + statusClass(+s), n])
    : [[t("s4xx"), c], [t("s5xx"), e]].filter((x) => x[1]);
  const reasons = {};
  for (const r of keyRows()) if (r.state === "cooling") reasons[r.reason || "unavailable"] = (reasons[r.reason || "unavailable"] || 0) + 1;
  const table = (cap, list, first) => h("table", {}, h("caption", {class: "sr", text: cap}),
    h("thead", {}, h("tr", {}, h("th", {scope: "col", text: first}), h("th", {scope: "col", class: "n", text: t("col_count")}))),
    h("tbody", {}, list.map(([a, n]) => h("tr", {}, h("td", {text: a}), h("td", {class: "n", text: num(n)})))));
  const cool = Object.entries(reasons).map(([r, n]) => [t("r_" + r), n]);
  $("errors").replaceChildren(h("div", {},
    h("p", {text: c + e ? t("errors_sum", {n: num(c + e)}) : t("no_errors")}),
    rows.length ? table(t("errors_h"), rows, t("col_class")) : null,
    cool.length ? [h("h3", {text: t("keys_cooling")}), table(t("keys_cooling"), cool, t("col_why"))] : null));
}
function chart(usage) {
  const days = Object.values(usage || {});
  if (days.length && !days.some((d) => Array.isArray(d.by_hour))) return h("p", {class: "muted", text: t("chart_na")});
  const now = Date.now(), bars = [];
  for (let i = 23; i >= 0; i--) {
    const d = new Date(now - i * 3600e3), u = (usage || {})[d.toISOString().slice(0, 10)];
    d.setMinutes(0, 0, 0);
    bars.push({at: d, n: (u && u.by_hour && u.by_hour[d.getUTCHours()]) || 0});
  }
  const max = Math.max(1, ...bars.map((b) => b.n)), all = bars.reduce((a, b) => a + b.n, 0);
  const aria = t("chart", {n: num(all), m: num(Math.max(...bars.map((b) => b.n)))});
  const hm = (d) => d.toLocaleTimeString(lang === "zh" ? "zh-CN" : "en", {hour: "2-digit", minute: "2-digit"});
  const svg = sv("svg", {class: "chart", viewBox: "0 0 240 64", preserveAspectRatio: "none", role: "img", "aria-label": aria},
    sv("title", {}, aria), sv("line", {x1: 0, y1: 63.5, x2: 240, y2: 63.5}),
    ...bars.map((b, i) => {
      const ht = b.n ? Math.max(2, b.n / max * 60) : 0;
      return sv("rect", {x: i * 10 + 1, y: 63 - ht, width: 8, height: ht},
        sv("title", {}, hm(b.at) + " – " + hm(new Date(+b.at + 3600e3)) + ": " + num(b.n)));
    }));
  return h("div", {}, svg, h("div", {class: "axis", "aria-hidden": "true"}, h("span", {text: t("h24")}), h("span", {text: t("now")})));
}
function renderTokens() {
  const list = status.tokens || [], day = today();
  $("tokens").replaceChildren(...(list.length ? list.map((tok, i) => {
    const u = (tok.usage || {})[day] || {}, lim = tok.limits || {}, now = tok.now || {};
    const counts = {rpm: now.requests_this_minute, rpd: now.requests_today, concurrency: now.open};
    const models = Object.entries(u.by_model || {}), limited = ["rpm", "rpd", "concurrency"].filter((k) => lim[k] != null);
    return h("article", {class: "card", "data-token": tok.name, "aria-labelledby": "tok-" + i},
      h("h3", {id: "tok-" + i, text: tok.name}),
      h("div", {class: "muted", text: t("scope")}),
      h("ul", {class: "chips"}, (tok.models || ["*"]).map((m) => h("li", {text: m === "*" ? t("all_models") : m}))),
      limited.length ? h("div", {class: "limits"}, limited.flatMap((k) => {
        const n = counts[k] ?? 0, l = lim[k];
        return [h("span", {text: t("l_" + k)}), h("meter", {min: 0, max: l, value: Math.min(n, l), high: l * 0.8, "aria-label": t("l_" + k)}),
          h("span", {class: "n", "data-count": k, text: num(n) + " / " + num(l)})];
      })) : h("p", {class: "muted", text: t("no_limits")}),
      h("p", {"data-today": "", text: t("today_sum", {r: num(u.requests || 0), c: num(u.client_errors || 0), e: num(u.errors || 0)})}),
      chart(tok.usage),
      models.length ? h("div", {class: "scroll"}, h("table", {},
        h("thead", {}, h("tr", {}, [t("col_model"), t("col_requests"), t("col_cerr"), t("col_err"), t("col_in"), t("col_out")].map((x, i) =>
          h("th", {scope: "col", class: i ? "n" : null, text: x})))),
        h("tbody", {}, models.map(([m, c]) => h("tr", {}, h("td", {text: m === "-" ? "(" + t("unknown") + ")" : m}),
          h("td", {class: "n", text: num(c.requests)}), h("td", {class: "n", text: num(c.client_errors)}),
          h("td", {class: "n", text: num(c.errors)}), h("td", {class: "n", text: num(c.input_tokens || 0)}),
          h("td", {class: "n", text: num(c.output_tokens || 0)})))))) : h("p", {class: "muted", text: t("no_usage")}));
  }) : [h("p", {text: t("no_tokens")})]));
}
function renderCatalogue() {
  const c = status.catalogue || {}, items = [];
  if (c.models != null) items.push([t("cat_models"), num(c.models)]);
  if (c.source) items.push([t("cat_source"), T.en["src_" + c.source] ? t("src_" + c.source) : c.source]);
  const age = c.age_seconds ?? (typeof c.fetched_at === "number" ? statusAt / 1000 - c.fetched_at : null);
  if (c.source || c.fetched_at !== undefined || c.age_seconds !== undefined) items.push([t("cat_age"), age == null ? "–" : dur(age)]);
  for (const [k, v] of Object.entries(c)) {
    if (!["models", "source", "fetched_at", "age_seconds"].includes(k) && (v == null || typeof v !== "object")) items.push([label(k), v == null ? "–" : value(k, v)]);
  }
  $("cat-stats").replaceChildren(...items.flatMap(([a, b]) => [h("dt", {text: a}), h("dd", {text: b})]));
}
setInterval(() => {
  for (const el of document.querySelectorAll("[data-until]")) el.textContent = left(+el.dataset.until);
}, 1000);

// ------------------------------------------------------------ models
async function loadModels() {
  const token = S.getItem("access");
  models = null;
  modelsError = "";
  if (token) {
    try {
      const r = await api("/v1/models", token);
      if (!r.ok) throw new Error(await why(r));
      models = ((await r.json()).data || []).map((m) => ({id: String(m.id), owner: m.owned_by || "",
        context: m.context_length ?? (m.context_window && m.context_window.context_length) ?? null}));
      $("model-list").replaceChildren(...models.map((m) => h("option", {value: m.id})));
      if (!$("model").value && models.length) $("model").value = S.getItem("model") || models[0].id;
    } catch (e) {
      modelsError = t("models_failed") + ": " + e.message;
    }
  }
  renderModels();
}
function renderModels() {
  const q = $("search").value.trim().toLowerCase(), out = $("cat-list");
  $("access-state").textContent = S.getItem("access") ? t("access_saved") : "";
  if (!models) {
    say($("cat-count"), modelsError || t("need_access"), !!modelsError);
    out.replaceChildren();
    return;
  }
  const hit = models.filter((m) => !q || m.id.toLowerCase().includes(q) || m.owner.toLowerCase().includes(q));
  const ctx = models.some((m) => m.context != null);
  say($("cat-count"), t("shown", {k: num(Math.min(hit.length, 300)), n: num(models.length)}));
  out.replaceChildren(
    h("thead", {}, h("tr", {}, h("th", {scope: "col", text: t("col_model")}), h("th", {scope: "col", text: t("col_owner")}),
      ctx ? h("th", {scope: "col", class: "n", text: t("col_context")}) : null, h("th", {scope: "col"}, h("span", {class: "sr", text: t("try")})))),
    h("tbody", {}, hit.slice(0, 300).map((m) => h("tr", {}, h("td", {text: m.id}), h("td", {text: m.owner}),
      ctx ? h("td", {class: "n", text: m.context == null ? "" : num(m.context)}) : null,
      h("td", {}, h("button", {type: "button", text: t("try"), "aria-label": t("try_label", {m: m.id}), onclick: () => {
        $("model").value = m.id;
        select($("tab-play"));
        $("prompt").focus();
      }}))))));
}

// ------------------------------------------------------------ playground
function renderRun() {
  const m = play, dl = $("run-meta");
  const items = [[t("req_id"), m.id], [t("http"), m.status], [t("first"), m.first != null ? ms(m.first) : null],
    [t("total"), m.total != null ? ms(m.total) : null], [t("finish"), m.finish],
    [t("usage_tokens"), m.usage ? t("usage_fmt", {p: num(m.usage.prompt_tokens), c: num(m.usage.completion_tokens)}) : null]];
  dl.replaceChildren(...items.filter((x) => x[1] != null && x[1] !== "").flatMap(([a, b]) =>
    [h("dt", {text: a}), h("dd", {"data-field": a === t("req_id") ? "id" : null, text: String(b)})]));
  $("reasoning").textContent = m.reasoning || "";
  $("out-reasoning").hidden = !m.reasoning;
  const calls = Object.values(m.calls || {});
  $("out-tools").hidden = !calls.length;
  $("calls").replaceChildren(...calls.map((c) => {
    let args = c.arguments;
    try { args = JSON.stringify(JSON.parse(c.arguments), null, 2); } catch (e) { /* still arriving, or not JSON */ }
    return h("div", {class: "call"}, h("strong", {text: c.name || "?"}), c.id ? h("span", {class: "muted", text: " " + c.id}) : null, h("pre", {text: args}));
  }));
  $("answer").textContent = m.answer || "";
  if (m.state) say($("run-note"), m.state === "error" ? t("failed") + ": " + m.error : t(m.state), m.state === "error");
}
function chunk(o, t0) {
  if (o.error) { play.state = "error"; play.error = o.error.message || JSON.stringify(o.error); return; }
  if (o.usage) play.usage = o.usage;
  for (const c of o.choices || []) {
    const d = c.delta || {}, r = d.reasoning_content ?? d.reasoning;
    if (typeof r === "string") play.reasoning += r;
    if (typeof d.content === "string") play.answer += d.content;
    for (const tc of d.tool_calls || []) {
      const k = tc.index ?? 0, cur = play.calls[k] || (play.calls[k] = {id: "", name: "", arguments: ""});
      if (tc.id) cur.id = tc.id;
      if (tc.function && tc.function.name) cur.name = tc.function.name;
      if (tc.function && tc.function.arguments) cur.arguments += tc.function.arguments;
    }
    if (c.finish_reason) play.finish = c.finish_reason;
    if (play.first == null && (r || d.content || d.tool_calls)) play.first = performance.now() - t0;
  }
}
async function send() {
  const token = S.getItem("access"), model = $("model").value.trim();
  if (!token) { say($("run-note"), t("no_access"), true); $("access-token").focus(); return; }
  if (!model) { say($("run-note"), t("no_model"), true); $("model").focus(); return; }
  const body = {model, stream: true, stream_options: {include_usage: true}, messages: [{role: "user", content: $("prompt").value}]};
  if ($("tools").value.trim()) {
    try { body.tools = JSON.parse($("tools").value); } catch (e) { body.tools = null; }
    if (!Array.isArray(body.tools)) { say($("run-note"), t("bad_tools"), true); $("tools").focus(); return; }
  }
  S.setItem("model", model);
  Object.assign(play, {id: null, status: null, first: null, total: null, finish: null, usage: null, reasoning: "", answer: "", calls: {}, state: "streaming", error: ""});
  run = new AbortController();
  $("send").disabled = true;
  $("stop").disabled = false;
  $("answer").setAttribute("aria-busy", "true");
  renderRun();
  const t0 = performance.now();
  let frame = 0;
  const paint = () => { if (!frame) frame = requestAnimationFrame(() => { frame = 0; renderRun(); }); };
  try {
    const r = await fetch("/v1/chat/completions", {method: "POST", body: JSON.stringify(body), signal: run.signal, cache: "no-store",
      credentials: "omit", headers: {authorization: "Bearer " + token, "content-type": "application/json", accept: "text/event-stream"}});
    play.id = r.headers.get("x-request-id");
    play.status = r.status;
    if (!r.ok) throw new Error(await why(r));
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "", data = [];
    const flush = () => {
      if (!data.length) return;
      const text = data.join("\n");
      data = [];
      if (text !== "[DONE]") chunk(JSON.parse(text), t0);
    };
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buf += value;
      let m;
      while ((m = /\r\n|\r|\n/.exec(buf))) {
        if (m[0] === "\r" && m.index === buf.length - 1) break;
        const line = buf.slice(0, m.index);
        buf = buf.slice(m.index + m[0].length);
        if (line === "") flush();
        else if (line.startsWith("data:")) data.push(line.slice(line[5] === " " ? 6 : 5));
      }
      paint();
    }
    if (buf.startsWith("data:")) data.push(buf.slice(buf[5] === " " ? 6 : 5));
    flush();
    if (play.state === "streaming") play.state = "done";
  } catch (e) {
    if (e.name === "AbortError") play.state = "stopped";
    else { play.state = "error"; play.error = e.message; }
  }
  play.total = performance.now() - t0;
  cancelAnimationFrame(frame);
  run = null;
  $("send").disabled = false;
  $("stop").disabled = true;
  $("answer").setAttribute("aria-busy", "false");
  renderRun();
}

// ------------------------------------------------------------ tabs
const tabs = [...document.querySelectorAll("[role=tab]")];
function select(tab, focus) {
  for (const x of tabs) {
    const on = x === tab;
    x.setAttribute("aria-selected", String(on));
    x.tabIndex = on ? 0 : -1;
    $(x.getAttribute("aria-controls")).hidden = !on;
  }
  S.setItem("tab", tab.id);
  if (focus) tab.focus();
}
$("tabs").addEventListener("keydown", (e) => {
  const i = tabs.indexOf(document.activeElement);
  if (i < 0) return;
  const to = {ArrowRight: i + 1, ArrowLeft: i - 1 + tabs.length, Home: 0, End: tabs.length - 1}[e.key];
  if (to === undefined) return;
  e.preventDefault();
  select(tabs[to % tabs.length], true);
});
for (const x of tabs) x.addEventListener("click", () => select(x));

// ------------------------------------------------------------ wiring
$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const token = $("admin-token").value.trim();
  if (!token) return;
  S.setItem("admin", token);
  $("admin-token").value = "";
  poll();
});
$("signout").addEventListener("click", () => { S.removeItem("access"); signOut(""); loadModels(); });
$("refresh").addEventListener("click", poll);
$("lang").addEventListener("change", () => { lang = $("lang").value; S.setItem("lang", lang); applyLang(); });
$("access-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const token = $("access-token").value.trim();
  if (!token) return;
  S.setItem("access", token);
  $("access-token").value = "";
  loadModels();
});
$("forget").addEventListener("click", () => { S.removeItem("access"); loadModels(); });
$("search").addEventListener("input", renderModels);
$("play-form").addEventListener("submit", (e) => { e.preventDefault(); if (!run) send(); });
$("prompt").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); if (!run) send(); }
});
$("stop").addEventListener("click", () => { if (run) run.abort(); });
document.addEventListener("visibilitychange", () => { if (!document.hidden && S.getItem("admin")) poll(); });

select($(S.getItem("tab") || "tab-keys") || tabs[0]);
applyLang();
loadModels();
if (S.getItem("admin")) poll(); else { shown(false); $("admin-token").focus(); }
})();
"""

BODY = """<a class="skip" href="#main" data-i18n="skip">Skip to content</a>
<header>
<h1 data-i18n="title">Poe Proxy console</h1>
<p id="meta"></p>
<div class="bar">
<label for="lang" class="sr" data-i18n="lang">Language</label>
<select id="lang"><option value="en" lang="en">English</option><option value="zh" lang="zh-CN">中文</option></select>
<button id="refresh" type="button" data-i18n="refresh" hidden>Refresh</button>
<button id="signout" type="button" data-i18n="signout" hidden>Sign out</button>
</div>
</header>
<main id="main" tabindex="-1">
<p id="note" class="note" role="status" aria-live="polite"></p>
<section id="login" class="card" aria-labelledby="login-h">
<h2 id="login-h" data-i18n="signin_h">Sign in</h2>
<form id="login-form">
<label for="admin-token" data-i18n="admin_token">Admin token</label>
<input id="admin-token" type="password" autocomplete="off" spellcheck="false" required aria-describedby="admin-hint">
<p id="admin-hint" class="hint" data-i18n="admin_hint"></p>
<button class="primary" type="submit" data-i18n="signin">Sign in</button>
</form>
</section>
<div id="app" hidden>
<p id="config-error" class="card bad" role="alert" hidden></p>
<div id="tabs" role="tablist" data-i18n-label="views">
<button role="tab" type="button" id="tab-keys" aria-controls="p-keys" data-i18n="tab_keys">Keys</button>
<button role="tab" type="button" id="tab-usage" aria-controls="p-usage" data-i18n="tab_usage">Usage</button>
<button role="tab" type="button" id="tab-models" aria-controls="p-models" data-i18n="tab_models">Models</button>
<button role="tab" type="button" id="tab-play" aria-controls="p-play" data-i18n="tab_play">Playground</button>
</div>
<section id="p-keys" role="tabpanel" aria-labelledby="tab-keys" tabindex="0">
<div class="grid">
<article class="card wide" aria-labelledby="pool-h">
<h2 id="pool-h" data-i18n="pool_h">Key pool</h2>
<p id="pool-sum"></p>
<div class="scroll" tabindex="0" role="region" aria-labelledby="pool-h"><table id="pool"></table></div>
</article>
<article class="card" aria-labelledby="errors-h">
<h2 id="errors-h" data-i18n="errors_h">Errors today</h2>
<div id="errors"></div>
</article>
</div>
</section>
<section id="p-usage" role="tabpanel" aria-labelledby="tab-usage" tabindex="0" hidden>
<h2 class="sr" data-i18n="tokens_h">Access tokens</h2>
<div id="tokens" class="grid"></div>
</section>
<section id="p-models" role="tabpanel" aria-labelledby="tab-models" tabindex="0" hidden>
<article class="card" aria-labelledby="cat-h">
<h2 id="cat-h" data-i18n="cat_h">Catalogue</h2>
<dl id="cat-stats" class="kv"></dl>
<label for="search" data-i18n="search">Search models</label>
<input id="search" type="search" autocomplete="off" spellcheck="false">
<p id="cat-count" class="hint" role="status" aria-live="polite"></p>
<div class="scroll" tabindex="0" role="region" aria-labelledby="cat-h"><table id="cat-list"></table></div>
</article>
</section>
<section id="p-play" role="tabpanel" aria-labelledby="tab-play" tabindex="0" hidden>
<article class="card" aria-labelledby="play-h">
<h2 id="play-h" data-i18n="play_h">Playground</h2>
<form id="access-form" class="row">
<div>
<label for="access-token" data-i18n="access_token">Access token</label>
<input id="access-token" type="password" autocomplete="off" spellcheck="false" aria-describedby="access-hint access-state">
</div>
<button type="submit" data-i18n="save">Save</button>
<button id="forget" type="button" data-i18n="forget">Forget</button>
</form>
<p id="access-hint" class="hint" data-i18n="access_hint"></p>
<p id="access-state" class="hint"></p>
<form id="play-form">
<label for="model" data-i18n="model">Model</label>
<input id="model" list="model-list" autocomplete="off" spellcheck="false">
<datalist id="model-list"></datalist>
<label for="prompt" data-i18n="prompt">Prompt</label>
<textarea id="prompt" rows="4" aria-describedby="send-hint"></textarea>
<details><summary data-i18n="tools">Tools (optional)</summary>
<label for="tools" data-i18n="tools_label">Tools</label>
<textarea id="tools" rows="4" spellcheck="false" placeholder='[{"type": "function", "function": {"name": "weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]'></textarea>
</details>
<div class="row">
<button id="send" class="primary" type="submit" data-i18n="send">Send</button>
<button id="stop" type="button" data-i18n="stop" disabled>Stop</button>
<span id="send-hint" class="hint" data-i18n="send_hint">Ctrl+Enter sends.</span>
</div>
</form>
<p id="run-note" class="note" role="status" aria-live="polite"></p>
<dl id="run-meta" class="kv"></dl>
<section id="out-reasoning" class="out" aria-labelledby="reasoning-h" hidden>
<h3 id="reasoning-h" data-i18n="reasoning">Reasoning</h3>
<pre id="reasoning"></pre>
</section>
<section id="out-tools" class="out" aria-labelledby="tools-h" hidden>
<h3 id="tools-h" data-i18n="tool_calls">Tool calls</h3>
<div id="calls"></div>
</section>
<section class="out" aria-labelledby="answer-h">
<h3 id="answer-h" data-i18n="answer">Answer</h3>
<div id="answer" class="answer" aria-busy="false"></div>
</section>
</article>
</section>
</div>
</main>"""

SCRIPT = SCRIPT.replace("__I18N__", json.dumps(I18N, ensure_ascii=False, separators=(",", ":"))).replace(
    "__REFRESH__", str(REFRESH_SECONDS)
)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


PAGE = (
    '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
    '<meta name="color-scheme" content="light dark">\n<title>Poe Proxy console</title>\n'
    '<link rel="icon" href="data:,">\n'
    f"<style>{STYLE}</style>\n</head>\n<body>\n{BODY}\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
).encode()
# a strict page: its own script and style only (by hash), nothing from any other origin, no framing, no referrer
HEADERS = (
    ("content-type", "text/html; charset=utf-8"),
    (
        "content-security-policy",
        f"default-src 'none'; script-src {_sha256(SCRIPT)}; style-src {_sha256(STYLE)}; connect-src 'self'; "
        "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cache-control", "no-store"),
)

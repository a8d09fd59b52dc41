"""Smoke test of a deployed proxy: GET <url>/health until it answers {"status": "ok"}.

    python3 scripts/smoke.py https://api.your-domain.com [--wait 300]

Retries (a new Custom Domain needs a few minutes for its certificate), then exits 1 with what
it last saw. Stdlib only, so it runs anywhere Python >= 3.11 does (the deploy job, your shell).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request


def check(url: str, timeout: float = 10) -> tuple[str, str]:
    """("ok" | "retry" | "fail", what was seen) for one GET of /health."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as resp:
            body = resp.read(65536).decode("utf-8", "replace")
            status = resp.status
    except urllib.error.HTTPError as exc:
        return "retry", f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return "retry", f"{type(exc).__name__}: {exc}"
    try:
        state = json.loads(body).get("status")
    except (ValueError, AttributeError):
        return "retry", f"HTTP {status}, not the proxy's JSON: {body[:120]!r}"
    if status == 200 and state == "ok":
        return "ok", body
    if state == "misconfigured":
        return "fail", (
            "the proxy answers but says it is misconfigured: POE_APIKEYS or API_ACCESS_TOKENS is empty "
            "or a variable is malformed (README, Troubleshooting)"
        )
    return "retry", f"HTTP {status}: {body[:200]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="GET <url>/health until it says ok")
    parser.add_argument("url", help="the proxy's base URL, e.g. https://api.example.com")
    parser.add_argument("--wait", type=float, default=300, help="seconds to keep trying (default 300)")
    parser.add_argument("--every", type=float, default=10, help="seconds between tries (default 10)")
    args = parser.parse_args(argv)
    if not args.url.startswith(("https://", "http://")):
        print(f"::error::no URL to smoke-test (got {args.url!r})")
        return 1
    deadline = time.monotonic() + args.wait
    while True:
        state, seen = check(args.url)
        if state == "ok":
            print(f"{args.url}/health: {seen}")
            return 0
        if state == "fail":
            print(f"::error::{args.url}/health: {seen}")
            return 1
        if time.monotonic() + args.every > deadline:
            print(f"::error::{args.url}/health did not say ok within {args.wait:g} s: {seen}")
            return 1
        print(f"{args.url}/health: {seen}; trying again in {args.every:g} s")
        time.sleep(args.every)


if __name__ == "__main__":
    sys.exit(main())

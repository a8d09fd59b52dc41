"""Prepare `wrangler deploy --env production` in CI without committing anything account-specific.

Run by the deploy job of .github/workflows/ci.yml (Python >= 3.11, stdlib only):

    python3 scripts/deploy_config.py --out wrangler.deploy.json --secrets-out "$RUNNER_TEMP/secrets.json"

or by hand (README, "Deploy by hand"), logged in with `npx wrangler login` or a token in
CLOUDFLARE_API_TOKEN: `python3 scripts/deploy_config.py` writes wrangler.deploy.json only.

1. The KV namespace: looked up by title (``poe-proxy-POE_KV``) with ``wrangler kv namespace
   list``, created with ``wrangler kv namespace create`` when absent, so the first run creates it
   and every later run (and a re-created Worker) finds the same one. ``KV_NAMESPACE_ID`` skips
   the look-up.
2. The deploy config: wrangler.toml parsed and written back as JSON (wrangler reads JSON configs)
   beside it, with the namespace id in ``[[env.production.kv_namespaces]]`` and the route from the
   repository variables. Writing a parsed copy (not editing text, not ``--var``, which cannot set
   a binding's id) keeps wrangler.toml the only source of the Worker's settings; being in the same
   folder, every relative path in it (``main``, rules) means the same. The file is git-ignored.
3. The route: ``CUSTOM_DOMAIN`` (a Custom Domain), or ``ROUTE_PATTERN`` with ``ZONE_NAME`` (a
   route in a zone), else the ``routes`` of ``[env.production]`` in wrangler.toml, else none (the
   Worker is served on workers.dev).
4. The Worker's secrets: from ``SECRETS_JSON`` (the workflow's ``toJSON(secrets)``), every
   repository secret named like a secret setting (src/poe/settings.py) goes into one JSON file
   for a single ``wrangler secret bulk``. ``POE_APIKEYS``, ``API_ACCESS_TOKENS`` and the
   Cloudflare credentials (``CF_API_TOKEN``/``CF_ACCOUNT_ID`` or their ``CLOUDFLARE_*`` names,
   passed in as ``CLOUDFLARE_API_TOKEN``/``CLOUDFLARE_ACCOUNT_ID``) are required: each one
   missing is named in an error.
5. The address to smoke-test: printed, and written to ``$GITHUB_OUTPUT`` as ``url`` (empty when
   only wrangler's own output can tell, i.e. workers.dev).

Nothing secret is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KV_BINDING = "POE_KV"
KV_TITLE = "poe-proxy-POE_KV"
ENV = "production"
PLACEHOLDER_DOMAIN = "your-domain.com"
REQUIRED_SECRETS = ("POE_APIKEYS", "API_ACCESS_TOKENS")


class DeployError(Exception):
    """A problem the user must fix; the message says what."""


def wrangler_command() -> list[str]:
    if os.environ.get("WRANGLER"):
        return shlex.split(os.environ["WRANGLER"])
    local = ROOT / "node_modules" / ".bin" / "wrangler"
    if local.exists():
        return [str(local)]
    found = shutil.which("wrangler")
    return [found] if found else ["npx", "--no-install", "wrangler"]


def run_wrangler(*args: str) -> str:
    proc = subprocess.run([*wrangler_command(), *args], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise DeployError(
            f"`wrangler {' '.join(args)}` failed (exit {proc.returncode}). If it says 'Authentication error' "
            "or code 10000, the API token lacks a permission: it needs Account > Workers KV Storage > Edit "
            "and Account > Workers Scripts > Edit (README, Troubleshooting)."
        )
    return proc.stdout


def _json_list(out: str) -> list[dict[str, Any]]:
    start = out.find("[")
    if start < 0:
        raise DeployError(f"unexpected output of `wrangler kv namespace list`: {out[:200]!r}")
    value, _ = json.JSONDecoder().raw_decode(out[start:])
    if not isinstance(value, list):
        raise DeployError("unexpected output of `wrangler kv namespace list`")
    return value


def find_namespace(title: str) -> str | None:
    for ns in _json_list(run_wrangler("kv", "namespace", "list")):
        if isinstance(ns, dict) and ns.get("title") == title:
            return str(ns["id"])
    return None


def kv_namespace_id(title: str = KV_TITLE) -> str:
    """The id of the namespace with this title; created the first time."""
    if os.environ.get("KV_NAMESPACE_ID"):
        return os.environ["KV_NAMESPACE_ID"].strip()
    found = find_namespace(title)
    if found:
        print(f"KV namespace {title}: {found} (existing)")
        return found
    print(f"KV namespace {title}: creating it")
    run_wrangler("kv", "namespace", "create", title)
    found = find_namespace(title)
    if not found:
        raise DeployError(f"created the KV namespace {title} but cannot find it in `wrangler kv namespace list`")
    print(f"KV namespace {title}: {found} (created)")
    return found


def route_from_variables(env: dict[str, str]) -> dict[str, Any] | None:
    """The route the repository variables ask for, if any."""
    domain = env.get("CUSTOM_DOMAIN", "").strip()
    pattern = env.get("ROUTE_PATTERN", "").strip()
    zone = env.get("ZONE_NAME", "").strip()
    if domain and (pattern or zone):
        raise DeployError("set either the variable CUSTOM_DOMAIN or ROUTE_PATTERN + ZONE_NAME, not both")
    if domain:
        if "/" in domain or "*" in domain or ":" in domain:
            raise DeployError(f"CUSTOM_DOMAIN must be a bare hostname such as api.example.com (got {domain!r})")
        return {"pattern": domain, "custom_domain": True}
    if pattern or zone:
        if not (pattern and zone):
            raise DeployError("ROUTE_PATTERN and ZONE_NAME go together, e.g. api.example.com/* and example.com")
        return {"pattern": pattern, "zone_name": zone}
    return None


def route_url(route: dict[str, Any] | str) -> str | None:
    """https://host of a route, when its host is a plain name."""
    pattern = route if isinstance(route, str) else str(route.get("pattern", ""))
    host = pattern.removeprefix("https://").removeprefix("http://").split("/", 1)[0]
    if not host or "*" in host:
        return None
    return f"https://{host}"


def deploy_config(toml: dict[str, Any], kv_id: str, env: dict[str, str]) -> tuple[dict[str, Any], str | None]:
    """The config to deploy (a copy of wrangler.toml's) and the address to smoke-test."""
    config = json.loads(json.dumps(toml))  # a deep copy
    production = config.setdefault("env", {}).setdefault(ENV, {})
    spaces = production.get("kv_namespaces") or []
    bound = [ns for ns in spaces if ns.get("binding") == KV_BINDING]
    if not bound:
        raise DeployError(f"wrangler.toml has no [[env.{ENV}.kv_namespaces]] with binding {KV_BINDING}")
    for ns in bound:
        ns["id"] = kv_id
    route = route_from_variables(env)
    if route is not None:
        production["routes"] = [route]
        production.pop("route", None)
    routes = production.get("routes") or ([production["route"]] if production.get("route") else [])
    if any(PLACEHOLDER_DOMAIN in json.dumps(r) for r in routes):
        raise DeployError(
            f"wrangler.toml [env.{ENV}] still routes {PLACEHOLDER_DOMAIN}: put your own domain there, "
            "or set the repository variable CUSTOM_DOMAIN (or ROUTE_PATTERN + ZONE_NAME)"
        )
    if not routes:
        print("no route configured: the Worker is served on its workers.dev address")
        return config, None
    for r in routes:
        where = r if isinstance(r, str) else r.get("pattern")
        kind = "custom domain" if isinstance(r, dict) and r.get("custom_domain") else "route"
        print(f"{kind}: {where}")
    return config, route_url(routes[0])


CREDENTIALS = (("CLOUDFLARE_API_TOKEN", "CF_API_TOKEN"), ("CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID"))


def missing_credentials(env: dict[str, str]) -> list[str]:
    """The Cloudflare credentials not set, by the names of the repository secrets (README's first)."""
    return [f"{short} (or {long})" for long, short in CREDENTIALS if not env.get(long, "").strip()]


def worker_secrets(env: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The Worker's secrets from the repository's, by the names of the secret settings; and the required ones missing."""
    sys.path.insert(0, str(ROOT / "src"))
    from poe.settings import SETTINGS

    raw = env.get("SECRETS_JSON", "").strip()
    given: dict[str, Any] = json.loads(raw) if raw else {}
    names = [s.name for s in SETTINGS if s.kind == "secret"]
    values = {name: str(given[name]) for name in names if isinstance(given.get(name), str) and given[name].strip()}
    return values, [name for name in REQUIRED_SECRETS if name not in values]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--config", type=Path, default=ROOT / "wrangler.toml", help="the wrangler.toml to start from")
    parser.add_argument("--out", type=Path, help="the deploy config to write (default: wrangler.deploy.json beside it)")
    parser.add_argument("--secrets-out", type=Path, help="write the Worker's secrets here (JSON, for wrangler secret bulk)")
    parser.add_argument("--kv-title", default=KV_TITLE)
    args = parser.parse_args(argv)
    env = dict(os.environ)
    secrets, missing = worker_secrets(env)
    # by hand (no --secrets-out) wrangler may be logged in instead, and the secrets put otherwise
    missing = missing_credentials(env) + missing if args.secrets_out else []
    if missing:
        for name in missing:
            print(f"::error::repository secret {name} is not set (Settings > Secrets and variables > Actions)")
        return 1
    out = args.out or args.config.parent / "wrangler.deploy.json"
    if out.resolve().parent != args.config.resolve().parent:
        print("::error::the deploy config must be written beside wrangler.toml (its paths are relative)")
        return 1
    try:
        if args.secrets_out:
            args.secrets_out.touch(mode=0o600)
            args.secrets_out.write_text(json.dumps(secrets))
            print("Worker secrets to upload: " + ", ".join(sorted(secrets)))
        toml = tomllib.loads(args.config.read_text())
        config, url = deploy_config(toml, kv_namespace_id(args.kv_title), env)
    except DeployError as exc:
        print(f"::error::{exc}")
        return 1
    out.write_text(json.dumps(config, indent=2) + "\n")
    print(f"wrote {out.name}; smoke test: {url or 'the workers.dev address wrangler reports'}")
    if os.environ.get("GITHUB_OUTPUT"):
        with open(os.environ["GITHUB_OUTPUT"], "a") as outputs:
            outputs.write(f"url={url or ''}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

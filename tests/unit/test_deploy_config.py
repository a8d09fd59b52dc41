"""scripts/deploy_config.py (the deploy job's preparation) and scripts/smoke.py, without Cloudflare.

wrangler is replaced by a stand-in that keeps KV namespaces in a JSON file and answers
`kv namespace list` / `kv namespace create` as wrangler does (list: a JSON array of
{id, title, ...}; create: a title as given, no --env prefix).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from poe.edges.asgi import ProxyASGI
from scripts import deploy_config, smoke
from tests.support import ServerThread

ROOT = Path(__file__).resolve().parents[2]
TOML = tomllib.loads((ROOT / "wrangler.toml").read_text())

FAKE_WRANGLER = """\
import json, sys, uuid
from pathlib import Path
store = Path(sys.argv[1])
args = sys.argv[2:]
spaces = json.loads(store.read_text()) if store.exists() else []
log = store.with_suffix(".log")
log.write_text((log.read_text() if log.exists() else "") + " ".join(args) + "\\n")
if args[:3] == ["kv", "namespace", "list"]:
    print(json.dumps(spaces, indent=2))
elif args[:3] == ["kv", "namespace", "create"]:
    spaces.append({"id": uuid.uuid4().hex, "title": args[3], "supports_url_encoding": True})
    store.write_text(json.dumps(spaces))
    print("Creating namespace with title " + repr(args[3]) + "\\nSuccess!")
else:
    sys.exit(2)
"""


@pytest.fixture
def fake_wrangler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "wrangler.py"
    script.write_text(FAKE_WRANGLER)
    store = tmp_path / "spaces.json"
    monkeypatch.setenv("WRANGLER", f"{sys.executable} {script} {store}")
    monkeypatch.delenv("KV_NAMESPACE_ID", raising=False)
    return store


def test_the_kv_namespace_is_created_on_the_first_run_and_reused_after(fake_wrangler: Path) -> None:
    fake_wrangler.write_text(json.dumps([{"id": "f" * 32, "title": "someone-elses"}]))
    first = deploy_config.kv_namespace_id()
    second = deploy_config.kv_namespace_id()
    assert first == second and first != "f" * 32
    titles = [ns["title"] for ns in json.loads(fake_wrangler.read_text())]
    assert titles.count("poe-proxy-POE_KV") == 1
    calls = fake_wrangler.with_suffix(".log").read_text().splitlines()
    assert [c for c in calls if "create" in c] == ["kv namespace create poe-proxy-POE_KV"]


def test_a_failing_wrangler_is_an_error_that_names_the_permissions(fake_wrangler: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRANGLER", f"{sys.executable} -c 'import sys; sys.exit(1)'")
    with pytest.raises(deploy_config.DeployError, match="Workers KV Storage > Edit"):
        deploy_config.kv_namespace_id()


def production(config: dict[str, Any]) -> dict[str, Any]:
    return dict(config["env"]["production"])


def test_the_deploy_config_is_wrangler_toml_with_the_namespace_id() -> None:
    config, url = deploy_config.deploy_config(TOML, "a" * 32, {})
    assert production(config)["kv_namespaces"] == [{"binding": "POE_KV", "id": "a" * 32}]
    assert config["main"] == TOML["main"] and config["rules"] == TOML["rules"]
    assert production(config)["vars"] == production(TOML)["vars"]
    assert TOML["env"]["production"]["kv_namespaces"][0]["id"] == "0" * 32, "the parsed wrangler.toml must stay untouched"
    # wrangler.toml as shipped has no route: workers.dev, whose address only wrangler's output tells
    assert "routes" not in production(config) and url is None
    # the ledger's Durable Object: bound in production too (bindings are not inherited), its class migrated once
    ledger = {"name": "POE_LEDGER", "class_name": "Ledger"}
    assert config["durable_objects"]["bindings"] == [ledger] and production(config)["durable_objects"]["bindings"] == [ledger]
    assert config["migrations"] == [{"tag": "v1", "new_sqlite_classes": ["Ledger"]}]


def test_custom_domain_variable() -> None:
    config, url = deploy_config.deploy_config(TOML, "a" * 32, {"CUSTOM_DOMAIN": " api.example.org "})
    assert production(config)["routes"] == [{"pattern": "api.example.org", "custom_domain": True}]
    assert url == "https://api.example.org"


def test_route_pattern_and_zone_name_variables() -> None:
    env = {"ROUTE_PATTERN": "api.example.org/*", "ZONE_NAME": "example.org"}
    config, url = deploy_config.deploy_config(TOML, "a" * 32, env)
    assert production(config)["routes"] == [{"pattern": "api.example.org/*", "zone_name": "example.org"}]
    assert url == "https://api.example.org"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CUSTOM_DOMAIN": "api.example.org", "ZONE_NAME": "example.org"}, "not both"),
        ({"ROUTE_PATTERN": "api.example.org/*"}, "go together"),
        ({"CUSTOM_DOMAIN": "https://api.example.org/"}, "bare hostname"),
    ],
)
def test_bad_route_variables(env: dict[str, str], message: str) -> None:
    with pytest.raises(deploy_config.DeployError, match=message):
        deploy_config.deploy_config(TOML, "a" * 32, env)


def test_routes_in_wrangler_toml_both_forms() -> None:
    """The two commented examples of wrangler.toml, uncommented and edited, as a user would."""
    text = (ROOT / "wrangler.toml").read_text()
    examples = [line.removeprefix("# ") for line in text.splitlines() if line.startswith("# routes = [")]
    assert len(examples) == 2
    for example in examples:
        toml = tomllib.loads(text.replace("# " + example, example.replace("your-domain.com", "example.org")))
        config, url = deploy_config.deploy_config(toml, "a" * 32, {})
        assert production(config)["routes"] == production(toml)["routes"]
        assert url == "https://api.example.org"
        # uncommented but not edited: a clear error rather than a deploy to someone else's domain
        with pytest.raises(deploy_config.DeployError, match="your own domain"):
            deploy_config.deploy_config(tomllib.loads(text.replace("# " + example, example)), "a" * 32, {})
        # a repository variable wins over wrangler.toml
        config, url = deploy_config.deploy_config(toml, "a" * 32, {"CUSTOM_DOMAIN": "proxy.example.net"})
        assert production(config)["routes"] == [{"pattern": "proxy.example.net", "custom_domain": True}]


def test_a_wildcard_host_has_no_smoke_url() -> None:
    assert deploy_config.route_url({"pattern": "*.example.org/*", "zone_name": "example.org"}) is None
    assert deploy_config.route_url("api.example.org/v1*") == "https://api.example.org"


def test_main_names_every_missing_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "SECRETS_JSON"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRETS_JSON", json.dumps({"POE_APIKEYS": "k1", "API_ACCESS_TOKENS": "  ", "github_token": "x"}))
    toml = tmp_path / "wrangler.toml"
    shutil.copy(ROOT / "wrangler.toml", toml)
    assert deploy_config.main(["--config", str(toml), "--secrets-out", str(tmp_path / "s.json")]) == 1
    out = capsys.readouterr().out
    assert "::error::repository secret CF_API_TOKEN (or CLOUDFLARE_API_TOKEN) is not set" in out
    assert "::error::repository secret CF_ACCOUNT_ID (or CLOUDFLARE_ACCOUNT_ID) is not set" in out
    assert "::error::repository secret API_ACCESS_TOKENS is not set" in out
    assert "POE_APIKEYS is not set" not in out and "k1" not in out
    assert not (tmp_path / "wrangler.deploy.json").exists() and not (tmp_path / "s.json").exists()


def test_main_by_hand_needs_no_secrets(
    fake_wrangler: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """README, "Deploy by hand": `python3 scripts/deploy_config.py` with wrangler logged in."""
    for name in ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "SECRETS_JSON", "GITHUB_OUTPUT", "CUSTOM_DOMAIN"):
        monkeypatch.delenv(name, raising=False)
    out = ROOT / "wrangler.deploy.json"
    try:
        assert deploy_config.main([]) == 0
        assert json.loads(out.read_text())["env"]["production"]["kv_namespaces"][0]["id"] != "0" * 32
    finally:
        out.unlink(missing_ok=True)
    assert "wrote wrangler.deploy.json" in capsys.readouterr().out


def test_main_writes_the_config_the_secrets_and_the_url(
    tmp_path: Path, fake_wrangler: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "cf-token")
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "cf-account")
    monkeypatch.setenv("CUSTOM_DOMAIN", "api.example.org")
    secrets = {"POE_APIKEYS": "poe-1,poe-2", "API_ACCESS_TOKENS": "sk-1", "CF_API_TOKEN": "cf-token", "github_token": "gh"}
    monkeypatch.setenv("SECRETS_JSON", json.dumps(secrets))
    github_output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(github_output))
    toml = tmp_path / "wrangler.toml"
    shutil.copy(ROOT / "wrangler.toml", toml)
    out = tmp_path / "wrangler.deploy.json"
    secrets_out = tmp_path / "secrets.json"
    assert deploy_config.main(["--config", str(toml), "--out", str(out), "--secrets-out", str(secrets_out)]) == 0
    config = json.loads(out.read_text())
    assert deploy_config.main(["--config", str(toml), "--out", str(tmp_path / "elsewhere" / "x.json")]) == 1
    ns_id = json.loads(fake_wrangler.read_text())[0]["id"]
    assert production(config)["kv_namespaces"][0]["id"] == ns_id
    # only the Worker's secret settings, never the Cloudflare token or other repository secrets
    assert json.loads(secrets_out.read_text()) == {"POE_APIKEYS": "poe-1,poe-2", "API_ACCESS_TOKENS": "sk-1"}
    assert stat.S_IMODE(os.stat(secrets_out).st_mode) == 0o600
    assert github_output.read_text() == "url=https://api.example.org\n"
    printed = capsys.readouterr().out
    for value in ("poe-1", "sk-1", "cf-token"):
        assert value not in printed


def test_the_deploy_config_is_git_ignored() -> None:
    assert "wrangler.deploy.json" in (ROOT / ".gitignore").read_text().splitlines()


# ---------------------------------------------------------------- scripts/smoke.py


class Health:
    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send({"type": "http.response.start", "status": self.status, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": self.body})


@pytest.mark.parametrize(
    ("env", "code", "said"),
    [({"POE_APIKEYS": "k", "API_ACCESS_TOKENS": "t"}, 0, '"ok"'), ({"POE_APIKEYS": "k"}, 1, "misconfigured")],
)
def test_smoke_of_the_proxy(env: dict[str, str], code: int, said: str, capsys: pytest.CaptureFixture[str]) -> None:
    with ServerThread(ProxyASGI(env, log=False)) as server:
        assert smoke.main([server.url, "--wait", "5", "--every", "0.1"]) == code
    assert said in capsys.readouterr().out


@pytest.mark.parametrize(
    ("status", "body", "code", "said"),
    [
        (502, b"bad gateway", 1, "HTTP 502"),
        (200, b"<html>parked domain</html>", 1, "not the proxy's JSON"),
    ],
)
def test_smoke(status: int, body: bytes, code: int, said: str, capsys: pytest.CaptureFixture[str]) -> None:
    with ServerThread(Health(status, body)) as server:
        assert smoke.main([server.url, "--wait", "0.3", "--every", "0.1"]) == code
    assert said in capsys.readouterr().out


def test_smoke_without_a_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.main([""]) == 1
    assert "no URL to smoke-test" in capsys.readouterr().out

"""The container image (Dockerfile) and compose.yaml.

With a Docker daemon (GitHub's runners have one; CI sets POE_PROXY_REQUIRE_DOCKER=1 so that a
missing one fails instead of skipping): the image is built and run as README "Self-hosted mode"
says, runs as a non-root user, turns healthy, keeps a cooled key cooling across
`docker restart` (state in the /data volume), passes the contract tests by URL, and
`docker compose up` serves /health. Without one, what can be checked without it is: the
image's install step (a non-editable install of the project, then `poe-proxy` from it) and
the shape of compose.yaml; hadolint checks the Dockerfile in `make lint`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import proxy_defaults
from tests.e2e.test_selfhost import BUSY, GOOD, remote_env, uses
from tests.support import ACCESS_TOKEN, ROOT, ServerThread, free_port


def docker_ready() -> str | None:
    """None if a Docker daemon answers, else why not."""
    if shutil.which("docker") is None:
        return "no docker command on this machine"
    info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=30)
    if info.returncode != 0:
        return f"no Docker daemon ({(info.stderr or info.stdout).strip().splitlines()[-1:]})"
    return None


def needs_docker() -> None:
    why = docker_ready()
    if why is None:
        return
    if os.environ.get("POE_PROXY_REQUIRE_DOCKER") == "1":
        pytest.fail(f"POE_PROXY_REQUIRE_DOCKER=1 but {why}")
    pytest.skip(f"{why}: the image is built and run in CI (GitHub's runners have Docker)")


def docker(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, f"docker {' '.join(args[:3])}: {proc.stdout[-2000:]}{proc.stderr[-3000:]}"
    return proc


# ---------------------------------------------------------------- without Docker


def test_the_image_install_step_without_docker(tmp_path: Path) -> None:
    """What the Dockerfile's build stage does (pip install --prefix ... '.[selfhost]'), then `poe-proxy` from it."""
    source = tmp_path / "src"  # what the Dockerfile copies (so no build/ or egg-info lands in this checkout)
    source.mkdir()
    for name in ("pyproject.toml", "constraints-dev.txt", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    prefix = tmp_path / "install"
    # --ignore-installed: else pip uninstalls this venv's editable poe-proxy (and its console script) first
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--ignore-installed"]
    pip += ["--prefix", str(prefix)]
    build = subprocess.run([*pip, str(source)], timeout=300, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    site = next(prefix.glob("lib/python*/site-packages"))
    installed = {p.relative_to(site).as_posix() for p in (site / "poe").rglob("*.py")}
    assert {"poe/edges/asgi.py", "poe/edges/sqlite_kv.py", "poe/edges/workers.py", "poe/app.py"} <= installed
    script = prefix / "bin" / "poe-proxy"
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(site), "PORT": str(port), "POE_APIKEYS": "k", "API_ACCESS_TOKENS": "t"}
    env["SCHEDULE_SECONDS"] = "0"
    work = tmp_path / "data"  # the image's WORKDIR: state.db goes here
    work.mkdir()
    log = tmp_path / "poe-proxy.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(script)], cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            assert proc.poll() is None, log.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()["status"] == "ok":
                    break
            time.sleep(0.1)
        else:
            pytest.fail("the installed poe-proxy did not answer")
        check = subprocess.run([str(script), "--health-check"], cwd=work, env=env, capture_output=True)
        assert check.returncode == 0, check.stderr  # the image's HEALTHCHECK
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert (work / "state.db").exists()


def test_compose_file_shape() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    service = compose["services"]["poe-proxy"]
    assert service["build"] == "."
    assert service["ports"] == ["${POE_PROXY_PORT:-8080}:8080"]
    assert "poe-proxy-data:/data" in service["volumes"] and "poe-proxy-data" in compose["volumes"]
    assert {"POE_APIKEYS", "API_ACCESS_TOKENS"} <= set(service["environment"])
    assert service["env_file"] == [{"path": ".env", "required": False}]


def test_dockerfile_promises() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim", text, re.M)
    assert re.search(r"^USER 10001", text, re.M), "non-root"
    assert 'HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["poe-proxy", "--health-check"]' in text
    assert 'ENTRYPOINT ["poe-proxy"]' in text and 'VOLUME ["/data"]' in text and "WORKDIR /data" in text
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") :][:1] == ["*"], ".dockerignore starts from nothing"


# ---------------------------------------------------------------- with Docker


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    needs_docker()
    tag = f"poe-proxy:test-{uuid.uuid4().hex[:8]}"
    docker("build", "-t", tag, str(ROOT), timeout=900)
    yield tag
    docker("rmi", "-f", tag, check=False)


@contextlib.contextmanager
def container(image: str, env: dict[str, str], volume: str, env_file: Path | None = None) -> Iterator[str]:
    """The image run as README says (host network, so that it reaches the test's upstream on 127.0.0.1)."""
    args = ["run", "-d", "--network", "host", "-v", f"{volume}:/data"]
    if env_file is not None:
        args += ["--env-file", str(env_file)]
    for name, value in env.items():
        args += ["-e", f"{name}={value}"]
    name = docker(*args, image).stdout.strip()
    try:
        yield name
    finally:
        logs = docker("logs", name, check=False)
        docker("rm", "-f", name, check=False)
        print(logs.stdout[-3000:], logs.stderr[-3000:])


def wait_healthy(name: str, url: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = json.loads(docker("inspect", name).stdout)[0]["State"]
        assert state["Running"], state
        if state.get("Health", {}).get("Status") == "healthy":
            assert httpx.get(f"{url}/health", timeout=5).json()["status"] == "ok"
            return
        time.sleep(1)
    pytest.fail(f"{name} did not turn healthy: {state.get('Health')}")


def test_image_runs_non_root_healthy_and_keeps_state_across_a_restart(image: str, upstream: ServerThread) -> None:
    port = free_port()
    volume = f"poe-proxy-test-{uuid.uuid4().hex[:8]}"
    env = {
        "PORT": str(port),
        "POE_APIKEYS": f"{BUSY},{GOOD}",
        "API_ACCESS_TOKENS": ACCESS_TOKEN,
        "POE_BASE_URL": upstream.url,
        "CUSTOM_MODELS": proxy_defaults(upstream.url)["CUSTOM_MODELS"],
        "RATE_LIMIT_COOLDOWN": "600",
        "SCHEDULE_SECONDS": "0",
    }
    url = f"http://127.0.0.1:{port}"
    try:
        with container(image, env, volume) as name:
            wait_healthy(name, url)
            assert docker("exec", name, "id", "-u").stdout.strip() == "10001"
            stats = uses(url, upstream.url, 4)
            assert stats.get(BUSY) == 1 and stats.get(GOOD) == 4, stats
            docker("restart", name, timeout=60)  # SIGTERM, a graceful stop, and a start on the same volume
            wait_healthy(name, url)
            stats = uses(url, upstream.url, 6)
            assert stats.get(BUSY, 0) == 0, f"the cooling key was used after the restart: {stats}"
            assert "state in /data/state.db" in docker("logs", name).stderr
    finally:
        docker("volume", "rm", "-f", volume, check=False)


def test_contract_tests_against_the_container(image: str, upstream: ServerThread, tmp_path: Path) -> None:
    port = free_port()
    volume = f"poe-proxy-test-{uuid.uuid4().hex[:8]}"
    env_file = tmp_path / "test.env"  # README: python -m tests.remote_env ... > test.env; docker run --env-file test.env
    env_file.write_text("".join(f"{k}={v}\n" for k, v in remote_env(upstream.url).items()))
    url = f"http://127.0.0.1:{port}"
    try:
        with container(image, {"PORT": str(port)}, volume, env_file) as name:
            wait_healthy(name, url)
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "tests/contract",
                    "-q",
                    "-x",
                    "-p",
                    "no:cacheprovider",
                    f"--basetemp={tmp_path}",
                ],
                cwd=ROOT,
                env={**os.environ, "POE_PROXY_URL": url, "POE_PROXY_UPSTREAM": upstream.url},
                capture_output=True,
                text=True,
                timeout=900,
            )
            tail = run.stdout[-4000:] + run.stderr[-2000:]
            assert run.returncode == 0, tail
    finally:
        docker("volume", "rm", "-f", volume, check=False)


def test_compose_up_serves_health(tmp_path: Path) -> None:
    """README: `docker compose up -d --build`, then /health."""
    needs_docker()
    if docker("compose", "version", check=False).returncode != 0:
        pytest.fail("docker compose is missing")
    port = free_port()
    project = f"poe-proxy-test-{uuid.uuid4().hex[:8]}"
    dotenv = tmp_path / ".env"  # README: cp .env.example .env (here beside, not over, a .env of this checkout)
    shutil.copy(ROOT / ".env.example", dotenv)
    env = {k: v for k, v in os.environ.items() if k not in ("POE_APIKEYS", "API_ACCESS_TOKENS", "POE_PROTOCOL", "TIMEOUT")}
    env["POE_PROXY_PORT"] = str(port)
    compose = ["docker", "compose", "-p", project, "-f", str(ROOT / "compose.yaml"), "--env-file", str(dotenv)]
    try:
        up = subprocess.run([*compose, "up", "-d", "--build", "--wait"], env=env, capture_output=True, text=True, timeout=900)
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-3000:]
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).json()
        assert health["status"] == "ok", health
        logs = subprocess.run([*compose, "logs"], env=env, capture_output=True, text=True, timeout=60)
        assert logs.returncode == 0 and "state in /data/state.db" in logs.stdout + logs.stderr
    finally:
        subprocess.run([*compose, "down", "-v"], env=env, capture_output=True, timeout=300)

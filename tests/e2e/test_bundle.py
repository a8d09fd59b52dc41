"""`wrangler deploy --dry-run`: the Worker bundle holds the Worker's modules and nothing else.

wrangler uploads every **/*.py under src/ plus whatever its module rules match there
(by default *.txt, *.html, *.sql, *.bin, *.wasm): the rules in wrangler.toml narrow the
non-Python ones to the package. The dry run needs no Cloudflare account and no Pyodide
bundle; it runs on a copy of src/ (the real one, with whatever leftovers this checkout has)
to which the usual leftovers are added, with the production config the deploy job generates.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from scripts import deploy_config
from tests.support import DEV_ENV, ROOT, wrangler_command

pytestmark = pytest.mark.e2e

LEFTOVERS = (
    "poe_proxy.egg-info/SOURCES.txt",  # pip install -e .
    "poe_proxy.egg-info/top_level.txt",
    "poe_proxy.egg-info/PKG-INFO",
    "poe/__pycache__/app.cpython-312.pyc",
    "poe/__pycache__/notes.txt",
    "build/lib/notes.txt",
    "requirements.txt",
    "page.html",
    "data.bin",
)


def worker_modules() -> set[str]:
    """entry.py and the .py files of the packages pyproject.toml declares (as wrangler names them)."""
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    names = {"entry.py"}
    for package in packages:
        folder = ROOT / "src" / package.replace(".", "/")
        names |= {f"{package.replace('.', '/')}/{p.name}" for p in folder.glob("*.py")}
    return names


def dry_run(workdir: Path, *args: str) -> tuple[set[str], str]:
    out = workdir / "dist"
    cmd = [*wrangler_command(), "deploy", "--dry-run", "--outdir", str(out), *args]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env={**os.environ, **DEV_ENV}, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    readme = out / "README.md"  # wrangler's own note about the folder, not a module
    if readme.exists() and readme.read_text().startswith("This folder contains the built output"):
        files.discard("README.md")
    return files, proc.stdout


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the Worker's files with the usual build leftovers added."""
    work = tmp_path / "project"
    shutil.copytree(ROOT / "src", work / "src")
    shutil.copy(ROOT / "wrangler.toml", work / "wrangler.toml")
    for name in LEFTOVERS:
        path = work / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"leftover\n")
    return work


def test_dry_run_bundles_only_the_worker_modules(project: Path) -> None:
    bundled, _ = dry_run(project)
    assert bundled == worker_modules(), sorted(bundled ^ worker_modules())


def test_dry_run_of_the_generated_production_config(project: Path) -> None:
    """What the deploy job runs: wrangler.deploy.json beside wrangler.toml, --env production."""
    toml = tomllib.loads((project / "wrangler.toml").read_text())
    config, url = deploy_config.deploy_config(toml, "0123456789abcdef0123456789abcdef", {"CUSTOM_DOMAIN": "api.example.org"})
    assert url == "https://api.example.org"
    (project / "wrangler.deploy.json").write_text(json.dumps(config))
    bundled, printed = dry_run(project, "--config", "wrangler.deploy.json", "--env", "production")
    assert bundled == worker_modules(), sorted(bundled ^ worker_modules())
    assert "env.POE_KV (0123456789abcdef0123456789abcdef)" in printed

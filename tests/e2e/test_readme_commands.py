"""Every `npx wrangler ...` line of the READMEs is a command the pinned wrangler knows, with flags it takes.

The deploy job runs the deploy commands for real; those that need a Cloudflare account and
a deployed Worker (rollback, tail, versions) cannot run here, so each is checked against
`wrangler <command> --help` of the version in package-lock.json: the command exists and
every flag it uses is one of its own.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import pytest

from tests.support import DEV_ENV, ROOT, wrangler_command

pytestmark = pytest.mark.e2e


def code_lines(text: str) -> list[str]:
    """The lines inside the fenced code blocks of a Markdown text, continuation lines joined."""
    lines: list[str] = []
    inside = False
    for line in text.replace("\\\n", " ").splitlines():
        if line.strip().startswith("```"):
            inside = not inside
        elif inside:
            lines.append(line.strip())
    return lines


def readme_wrangler_commands() -> list[str]:
    found: dict[str, None] = {}
    for name in ("README.md", "README.zh-CN.md"):
        for line in code_lines((ROOT / name).read_text()):
            line = line.split(" #", 1)[0].strip()
            if line.startswith("npx wrangler "):
                found.setdefault(line, None)
    return list(found)


COMMANDS = readme_wrangler_commands()


def test_the_readmes_show_the_operations_commands() -> None:
    words = {" ".join(shlex.split(c)[2:4]) for c in COMMANDS}
    for expected in ("rollback --env", "tail --env", "deploy --config", "secret bulk", "deployments list"):
        assert any(w.startswith(expected) for w in words), expected


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_wrangler_command(command: str) -> None:
    args = shlex.split(command)[2:]
    words = [a for a in args if not a.startswith("-")]
    flags = {a.split("=", 1)[0] for a in args if a.startswith("--")}
    proc = subprocess.run(
        [*wrangler_command(), *words, "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **DEV_ENV},
        timeout=60,
    )
    usage = next((line for line in proc.stdout.splitlines() if line.strip()), "")
    assert usage.startswith("wrangler "), proc.stdout[:500] + proc.stderr[:500]
    path = [w for w in usage.split()[1:] if not w.startswith(("[", "<"))]
    assert words[: len(path)] == path, f"{command!r}: wrangler knows it as {usage!r}"
    for flag in flags:
        assert re.search(rf"(^|\s|,){re.escape(flag)}\b", proc.stdout), f"{command!r}: {flag} is not a flag of `{usage}`"


def test_the_token_one_liner_makes_a_token() -> None:
    """README step 2: the command suggested for an API_ACCESS_TOKENS value."""
    for name in ("README.md", "README.zh-CN.md"):
        found = re.search(r'`(python3 -c "import secrets; [^`]+")`', (ROOT / name).read_text())
        assert found, name
        out = subprocess.run(
            shlex.split(found.group(1).replace("python3", shlex.quote(sys.executable), 1)), capture_output=True, text=True
        )
        assert re.fullmatch(r"sk-[0-9a-f]{32}\n", out.stdout), out

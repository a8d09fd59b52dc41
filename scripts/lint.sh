#!/usr/bin/env bash
# Static checks (make lint; scripts/test.sh runs them first): ruff, mypy (strict),
# actionlint on .github/workflows (with shellcheck for their `run:` scripts) and
# hadolint on the Dockerfile. All come from PyPI into .venv (pyproject.toml, dev extra).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"  # actionlint finds shellcheck on PATH

printf '\033[1m==> %s\033[0m\n' "ruff" >&2
ruff check .
ruff format --check .
printf '\033[1m==> %s\033[0m\n' "mypy" >&2
mypy
printf '\033[1m==> %s\033[0m\n' "actionlint, hadolint" >&2
actionlint
hadolint Dockerfile

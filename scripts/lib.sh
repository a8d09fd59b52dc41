# Shared setup for scripts/dev.sh and scripts/test.sh (sourced, not run).
# Installs what a fresh machine needs: Node >= 22.12 with the pinned wrangler,
# the CLI clients and the browser the tests run (setup_clients, setup_browser:
# scripts/test.sh only), and a Python venv (.venv) with the dev tools. Safe to re-run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Dev flags for `wrangler dev` (empty unless the offline runtime is in use).
WRANGLER_FLAGS=()

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a==22&&b>=12)?0:1)'
}

setup_node() {
  # Machines that cannot download the Pyodide bundle (no network beyond package
  # registries) use ../shared/workerd-offline: Node 22, workerd and a locally
  # built bundle, selected by the python_workers_development flag.
  local offline="$ROOT/../shared/workerd-offline/setup"
  if [[ -x "$offline" && "${POE_PROXY_ONLINE:-0}" != 1 ]]; then
    log "using the offline workerd runtime (../shared/workerd-offline)"
    eval "$("$offline")"
    # the command-line list replaces wrangler.toml's: repeat its flags
    WRANGLER_FLAGS=(--compatibility-flags python_workers --compatibility-flags enable_request_signal --compatibility-flags python_workers_development)
  fi
  if ! node_ok; then
    command -v npm >/dev/null 2>&1 || die "Node.js >= 22.12 is required (https://nodejs.org)"
    local pkg
    local os arch
    case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) die "install Node.js >= 22.12" ;; esac
    case "$(uname -m)" in x86_64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) die "install Node.js >= 22.12" ;; esac
    pkg="node-$os-$arch"
    log "installing Node.js 22 into .tools/ (npm package $pkg)"
    npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix "$ROOT/.tools" "$pkg@22" >&2
    export PATH="$ROOT/.tools/node_modules/$pkg/bin:$PATH"
    node_ok || die "could not install Node.js 22"
  fi
  if [[ ! -x node_modules/.bin/wrangler ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
    log "installing npm packages (wrangler)"
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
  export WRANGLER_SEND_METRICS=false
  export PATH="$ROOT/node_modules/.bin:$PATH"
}

# The CLI clients tests/e2e/test_cli_clients.py runs (Claude Code, Codex), in their own npm project
# tests/clients so that `make dev` and the deploy need not download them (~790 MB; their native
# binaries come as optionalDependencies: npm installs the one for this platform). Not put on PATH:
# tests/support_clients.py finds them under tests/clients/node_modules. Call after setup_node.
setup_clients() {
  local dir="$ROOT/tests/clients" bin missing=0
  for bin in claude codex; do [[ -x $dir/node_modules/.bin/$bin ]] || missing=1; done
  if [[ $missing == 1 ]] || [[ $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
    log "installing the CLI clients (tests/clients: Claude Code, Codex CLI)"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
  fi
}

# Debian's chromium for the console's browser tests (tests/e2e/test_console.py: Playwright drives this
# browser and never downloads one of its own), and a small CJK font so the Chinese screenshots are
# legible. Installed with apt when missing and run as root; elsewhere those tests skip.
setup_browser() {
  export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
  local want=() skip=""
  if ! command -v chromium >/dev/null 2>&1; then
    want+=(chromium)
    skip=": the browser tests will skip"
  fi
  [[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]] || want+=(fonts-wqy-microhei)
  if [[ ${#want[@]} == 0 ]]; then return 0; fi
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    log "not installing ${want[*]} (needs apt as root)$skip"
    return 0
  fi
  log "installing ${want[*]} (apt)"
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}"; } >/dev/null 2>&1; then
    log "could not install ${want[*]}$skip"
  fi
}

setup_python() {
  local py="${PYTHON:-python3}"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python >= 3.11 is required"
  if [[ ! -x .venv/bin/python ]]; then
    log "creating .venv"
    "$py" -m venv .venv
  fi
  local stamp=.venv/.installed
  if [[ ! -f $stamp || pyproject.toml -nt $stamp || constraints-dev.txt -nt $stamp ]]; then
    log "installing Python packages into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints-dev.txt -e '.[dev]' >&2
    touch "$stamp"
  fi
}

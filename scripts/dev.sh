#!/usr/bin/env bash
# Set up everything and run the Worker locally on 127.0.0.1:8787 (wrangler dev).
# Without a Poe key in .dev.vars it also starts a local Poe-protocol demo
# upstream (demo/upstream.py) and points POE_BASE_URL at it.
source "$(dirname "$0")/lib.sh"
setup_python
setup_node

PORT="${PORT:-8787}"
DEMO_PORT="${DEMO_PORT:-8081}"
touch .dev.vars
if ! grep -q '^API_ACCESS_TOKENS=.' .dev.vars; then
  token="sk-local-$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(16))')"
  printf 'API_ACCESS_TOKENS=%s\n' "$token" >> .dev.vars
  log "created an access token in .dev.vars"
fi
TOKEN="$(grep '^API_ACCESS_TOKENS=' .dev.vars | head -n1 | cut -d= -f2- | cut -d, -f1 | tr -d ' "')"
if ! grep -q '^ADMIN_TOKENS=.' .dev.vars; then  # for the console (/admin) and GET /admin/status
  printf 'ADMIN_TOKENS=admin-local-%s\n' "$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(16))')" >> .dev.vars
  log "created an admin token in .dev.vars"
fi
ADMIN="$(grep '^ADMIN_TOKENS=' .dev.vars | head -n1 | cut -d= -f2- | cut -d, -f1 | tr -d ' "')"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

vars=()
# POE_PROTOCOL=bot make dev: the translated bot protocol instead of the OpenAI-compatible passthrough
if [[ -n "${POE_PROTOCOL:-}" ]]; then vars+=(--var "POE_PROTOCOL:$POE_PROTOCOL"); fi
MODEL=gpt-4o
if ! grep -q '^POE_APIKEYS=.' .dev.vars; then
  log "no POE_APIKEYS in .dev.vars: starting the demo Poe upstream (both Poe APIs) on 127.0.0.1:$DEMO_PORT"
  .venv/bin/python demo/upstream.py --port "$DEMO_PORT" &
  pids+=($!)
  models="$(.venv/bin/python -c 'from demo.upstream import DEMO_MODELS; print(DEMO_MODELS)')"
  vars+=(--var "POE_BASE_URL:http://127.0.0.1:$DEMO_PORT" --var "POE_UPLOAD_URL:http://127.0.0.1:$DEMO_PORT/file_upload" --var "POE_APIKEYS:demo-key" --var "CUSTOM_MODELS:$models")
  MODEL=slowstory
fi

wrangler dev --ip 127.0.0.1 --port "$PORT" "${WRANGLER_FLAGS[@]}" "${vars[@]}" "$@" &
pids+=($!)
for _ in $(seq 1 240); do
  curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  sleep 0.5
done
cat >&2 <<MSG

  Poe Proxy is running on http://127.0.0.1:$PORT  (upstream protocol: ${POE_PROTOCOL:-openai}; Ctrl-C stops it)

  curl -N http://127.0.0.1:$PORT/v1/chat/completions \\
    -H 'Authorization: Bearer $TOKEN' -H 'Content-Type: application/json' \\
    -d '{"model": "$MODEL", "stream": true, "messages": [{"role": "user", "content": "Hello!"}]}'

  Console: http://127.0.0.1:$PORT/admin  (admin token: $ADMIN; the playground takes the access token above)

MSG
wait "${pids[-1]}"

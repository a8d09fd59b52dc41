#!/usr/bin/env bash
# Set up everything and run every check: lint, types, unit, contract and
# end-to-end tests (the Worker in workerd via wrangler dev).
source "$(dirname "$0")/lib.sh"
setup_python
setup_node
setup_clients
setup_browser

bash scripts/lint.sh
log "pytest (unit, contract, end to end)"
.venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# The long fuzz run: schemathesis's cases from the OpenAPI description plus hostile
# requests (tests/fuzz.py), 10,000 by default, against the Worker in workerd in front
# of the demo upstream; prints a summary (requests, statuses, 5xx, tracebacks,
# crashes, distinct failures with a curl line each). Arguments go to tests/fuzz.py:
#   make fuzz ARGS="--requests 20000 --target workerd/openai --target workerd/bot --seed 7"
source "$(dirname "$0")/lib.sh"
setup_python
setup_node

log "fuzz (tests/fuzz.py)"
.venv/bin/python -m tests.fuzz "$@"

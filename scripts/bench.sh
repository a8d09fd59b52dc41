#!/usr/bin/env bash
# Set up everything and run the benchmarks: the demo Poe upstream directly,
# the proxy self-hosted (uvicorn) and the Worker in workerd (wrangler dev),
# all on 127.0.0.1. Prints a table and writes bench/results/latest.json.
# Arguments go to bench/run.py (see --help), e.g. `scripts/bench.sh -n 50`.
source "$(dirname "$0")/lib.sh"
setup_python
setup_node

log "benchmarks (bench/run.py)"
.venv/bin/python bench/run.py "$@"

#!/usr/bin/env bash
# Set up everything and run the benchmarks (bench/README.md): the Worker in both
# upstream modes against minimal floor Workers (bench/floors), the self-hosted
# proxy and LiteLLM, all on 127.0.0.1; then the load run (good and bad requests from
# concurrent clients through the Worker; exit status 1 if it does not hold). Prints
# tables and writes bench/results/latest.json. Arguments go to bench/run.py (see
# --help), e.g. `scripts/bench.sh -n 30`.
source "$(dirname "$0")/lib.sh"
setup_python
setup_node

# LiteLLM's proxy, for comparison, in a venv of its own (its dependencies are not
# the project's). Pinned: litellm 1.82.7 and 1.82.8 on PyPI were a supply-chain
# attack (credential stealer, March 2026); 1.82.6 is the last release before it.
# A failed install only leaves LiteLLM out of the run.
LITELLM_VERSION="${BENCH_LITELLM_VERSION:-1.82.6}"
LITELLM_VENV=bench/.venv-litellm
install_litellm() {
  local stamp="$LITELLM_VENV/.installed-$LITELLM_VERSION"
  [[ -f $stamp ]] && return 0
  log "installing LiteLLM $LITELLM_VERSION into $LITELLM_VENV (for the comparison; once)"
  rm -rf "$LITELLM_VENV"
  local out
  out="$(mktemp)"
  if "${PYTHON:-python3}" -m venv "$LITELLM_VENV" >"$out" 2>&1 &&
    "$LITELLM_VENV/bin/python" -m pip install --disable-pip-version-check "litellm[proxy]==$LITELLM_VERSION" >>"$out" 2>&1; then
    touch "$stamp"
    rm -f "$out"
  else
    tail -n 20 "$out" | cut -c1-300 >&2
    rm -f "$out"
    return 1
  fi
}
if ! install_litellm; then
  log "LiteLLM could not be installed: the benchmark runs without it"
  rm -rf "$LITELLM_VENV"
fi

log "benchmarks (bench/run.py)"
.venv/bin/python bench/run.py "$@"

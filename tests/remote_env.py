"""The settings a proxy needs for the contract tests to run against it by URL (README, Development).

    .venv/bin/python -m tests.remote_env --upstream http://127.0.0.1:8081 > test.env

prints NAME=value lines: an env file for `docker run --env-file test.env`, or for a shell
(`set -a; . ./test.env; set +a; poe-proxy`). tests/e2e/test_selfhost.py and test_docker.py
start such servers and run `pytest tests/contract` with POE_PROXY_URL against them.
"""

from __future__ import annotations

import argparse

from tests.conftest import proxy_defaults


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--upstream", required=True, help="the demo upstream's URL, e.g. http://127.0.0.1:8081")
    parser.add_argument("--mode", default="openai", choices=["openai", "bot"], help="POE_PROTOCOL (POE_PROXY_MODE for pytest)")
    args = parser.parse_args()
    for name, value in {**proxy_defaults(args.upstream.rstrip("/")), "POE_PROTOCOL": args.mode}.items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main()

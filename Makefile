.PHONY: dev test setup lint bench fuzz clean

# Set up everything and run the Worker locally (demo upstream without a Poe key).
dev:
	bash scripts/dev.sh

# Set up everything and run all the tests.
test:
	bash scripts/test.sh

# The long fuzz run: 10,000 requests against the Worker in workerd (tests/fuzz.py; options in ARGS).
fuzz:
	bash scripts/fuzz.sh $(ARGS)

# ruff, mypy, actionlint (workflows) and hadolint (Dockerfile); needs .venv (make test or make dev makes it).
lint:
	bash scripts/lint.sh

# The benchmarks (bench/README.md), then the load run: exits 1 if it does not hold.
bench:
	bash scripts/bench.sh

clean:
	rm -rf .venv node_modules tests/clients/node_modules .tools .wrangler .pytest_cache .mypy_cache .ruff_cache

# The two commands from the README: `make run` and `make test`. Both set up .venv first.
.PHONY: run test setup bench bench-quick
VENV := .venv
PY := $(VENV)/bin/python
SAMPLE := sample_runs/demo.db

setup:
	@bash scripts/setup.sh

run: setup
	@$(VENV)/bin/undo-tui $(if $(wildcard $(SAMPLE)),$(SAMPLE),)

test: setup
	@$(PY) -m pytest $(PYTEST_ARGS)

bench-quick: setup
	@$(PY) -m benchmarks --quick

bench: setup
	@$(PY) -m benchmarks

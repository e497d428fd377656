# The two commands from the README: `make run` and `make test`. Both set up .venv first.
.PHONY: run test setup bench bench-quick
VENV := .venv
PY := $(VENV)/bin/python
SAMPLE := sample_runs/demo.db

setup:
	@bash scripts/setup.sh

run: setup
	@$(VENV)/bin/undo-tui $(if $(wildcard $(SAMPLE)),$(SAMPLE),)

# Two workers, one torch thread each: two processes with two threads each on two cores slow
# each other far more than twice. loadgroup keeps a module's tests on one worker when they share
# a module-scoped fixture (tests/conftest.py). PYTEST_ARGS="-n 0" runs the suite in one process.
test: setup
	@OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

bench-quick: setup
	@$(PY) -m benchmarks --quick

bench: setup
	@$(PY) -m benchmarks

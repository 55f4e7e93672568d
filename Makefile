# The two set-up commands of README.md: `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv
PYTHON ?= python3

.PHONY: demo test install system-deps python-deps bench-repo bench-objects bench-rto env-down

demo: install
	bash scripts/demo.sh

test: install
	bash scripts/run-tests.sh

install: system-deps python-deps

system-deps:
	bash scripts/install-system-deps.sh

python-deps: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $@

# Capture and restore of 10,000 objects on the local primary cluster (started if needed), side by side with
# Velero and a bare create loop (built once by scripts/install-objects-bench-tools.sh; ~15 min the first time).
bench-objects: install
	$(VENV)/bin/mlark dev env up -c primary
	$(VENV)/bin/python -m bench.objects.run

env-down:
	$(VENV)/bin/mlark dev env down

# Repository benchmark (issue 5): mlark vs restic, borg, kopia; BENCH_ARGS e.g. "--size 256M" or "--repeat 3".
bench-repo: install
	bash scripts/install-bench-tools.sh
	$(VENV)/bin/python -m bench.repo.run $(BENCH_ARGS)

# Recovery time of the seed scenario (issue 4): starts and stops an environment of its own; BENCH_ARGS e.g. "--rounds 5".
bench-rto: install
	$(VENV)/bin/python -m bench.rto.run $(BENCH_ARGS)

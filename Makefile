# tamis — developer entry points.
#
#   make run    # install into .venv if needed, then `tamis up`: serve on http://127.0.0.1:8000
#               # (creates ./tamis-data and, the first time, an API key, and prints them)
#   make start  # the same in the background: returns once the server is ready (make stop ends it)
#   make test   # install into .venv if needed, then run the test suite
#   make test-fast  # lint-imports, then the fast lane (under a minute): no slow, browser, postgres, models tests
#
# Needs only python3 (>= 3.11, with its venv module), make and access to PyPI.
# Overrides: make run HOST=0.0.0.0 PORT=8000 · make test PYTEST_ARGS='-k webhooks -x'
#            make venv PYTHON=python3.12

PYTHON      ?= python3
VENV        ?= .venv
HOST        ?= 127.0.0.1
PORT        ?= 8000
PYTEST_ARGS ?=

VENV_PY     := $(VENV)/bin/python
STAMP       := $(VENV)/.installed

# Playwright for Python must never fetch a browser build of its own: the
# browser tests drive Debian's chromium through executable_path.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.DEFAULT_GOAL := help
.PHONY: help venv run start stop test test-fast bench bench-hash clean-venv

help:
	@echo "make run     serve on http://$(HOST):$(PORT) (HOST=... PORT=... to change)"
	@echo "make start   serve in the background, return once ready; make stop ends it"
	@echo "make test    run the test suite (PYTEST_ARGS=... passed to pytest)"
	@echo "make test-fast  lint-imports, then the fast lane: no slow, browser, postgres or models tests"
	@echo "make bench   run bench/api_throughput.py"
	@echo "make bench-hash  run bench/hash_index.py"
	@echo "make venv    create/refresh $(VENV) (pip install -e '.[dev]')"

venv: $(STAMP)

# Re-installs whenever pyproject.toml changes. A venv without a working pip
# (e.g. left half-made) is re-created; an interrupted install leaves no stamp.
$(STAMP): pyproject.toml
	@if ! $(VENV_PY) -m pip --version >/dev/null 2>&1; then \
	  echo "Creating $(VENV) with $$($(PYTHON) --version 2>&1)"; \
	  $(PYTHON) -m venv --clear $(VENV) || { \
	    echo >&2 ""; \
	    echo >&2 "error: '$(PYTHON) -m venv' failed. On Debian/Ubuntu install the venv module:"; \
	    echo >&2 "         apt-get install python3-venv"; \
	    echo >&2 "       then run make again."; \
	    exit 1; }; \
	fi
	$(VENV_PY) -m pip install --quiet --upgrade pip
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

run: $(STAMP)
	$(VENV)/bin/tamis up --host $(HOST) --port $(PORT)

start: $(STAMP)
	@$(VENV)/bin/tamis up --detach --host $(HOST) --port $(PORT)

stop:
	@$(VENV)/bin/tamis down

# Tests also cover the optional nudenet analyzer: its AGPL weights go into test installs only,
# never into `make run`'s.
TEST_STAMP  := $(VENV)/.installed-test
$(TEST_STAMP): $(STAMP)
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,nudenet]'
	@touch $@

# lint-imports checks the layers and the absence of import cycles (pyproject.toml, ARCHITECTURE.md).
test: $(TEST_STAMP)
	$(VENV)/bin/lint-imports
	$(VENV_PY) -m pytest $(PYTEST_ARGS)

# The fast lane: the tests outside these markers (pyproject.toml, CONTRIBUTING.md). The fuzzing and
# property modules are wholly outside it; they are not even collected, nor are the schemathesis and
# hypothesis plugins loaded: importing them is a quarter of the lane's CPU time.
FAST_MARKERS := not slow and not browser and not postgres and not models
FAST_OPTIONS := --ignore=tests/test_fuzz_api.py --ignore=tests/test_properties.py \
                -p no:schemathesis -p no:hypothesispytest

test-fast: $(TEST_STAMP)
	$(VENV)/bin/lint-imports
	$(VENV_PY) -m pytest -m "$(FAST_MARKERS)" $(FAST_OPTIONS) $(PYTEST_ARGS)

bench: $(STAMP)
	$(VENV_PY) bench/api_throughput.py

bench-hash: $(STAMP)
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(VENV_PY) bench/hash_index.py

clean-venv:
	rm -rf $(VENV)

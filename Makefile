# Two commands on a fresh machine: `make demo` and `make test`. Everything else sets itself up.
PYTHON ?= python3
VENV   := .venv
TOOLS  := .tools
UV     := $(TOOLS)/bin/uv
SYNCED := $(VENV)/.synced
export UV_PYTHON_DOWNLOADS := never
# Python's default is to cache compiled bytecode; some sandboxes turn that off, and then every bot process
# the tests start recompiles Bolt, aiohttp, redis and the rest (~2 s each, many times a run).
unexport PYTHONDONTWRITEBYTECODE
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Trust the system's certificate store, as pip and curl do: behind a company proxy that intercepts TLS,
# its CA is there and nowhere else. uv (>= 0.13, pinned below) reads the platform store with
# UV_SYSTEM_CERTS; the tools venv's pip is pointed at the system bundle unless PIP_CERT is already set.
export UV_SYSTEM_CERTS := 1
SYSTEM_CA := $(firstword $(wildcard /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem))
ifeq ($(origin PIP_CERT),undefined)
ifneq ($(SYSTEM_CA),)
export PIP_CERT := $(SYSTEM_CA)
endif
endif

.PHONY: setup demo test lint typecheck unit integration serve sandbox bench soak policy-check doctor clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet 'uv>=0.13'  # 0.13: UV_SYSTEM_CERTS

$(SYNCED): pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --all-groups --python $(PYTHON)
	@touch $@

setup: $(SYNCED)  ## create .venv from uv.lock (once; again when the lock changes)

demo: setup  ## preview the documented example customer from the bundled sandbox
	$(VENV)/bin/python -m bot preview --sandbox abcd-122345

test: setup lint typecheck  ## lint, type-check, then the whole test suite (not the soak)
	$(VENV)/bin/pytest

lint: setup
	$(VENV)/bin/ruff check bot handlers tests $(wildcard bench)
	$(VENV)/bin/ruff format --check bot handlers tests $(wildcard bench)

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(VENV)/bin/pytest tests/unit

integration: setup
	$(VENV)/bin/pytest tests/integration

serve: setup  ## run the bot with your .env (HTTP, or Socket Mode when SLACK_APP_TOKEN is set)
	$(VENV)/bin/python -m bot serve

sandbox: setup  ## run the bot against the bundled sandbox instead of BIK
	$(VENV)/bin/python -m bot serve --sandbox

policy-check: setup  ## validate a policy file (FILE=..., default $$BIK_ACCESS_POLICY or access.toml)
	$(VENV)/bin/python -m bot policy check $(FILE)

doctor: setup  ## check configuration, Slack and BIK
	$(VENV)/bin/python -m bot doctor

bench: setup  ## the load benchmark (bench/README.md)
	$(VENV)/bin/python -m bench

soak: setup  ## the long reliability run
	$(VENV)/bin/pytest -m slow -s tests/integration/test_soak.py

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache .hypothesis
